"""Who sees what (DESIGN.md roles): clinical roles see their units only; quality, administrator
and campaign roles never see a patient through these screens."""

from __future__ import annotations

import pytest

from liaison import signing
from liaison.letters import lifecycle
from liaison.letters.models import Stay
from liaison.letters.permissions import (
    PermissionDeniedFr,
    check_correct,
    check_edit,
    letters_visible_to,
    stays_visible_to,
)

pytestmark = pytest.mark.django_db


def _other_unit_stay(hospital) -> Stay:
    return Stay.objects.create(
        establishment=hospital["est"],
        patient=hospital["patient"],
        unit=hospital["other"],
        visit_number="V999",
        sector="PSY",
        admission_at=hospital["stay"].admission_at,
    )


@pytest.mark.parametrize("role", ["medecin", "interne", "secretaire", "infirmier"])
def test_clinical_roles_see_their_units_only(hospital, role):
    foreign = _other_unit_stay(hospital)
    visible = set(stays_visible_to(hospital["users"][role]))
    assert hospital["stay"] in visible and foreign not in visible


@pytest.mark.parametrize("role", ["qualite", "admin_etablissement", "campagne"])
def test_non_clinical_roles_see_no_patient(hospital, role):
    lifecycle.open_letter(hospital["stay"])
    user = hospital["users"][role]
    assert not stays_visible_to(user).exists()
    assert not letters_visible_to(user).exists()
    with pytest.raises(PermissionDeniedFr, match="accès"):
        check_edit(user, hospital["stay"])


def test_drafting_and_correcting_roles(hospital):
    stay = hospital["stay"]
    for role in ("medecin", "interne", "secretaire"):
        check_edit(hospital["users"][role], stay)
    with pytest.raises(PermissionDeniedFr, match="rédiger"):
        check_edit(hospital["users"]["infirmier"], stay)
    with pytest.raises(PermissionDeniedFr, match="correction"):
        check_correct(hospital["users"]["secretaire"], stay)


def test_physician_without_unit_access_cannot_sign(hospital):
    foreign = _other_unit_stay(hospital)
    letter = lifecycle.open_letter(foreign)
    with pytest.raises(PermissionDeniedFr, match="accès aux patients de ce service"):
        signing.sign(letter.pk, hospital["users"]["medecin"])


def test_physician_account_without_rpps_cannot_sign(hospital):
    from tests.conftest import complete_content_updates

    pr = hospital["users"]["medecin"].practitioner
    pr.rpps = None
    pr.save()
    letter = lifecycle.open_letter(hospital["stay"])
    letter = lifecycle.save_draft(
        letter.pk,
        letter.parsed().model_copy(update=complete_content_updates()),
        letter.revision,
        hospital["users"]["medecin"],
    )
    with pytest.raises(PermissionDeniedFr, match="RPPS"):
        signing.sign(letter.pk, hospital["users"]["medecin"])


def test_administrator_manages_reference_data_not_patients(client, hospital):
    from liaison.letters.permissions import ensure_groups

    ensure_groups()
    admin = hospital["users"]["admin_etablissement"]
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    assert client.get("/admin/letters/unit/").status_code == 200
    assert client.get("/admin/letters/practitioner/").status_code == 200
    assert client.get("/admin/letters/patient/").status_code == 404  # not in the admin at all
    page = client.get("/admin/letters/auditevent/")
    assert page.status_code == 403  # no permission on the audit trail


@pytest.mark.parametrize(
    "role",
    [
        "medecin",
        "interne",
        "sage_femme",
        "secretaire",
        "infirmier",
        "qualite",
        "admin_etablissement",
        "campagne",
    ],
)
def test_only_an_intern_submits_to_a_senior_only_a_signer_returns(hospital, role):
    from liaison.letters.permissions import check_review, check_submit

    user, stay = hospital["users"][role], hospital["stay"]
    for check, allowed in ((check_submit, role == "interne"), (check_review, role == "medecin")):
        if allowed:
            check(user, stay)
        else:
            with pytest.raises(PermissionDeniedFr):
                check(user, stay)
