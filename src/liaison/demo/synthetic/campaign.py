"""A seeded synthetic QLS campaign: fictitious establishments, two measurements, a known effect.

Each establishment has a true compliance rate; a measurement draws 80 records (binomial), so
low results partly regress to the mean at the next measurement, as in the real data. Visited
establishments gain `effect` points of true rate before the second measurement. The files use
the `qls-qualhas` mapping, so the whole chain (import → targeting → evaluation) runs on them.
Pure Python; for tests and demonstrations only (names say « fictif »).
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass

from liaison.core.identifiers import luhn_key
from liaison.quality.stats import classify, wilson

REGIONS = {
    "Bretagne": ["22", "29", "35", "56"],
    "Grand Est": ["08", "10", "51", "52", "54", "55", "57", "67", "68", "88"],
    "Occitanie": ["09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"],
    "Normandie": ["14", "27", "50", "61", "76"],
}
CATEGORIES = [
    "Centre Hospitaliers",
    "Etablissements de santé privés à but lucratif",
    "Etablissements de santé privés à but non lucratif",
    "Centre Hospitalo-Universitaires",
]
HEADER = [
    "finess",
    "rs_finess",
    "finess_geo",
    "rs_finess_geo",
    "region",
    "type",
    "res_qls_mco",
    "nb_dossiers_qls_mco",
    "classe_qls_mco",
    "evol_qls_mco",
    "res_qls_ca",
    "nb_dossiers_qls_ca",
    "classe_qls_ca",
    "evol_qls_ca",
]
SAMPLE = 80


@dataclass(frozen=True)
class SyntheticEstablishment:
    finess_eg: str
    finess_ej: str
    name: str
    region: str
    category: str
    p_mco: float
    p_ca: float | None


def _finess(dept: str, n: int) -> str:
    body = f"{dept}{n:06d}"
    return body + luhn_key(body)


def population(n: int = 300, seed: int = 1) -> list[SyntheticEstablishment]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        region = rng.choice(list(REGIONS))
        dept = rng.choice(REGIONS[region])
        p = min(0.97, max(0.05, rng.betavariate(6, 4)))  # mean 0.6, as the 2022+ national results
        ca = min(0.97, max(0.05, rng.betavariate(7, 4))) if rng.random() < 0.6 else None
        out.append(
            SyntheticEstablishment(
                finess_eg=_finess(dept, 900000 + i),
                finess_ej=_finess(dept, 800000 + i),
                name=f"Établissement fictif {i + 1:03d}",
                region=region,
                category=rng.choice(CATEGORIES),
                p_mco=p,
                p_ca=ca,
            )
        )
    return out


def _measure(rng: random.Random, p: float) -> tuple[str, str, str]:
    k = sum(rng.random() < p for _ in range(SAMPLE))
    klass = classify(*wilson(k, SAMPLE))
    return f"{100 * k / SAMPLE:.1f}", str(SAMPLE), klass


def qls_csv(
    pop: list[SyntheticEstablishment],
    year: int,
    seed: int = 1,
    boosted: frozenset[str] = frozenset(),
    effect: float = 0.0,
) -> str:
    """One measurement as a `;` CSV in the qls-qualhas layout; `boosted` FINESS gain `effect` points."""
    rng = random.Random(f"{seed}-{year}")
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow(HEADER)
    for e in pop:
        gain = effect / 100 if e.finess_eg in boosted else 0.0
        mco = _measure(rng, min(0.99, e.p_mco + gain))
        ca = _measure(rng, min(0.99, e.p_ca + gain)) if e.p_ca is not None else ("", "", "NC")
        w.writerow(
            [
                e.finess_ej,
                e.name.replace("Établissement", "Entité"),
                e.finess_eg,
                e.name,
                e.region,
                e.category,
                *mco,
                "4-Non calculable",
                *ca,
                "4-Non calculable" if ca[0] else "",
            ]
        )
    return buf.getvalue()
