"""Each test builds its own hospital: forget the reference data cached by the previous one."""

from __future__ import annotations

import pytest

from liaison.ingest.apply import clear_caches


@pytest.fixture(autouse=True)
def _fresh_reference_cache():
    clear_caches()
    yield
    clear_caches()
