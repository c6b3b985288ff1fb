"""The médecin traitant the GAM lacks, named by the physician: it meets the QLS criterion, is
mailed by MSSanté like the GAM's, and gives way to the GAM's when it arrives later (ADT, ROL)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from liaison import signing
from liaison.core.content import Channel, ProfessionalSource, Recipient, RecipientRole
from liaison.delivery.models import Delivery
from liaison.indicators.qls import DEFAULT_GRIDS
from liaison.ingest.apply import clear_caches, process
from liaison.letters import lifecycle, medecin_traitant
from liaison.letters.models import AuditEvent, Correspondent, Letter, Stay
from liaison.quality.evaluate import evaluate
from liaison.quality.grid import load_grid
from liaison.quality.rules import Result
from liaison.web.live import _draft_facts
from tests.conftest import complete_content_updates, valid_rpps
from tests.ingest.messages import MEDECIN_RPPS, NEW_GP_RPPS, adt

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_reference_cache():
    clear_caches()  # each test builds its own hospital
    yield
    clear_caches()


NAMED_RPPS = valid_rpps(777)
NAMED = Recipient(
    role=RecipientRole.MEDECIN_TRAITANT,
    name="Dr Jean Durand",
    rpps=NAMED_RPPS,
    mssante="jean.durand@medecin.mssante.fr",
    channel=Channel.MSSANTE,
)


def ok(text: str) -> None:
    out = process(text)
    assert out.code == "AA", out.reason


def current() -> Letter:
    return Stay.objects.get(visit_number="NDA100").letters.order_by("-version").first()


def name_gp(hospital, recipient: Recipient = NAMED) -> Letter:
    """The physician completes the letter and adds the médecin traitant the patient names."""
    letter = current()
    content = letter.parsed()
    content = content.model_copy(
        update={
            **complete_content_updates(),
            "resistant_organisms_screened": False,
            "recipients": [recipient, *content.recipients],
        }
    )
    return lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["medecin"])


def criterion(content, stay, rule: str = "medecin_traitant_identified") -> Result:
    grid = load_grid(DEFAULT_GRIDS["MCO"])
    results = evaluate(content, _draft_facts(stay, content), grid).items
    return next(r.result for r in results if grid.item(r.id).rule == rule)


def test_without_one_the_criterion_is_unmet_and_only_a_false_statement_helped(hospital):
    ok(adt("A01", "N1", attending_rpps=MEDECIN_RPPS, discharge=""))
    letter = current()
    c = letter.parsed()
    assert c.medecin_traitant is None
    assert criterion(c, letter.stay) == Result.NOT_MET
    assert "medecin_traitant" in {p.field for p in c.problems()}


def test_the_gp_named_by_the_physician_meets_the_criterion_and_is_mailed(hospital):
    ok(adt("A01", "N2", attending_rpps=MEDECIN_RPPS))
    letter = name_gp(hospital)
    c = letter.parsed()
    mt = c.medecin_traitant
    assert mt is not None and mt.source == ProfessionalSource.MEDECIN  # recorded: not the GAM's
    assert (mt.display_name, mt.rpps, mt.mssante) == ("Dr Jean Durand", NAMED_RPPS, NAMED.mssante)
    assert criterion(c, letter.stay) == Result.MET
    assert "medecin_traitant" not in {p.field for p in c.problems()}
    stay = letter.stay
    stay.discharge_at = timezone.now()
    stay.exit_mode = "domicile"
    stay.save()
    signed = signing.sign(letter.pk, hospital["users"]["medecin"])
    gp = signed.deliveries.get(recipient_role="medecin_traitant")
    assert (gp.channel, gp.recipient_address, gp.recipient_rpps) == (
        Delivery.Channel.MSSANTE,
        "jean.durand@medecin.mssante.fr",
        NAMED_RPPS,
    )
    assert signed.parsed().medecin_traitant.source == ProfessionalSource.MEDECIN
    assert b"jean.durand@medecin.mssante.fr" in bytes(signed.document.cda)  # the CDA's PCP participant


def test_a_known_professional_is_taken_from_the_directory(hospital):
    Correspondent.objects.create(
        rpps=NAMED_RPPS, title="Dr", family_name="Durand", given_name="Jean", phone="02 38 00 00 01"
    )
    ok(adt("A01", "N3", attending_rpps=MEDECIN_RPPS))
    mt = name_gp(hospital).parsed().medecin_traitant
    assert (mt.title, mt.given_name, mt.family_name, mt.phone) == ("Dr", "Jean", "Durand", "02 38 00 00 01")
    assert mt.source == ProfessionalSource.MEDECIN and mt.mssante == NAMED.mssante


def test_an_rpps_with_a_wrong_key_is_refused_with_the_field_named(hospital):
    ok(adt("A01", "N4", attending_rpps=MEDECIN_RPPS))
    wrong = NAMED_RPPS[:-1] + str((int(NAMED_RPPS[-1]) + 1) % 10)
    with pytest.raises(lifecycle.FieldError, match="contrôle de Luhn") as refused:
        name_gp(hospital, NAMED.model_copy(update={"rpps": wrong}))
    assert refused.value.field == "recipients.0.rpps"
    assert current().parsed().medecin_traitant is None  # nothing saved


def test_the_gams_value_arriving_later_wins_in_the_draft_with_a_note(hospital, client):
    ok(adt("A01", "L1", attending_rpps=MEDECIN_RPPS))
    before = name_gp(hospital)
    ok(adt("A08", "L2", attending_rpps=MEDECIN_RPPS, gp_rpps=NEW_GP_RPPS))  # ROL: médecin traitant
    letter = current()
    assert letter.revision > before.revision  # a form loaded before is refused, nothing lost
    c = letter.parsed()
    assert c.medecin_traitant.source == ProfessionalSource.GAM and c.medecin_traitant.rpps == NEW_GP_RPPS
    assert c.medecin_traitant_replaced.rpps == NAMED_RPPS
    gp_rows = [r for r in c.recipients if r.role == RecipientRole.MEDECIN_TRAITANT]
    assert [r.rpps for r in gp_rows] == [NEW_GP_RPPS]  # the physician's row became the GAM's
    note = medecin_traitant.replaced_note(c)
    assert "Dr Paul GENERALISTE" in note and "Dr Jean Durand" in note and "désigné par le médecin" in note
    client.force_login(hospital["users"]["medecin"])
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert 'id="mt-replaced"' in page and "il remplace Dr Jean Durand" in page
    assert 'id="mt-source">transmis par le GAM<' in page


def test_the_same_gp_confirmed_by_the_gam_leaves_no_note(hospital):
    ok(adt("A01", "S1", attending_rpps=MEDECIN_RPPS))
    name_gp(hospital, NAMED.model_copy(update={"rpps": NEW_GP_RPPS}))
    ok(adt("A08", "S2", attending_rpps=MEDECIN_RPPS, gp_rpps=NEW_GP_RPPS))
    c = current().parsed()
    assert c.medecin_traitant.source == ProfessionalSource.GAM and c.medecin_traitant_replaced is None


def test_a_signed_letter_is_flagged_not_regenerated(hospital, client):
    ok(adt("A01", "F1", attending_rpps=MEDECIN_RPPS))
    letter = name_gp(hospital)
    stay = letter.stay
    stay.discharge_at = timezone.now()
    stay.exit_mode = "domicile"
    stay.save()
    signed = signing.sign(letter.pk, hospital["users"]["medecin"])
    frozen = (signed.content_sha256, signed.document.cda_sha256)
    ok(adt("A08", "F2", attending_rpps=MEDECIN_RPPS, gp_rpps=NEW_GP_RPPS))
    signed.refresh_from_db()
    assert (signed.content_sha256, signed.document.cda_sha256) == frozen
    assert signed.parsed().medecin_traitant.rpps == NAMED_RPPS
    assert "après la signature" in signed.medecin_traitant_difference
    assert NEW_GP_RPPS in signed.medecin_traitant_difference
    assert AuditEvent.objects.filter(action="flag", object_id=str(signed.pk)).exists()
    client.force_login(hospital["users"]["medecin"])
    page = client.get(f"/lettres/{signed.pk}/").content.decode()
    assert 'id="mt-replaced"' in page and "Ouvrez une correction" in page
    stay.discharge_at = timezone.now()  # on today's worklist
    stay.save()
    assert "Le GAM a transmis ensuite un autre médecin traitant" in client.get("/").content.decode()


def test_the_gams_value_arriving_where_the_letter_had_none_is_a_recipient(hospital):
    ok(adt("A01", "R1", attending_rpps=MEDECIN_RPPS))
    assert current().parsed().medecin_traitant is None
    ok(adt("A08", "R2", attending_rpps=MEDECIN_RPPS, gp_rpps=NEW_GP_RPPS))
    c = current().parsed()
    assert c.medecin_traitant.rpps == NEW_GP_RPPS and c.medecin_traitant_replaced is None
    assert [r.rpps for r in c.recipients if r.role == RecipientRole.MEDECIN_TRAITANT] == [NEW_GP_RPPS]
    ok(adt("A08", "R3", attending_rpps=MEDECIN_RPPS, gp_rpps=NEW_GP_RPPS, given="Claire"))
    assert len([r for r in current().parsed().recipients if r.role == RecipientRole.MEDECIN_TRAITANT]) == 1
