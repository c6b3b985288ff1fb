"""The letters whose CDA bytes are frozen in `cda_reference/` (see its README).

Every letter shape the tests build: the shapes of `test_cda.py` (complete, minimal, every optional
element, incidents…), a correction (RPLC, version 2), masked letters (confidentiality R and V), a
document still in progress, a planned discharge, the clinician's part of `tests/conftest.py`
(`complete_content_updates`) and the synthetic letters of `quality.synthetic`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from liaison.core.content import ExitMode, IdentityStatus, LetterContent, PlannedDischarge
from liaison.demo.synthetic.letters import complete_letter, random_letter
from liaison.documents.cda import CdaBuildError, DocumentId, DocumentMeta, build_cda
from tests.conftest import complete_content_updates
from tests.documents import sample_letters as letters
from tests.documents.test_cda import SHAPES

Case = Callable[[], tuple[LetterContent, DocumentMeta]]


def _shape(factory: Callable[[], LetterContent]) -> Case:
    return lambda: (factory(), letters.meta())


def _replacement() -> tuple[LetterContent, DocumentMeta]:
    return letters.complete(), letters.meta(
        id=DocumentId("1.2.250.1.999.1.1", "LLS-2024-0001-2"),
        version_number=2,
        replaces=DocumentId("1.2.250.1.999.1.1", "LLS-2024-0001-1"),
    )


def _planned_discharge() -> tuple[LetterContent, DocumentMeta]:
    c = letters.complete()
    c.planned_discharge = PlannedDischarge(
        at=c.discharge_at, exit_mode=ExitMode.DOMICILE, destination="Domicile", confirmed=True
    )
    # signed on the morning of the planned discharge, before the patient leaves
    return c, letters.meta(
        effective_time=dt.datetime(2024, 12, 3, 8, 15, tzinfo=letters.PARIS),
        signed_at=dt.datetime(2024, 12, 3, 8, 15, tzinfo=letters.PARIS),
    )


def _clinician_part() -> tuple[LetterContent, DocumentMeta]:
    return letters.complete().model_copy(update=complete_content_updates()), letters.meta()


def _synthetic(content: LetterContent, n: int) -> tuple[LetterContent, DocumentMeta]:
    """A synthetic letter made signable: its INS qualified (with the birthplace) and an RPPS signer."""
    patient = content.patient.model_copy(
        update={"identity_status": IdentityStatus.QUALIFIEE, "birth_place_cog": "51215"}
    )
    content = content.model_copy(update={"patient": patient})
    signed = content.discharge_at
    assert signed is not None
    return content, DocumentMeta(
        id=DocumentId("1.2.250.1.999.3.1", f"SYN-{n}"),
        set_id=DocumentId("1.2.250.1.999.3.2", f"SYN-{n}"),
        version_number=1,
        effective_time=signed,
        author=letters.DR_MARTIN,
        signed_at=signed,
    )


def _synthetic_cases() -> dict[str, Case]:
    out: dict[str, Case] = {"synthetic_complete": lambda: _synthetic(complete_letter()[0], 0)}
    rng = random.Random(17)
    kept = 0
    for n in range(1, 200):
        content = random_letter(rng, p_omission=0.3)[0]
        try:
            build_cda(*_synthetic(content, n))
        except CdaBuildError:
            continue
        out[f"synthetic_random_{n:03d}"] = lambda content=content, n=n: _synthetic(content, n)
        kept += 1
        if kept == 6:
            break
    return out


CASES: dict[str, Case] = {
    **{f"shape_{name}": _shape(factory) for name, factory in sorted(SHAPES.items())},
    "replacement_rplc": _replacement,
    "masked_restricted": lambda: (letters.complete(), letters.meta(confidentiality_code="R")),
    "masked_very_restricted": lambda: (letters.complete(), letters.meta(confidentiality_code="V")),
    "status_in_progress": lambda: (letters.complete(), letters.meta(status_code="385651009")),
    "planned_discharge": _planned_discharge,
    "clinician_part": _clinician_part,
    **_synthetic_cases(),
}
