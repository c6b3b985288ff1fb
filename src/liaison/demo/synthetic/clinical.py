"""Synthetic clinical traffic of one stay, as a hospital's systems would send it (demo, replay).

Pure Python, no Django. For a stay, `stay_messages` draws from the curated codes
(`liaison.clinical.codes`): the treatment at entry recorded after admission (RDE^O11, ORC-29 H),
a few prescriptions during the stay (OMP^O09, I), laboratory orders over the stay (ORU^R01, 3 to
40 results, about one in four abnormal, with one or two orders still pending at discharge), and,
for a stay that ends, the discharge prescription (RDE^O11, O: each usual medicine continued,
modified or stopped, and new ones; 3 to 12 medicines in all) and the coding (DG1 main and
associated diagnoses, PR1 procedures, sometimes an AL1 allergy) that the caller sends in an ADT
A08 of its own (it holds the patient's identity).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from liaison.clinical import codes, feeds
from liaison.core.paris import PARIS


@dataclass(frozen=True)
class FeedMessage:
    at: dt.datetime
    kind: str  # ORU^R01, RDE^O11, OMP^O09, or ADT^A08 for `segments`
    control_id: str
    text: str = ""  # the whole message (empty for ADT^A08)
    segments: list[str] = field(default_factory=list)  # DG1/PR1/AL1 for the caller's A08


def _ts(at: dt.datetime) -> str:
    return at.astimezone(PARIS).strftime("%Y%m%d%H%M")


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    minutes = max(int((end - start).total_seconds() // 60), 1)
    return start + dt.timedelta(minutes=rng.randrange(minutes))


def _value(rng: random.Random, test: codes.LabTest, abnormal: bool) -> tuple[str, str]:
    span = test.high - test.low or 1
    if not abnormal:
        x = rng.uniform(test.low + span * 0.1, test.high - span * 0.1)
        flag = ""
    elif rng.random() < 0.5 and test.low > 0:
        x, flag = rng.uniform(test.low * 0.6, test.low * 0.95), "L"
    else:
        x, flag = rng.uniform(test.high * 1.1, test.high * 2.5), "H"
    return f"{x:.{test.decimals}f}", flag


def stay_messages(
    rng: random.Random,
    *,
    ipp: str,
    nda: str,
    facility: str,
    admit_at: dt.datetime,
    end_at: dt.datetime,
    discharged: bool,
    control: str,
    prescriber: str = "",
    biologist: str = "",
) -> list[FeedMessage]:
    """The stay's clinical messages in time order; `control` prefixes their MSH-10. Pass
    `random.Random(nda)` so that every command draws the same medicines for one stay."""
    out: list[FeedMessage] = []
    common = {"ipp": ipp, "nda": nda, "facility": facility}
    count = iter(range(1, 1000))

    def emit(
        at: dt.datetime,
        kind: str,
        make: Callable[[str], str] | None = None,
        segments: list[str] | None = None,
    ) -> None:
        control_id = f"{control}-{next(count):02d}"
        out.append(FeedMessage(at, kind, control_id, make(control_id) if make else "", segments or []))

    end_at = max(end_at, admit_at + dt.timedelta(hours=2))
    drugs = rng.sample(codes.DRUGS, k=min(len(codes.DRUGS), 12))
    n_entry = rng.randint(2, 7)
    entry, others = drugs[:n_entry], drugs[n_entry:]
    entry_orders = [
        feeds.MedOrder(
            f"{nda}H{i}",
            d.cis,
            d.label,
            rng.choice(d.doses),
            d.unit,
            rng.choice(codes.FREQUENCIES),
            d.route,
            "H",
        )
        for i, d in enumerate(entry, 1)
    ]
    at = min(admit_at + dt.timedelta(hours=1), end_at)
    emit(
        at,
        "RDE^O11",
        lambda c: feeds.pharmacy(c, **common, orders=entry_orders, sent=_ts(at), prescriber=prescriber),
    )
    stay_drugs = [d for d in others if d.route == "SC" or d.cis == "60234100"][:2]
    if stay_drugs:
        orders = [
            feeds.MedOrder(f"{nda}I{i}", d.cis, d.label, d.doses[0], d.unit, "QD", d.route, "I")
            for i, d in enumerate(stay_drugs, 1)
        ]
        at2 = min(admit_at + dt.timedelta(hours=2), end_at)
        emit(
            at2,
            "OMP^O09",
            lambda c: feeds.pharmacy(
                c, **common, orders=orders, sent=_ts(at2), message="OMP", prescriber=prescriber
            ),
        )
    # Laboratory: panels of 2 to 6 tests until 3 to 40 results are reached.
    target = rng.randint(3, 40)
    made = 0
    k = 0
    while made < target:
        k += 1
        tests = rng.sample(codes.LAB_TESTS, k=min(rng.randint(2, 6), target - made + 1))
        taken = _between(rng, admit_at, end_at)
        obs = []
        for t in tests:
            value, flag = _value(rng, t, rng.random() < 0.25)
            obs.append(feeds.Obs(t.loinc, t.label, value, t.unit, t.reference_range, flag))
        order = feeds.LabOrder(f"{nda}L{k}", "24360-0", "Bilan biologique", "F", _ts(taken), obs)
        sent = min(taken + dt.timedelta(hours=2), end_at)
        emit(
            sent,
            "ORU^R01",
            lambda c, o=order, t=sent: feeds.oru(c, **common, orders=[o], sent=_ts(t), biologist=biologist),
        )
        made += len(obs)
    for j, (loinc, label) in enumerate(rng.sample(codes.PENDING_TESTS, k=rng.randint(0, 2)), 1):
        taken = _between(rng, admit_at, end_at)
        order = feeds.LabOrder(f"{nda}P{j}", loinc, label, "I", _ts(taken))
        emit(
            taken,
            "ORU^R01",
            lambda c, o=order, t=taken: feeds.oru(c, **common, orders=[o], sent=_ts(t), biologist=biologist),
        )
    if discharged:
        at3 = end_at - dt.timedelta(minutes=45)
        final = _discharge_orders(rng, nda, entry, others)
        emit(
            at3,
            "RDE^O11",
            lambda c: feeds.pharmacy(c, **common, orders=final, sent=_ts(at3), prescriber=prescriber),
        )
        emit(end_at - dt.timedelta(minutes=30), "ADT^A08", segments=_coding(rng, admit_at))
    return sorted(out, key=lambda m: m.at)


def _discharge_orders(
    rng: random.Random, nda: str, entry: list[codes.Drug], others: list[codes.Drug]
) -> list[feeds.MedOrder]:
    orders = []
    for i, d in enumerate(entry, 1):
        fate = rng.choices(["same", "modified", "stopped"], weights=[65, 20, 15])[0]
        if fate == "stopped":
            continue
        dose = rng.choice(d.doses)
        if fate == "modified":
            dose = rng.choice([x for x in d.doses if x != dose] or ["2"])
        orders.append(
            feeds.MedOrder(f"{nda}O{i}", d.cis, d.label, dose, d.unit, "QD", d.route, "O", duration_days=90)
        )
    for j, d in enumerate(rng.sample(others, k=min(len(others), rng.randint(1, 3))), 1):
        orders.append(
            feeds.MedOrder(
                f"{nda}N{j}",
                d.cis,
                d.label,
                d.doses[0],
                d.unit,
                rng.choice(codes.FREQUENCIES),
                d.route,
                "O",
                duration_days=rng.choice([7, 14, 30]),
            )
        )
    return orders


def _coding(rng: random.Random, admit_at: dt.datetime) -> list[str]:
    main, *associated = rng.sample(codes.DIAGNOSES, k=rng.randint(1, 3))
    segments = [feeds.dg1(1, *main, True)]
    segments += [feeds.dg1(i, *d, False) for i, d in enumerate(associated, 2)]
    for i, (code, label) in enumerate(rng.sample(codes.PROCEDURES, k=rng.randint(1, 3)), 1):
        segments.append(feeds.pr1(i, code, label, _ts(admit_at + dt.timedelta(hours=3 * i))))
    if rng.random() < 0.2:
        code, label, kind = rng.choice(codes.ALLERGENS)
        segments.append(feeds.al1(1, code, label, kind, rng.choice(["MI", "MO", "SV"]), "urticaire"))
    return segments
