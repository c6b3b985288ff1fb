"""Build then read, section by section: what each LDL-SES section carries comes back as it was written.

Each test builds letters of several shapes with `build_cda`, reads the bytes back with `read_cda`
and compares the fields its section holds (the registry's order: reason, summary, stopped,
discharge, results, plan, devices, allergies). Where the CDA keeps less than the form, the test
says what the document lacks and compares what it keeps: a medication line's reason and comment
share the table's « Commentaire » cell; an empty posology or duration is written « non précisée »
(or « — »), read back as empty; a multi-line field keeps its lines (`<br/>` in the narrative) but
not its blank lines nor repeated spaces; the status section is the meta's, not the content's.
"""

from __future__ import annotations

import pytest

from liaison.core.content import ExitMode, LetterContent, MedicationLine, MedicationStatus
from liaison.documents.cda import build_cda
from liaison.documents.cda.sections import REGISTRY
from liaison.documents.reader import read_cda
from tests.documents import sample_letters as letters
from tests.documents.test_cda import SHAPES


def round_trip(shape: str) -> tuple[LetterContent, LetterContent]:
    written = SHAPES[shape]()
    return written, read_cda(build_cda(written, letters.meta())).content


def one_line(text: str) -> str:
    return " ".join(text.split())


def as_written(text: str) -> str:
    """A multi-line field as the narrative keeps it (`<br/>` between lines): each line
    normalised, empty lines dropped."""
    return "\n".join(one_line(line) for line in text.splitlines() if line.strip())


def line_fields(m: MedicationLine) -> tuple[object, ...]:
    """What a medication line keeps through the CDA: all but the reason and the comment apart."""
    return (m.medicine, m.cis, m.atc, m.status, m.usual_treatment, m.dosage, m.route, m.duration)


def reason_and_comment(m: MedicationLine) -> str:
    """The CDA writes the reason and the comment in one « Commentaire » cell, so only their
    joined text comes back (as the reason when the status calls for one, else the comment)."""
    return one_line(" ".join(x for x in (m.reason, m.comment) if x.strip()))


def test_the_registry_reads_every_section_it_writes() -> None:
    assert [s.name for s in REGISTRY] == [
        "status", "reason", "summary", "stopped", "discharge", "results", "plan", "devices", "allergies",
    ]  # fmt: skip
    assert [s.name for s in REGISTRY if s.read is None] == ["status"]  # the status is the meta's


@pytest.mark.parametrize("shape", ["complete", "minimal", "ambulatory"])
def test_reason(shape: str) -> None:
    written, read = round_trip(shape)
    assert read.reason == as_written(written.reason)


@pytest.mark.parametrize(
    "shape",
    ["complete", "bmr_and_blood", "incidents", "screening_not_answered", "screening_not_done",
     "no_procedures", "other_exits", "minimal"],
)  # fmt: skip
def test_summary(shape: str) -> None:
    written, read = round_trip(shape)
    assert (read.entry_mode, read.exit_mode) == (written.entry_mode, written.exit_mode)
    assert read.medical_summary == as_written(written.medical_summary)
    assert read.adverse_events.present == written.adverse_events.present
    assert read.adverse_events.details == as_written(written.adverse_events.details)
    assert (read.procedures_and_exams, read.no_procedures_and_exams) == (
        written.procedures_and_exams,
        written.no_procedures_and_exams,
    )
    screened = written.resistant_organisms_screened
    implied = True if written.resistant_organisms.present else None  # MED-309 when not answered
    assert read.resistant_organisms_screened == (implied if screened is None else screened)
    assert read.resistant_organisms.present == written.resistant_organisms.present
    assert read.resistant_organisms.details == written.resistant_organisms.details
    assert read.transfusion.present == written.transfusion.present
    assert read.blood_derivatives.present == written.blood_derivatives.present
    for given in ("transfusion", "blood_derivatives"):
        details = getattr(written, given).details if getattr(written, given).present else ""
        assert getattr(read, given).details == as_written(details)
    # « Dispositif médical implanté : Non » is a row of the summary (no devices section then)
    if written.implanted_devices.present is False:
        assert read.implanted_devices.present is False
    assert read.transfusion_incident == as_written(written.transfusion_incident)
    assert read.blood_derivatives_incident == as_written(written.blood_derivatives_incident)
    assert read.destination == written.destination


@pytest.mark.parametrize(
    ("exit_mode", "destination"),
    [
        (ExitMode.AUTRE_ES, "CH de Versailles (cardiologie)"),
        (ExitMode.DOMICILE, "chez sa fille"),
        (ExitMode.EHPAD, ""),
    ],
)
def test_summary_destination(exit_mode: ExitMode, destination: str) -> None:
    """The destination is read from the exit row « date, exit label (destination) »."""
    written = letters.complete()
    written.exit_mode, written.destination = exit_mode, destination
    read = read_cda(build_cda(written, letters.meta())).content
    assert (read.exit_mode, read.destination) == (exit_mode, destination)


def stopped_with_posology() -> LetterContent:
    """A line stopped with its posology and duration during the stay, and one suspended."""
    c = letters.complete()
    c.medications[-1].dosage, c.medications[-1].duration = "400 mg si douleur", "depuis 2 ans"
    suspended = c.medications[1].model_copy(
        update={"status": MedicationStatus.SUSPENDU, "reason": "Geste prévu", "comment": "à reprendre"}
    )
    c.medications.append(suspended)
    return c


@pytest.mark.parametrize("shape", ["complete", "all_stopped", "no_medication", "stopped_with_posology"])
def test_stopped(shape: str) -> None:
    if shape == "stopped_with_posology":
        written = stopped_with_posology()
        read = read_cda(build_cda(written, letters.meta())).content
    else:
        written, read = round_trip(shape)
    stopped = [m for m in written.medications if not m.taken_at_home]
    read_stopped = [m for m in read.medications if not m.taken_at_home]
    assert [line_fields(m) for m in read_stopped] == [line_fields(m) for m in stopped]
    assert [m.reason for m in read_stopped] == [reason_and_comment(m) for m in stopped]


@pytest.mark.parametrize("shape", ["complete", "all_stopped", "no_medication"])
def test_discharge(shape: str) -> None:
    written, read = round_trip(shape)
    at_home = [m for m in written.medications if m.taken_at_home]
    # the discharge lines come first, then the stopped ones
    read_at_home = read.medications[: len(at_home)]
    assert [line_fields(m) for m in read_at_home] == [line_fields(m) for m in at_home]
    assert [reason_and_comment(m) for m in read_at_home] == [reason_and_comment(m) for m in at_home]
    assert [m.reason for m in read_at_home] == [
        reason_and_comment(m) if m.needs_reason else "" for m in at_home
    ]
    assert all(m.taken_at_home is False for m in read.medications[len(at_home) :])
    # the explicit « no known medication » entry is written whenever no line is taken at home
    assert read.no_discharge_medication == (not at_home)


@pytest.mark.parametrize("shape", ["complete", "other_exits", "minimal"])
def test_results(shape: str) -> None:
    written, read = round_trip(shape)
    assert read.no_pending_results == written.no_pending_results
    assert read.pending_results == written.pending_results


@pytest.mark.parametrize("shape", ["complete", "ambulatory", "minimal"])
def test_plan(shape: str) -> None:
    written, read = round_trip(shape)
    assert read.follow_up == written.follow_up
    assert read.emergency_contact == one_line(written.emergency_contact)
    # the section says « Aucune suite particulière » whenever it is written without follow-up
    written_section = bool(written.follow_up or written.no_follow_up or written.emergency_contact.strip())
    assert read.no_follow_up == (written_section and not written.follow_up)


@pytest.mark.parametrize("shape", ["complete", "devices", "devices_without_list", "minimal"])
def test_devices(shape: str) -> None:
    written, read = round_trip(shape)
    if not written.implanted_devices.present:
        assert read.devices == [] and not read.implanted_devices.present
        return
    assert read.implanted_devices.present is True
    # without a list, the details are written as the one device
    expected = [(d.description, d.udi, d.lot, d.implanted_on) for d in written.devices] or [
        (written.implanted_devices.details, "", "", None)
    ]
    assert [(d.description, d.udi, d.lot, d.implanted_on) for d in read.devices] == expected
    # a list without details reads its descriptions as the details
    details = written.implanted_devices.details or "; ".join(d.description for d in written.devices)
    assert read.implanted_devices.details == as_written(details)


@pytest.mark.parametrize("shape", ["complete", "other_exits", "minimal"])
def test_allergies(shape: str) -> None:
    written, read = round_trip(shape)
    assert read.allergies.present == written.allergies.present
    assert read.allergies.details == as_written(written.allergies.details)
