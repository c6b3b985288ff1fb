"""Where Liaison finds the shared folder (standards, reference data, open data).

`LIAISON_SHARED` wins; otherwise the `shared/` folder beside the repository (the layout of
the development machine), found by walking up from this file; then `/work/shared`, where the
machine keeps it for checkouts made elsewhere (CI).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@cache
def shared_dir() -> Path:
    env = os.environ.get("LIAISON_SHARED")
    if env:
        return Path(env)
    for parent in [*Path(__file__).resolve().parents, Path("/work")]:
        candidate = parent / "shared"
        if (candidate / "standards").is_dir() and (candidate / "reference").is_dir():
            return candidate
    raise FileNotFoundError(
        "Dossier « shared » introuvable : définissez LIAISON_SHARED (il contient standards/ "
        "et reference/)."
    )


def ldl_ses_dir() -> Path:
    return shared_dir() / "standards" / "ldl-ses" / "TestContenuCDA-3-0"


def ihe_xds_dir() -> Path:
    return shared_dir() / "standards" / "ihe-xds"


def reference_dir() -> Path:
    return shared_dir() / "reference"


def opendata_dir() -> Path:
    return shared_dir() / "opendata"


def default_cache_dir() -> Path:
    """Where compiled schematrons and the demo's DMP certificates are kept: `$LIAISON_CACHE_DIR`,
    else `$XDG_CACHE_HOME/liaison`, else `~/.cache/liaison`."""
    if env := os.environ.get("LIAISON_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "liaison"
