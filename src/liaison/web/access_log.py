"""« Accès aux dossiers » (/acces-dossier/) and its CSV export, for the data protection officer.

Who read or changed which patient's letters and stays, when and why, from the audit trail
(`AuditEvent`), for the patients of the officer's establishment. Filters: a patient (IPP, or
name and first name), a user (identifier), a period (30 days by default, a year at most). Every
filter is bounded and validated (refused in French, nothing searched); a patient search that
matches too many patients asks to be narrowed. With a patient, the lists of stays that showed
him (worklist, list of stays, QLS samples) are included too (PostgreSQL). The page and the export
are themselves traced. The officer sees identities and traces, never a letter's content.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from liaison.cells import safe_row
from liaison.letters.audit import ACTION_LABELS
from liaison.letters.models import AuditEvent, Patient, Stay
from liaison.letters.permissions import ROLE_LABELS, PermissionDeniedFr, Role, User, check_access_log, role_of

DEFAULT_DAYS = 30
MAX_DAYS = 366
MAX_PATIENTS = 20  # a name search matching more asks to be narrowed
PAGE_SIZE = 100
MAX_EXPORT_ROWS = 100_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

ACTIONS = ACTION_LABELS  # kept beside the traces they name (letters/audit.py)
OBJECTS = {"letter": "lettre", "stay": "séjour", "patient": "patient", "access_log": "accès aux dossiers"}


class AccessFilter(forms.Form):
    patient = forms.CharField(label="Patient (IPP, ou nom et prénom)", max_length=100, required=False)
    utilisateur = forms.CharField(label="Utilisateur (identifiant)", max_length=150, required=False)
    du = forms.DateField(label="Du", required=False)
    au = forms.DateField(label="Au", required=False)
    page = forms.IntegerField(min_value=1, max_value=10_000, required=False)

    def clean(self) -> dict:
        data = super().clean()
        for name in ("patient", "utilisateur"):
            value = (data.get(name) or "").strip()
            if _CONTROL.search(value):
                self.add_error(name, "Caractère de contrôle refusé.")
            data[name] = value
        today = timezone.localdate()
        end = data.get("au") or today
        start = data.get("du") or end - dt.timedelta(days=DEFAULT_DAYS)
        if start > end:
            self.add_error("au", "La fin de la période précède son début.")
        elif (end - start).days > MAX_DAYS:
            self.add_error("du", f"Période de {MAX_DAYS} jours au plus : réduisez-la.")
        data["du"], data["au"] = start, end
        return data


@dataclass(frozen=True)
class AccessRow:
    at: dt.datetime
    username: str
    role: str
    action: str
    what: str
    object_id: str
    ipp: str
    patient: str
    why: str

    def cells(self) -> list[str]:
        at = timezone.localtime(self.at).strftime("%d/%m/%Y %H:%M:%S")
        return [
            at,
            self.username,
            self.role,
            self.action,
            self.what,
            self.object_id,
            self.ipp,
            self.patient,
            self.why,
        ]


HEADER = ["Date et heure", "Utilisateur", "Rôle", "Action", "Objet", "N° objet", "IPP", "Patient", "Motif"]


def _establishment_id(user: User) -> int | None:
    try:
        check_access_log(user)
    except PermissionDeniedFr as exc:
        raise PermissionDenied(str(exc)) from exc
    profile = getattr(user, "profile", None)
    return profile.establishment_id if profile else None


def matching_patients(establishment_id: int | None, text: str) -> QuerySet[Patient]:
    """The establishment's patients whose IPP is `text`, else whose names hold every word of it."""
    patients = Patient.objects.filter(establishment_id=establishment_id)
    by_ipp = patients.filter(ipp=text)
    if by_ipp.exists():
        return by_ipp
    for word in text.split()[:4]:
        patients = patients.filter(
            Q(birth_family_name__icontains=word)
            | Q(used_family_name__icontains=word)
            | Q(first_given_name__icontains=word)
            | Q(used_given_name__icontains=word)
        )
    return patients


def _name(p: Patient) -> str:
    return f"{p.used_family_name or p.birth_family_name} {p.used_given_name or p.first_given_name}"


def trail(
    establishment_id: int | None, patient_ids: list[int] | None, username: str, start: dt.date, end: dt.date
) -> QuerySet[AuditEvent]:
    """The traces about the establishment's patients (or those given) in [start, end], newest first."""
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    if patient_ids is None:
        scope = Q(patient__establishment_id=establishment_id)
    else:
        scope = Q(patient_id__in=patient_ids)
        if connection.vendor == "postgresql":  # JSON containment: the lists that showed him
            for stay_id in Stay.objects.filter(patient_id__in=patient_ids).values_list("pk", flat=True)[:200]:
                scope |= Q(action="list", object_type="stay", details__ids__contains=[stay_id])
    events = AuditEvent.objects.filter(scope, at__gte=since, at__lt=until)
    if username:
        events = events.filter(username__icontains=username)
    return events.select_related("patient").order_by("-at", "-pk")


def _rows(events: list[AuditEvent], shown: dict[int, Patient]) -> list[AccessRow]:
    """One row per trace; a list names the searched patients it showed."""
    stays_of: dict[int, int] = {}
    if shown:
        stays_of = dict(Stay.objects.filter(patient_id__in=shown).values_list("pk", "patient_id"))
    out = []
    for e in events:
        patients = [e.patient] if e.patient else []
        if e.action == "list" and stays_of:
            ids = {int(i) for i in (e.details or {}).get("ids", []) if str(i).isdigit()}
            patients = [shown[pid] for pid in sorted({stays_of[s] for s in ids if s in stays_of})]
        role = ROLE_LABELS.get(Role(e.role), e.role) if e.role in Role._value2member_map_ else e.role
        what = OBJECTS.get(e.object_type, e.object_type)
        if e.action == "list":
            what = f"liste de {len((e.details or {}).get('ids', []))} séjour(s)"
        out.append(
            AccessRow(
                at=e.at,
                username=e.username,
                role=role or "—",
                action=ACTIONS.get(e.action, e.action),
                what=what,
                object_id=e.object_id,
                ipp=", ".join(p.ipp for p in patients),
                patient=", ".join(_name(p) for p in patients),
                why=e.why,
            )
        )
    return out


def _trace(request: HttpRequest, action: str, data: dict, patients: list[Patient], count: int) -> None:
    """The officer's own consultation, in the same trail (the patient when one was searched)."""
    filters = {
        "patient": data["patient"],
        "utilisateur": data["utilisateur"],
        "du": data["du"].isoformat(),
        "au": data["au"].isoformat(),
    }
    AuditEvent.objects.create(
        user=request.user,
        username=request.user.get_username(),
        role=role_of(request.user) or "",
        action=action,
        object_type="access_log",
        object_id="",
        patient=patients[0] if len(patients) == 1 else None,
        why="accès aux dossiers" + (" : export CSV" if action == "export" else ""),
        details={"filtres": filters, "patients": [p.pk for p in patients], "lignes": count},
    )


def _search(request: HttpRequest) -> tuple[AccessFilter, dict | None, list[Patient], str]:
    """The validated filters, the patients searched, or a French reason to search nothing."""
    est = _establishment_id(request.user)
    form = AccessFilter(request.GET)  # no filter given: the last 30 days of every patient
    if not form.is_valid():
        reasons = [
            f"{form.fields[name].label if name in form.fields else name} : {' '.join(errors)}"
            for name, errors in form.errors.items()
        ]
        return form, None, [], "Filtres invalides. " + " ; ".join(reasons)
    data = form.cleaned_data
    patients: list[Patient] = []
    if data["patient"]:
        found = matching_patients(est, data["patient"])
        patients = list(found.order_by("birth_family_name", "first_given_name", "pk")[: MAX_PATIENTS + 1])
        if not patients:
            return form, None, [], f"Aucun patient de l'établissement ne correspond à « {data['patient']} »."
        if len(patients) > MAX_PATIENTS:
            return (
                form,
                None,
                [],
                f"Plus de {MAX_PATIENTS} patients correspondent à « {data['patient']} » : "
                "précisez (IPP, ou nom et prénom).",
            )
    data["establishment"] = est
    return form, data, patients, ""


def _events(data: dict, patients: list[Patient]) -> QuerySet[AuditEvent]:
    ids = [p.pk for p in patients] if patients else None
    return trail(data["establishment"], ids, data["utilisateur"], data["du"], data["au"])


@login_required
@require_GET
def access_log(request: HttpRequest) -> HttpResponse:
    form, data, patients, problem = _search(request)
    ctx: dict = {"form": form, "problem": problem, "patients": patients, "max_days": MAX_DAYS}
    if data is None:
        return render(request, "web/access_log.html", ctx, status=400)
    events = trail(
        data["establishment"],
        [p.pk for p in patients] if patients else None,
        data["utilisateur"],
        data["du"],
        data["au"],
    )
    page = Paginator(events, PAGE_SIZE).get_page(data.get("page") or 1)
    rows = _rows(list(page.object_list), {p.pk: p for p in patients})
    _trace(request, "read", data, patients, page.paginator.count)
    query = request.GET.copy()
    query.pop("page", None)
    ctx.update(rows=rows, page=page, data=data, query=query.urlencode())
    return render(request, "web/access_log.html", ctx)


@login_required
@require_GET
def access_log_csv(request: HttpRequest) -> HttpResponse:
    _form, data, patients, problem = _search(request)
    if data is None:
        return HttpResponse(problem, status=400, content_type="text/plain; charset=utf-8")
    events = trail(
        data["establishment"],
        [p.pk for p in patients] if patients else None,
        data["utilisateur"],
        data["du"],
        data["au"],
    )
    count = events.count()
    if count > MAX_EXPORT_ROWS:
        return HttpResponse(
            f"Export refusé : {count} traces, {MAX_EXPORT_ROWS} au plus. Réduisez la période ou filtrez.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    shown = {p.pk: p for p in patients}
    for start in range(0, count, 2000):
        for row in _rows(list(events[start : start + 2000]), shown):
            writer.writerow(safe_row(row.cells()))
    _trace(request, "export", data, patients, count)
    response = HttpResponse(out.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="acces-dossiers-{data["du"]:%Y%m%d}-{data["au"]:%Y%m%d}.csv"'
    )
    return response
