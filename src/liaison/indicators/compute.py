"""The establishment indicators computed by the database: one aggregate query, no per-stay loop.

`stay_facts()` is the ORM query of one row per in-scope stay with its facts (delays in whole
Paris days, MSSanté addresses, identity); `delivery_facts()` the same for MSSanté mails. `cube()`
wraps either in one `GROUP BY month, unit, physician` query that counts every indicator's
denominator and numerator; `figures()` adds the cube up by period, unit, physician and month.
`proof_rows()` lists the very rows a figure counts, from the same query, so exports reconcile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    DateField,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth

from liaison.core.paris import paris_days
from liaison.delivery.models import Delivery
from liaison.indicators import definitions as d
from liaison.letters.models import (
    PARIS,
    DischargeCheck,
    Establishment,
    Letter,
    Practitioner,
    Stay,
    Unit,
)

SIGNED_STATES = [Letter.Status.SIGNED, Letter.Status.SUPERSEDED]
KEYS = ("month", "unit_id", "physician_id")


class IndicatorError(ValueError):
    """A refused indicator request; the message is French."""


class DayDiff(Func):
    """Whole days between the Europe/Paris dates of two timestamps: day(later) − day(earlier)."""

    output_field = IntegerField()
    arity = 2

    def as_postgresql(self, compiler, connection, **extra):  # type: ignore[no-untyped-def]
        later, p1 = compiler.compile(self.source_expressions[0])
        earlier, p2 = compiler.compile(self.source_expressions[1])
        return (
            f"(({later} AT TIME ZONE 'Europe/Paris')::date - ({earlier} AT TIME ZONE 'Europe/Paris')::date)",
            (*p1, *p2),
        )

    def as_sqlite(self, compiler, connection, **extra):  # type: ignore[no-untyped-def]
        later, p1 = compiler.compile(self.source_expressions[0])
        earlier, p2 = compiler.compile(self.source_expressions[1])
        day = "julianday(django_datetime_cast_date({}, 'Europe/Paris', 'UTC'))"
        return f"CAST({day.format(later)} - {day.format(earlier)} AS INTEGER)", (*p1, *p2)

    def as_sql(self, compiler, connection, **extra):  # type: ignore[no-untyped-def]
        raise IndicatorError("Base de données non prise en charge pour les indicateurs.")


def _scope(
    prefix: str,
    est: Establishment,
    start: dt.date,
    end: dt.date,
    rules: dict[str, Any],
    unit_ids: Iterable[int] | None,
) -> tuple[Q, Q]:
    """In-scope stays (as a filter and an exclusion), seen from a model `prefix` away."""
    if end < start:
        raise IndicatorError("La fin de la période précède son début.")
    lo, hi = paris_days(start, end)
    q = Q(
        **{
            f"{prefix}establishment": est,
            f"{prefix}cancelled": False,
            f"{prefix}discharge_at__gte": lo,
            f"{prefix}discharge_at__lt": hi,
            f"{prefix}sector__in": list(rules["sectors"]),
        }
    )
    if unit_ids is not None:
        q &= Q(**{f"{prefix}unit_id__in": list(unit_ids)})
    return q, Q(**{f"{prefix}exit_mode__in": list(rules["excluded_exit_modes"])})


def _has_mss(path: str) -> Q:
    return Q(**{f"{path}__isnull": False}) & ~Q(**{f"{path}__mssante": ""})


def stay_facts(
    est: Establishment,
    start: dt.date,
    end: dt.date,
    defs: d.Definitions,
    unit_ids: Iterable[int] | None = None,
) -> QuerySet:
    """One row per in-scope stay: keys, discharge and the facts of `definitions.STAY_FACTS`."""
    rules = defs.rules
    keep, drop = _scope("", est, start, end, rules, unit_ids)
    signed = Q(letters__status__in=SIGNED_STATES, letters__signed_at__isnull=False)
    dv = "letters__deliveries__"
    mss_ok = signed & Q(
        **{f"{dv}channel": Delivery.Channel.MSSANTE, f"{dv}state__in": list(rules["mss_accepted_states"])}
    )
    dmp_ok = signed & Q(
        **{f"{dv}channel": Delivery.Channel.DMP, f"{dv}state__in": list(rules["dmp_success_states"])}
    )
    pro_roles = list(rules["professional_roles"])

    def delay(expr: Any, condition: Q) -> DayDiff:
        return DayDiff(Min(expr, filter=condition), Min("discharge_at"))

    def any_of(condition: Q) -> Max:
        # an aggregate, so that the query groups by the stay's primary key alone
        return Max(Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField()))

    mt = "patient__medecin_traitant"
    return (
        Stay.objects.filter(keep)
        .exclude(drop)
        .values("id", "unit_id")
        .annotate(
            discharged=Min("discharge_at"),
            month=TruncMonth(Min("discharge_at"), tzinfo=PARIS, output_field=DateField()),
            physician_id=Min("responsible_physician_id"),
            mt_mss=any_of(_has_mss(mt)),
            pro_mss=any_of(_has_mss(mt) | _has_mss("adresseur") | _has_mss("receiving_structure")),
            ins_qualified=any_of(
                Q(patient__identity_status="qualifiee", patient__ins_matricule__isnull=False)
                & ~Q(patient__ins_matricule="")
            ),
            sign_delay=delay("letters__signed_at", signed),
            hand_delay=delay("letters__handed_over_at", signed),
            mt_delay=delay(f"{dv}sent_at", mss_ok & Q(**{f"{dv}recipient_role": "medecin_traitant"})),
            pro_delay=delay(f"{dv}sent_at", mss_ok & Q(**{f"{dv}recipient_role__in": pro_roles})),
            pat_delay=delay(f"{dv}sent_at", mss_ok & Q(**{f"{dv}recipient_role": "patient"})),
            dmp_delay=delay(Coalesce(f"{dv}acknowledged_at", f"{dv}sent_at"), dmp_ok),
            signed_before_discharge=any_of(signed & Q(letters__signed_at__lt=F("discharge_at"))),
            corrected_after_discharge=any_of(Q(letters__discharge_check=DischargeCheck.TO_CORRECT)),
        )
        .annotate(
            has_letter=Case(
                When(sign_delay__isnull=False, then=Value(1)), default=Value(0), output_field=IntegerField()
            )
        )
        .order_by()
    )


def delivery_facts(
    est: Establishment,
    start: dt.date,
    end: dt.date,
    defs: d.Definitions,
    unit_ids: Iterable[int] | None = None,
) -> QuerySet:
    """One row per MSSanté mail of a signed letter of an in-scope stay (acknowledgement rates)."""
    rules = defs.rules
    keep, drop = _scope("letter__stay__", est, start, end, rules, unit_ids)
    accepted = list(rules["mss_accepted_states"])

    def flag(condition: Q) -> Case:
        return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())

    return (
        Delivery.objects.filter(keep, channel=Delivery.Channel.MSSANTE)
        .exclude(drop)
        .annotate(
            stay_id=F("letter__stay_id"),
            discharged=F("letter__stay__discharge_at"),
            month=TruncMonth("letter__stay__discharge_at", tzinfo=PARIS, output_field=DateField()),
            unit_id=F("letter__stay__unit_id"),
            physician_id=F("letter__stay__responsible_physician_id"),
            left=flag(Q(state__in=accepted)),
            delivered=flag(Q(state__in=[Delivery.State.DELIVERED, Delivery.State.READ])),
            read=flag(Q(state=Delivery.State.READ)),
        )
        .values("id", "stay_id", "discharged", *KEYS, "recipient_role", "state", "left", "delivered", "read")
        .order_by()
    )


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def cube(
    facts: QuerySet,
    indicators: Sequence[d.Indicator],
    distributions: Sequence[d.Distribution] = (),
) -> list[dict[str, Any]]:
    """Counts of every denominator and numerator by (month, unit, physician), in one query."""
    inner, params = facts.query.sql_with_params()
    cols, out_params = [], []
    for ind in indicators:
        for key, preds in ((d.den_key(ind.id), ind.denominator), (d.num_key(ind.id), ind.counted)):
            cond, ps = d.conjunction_sql(preds, _q)
            cols.append(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {_q(key)}")
            out_params.extend(ps)
    for dist in distributions:
        for key, _label, preds in dist.bucket_preds():
            cond, ps = d.conjunction_sql(preds, _q)
            cols.append(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {_q(f'{dist.id}:{key}')}")
            out_params.extend(ps)
    keys = ", ".join(_q(k) for k in KEYS)
    sql = (
        f"SELECT {keys}, COUNT(*) AS {_q('rows')}, {', '.join(cols)} FROM ({inner}) AS facts GROUP BY {keys}"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [*out_params, *params])  # SELECT list first, then the inner query
        names = [c[0] for c in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    for r in rows:
        r["month"] = _as_date(r["month"])
    return rows


def _as_date(v: Any) -> dt.date | None:
    if v is None or (isinstance(v, dt.date) and not isinstance(v, dt.datetime)):
        return v
    if isinstance(v, dt.datetime):
        return v.date()
    return dt.date.fromisoformat(str(v)[:10])


def proof_rows(facts: QuerySet, indicator: d.Indicator) -> list[dict[str, Any]]:
    """The rows of the denominator, each with `in_numerator`, from the figure's own query."""
    inner, params = facts.query.sql_with_params()
    den, den_params = d.conjunction_sql(indicator.denominator, _q)
    num, num_params = d.conjunction_sql(indicator.counted, _q)
    sql = (
        f"SELECT facts.*, CASE WHEN {num} THEN 1 ELSE 0 END AS {_q('in_numerator')} "
        f"FROM ({inner}) AS facts WHERE {den} ORDER BY {_q('discharged')}, {_q('id')}"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [*num_params, *params, *den_params])
        names = [c[0] for c in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    for r in rows:
        r["in_numerator"] = bool(r["in_numerator"])
        r["month"] = _as_date(r["month"])
        if isinstance(r["discharged"], str):  # SQLite returns text from raw SQL
            r["discharged"] = dt.datetime.fromisoformat(r["discharged"]).replace(tzinfo=dt.UTC)
        for k, kind in (d.STAY_FACTS if indicator.unit == "sejour" else d.DELIVERY_FACTS).items():
            if kind is bool and k in r:
                r[k] = bool(r[k])
    return rows


def facts_for(
    indicator: d.Indicator,
    est: Establishment,
    start: dt.date,
    end: dt.date,
    defs: d.Definitions,
    unit_ids: Iterable[int] | None = None,
) -> QuerySet:
    maker = stay_facts if indicator.unit == "sejour" else delivery_facts
    return maker(est, start, end, defs, unit_ids)


# --- the figures of a period -------------------------------------------------------------------


@dataclass
class Results:
    """Every figure of a period: totals, by unit, by physician, by month, and delay distributions."""

    establishment: Establishment
    start: dt.date
    end: dt.date
    defs: d.Definitions
    totals: dict[str, d.Figure]
    by_unit: dict[int | None, dict[str, d.Figure]]
    by_physician: dict[int | None, dict[str, d.Figure]]
    by_month: dict[dt.date | None, dict[str, d.Figure]]
    distributions: dict[str, list[tuple[str, str, int]]]
    units: dict[int, str] = field(default_factory=dict)
    physicians: dict[int, str] = field(default_factory=dict)
    qls: dict[str, Any] = field(default_factory=dict)
    stays: int = 0
    deliveries: int = 0

    def indicator_dict(self, ind: d.Indicator) -> dict[str, Any]:
        fig = self.totals[ind.id]
        return {
            "id": ind.id,
            "label": ind.label,
            **fig.as_dict(),
            "unit": ind.unit,
            "status": ind.status,
            "definition": ind.definition,
            "numerator_text": ind.numerator_text,
            "denominator_text": ind.denominator_text,
            "by_unit": [
                {"unit": self.units.get(k, "—"), **v[ind.id].as_dict()}
                for k, v in sorted(self.by_unit.items(), key=lambda kv: self.units.get(kv[0], ""))
            ],
            "by_physician": [
                {"physician": self.physicians.get(k, "non renseigné"), **v[ind.id].as_dict()}
                for k, v in sorted(self.by_physician.items(), key=lambda kv: self.physicians.get(kv[0], ""))
            ],
            "by_month": [
                {"month": k.isoformat() if k else None, **v[ind.id].as_dict()}
                for k, v in sorted(self.by_month.items(), key=lambda kv: kv[0] or dt.date.min)
            ],
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "establishment": {"name": self.establishment.name, "finess_eg": self.establishment.finess_eg},
            "period": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "definitions_version": self.defs.version,
            "scope": self.defs.texts,
            "stays": self.stays,
            "mssante_deliveries": self.deliveries,
            "indicators": [self.indicator_dict(i) for i in self.defs.indicators]
            + [q for q in (self.qls.get("audit"), self.qls.get("continuous")) if q],
            "distributions": [
                {
                    "id": dist.id,
                    "label": dist.label,
                    "buckets": [
                        {"key": k, "label": lbl, "count": n} for k, lbl, n in self.distributions[dist.id]
                    ],
                }
                for dist in self.defs.distributions
            ],
        }


def configured_definitions() -> d.Definitions:
    """The indicators' definitions this installation uses (LIAISON_INDICATORS_CONFIG, read by the
    settings), else the bundled ones."""
    return d.load(settings.LIAISON_INDICATORS.definitions)


def compute(
    est: Establishment,
    start: dt.date,
    end: dt.date,
    defs: d.Definitions | None = None,
    unit_ids: Iterable[int] | None = None,
    with_qls: bool = True,
    step: Callable[[str], None] = lambda _label: None,
) -> Results:
    """All the figures of [start, end] (days of discharge, Europe/Paris). `step` reports progress."""
    defs = defs or configured_definitions()
    unit_ids = list(unit_ids) if unit_ids is not None else None
    step("Séjours : délais, DMP, MSSanté")
    stay_inds, mail_inds = defs.of_unit("sejour"), defs.of_unit("envoi")
    rows = cube(stay_facts(est, start, end, defs, unit_ids), stay_inds, defs.distributions)
    step("Envois MSSanté : accusés")
    mail_rows = cube(delivery_facts(est, start, end, defs, unit_ids), mail_inds)
    ids = [i.id for i in defs.indicators]
    merged = rows + mail_rows

    def by(key: Callable[[dict], Any]) -> dict:
        return d.rollup(merged, ids, key)

    totals = d.rollup(merged, ids).get(None) or {i: d.Figure(0, 0) for i in ids}
    dists: dict[str, list[tuple[str, str, int]]] = {}
    for dist in defs.distributions:
        dists[dist.id] = [
            (k, label, sum(int(r.get(f"{dist.id}:{k}") or 0) for r in rows))
            for k, label, _ in dist.bucket_preds()
        ]
    units = Unit.objects.filter(establishment=est)
    if unit_ids is not None:
        units = units.filter(id__in=unit_ids)
    unit_names = dict(units.values_list("id", "name"))
    physicians = {p.pk: str(p) for p in Practitioner.objects.filter(establishment=est)}
    res = Results(
        establishment=est,
        start=start,
        end=end,
        defs=defs,
        totals=totals,
        by_unit=by(lambda r: r["unit_id"]),
        by_physician=by(lambda r: r["physician_id"]),
        by_month=by(lambda r: r["month"]),
        distributions=dists,
        units=unit_names,
        physicians=physicians,
        stays=sum(int(r["rows"]) for r in rows),
        deliveries=sum(int(r["rows"]) for r in mail_rows),
    )
    if with_qls:
        step("QLS : dernier audit et évaluation continue")
        res.qls = qls_figures(est, start, end, defs, unit_ids)
    return res


# --- QLS ------------------------------------------------------------------------------------


def qls_figures(
    est: Establishment,
    start: dt.date,
    end: dt.date,
    defs: d.Definitions,
    unit_ids: Iterable[int] | None = None,
) -> dict[str, Any]:
    """The latest saved audit and the continuous grading of every eligible letter of the period."""
    from liaison.indicators import qls
    from liaison.indicators.models import QlsAudit
    from liaison.quality.audit import criterion_rates
    from liaison.quality.stats import proportion

    out: dict[str, Any] = {}
    texts = defs.qls
    latest = QlsAudit.objects.filter(establishment=est).order_by("-created_at", "-pk").first()
    if latest is not None and unit_ids is None:
        try:
            a = qls.result_of(latest).as_dict()
            out["audit"] = {
                "id": texts["audit"]["id"],
                "label": texts["audit"]["label"],
                "numerator": a["compliant"],
                "denominator": a["n"],
                "value": a["rate"],
                "ci95": a["ci95"],
                "class": a["class"],
                "unit": "dossier",
                "definition": " ".join(texts["audit"]["definition"].split()),
                "audit": {
                    "number": latest.pk,
                    "title": str(latest),
                    "grid": latest.grid_id,
                    "from": latest.period_from.isoformat(),
                    "to": latest.period_to.isoformat(),
                },
                "national_priorities": {
                    k: {"label": v["label_fr"], "rate": v["rate"], "met": v["met"], "not_met": v["not_met"]}
                    for k, v in a["national_priorities"].items()
                },
            }
        except qls.AuditError as exc:
            out["audit_error"] = str(exc)
    scope = set(unit_ids) if unit_ids is not None else None
    names = dict(Unit.objects.filter(establishment=est).values_list("name", "id"))
    k = n = 0
    by_unit: dict[str, list[int]] = {}
    priorities: dict[str, dict[str, Any]] = {}
    sectors = [s for s in qls.DEFAULT_GRIDS if s in defs.rules["sectors"]]
    for sector in sectors:
        grid = qls.default_grid(sector)
        records = qls.records(est, grid.eligibility.sectors, start, end)
        unit_of = {r.stay.stay_id: r.stay.unit for r in records}
        if scope is not None:
            records = [r for r in records if names.get(r.stay.unit) in scope]
        if not records:
            continue
        graded = qls.grade_all(grid, records)
        for rev in graded:
            ok = rev.final.compliant
            k += ok
            n += 1
            u = by_unit.setdefault(unit_of[rev.stay_id], [0, 0])
            u[0] += ok
            u[1] += 1
        full = criterion_rates(grid, [r.final for r in graded])
        for cid in grid.national_priorities:
            c = priorities.setdefault(cid, {"label": full[cid]["label_fr"], "met": 0, "not_met": 0})
            c["met"] += full[cid]["met"]
            c["not_met"] += full[cid]["not_met"]
    for c in priorities.values():
        c["rate"] = c["met"] / (c["met"] + c["not_met"]) if c["met"] + c["not_met"] else None
    p = proportion(k, n)
    out["continuous"] = {
        "id": texts["continuous"]["id"],
        "label": texts["continuous"]["label"],
        "numerator": k,
        "denominator": n,
        "value": p.rate,
        "ci95": list(p.ci95) if p.ci95 else None,
        "class": p.cls,
        "unit": "dossier",
        "definition": " ".join(texts["continuous"]["definition"].split()),
        "by_unit": [
            {"unit": u, "numerator": a, "denominator": b, "value": a / b if b else None}
            for u, (a, b) in sorted(by_unit.items())
        ],
        "national_priorities": priorities,
    }
    return out
