"""Shared fixtures: one validator per test session (compiling the schematrons costs seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from liaison.documents.validation import LdlSesValidator


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("liaison-cache")


@pytest.fixture(scope="session")
def validator(cache_dir: Path) -> LdlSesValidator:
    return LdlSesValidator(cache_dir=cache_dir)
