"""Build then read, section by section: what each LDL-SES section carries comes back as it was written.

Each test builds letters of several shapes with `build_cda`, reads the bytes back with `read_cda`
and compares the fields its section holds (the registry's order: reason, summary, stopped,
discharge, results, plan, devices, allergies). Where the CDA keeps less than the form (the status
and posology of a line live only in the narrative table, whose columns the reader does not map),
the test says so and compares what is kept.
"""

from __future__ import annotations

import pytest

from liaison.core.content import LetterContent
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


def test_the_registry_reads_every_section_it_writes() -> None:
    assert [s.name for s in REGISTRY] == [
        "status", "reason", "summary", "stopped", "discharge", "results", "plan", "devices", "allergies",
    ]  # fmt: skip
    assert [s.name for s in REGISTRY if s.read is None] == ["status"]  # the status is the meta's


@pytest.mark.parametrize("shape", ["complete", "minimal", "ambulatory"])
def test_reason(shape: str) -> None:
    written, read = round_trip(shape)
    assert read.reason == one_line(written.reason)


@pytest.mark.parametrize(
    "shape",
    ["complete", "bmr_and_blood", "incidents", "screening_not_answered", "screening_not_done",
     "no_procedures", "other_exits", "minimal"],
)  # fmt: skip
def test_summary(shape: str) -> None:
    written, read = round_trip(shape)
    assert (read.entry_mode, read.exit_mode) == (written.entry_mode, written.exit_mode)
    assert read.medical_summary == one_line(written.medical_summary)
    assert read.adverse_events.present == written.adverse_events.present
    assert read.adverse_events.details == one_line(written.adverse_events.details)
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
    assert read.transfusion_incident == one_line(written.transfusion_incident)
    assert read.blood_derivatives_incident == one_line(written.blood_derivatives_incident)


@pytest.mark.parametrize("shape", ["complete", "all_stopped", "no_medication"])
def test_stopped(shape: str) -> None:
    written, read = round_trip(shape)
    stopped = [m for m in read.medications if not m.taken_at_home]
    assert [(m.medicine, m.reason) for m in stopped] == [
        (m.medicine, m.reason) for m in written.medications if not m.taken_at_home
    ]


NO_MEDICATION_GAP = pytest.mark.xfail(
    strict=True,
    reason="the reader takes Liaison's explicit no-known-medications entry for a medication line "
    "(issue 17 notes: a reader fix, not part of this refactoring)",
)


@pytest.mark.parametrize(
    "shape",
    [
        "complete",
        pytest.param("all_stopped", marks=NO_MEDICATION_GAP),
        pytest.param("no_medication", marks=NO_MEDICATION_GAP),
    ],
)
def test_discharge(shape: str) -> None:
    written, read = round_trip(shape)
    at_home = [m for m in written.medications if m.taken_at_home]
    # the discharge lines come first, then the stopped ones
    assert [(m.medicine, m.cis, m.atc) for m in read.medications[: len(at_home)]] == [
        (m.medicine, m.cis, m.atc) for m in at_home
    ]
    assert read.no_discharge_medication == (not at_home)


@pytest.mark.parametrize("shape", ["complete", "other_exits", "minimal"])
def test_results(shape: str) -> None:
    written, read = round_trip(shape)
    assert read.no_pending_results == written.no_pending_results
    # each cell of the table is read as one expected item: the descriptions are among them
    read_items = [r.description for r in read.pending_results]
    assert all(r.description in read_items for r in written.pending_results)
    assert bool(read.pending_results) == bool(written.pending_results)


EMERGENCY_GAP = pytest.mark.xfail(
    strict=True,
    reason="the reader looks for the number within 60 characters of « urgence »; the ambulatory "
    "contact names the service first (issue 17 notes: a reader fix, not part of this refactoring)",
)


@pytest.mark.parametrize("shape", ["complete", pytest.param("ambulatory", marks=EMERGENCY_GAP), "minimal"])
def test_plan(shape: str) -> None:
    written, read = round_trip(shape)
    if written.follow_up:
        assert [(f.description, f.date) for f in read.follow_up] == [
            (f.description, f.date) for f in written.follow_up
        ]
    else:
        assert all(f.description != "Suite prévue" for f in read.follow_up)
    if written.emergency_contact:
        assert read.emergency_contact and read.emergency_contact in written.emergency_contact


@pytest.mark.parametrize("shape", ["complete", "devices", "devices_without_list", "minimal"])
def test_devices(shape: str) -> None:
    written, read = round_trip(shape)
    if not written.implanted_devices.present:
        assert read.devices == [] and not read.implanted_devices.present
        return
    assert read.implanted_devices.present is True
    expected = [(d.description, d.udi, d.implanted_on) for d in written.devices] or [
        (written.implanted_devices.details, "", None)
    ]
    assert [(d.description, d.udi, d.implanted_on) for d in read.devices] == expected


@pytest.mark.parametrize("shape", ["complete", "other_exits", "minimal"])
def test_allergies(shape: str) -> None:
    written, read = round_trip(shape)
    assert read.allergies.present == written.allergies.present
    assert read.allergies.details == one_line(written.allergies.details)
