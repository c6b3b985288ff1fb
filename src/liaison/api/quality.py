"""QLS audit endpoints (quality / DIM role): ad-hoc audit, saved audits, auditor overrides."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema

from liaison.indicators import qls
from liaison.indicators.models import QlsAudit
from liaison.letters.permissions import PermissionDeniedFr, Role, role_of
from liaison.quality.grid import GridError, load_grid

router = Router(tags=["qualité"])


class AuditIn(Schema):
    # The HAS draw of a declared campaign: named by `campaign`, or by `sector` + its exact period.
    campaign: int | None = None
    sector: str = "MCO"
    start: dt.date | None = None
    end: dt.date | None = None
    seed: str = "1"
    sample: int | None = None
    grid: str | None = None
    label: str = ""


class OverrideIn(Schema):
    stay: int
    criterion: str
    result: str
    reason: str


def _quality_user(request: HttpRequest):  # type: ignore[no-untyped-def]
    if role_of(request.user) != Role.QUALITE:
        raise PermissionDeniedFr("Réservé au service qualité / DIM.")
    profile = getattr(request.user, "profile", None)
    if profile is None or profile.establishment is None:
        raise PermissionDeniedFr("Votre compte n'est rattaché à aucun établissement.")
    return profile.establishment


def _grid(sector: str, grid_id: str | None):  # type: ignore[no-untyped-def]
    try:
        return load_grid(grid_id) if grid_id else qls.default_grid(sector.upper())
    except GridError as exc:
        raise qls.AuditError(str(exc)) from exc


@router.get("/audit", summary="Audit QLS d'une période (non enregistré)")
def adhoc_audit(
    request: HttpRequest,
    start: dt.date,
    end: dt.date,
    sector: str = "MCO",
    seed: str = "1",
    sample: int | None = None,
    grid: str | None = None,
) -> dict:
    est = _quality_user(request)
    chosen = _grid(sector, grid)
    qls.check_has_size(chosen, sample)  # not saved, opens no letter, but the HAS size all the same
    return qls.run(est, chosen, start, end, seed, sample).as_dict()


@router.post(
    "/audits",
    summary="Tirer l'échantillon HAS d'une campagne déclarée (80 dossiers + 20 en réserve, une fois)",
)
def create_audit(request: HttpRequest, payload: AuditIn) -> dict:
    est = _quality_user(request)
    campaign = qls.find_campaign(est, payload.campaign, payload.sector, payload.start, payload.end)
    saved = qls.draw_campaign(
        campaign,
        payload.seed,
        request.user,
        _grid(campaign.sector, payload.grid),
        payload.sample,
        payload.label,
    )
    return {"id": saved.pk, **qls.result_of(saved).as_dict(), **_drawn(saved)}


def _drawn(saved: QlsAudit) -> dict:
    """Who drew the sample, when, for which declared campaign."""
    c = saved.campaign
    return {
        "campaign": None
        if c is None
        else {"id": c.pk, "sector": c.sector, "start": c.period_from, "end": c.period_to, "label": str(c)},
        "drawn_by": saved.created_by.get_username() if saved.created_by else None,
        "drawn_at": saved.created_at,
    }


@router.get("/audits/{audit_id}", summary="Résultat d'un audit enregistré (avec les corrections)")
def get_audit(request: HttpRequest, audit_id: int) -> dict:
    est = _quality_user(request)
    saved = QlsAudit.objects.get(pk=audit_id, establishment=est)
    return {"id": saved.pk, **qls.result_of(saved).as_dict(), **_drawn(saved)}


@router.post("/audits/{audit_id}/overrides", summary="Confirmer ou corriger un critère d'un dossier")
def add_override(request: HttpRequest, audit_id: int, payload: OverrideIn) -> dict:
    est = _quality_user(request)
    saved = QlsAudit.objects.get(pk=audit_id, establishment=est)
    qls.override(saved, payload.stay, payload.criterion, payload.result, payload.reason, request.user)
    return {"id": saved.pk, **qls.result_of(saved).as_dict()}
