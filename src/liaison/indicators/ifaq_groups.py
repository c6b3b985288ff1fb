"""IFAQ comparison groups (17 from 2023): their ids and the assignment from activity figures.

The SSR and PSY criteria are the DGOS 2022 slides' (ifaq-and-digital-indicators.md §0): SSR by
stays per year and by whether 80 % of the activity falls in fewer than 20 nosological groups,
PSY by active file, sectorisation and full-time care. HAD is one group. The criteria of the MCO
and dialysis groups were not found in our sources: those groups must be given, never guessed.
Pure Python, no Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from liaison.indicators.ifaq import CONFIG, IfaqError

FIELDS = {"MCO": "MCO", "DIA": "DIA", "HAD": "HAD", "SSR": "SSR", "SMR": "SSR", "PSY": "PSY"}


@cache
def config() -> dict[str, Any]:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["comparison_groups"]


def group_ids() -> list[str]:
    return list(config()["ids"])


def normalise(value: str) -> str:
    """« mco1 », « MCO 1 », « SMR-2 » → « MCO-1 », « SSR-2 »; a field name is returned as the field."""
    v = re.sub(r"[\s_-]", "", value or "").upper()
    m = re.fullmatch(r"(MCO|DIA|HAD|SSR|SMR|PSY)([0-9]?)", v)
    if not m:
        raise IfaqError(f"Groupe de comparaison inconnu : {value!r} (attendu : {', '.join(group_ids())}).")
    field, n = FIELDS[m[1]], m[2]
    if field == "HAD" or not n:
        return field
    gid = f"{field}-{n}"
    if gid not in group_ids():
        raise IfaqError(f"Groupe de comparaison inconnu : {value!r} (attendu : {', '.join(group_ids())}).")
    return gid


@dataclass(frozen=True)
class Activity:
    """The previous year's activity figures that place an establishment in its group."""

    field: str  # MCO, DIA, HAD, SSR, PSY
    stays: int | None = None  # SSR: stays per year
    gn_for_80: int | None = None  # SSR: nosological groups making 80 % of the activity
    active_file: int | None = None  # PSY: patients of the active file
    sectorised: bool | None = None  # PSY
    full_time: bool | None = None  # PSY: has full-time hospitalisation


def assign(a: Activity) -> tuple[str, str]:
    """The group and why, in French; IfaqError when the figures (or the criteria) are missing."""
    c = config()
    field = FIELDS.get(a.field.upper())
    if field == "HAD":
        return "HAD", "HAD : groupe unique"
    if field == "SSR":
        if a.stays is None or a.gn_for_80 is None:
            raise IfaqError(
                "Groupe SSR : indiquez les séjours de l'année (stays) et le nombre de GN (gn_80)."
            )
        cut, gn = c["ssr_stays"]["value"], c["ssr_specialised_gn"]["value"]
        big, specialised = a.stays >= cut, a.gn_for_80 < gn
        gid = {
            (True, False): "SSR-1",
            (True, True): "SSR-2",
            (False, False): "SSR-3",
            (False, True): "SSR-4",
        }[(big, specialised)]
        return gid, (
            f"{a.stays} séjours ({'≥' if big else '<'} {cut}) ; 80 % de l'activité en {a.gn_for_80} GN "
            f"({'spécialisé' if specialised else 'non spécialisé'}, seuil {gn}) → {gid} "
            "(numérotation : choix de Liaison)"
        )
    if field == "PSY":
        if a.active_file is None:
            raise IfaqError("Groupe PSY : indiquez la file active (active_file).")
        high, mid = c["psy_active_file"]["value"]
        if a.active_file >= high:
            return "PSY-1", f"file active {a.active_file} ≥ {high} → PSY-1"
        if a.active_file >= mid:
            return "PSY-2", f"file active {a.active_file} entre {mid} et {high - 1} → PSY-2"
        if a.sectorised is None:
            raise IfaqError("Groupe PSY : indiquez si l'établissement est sectorisé (sectorised).")
        if a.sectorised:
            return "PSY-3", f"file active {a.active_file} < {mid}, sectorisé → PSY-3"
        if a.full_time is None:
            raise IfaqError("Groupe PSY : indiquez s'il a une hospitalisation à temps plein (full_time).")
        gid = "PSY-4" if a.full_time else "PSY-5"
        how = "avec" if a.full_time else "sans"
        return gid, f"file active {a.active_file} < {mid}, non sectorisé, {how} temps plein → {gid}"
    if field in ("MCO", "DIA"):
        raise IfaqError(
            f"Groupe {field} : les critères des groupes {field}-1… ne figurent pas dans nos sources ; "
            "indiquez le groupe (ex. MCO-2)."
        )
    raise IfaqError(f"Champ d'activité inconnu : {a.field!r}.")
