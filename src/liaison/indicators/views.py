"""Indicator pages (/indicateurs/): dashboard, proofs, QLS audits with overrides, IFAQ, PDF report.

Who sees what: the quality role sees the whole establishment, pseudonymised; a clinical role
sees the units it works in, with identities. QLS audits and the IFAQ simulation are the quality
role's. Every proof export leaves an audit-trail row listing the stays it contains.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from liaison.indicators import charts, compute, digital, digital_db, exports, ifaq, qls, report
from liaison.indicators import definitions as d
from liaison.indicators.models import QlsAudit, QlsCampaign
from liaison.letters.audit import record_list
from liaison.letters.models import PARIS, Establishment
from liaison.letters.permissions import CLINICAL_ROLES, Role, role_of, unit_ids
from liaison.quality.export import audit_to_csv, audit_xlsx_bytes
from liaison.quality.grid import GridError, load_grid

TREND_IDS = ["SIGN-J0", "HAND-J0", "MT-J0", "DMP-ELIG", "MSS-PS"]
RESULT_FR = {"met": "oui", "not_met": "non", "not_applicable": "NA"}


class Scope:
    """The establishment, the units (None: all) and whether identities may be shown."""

    def __init__(self, est: Establishment, units: list[int] | None, identified: bool):
        self.est, self.units, self.identified = est, units, identified


def _scope(request: HttpRequest, quality_only: bool) -> Scope:
    role = role_of(request.user)
    profile = getattr(request.user, "profile", None)
    est = profile.establishment if profile else None
    if est is None:
        raise PermissionDenied("Votre compte n'est rattaché à aucun établissement.")
    if role == Role.QUALITE:
        return Scope(est, None, False)
    if role in CLINICAL_ROLES and not quality_only:
        return Scope(est, sorted(unit_ids(request.user)), True)
    raise PermissionDenied("Indicateurs réservés au service qualité / DIM et aux équipes de soins.")


def readers(quality_only: bool = False) -> Callable:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            request.scope = _scope(request, quality_only)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    try:
        start = dt.date.fromisoformat(request.GET["du"])
        end = dt.date.fromisoformat(request.GET["au"])
        if end < start:
            raise ValueError
        return start, end
    except (KeyError, ValueError):
        if "du" in request.GET or "au" in request.GET:
            messages.error(request, "Période invalide : le mois précédent est affiché.")
        return d.previous_month(dt.datetime.now(PARIS).date())


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %".replace(".", ",")


def _twelve_months(end: dt.date) -> dt.date:
    m = end.replace(day=1)
    for _ in range(11):
        m = (m - dt.timedelta(days=1)).replace(day=1)
    return m


def dashboard_data(scope: Scope, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Everything the dashboard and the PDF report show (aggregates only)."""
    defs = compute.configured_definitions()
    res = compute.compute(scope.est, start, end, defs, scope.units)
    trend_start = _twelve_months(end)
    trend = compute.compute(scope.est, trend_start, end, defs, scope.units, with_qls=False)
    months = d.month_range(trend_start, end)
    series = {
        defs.get(i).label: [(m, trend.by_month.get(m, {}).get(i, d.Figure(0, 0)).value) for m in months]
        for i in TREND_IDS
    }
    rows = []
    for ind in defs.indicators:
        f = res.totals[ind.id]
        ci = f.ci95
        rows.append(
            {
                "ind": ind,
                "fig": f,
                "value": _pct(f.value),
                "ci": f"{_pct(ci[0])} – {_pct(ci[1])}" if ci else "—",
                "units": [
                    _pct(res.by_unit[u][ind.id].value) if u in res.by_unit else "—" for u in sorted(res.units)
                ],
            }
        )
    hand = [
        (res.units[u], figs["HAND-J0"].value, figs["HAND-J0"].denominator)
        for u, figs in res.by_unit.items()
        if u in res.units
    ]
    physicians = sorted(
        (
            {
                "name": res.physicians.get(p, "non renseigné"),
                "sign": figs["SIGN-J0"],
                "sign_pct": _pct(figs["SIGN-J0"].value),
                "hand_pct": _pct(figs["HAND-J0"].value),
                "mt_pct": _pct(figs["MT-J0"].value),
            }
            for p, figs in res.by_physician.items()
        ),
        key=lambda x: x["name"],
    )
    dists = [
        {
            "label": dist.label,
            "svg": charts.distribution([(lbl, n) for _, lbl, n in res.distributions[dist.id]], dist.label),
        }
        for dist in defs.distributions
    ]
    cont = res.qls.get("continuous", {})
    audit = res.qls.get("audit")
    priorities = [
        {
            "label": c["label"],
            "continuous": _share_of(c["met"], c["met"] + c["not_met"], "séjours"),
            "audit": _share_of(
                audit["national_priorities"][cid]["met"],
                audit["national_priorities"][cid]["met"] + audit["national_priorities"][cid]["not_met"],
                "dossiers",
            )
            if audit and cid in audit["national_priorities"]
            else "—",
        }
        for cid, c in cont.get("national_priorities", {}).items()
    ]
    return {
        "res": res,
        "defs": defs,
        "rows": rows,
        "unit_names": [res.units[u] for u in sorted(res.units)],
        "physicians": physicians,
        "trend_svg": charts.trend(series, "Évolution sur 12 mois (séjours datés par leur sortie)"),
        "units_svg": charts.compare(
            hand, "Remise tracée au plus tard le jour de la sortie (HAND-J0), par service", target=None
        ),
        "distributions": dists,
        "qls_continuous": cont,
        "qls_audit": audit,
        "qls_rows": [
            {
                **q,
                "value_pct": _pct(q["value"]),
                "ci": f"{_pct(q['ci95'][0])} – {_pct(q['ci95'][1])}" if q.get("ci95") else "—",
            }
            for q in (audit, cont)
            if q
        ],
        "priorities": priorities,
        "trend_from": trend_start,
    }


def _share_of(k: int, n: int, unit: str) -> str:
    """A rate with the counts it comes from, so that it can be recomputed by hand."""
    return f"{_pct(k / n if n else None)} ({k}/{n} {unit})"


@readers()
def dashboard(request: HttpRequest) -> HttpResponse:
    start, end = _period(request)
    data = dashboard_data(request.scope, start, end)
    return render(
        request,
        "indicators/dashboard.html",
        {
            **data,
            "start": start,
            "end": end,
            "scope": request.scope,
            "is_quality": request.scope.units is None,
            "query": f"du={start.isoformat()}&au={end.isoformat()}",
        },
    )


@readers()
def proof(request: HttpRequest, indicator_id: str, fmt: str) -> HttpResponse:
    start, end = _period(request)
    defs = compute.configured_definitions()
    try:
        ind = defs.get(indicator_id)
    except KeyError as exc:
        raise Http404("Indicateur inconnu.") from exc
    scope = request.scope
    p = exports.build(scope.est, start, end, ind, defs, scope.identified, scope.units)
    record_list(
        request.user,
        "stay",
        p.stay_ids,
        f"preuve {ind.id} du {start:%d/%m/%Y} au {end:%d/%m/%Y} "
        f"({'nominative' if p.identified else 'pseudonymisée'}, {fmt})",
    )
    if fmt == "csv":
        resp = HttpResponse(exports.to_csv(p), content_type="text/csv; charset=utf-8")
    else:
        resp = HttpResponse(
            exports.to_xlsx(p),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    resp["Content-Disposition"] = f'attachment; filename="{exports.filename(p, start, end, fmt)}"'
    return resp


@readers()
def report_pdf(request: HttpRequest) -> HttpResponse:
    start, end = _period(request)
    data = dashboard_data(request.scope, start, end)
    pdf = report.render(data, start, end, dt.datetime.now(PARIS).date())
    resp = HttpResponse(pdf, content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="indicateurs-{start:%Y%m%d}-{end:%Y%m%d}.pdf"'
    return resp


# --- QLS audits -------------------------------------------------------------------------------


def _optional_date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@readers(quality_only=True)
def audits(request: HttpRequest) -> HttpResponse:
    """The declared QLS campaigns and their HAS draw (80 records + 20 in reserve, once each)."""
    est = request.scope.est
    error = ""
    if request.method == "POST":
        try:
            raw_campaign = request.POST.get("campaign")
            raw_size = request.POST.get("sample")
            campaign = qls.find_campaign(
                est,
                int(raw_campaign) if raw_campaign else None,
                request.POST.get("sector") or None,
                _optional_date(request.POST.get("from")),
                _optional_date(request.POST.get("to")),
            )
            saved = qls.draw_campaign(
                campaign,
                request.POST.get("seed") or "1",
                request.user,
                size=int(raw_size) if raw_size else None,
                label=request.POST.get("label", "")[:200],
            )
        except (qls.AuditError, GridError) as exc:
            error = str(exc)
        except ValueError:
            error = "Campagne, dates ou taille illisibles."
        else:
            messages.success(request, f"Audit n° {saved.pk} ouvert : l'échantillon est tiré et figé.")
            return redirect("indicators:audit", audit_id=saved.pk)
    campaigns = QlsCampaign.objects.filter(establishment=est).select_related("audit__created_by")
    return render(
        request,
        "indicators/audits.html",
        {
            "audits": QlsAudit.objects.filter(establishment=est).order_by("-created_at"),
            "campaigns": campaigns.order_by("-period_from", "sector"),
            "open_campaigns": [c for c in campaigns.order_by("-period_from") if not hasattr(c, "audit")],
            "size": qls.HAS_SAMPLE_SIZE,
            "reserve": qls.HAS_RESERVE,
            "error": error,
            "posted": request.POST,
        },
        status=400 if error else 200,
    )


@readers(quality_only=True)
def audit(request: HttpRequest, audit_id: int) -> HttpResponse:
    saved = get_object_or_404(QlsAudit, pk=audit_id, establishment=request.scope.est)
    if request.method == "POST":
        try:
            qls.override(
                saved,
                int(request.POST["stay"]),
                request.POST["criterion"],
                request.POST["result"],
                request.POST.get("reason", ""),
                request.user,
            )
            messages.success(request, "Correction enregistrée.")
        except (KeyError, ValueError, qls.AuditError) as exc:
            messages.error(request, f"Correction refusée : {exc}")
        return redirect(
            reverse("indicators:audit", args=[saved.pk]) + f"#sejour-{request.POST.get('stay', '')}"
        )
    try:
        result = qls.result_of(saved).as_dict()
    except qls.AuditError as exc:
        messages.error(request, str(exc))
        return redirect("indicators:audits")
    grid = load_grid(saved.grid_id)
    items = [{"id": i.id, "label": i.label_fr} for i in grid.items]
    sample = [
        {
            **r,
            "cells": [
                {
                    "id": i["id"],
                    "value": RESULT_FR.get(r["criteria"][i["id"]], r["criteria"][i["id"]]),
                    "raw": r["criteria"][i["id"]],
                    "overridden": any(o["criterion"] == i["id"] for o in r["overrides"]),
                }
                for i in items
            ],
        }
        for r in result["sample"]
    ]
    record_list(request.user, "stay", [int(r["stay"]) for r in result["sample"]], f"audit QLS n° {saved.pk}")
    return render(
        request,
        "indicators/audit.html",
        {
            "saved": saved,
            "r": result,
            "rate": _pct(result["rate"]),
            "ci": [_pct(x) for x in result["ci95"]] if result["ci95"] else None,
            "auto_rate": _pct(result["automatic"]["rate"]),
            "full_rate": _pct(result["full"]["rate"]),
            "criteria": [
                {**c, "id": cid, "rate_pct": _pct(c["rate"])} for cid, c in result["criteria"].items()
            ],
            "items": items,
            "sample": sample,
        },
    )


@readers(quality_only=True)
def audit_grid(request: HttpRequest, audit_id: str, fmt: str) -> HttpResponse:
    """The audit grid as the CLI writes it (`liaison audit --format csv`, `--xlsx`)."""
    saved = get_object_or_404(QlsAudit, pk=int(audit_id), establishment=request.scope.est)
    try:
        result = qls.result_of(saved)
    except qls.AuditError as exc:
        messages.error(request, str(exc))
        return redirect("indicators:audits")
    why = f"export de la grille de l'audit QLS n° {saved.pk}"
    record_list(request.user, "stay", [int(r.stay_id) for r in result.sample], why)
    if fmt == "csv":
        resp = HttpResponse(audit_to_csv(result).encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    else:
        resp = HttpResponse(
            audit_xlsx_bytes(result),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    resp["Content-Disposition"] = f'attachment; filename="audit-qls-{saved.pk}.{fmt}"'
    return resp


# --- IFAQ -------------------------------------------------------------------------------------


def _float(request: HttpRequest, name: str, default: float, pct: bool = False) -> float:
    raw = request.GET.get(name, "").replace(",", ".").replace(" ", "")
    try:
        v = float(raw) if raw else default
    except ValueError:
        messages.error(request, f"Valeur invalide pour « {name} » : {raw!r}.")
        return default
    return v / 100 if pct and raw else v


def _sum_ranges(ranges: list[list[float]]) -> list[float]:
    return [sum(r[0] for r in ranges), sum(r[1] for r in ranges)]


@readers(quality_only=True)
def ifaq_page(request: HttpRequest) -> HttpResponse:
    est = request.scope.est
    years = ifaq.available_years()
    try:
        year_n = int(request.GET.get("annee", years[-1]))
        year = ifaq.load_year(year_n)
    except (ValueError, ifaq.IfaqError):
        year_n, year = years[-1], ifaq.load_year(years[-1])
    today = dt.datetime.now(PARIS).date()
    end = today.replace(day=1) - dt.timedelta(days=1)
    start = _twelve_months(end)
    res = compute.compute(est, start, end, compute.configured_definitions(), with_qls=True)
    dmp = res.totals["DMP-ELIG"].value
    audit = res.qls.get("audit")
    q = audit or res.qls.get("continuous") or {}
    qls_value, qls_class = q.get("value"), q.get("class")
    volume = _float(request, "ve", 80_000_000)
    dmp_prev = _float(request, "dmp_prec", dmp if dmp is not None else 0.0, pct=True)
    qls_prev = _float(request, "qls_prec", qls_value if qls_value is not None else 0.0, pct=True)
    own_results: dict[str, ifaq.Result] = {}
    outcomes: list[dict[str, Any]] = []
    if year.model == "A":
        s = _float(request, "seuil", year["single_thresholds"]["qls_mco"], pct=True)
        vu = _float(request, "vu", 0.0) or None  # empty: the year's hypothesis, shown as a range
        own_results["qls_mco"] = ifaq.Result(qls_value, qls_prev, "ok" if qls_value is not None else "NR")
        own = ifaq.Establishment(est.finess_eg, est.name, volume, own_results)
        alloc = ifaq.model_a(year, [own], ["qls_mco"], thresholds={"qls_mco": s}, unit_value=vu)
        outcomes.append({"indicator": "qls_mco", **alloc[own.id].as_dict(year)})
        hypotheses = {"seuil": s, "vu": vu or ""}
    else:
        own_results["DMP-LLS"] = ifaq.Result(dmp, dmp_prev, "ok" if dmp is not None else "NR")
        own_results["QLS-MCO"] = ifaq.Result(
            qls_value, qls_prev, "ok" if qls_value is not None else "NR", klass=qls_class
        )
        own = ifaq.Establishment(est.finess_eg, est.name, volume, own_results)
        for ind in ("DMP-LLS", "QLS-MCO"):
            allocs, _ = ifaq.model_b(year, [own], ind, others_weight=year["national_weight"][ind])
            outcomes.append({"indicator": ind, **allocs[own.id].as_dict(year)})
        hypotheses = {}
    for o in outcomes:
        o["amount_fr"] = ifaq.amount_fr(o["amount"], o["amount_range"], bool(o["unknowns"]))
    params = [
        {
            "key": p.key,
            "label": p.label,
            "value": p.value,
            "status": ifaq.STATUS_FR[p.status],
            "uncertain": p.uncertain,
            "source": year.sources[p.source],
        }
        for p in year.params.values()
    ]
    return render(
        request,
        "indicators/ifaq.html",
        {
            "year": year,
            "years": years,
            "volume": volume,
            "outcomes": outcomes,
            "total": ifaq.amount_fr(
                sum(o["amount"] for o in outcomes),
                _sum_ranges([o["amount_range"] or [o["amount"]] * 2 for o in outcomes]),
                any(o["unknowns"] for o in outcomes),
            ),
            "params": params,
            "start": start,
            "end": end,
            "dmp": _pct(dmp),
            "qls": _pct(qls_value),
            "qls_class": qls_class,
            "qls_source": "dernier audit enregistré" if audit else "évaluation continue (auto-évaluation)",
            "dmp_prev": round(100 * dmp_prev, 1),
            "qls_prev": round(100 * qls_prev, 1),
            "hypotheses": hypotheses,
        },
    )


# --- digital indicators by the definition of each year ----------------------------------------


def _digital_request(request: HttpRequest) -> tuple[int, str, list[int]]:
    """(year, month YYYY-MM, configured years) from ?annee=&mois=; previous month by default."""
    years = sorted(digital_db.configured().years)
    start, _ = d.previous_month(dt.datetime.now(PARIS).date())
    month = request.GET.get("mois") or f"{start:%Y-%m}"
    try:
        digital.parse_month(month)
    except digital.DigitalError as exc:
        messages.error(request, f"{exc} Le mois précédent est affiché.")
        month = f"{start:%Y-%m}"
    default_year = min(max(int(month[:4]), years[0]), years[-1])
    try:
        year = int(request.GET.get("annee", default_year))
        if year not in years:
            raise ValueError
    except ValueError:
        messages.error(
            request, "Année sans définition des indicateurs numériques : l'année du mois est affichée."
        )
        year = default_year
    return year, month, years


@readers(quality_only=True)
def digital_page(request: HttpRequest) -> HttpResponse:
    """The DMP and MSSanté indicators of one calendar month by the year's definition (quality role)."""
    year, month, years = _digital_request(request)
    data = digital_db.report(request.scope.est, year, month)
    results = data.pop("results")
    return render(
        request,
        "indicators/digital.html",
        {
            "data": data,
            "year": year,
            "month": month,
            "years": years,
            "note": digital_db.configured().note(year),
            "rows": [
                {
                    "r": r,
                    "value": digital.pct(r.value),
                    "ifaq": digital.pct(r.definition.ifaq_target)
                    if r.definition.ifaq_target is not None
                    else "non publiée",
                    "hopen": digital.pct(r.definition.hopen_target)
                    if r.definition.hopen_target is not None
                    else "—",
                    "status": digital.STATUS_LABELS.get(r.definition.status, r.definition.status),
                }
                for r in results
            ],
            "ours": [{**i, "value_pct": digital.pct(i["value"])} for i in data["liaison_indicators"]],
        },
    )


@readers(quality_only=True)
def digital_csv(request: HttpRequest, indicator_id: str) -> HttpResponse:
    """The file attached to the oSIS declaration: the declaration's fields and the exhaustive list."""
    from liaison.letters.models import Stay

    year, month, _years = _digital_request(request)
    est = request.scope.est
    data = digital_db.report(est, year, month)
    res = next((r for r in data["results"] if r.definition.id == indicator_id), None)
    if res is None:
        raise Http404("Indicateur numérique inconnu pour cette année.")
    stays = (
        list(
            Stay.objects.filter(establishment=est, visit_number__in=[row[0] for row in res.rows]).values_list(
                "pk", flat=True
            )
        )
        if res.unit == "séjours"
        else []
    )
    record_list(
        request.user, "stay", stays, f"indicateur numérique {res.definition.id} {month} (oSIS, pseudonymisé)"
    )
    resp = HttpResponse(
        digital.to_csv(res, f"{est.name} (FINESS {est.finess_eg})"), content_type="text/csv; charset=utf-8"
    )
    resp["Content-Disposition"] = f'attachment; filename="{res.definition.id}-{month}.csv"'
    return resp
