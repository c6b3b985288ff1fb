"""The minimal web shell: the stays of one's units with their letter state, a letter page with
its lifecycle actions. The full clinician screens are built elsewhere (issue 6)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from liaison.indicators.qls import DEFAULT_GRIDS, letter_facts
from liaison.letters import audit, lifecycle
from liaison.letters.content import (
    EXIT_MODE_LABELS,
    FOLLOW_UP_LABELS,
    MEDICATION_STATUS_LABELS,
    RECIPIENT_ROLE_LABELS,
)
from liaison.letters.models import AuditEvent, Letter, Stay, Unit
from liaison.letters.permissions import (
    ROLE_LABELS,
    PermissionDeniedFr,
    check_view,
    role_of,
    stays_visible_to,
    unit_ids,
)
from liaison.quality.evaluate import evaluate
from liaison.quality.grid import load_grid


def _letter_state(stay: Stay) -> tuple[str, Letter | None]:
    letters = [x for x in stay.prefetched_letters if x.status != Letter.Status.SUPERSEDED]
    letter = max(letters, key=lambda x: x.version, default=None)
    return (letter.state_label if letter else "Aucune lettre"), letter


@login_required
def stays(request: HttpRequest) -> HttpResponse:
    role = role_of(request.user)
    ctx: dict = {"role_label": ROLE_LABELS.get(role, "Aucun rôle") if role else "Aucun rôle"}
    qs = stays_visible_to(request.user)
    units = Unit.objects.filter(id__in=unit_ids(request.user)).order_by("name")
    unit = request.GET.get("service")
    if unit and unit.isdigit():
        qs = qs.filter(unit_id=int(unit))
    days = int(request.GET.get("jours", "14")) if request.GET.get("jours", "14").isdigit() else 14
    since = timezone.now() - dt.timedelta(days=days)
    qs = qs.filter(Q(discharge_at__isnull=True) | Q(discharge_at__gte=since))
    qs = (
        qs.select_related("patient", "unit", "responsible_physician")
        .prefetch_related(Prefetch("letters", to_attr="prefetched_letters"))
        .order_by("-discharge_at", "-admission_at")[:300]
    )
    rows = []
    for stay in qs:
        label, letter = _letter_state(stay)
        missing = len(letter.parsed().problems()) if letter else None
        rows.append({"stay": stay, "state": label, "letter": letter, "missing": missing})
    if rows:
        audit.record_list(request.user, "stay", [r["stay"].pk for r in rows], why="liste des séjours")
    ctx.update(
        rows=rows,
        units=units,
        unit=unit,
        days=days,
        clinical=role is not None and bool(unit_ids(request.user)),
    )
    return render(request, "web/stays.html", ctx)


def _get_letter(request: HttpRequest, letter_id: int) -> Letter:
    letter = get_object_or_404(Letter.objects.select_related("stay__patient", "stay__unit"), pk=letter_id)
    try:
        check_view(request.user, letter.stay)
    except PermissionDeniedFr as exc:
        raise PermissionDenied(str(exc)) from exc
    return letter


@login_required
def open_stay_letter(request: HttpRequest, stay_id: int) -> HttpResponse:
    stay = get_object_or_404(Stay, pk=stay_id)
    try:
        check_view(request.user, stay)
    except PermissionDeniedFr as exc:
        raise PermissionDenied(str(exc)) from exc
    letter = lifecycle.open_letter(stay, request.user)
    return redirect("letter", letter_id=letter.pk)


@login_required
def letter_detail(request: HttpRequest, letter_id: int) -> HttpResponse:
    letter = _get_letter(request, letter_id)
    audit.record(request.user, "read", letter, why="consultation de la lettre")
    content = letter.parsed()
    qls_check = None
    if letter.stay.sector in DEFAULT_GRIDS:
        grid = load_grid(DEFAULT_GRIDS[letter.stay.sector])
        facts = letter_facts(letter.stay, letter)
        if letter.status == Letter.Status.DRAFT:  # grade the draft as if it were the letter on file
            facts = facts.model_copy(update={"exists": True})
        evaluation = evaluate(content, facts, grid)
        rows = [(grid.item(r.id).label_fr, r.result.value, r.explanation) for r in evaluation.items]
        qls_check = {"grid": grid, "compliant": evaluation.compliant, "rows": rows}
    versions = letter.stay.letters.order_by("version")
    trail = AuditEvent.objects.filter(object_type="letter", object_id__in=[str(v.pk) for v in versions])[:50]
    return render(
        request,
        "web/letter.html",
        {
            "letter": letter,
            "stay": letter.stay,
            "c": content,
            "problems": content.problems(),
            "qls": qls_check,
            "versions": versions,
            "trail": trail,
            "exit_labels": EXIT_MODE_LABELS,
            "med_labels": MEDICATION_STATUS_LABELS,
            "follow_labels": FOLLOW_UP_LABELS,
            "recipient_labels": RECIPIENT_ROLE_LABELS,
        },
    )


def _document(request: HttpRequest, letter_id: int, kind: str) -> HttpResponse:
    letter = _get_letter(request, letter_id)
    doc = getattr(letter, "document", None) if letter.status != Letter.Status.DRAFT else None
    if doc is None:
        raise Http404("Cette lettre n'est pas signée : aucun document n'a été produit.")
    audit.record(request.user, "download", letter, why=f"téléchargement du {kind.upper()}")
    name = f"lettre-de-liaison-{letter.stay.visit_number}-v{letter.version}"
    if kind == "cda":
        resp = HttpResponse(bytes(doc.cda), content_type="text/xml; charset=utf-8")
        resp["Content-Disposition"] = f'attachment; filename="{name}.xml"'
    else:
        resp = HttpResponse(bytes(doc.pdf), content_type="application/pdf")
        resp["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return resp


@login_required
def letter_cda(request: HttpRequest, letter_id: int) -> HttpResponse:
    return _document(request, letter_id, "cda")


@login_required
def letter_pdf(request: HttpRequest, letter_id: int) -> HttpResponse:
    return _document(request, letter_id, "pdf")


def _act(request: HttpRequest, letter_id: int, action, success: str) -> HttpResponse:
    letter = _get_letter(request, letter_id)
    try:
        result = action(letter)
    except (lifecycle.LifecycleError, PermissionDeniedFr) as exc:
        messages.error(request, str(exc))
        return redirect("letter", letter_id=letter.pk)
    messages.success(request, success)
    return redirect("letter", letter_id=result.pk)


@login_required
@require_POST
def letter_sign(request: HttpRequest, letter_id: int) -> HttpResponse:
    return _act(request, letter_id, lambda lt: lifecycle.sign(lt.pk, request.user), "Lettre signée.")


@login_required
@require_POST
def letter_hand_over(request: HttpRequest, letter_id: int) -> HttpResponse:
    return _act(
        request,
        letter_id,
        lambda lt: lifecycle.hand_over(
            lt.pk,
            request.user,
            to=request.POST.get("to", "patient") or "patient",
            understanding_checked=request.POST.get("understanding_checked") == "on",
        ),
        "Remise au patient enregistrée.",
    )


@login_required
@require_POST
def letter_correct(request: HttpRequest, letter_id: int) -> HttpResponse:
    return _act(
        request,
        letter_id,
        lambda lt: lifecycle.start_correction(lt.pk, request.user, request.POST.get("why", "")),
        "Correction ouverte : nouvelle version en brouillon.",
    )
