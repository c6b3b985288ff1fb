"""The intern's path: submit to a senior of the unit, returned with a comment, signed by the senior."""

from __future__ import annotations

import pytest

from liaison import signing
from liaison.letters import lifecycle, review
from liaison.letters.models import AuditEvent, Letter, LetterReview, Practitioner, Profession
from liaison.letters.permissions import PermissionDeniedFr
from tests.conftest import complete_content_updates, valid_rpps

pytestmark = pytest.mark.django_db


def completed(hospital) -> Letter:
    """The intern's letter, complete (the intern drafts: any drafting role may save)."""
    letter = lifecycle.open_letter(hospital["stay"])
    content = letter.parsed().model_copy(
        update={**complete_content_updates(), "resistant_organisms_screened": True}
    )
    return lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["interne"])


def test_an_intern_cannot_sign_alone(hospital):
    letter = completed(hospital)
    with pytest.raises(PermissionDeniedFr, match="Seul un médecin"):
        signing.sign(letter.pk, hospital["users"]["interne"])


def test_only_an_intern_submits_and_only_a_complete_letter(hospital):
    letter = lifecycle.open_letter(hospital["stay"])
    for role in ("medecin", "secretaire", "sage_femme"):
        with pytest.raises(PermissionDeniedFr):
            signing.submit(letter.pk, hospital["users"][role])
    with pytest.raises(lifecycle.LifecycleError, match="Complétez la lettre avant de la soumettre"):
        signing.submit(letter.pk, hospital["users"]["interne"])
    assert not LetterReview.objects.exists()


def test_submitted_to_a_senior_of_the_unit_only(hospital):
    letter = completed(hospital)
    senior = hospital["users"]["medecin"].practitioner
    assert list(review.seniors(hospital["stay"])) == [senior]  # not the intern, not the sage-femme
    midwife = hospital["users"]["sage_femme"].practitioner
    with pytest.raises(lifecycle.LifecycleError, match="n'est pas un senior du service"):
        signing.submit(letter.pk, hospital["users"]["interne"], to=midwife.pk)
    intern = hospital["users"]["interne"]
    done = signing.submit(letter.pk, intern, to=senior.pk, note="Relire la conciliation")
    assert (done.outcome, done.to, done.note) == (
        LetterReview.Outcome.PENDING,
        senior,
        "Relire la conciliation",
    )
    assert list(review.to_validate(hospital["users"]["medecin"])) == [done]
    with pytest.raises(lifecycle.LifecycleError, match="déjà soumise"):
        signing.submit(letter.pk, hospital["users"]["interne"])


def test_any_senior_of_the_unit_sees_it_another_unit_does_not(hospital):
    letter = completed(hospital)
    other = Practitioner.objects.create(
        establishment=hospital["est"],
        rpps=valid_rpps(555),
        family_name="AILLEURS",
        given_name="Paul",
        profession=Profession.MEDECIN,
    )
    with pytest.raises(lifecycle.LifecycleError, match="n'est pas un senior du service"):
        signing.submit(letter.pk, hospital["users"]["interne"], to=other.pk)
    done = signing.submit(letter.pk, hospital["users"]["interne"])  # « tout senior du service »
    assert done.to is None
    assert list(review.to_validate(hospital["users"]["medecin"])) == [done]
    assert list(review.to_validate(hospital["users"]["sage_femme"])) == []  # not a senior physician


def test_returned_with_a_comment_then_resubmitted_and_signed_by_the_senior(hospital):
    intern, senior = hospital["users"]["interne"], hospital["users"]["medecin"]
    letter = completed(hospital)
    signing.submit(letter.pk, intern)
    with pytest.raises(PermissionDeniedFr):
        review.return_to_intern(letter.pk, intern, "moi-même")
    with pytest.raises(lifecycle.LifecycleError, match="ce qui est à reprendre"):
        review.return_to_intern(letter.pk, senior, "  ")
    returned = review.return_to_intern(letter.pk, senior, "Préciser la durée du furosémide.")
    assert returned.outcome == LetterReview.Outcome.RETURNED and returned.answered_by == senior
    assert review.returned_to(intern) == [returned]  # the intern's worklist shows it
    assert list(review.to_validate(senior)) == []
    again = signing.submit(letter.pk, intern)
    assert review.returned_to(intern) == []
    signed = signing.sign(letter.pk, senior)
    again.refresh_from_db()
    assert again.outcome == LetterReview.Outcome.SIGNED and again.answered_by == senior
    # the senior is the author and legal signer; the intern is named as who prepared it
    assert signed.signed_by == senior.practitioner
    prepared = signed.parsed().prepared_by
    assert (prepared.family_name, prepared.profession) == ("INTERNE", "interne")
    assert signed.document.cda_sha256  # the CDA passed the ANS validation at signature
    actions = list(
        AuditEvent.objects.filter(object_id=str(letter.pk), action__in=["submit", "return", "sign"])
        .order_by("at", "pk")
        .values_list("action", "username")
    )
    assert actions == [
        ("submit", "u_interne"),
        ("return", "u_medecin"),
        ("submit", "u_interne"),
        ("sign", "u_medecin"),
    ]
    sign_row = AuditEvent.objects.get(object_id=str(letter.pk), action="sign")
    assert sign_row.details["soumise_par"] == "u_interne"
    assert LetterReview.objects.filter(letter=letter).count() == 2  # history kept
