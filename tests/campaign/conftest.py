"""Fixtures of the campaign tests: the two real e-Satis SMR files, imported once per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from liaison.paths import opendata_dir

ESATIS = {
    year: opendata_dir() / "ganebang-veltis" / f"esatis_ssr_from_iqss_recueil{year}.xlsx"
    for year in (2023, 2024)
}
ROWS = {2023: 1268, 2024: 1248}  # shared/opendata/MANIFEST.md


@pytest.fixture
def esatis_files() -> dict[int, Path]:
    for p in ESATIS.values():
        if not p.is_file():
            pytest.skip(f"{p} absent")
    return ESATIS


@pytest.fixture
def imported(db, esatis_files):
    from liaison.campaign import services

    return {year: services.import_file(path) for year, path in esatis_files.items()}


@pytest.fixture
def campaign_user(db):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("campagne.test", password="x", first_name="Paul", last_name="Rousseau")
    user.groups.add(Group.objects.get_or_create(name="campagne")[0])
    return user
