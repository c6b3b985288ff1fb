"""The CDA of every test letter is byte-identical to its frozen reference (cda_reference/).

A refactoring of `documents` must not change one byte. To regenerate on purpose (a deliberate
change of the document), run `LIAISON_WRITE_CDA_REFERENCES=1 pytest tests/documents/test_cda_bytes.py`
and say why in the commit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from liaison.documents.cda import build_cda
from liaison.documents.validation import LdlSesValidator
from tests.documents.reference_letters import CASES

REFERENCES = Path(__file__).parent / "cda_reference"


@pytest.mark.parametrize("name", sorted(CASES))
def test_cda_bytes_match_the_reference(name: str) -> None:
    built = build_cda(*CASES[name]())
    path = REFERENCES / f"{name}.xml"
    if os.environ.get("LIAISON_WRITE_CDA_REFERENCES") == "1":
        path.write_bytes(built)
    assert built == path.read_bytes(), f"{name}: the CDA differs from {path.name}"


def test_every_reference_has_a_case() -> None:
    assert sorted(p.stem for p in REFERENCES.glob("*.xml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_references_are_valid(name: str, validator: LdlSesValidator) -> None:
    assert validator.validate((REFERENCES / f"{name}.xml").read_bytes()) == []
