"""The clinician's screens: today's discharges, the guided letter with its live QLS check,
signature after a PDF preview, hand-over, and the nurse's HAS discharge check-list.

Every rule lives in `liaison.letters` (lifecycle, permissions) and signing in `liaison.signing`;
these views only translate HTTP to those calls and back, and leave an audit row for every read
or change of patient data.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from liaison import signing
from liaison.core import catalogue
from liaison.core.content import (
    LetterContent,
    Professional,
)
from liaison.documents.cda import CdaBuildError, build_cda
from liaison.documents.pdf import render_pdf
from liaison.letters import audit, lifecycle, medicine_search
from liaison.letters import review as letter_review
from liaison.letters.models import (
    PARIS,
    Correspondent,
    Letter,
    Practitioner,
    Stay,
    Unit,
)
from liaison.letters.permissions import (
    CLINICAL_ROLES,
    DRAFTING_ROLES,
    HANDOVER_ROLES,
    ROLE_LABELS,
    PermissionDeniedFr,
    Role,
    check_edit,
    check_hand_over,
    check_view,
    role_of,
    stays_visible_to,
    unit_ids,
)
from liaison.letters.reconcile import stay_consistency
from liaison.letters.rendering import document_meta
from liaison.web import authentication, drafting
from liaison.web.checklist import load_checklist
from liaison.web.letter_form import ParsedForm, changed_sections, field_label, parse_form
from liaison.web.letter_page import allowed as _allowed
from liaison.web.letter_page import gp_context, letter_page
from liaison.web.live import build_panel
from liaison.web.models import DischargeChecklist
from liaison.web.worklist import worklist

# The letter form's block of each field it edits (to name what a conflict touches), and the
# « le cas échéant » questions it asks: from the catalogue of the letter's fields.
SECTION_LABELS = {e.key: e.title for e in catalogue.ELEMENTS if e.title}
PRESENCE_QUESTIONS = [(e.key, e.question) for e in catalogue.PRESENCE]


def _deny(exc: PermissionDeniedFr) -> PermissionDenied:
    return PermissionDenied(str(exc))


PAGE_RELATED = (
    "stay__patient",
    "stay__unit",
    "stay__establishment",
    "updated_by",
    "signed_by",
    "handed_over_by",
)


def _get_letter(request: HttpRequest, letter_id: int, related: tuple[str, ...] = PAGE_RELATED) -> Letter:
    letter = get_object_or_404(Letter.objects.select_related(*related), pk=letter_id)
    try:
        check_view(request.user, letter.stay)
    except PermissionDeniedFr as exc:
        raise _deny(exc) from exc
    return letter


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


# --- worklist and stays -------------------------------------------------------------------------


@login_required
def stays(request: HttpRequest) -> HttpResponse:
    """Today's discharges (and yesterday's unfinished letters) of the user's units."""
    role = role_of(request.user)
    if role == Role.CAMPAGNE:  # no patient for the campaign role: its home is the campaign side
        return redirect("campaign:home")
    if role == Role.DPO:  # no worklist: the officer's page is the trail of accesses
        return redirect("access_log")
    units = Unit.objects.filter(id__in=unit_ids(request.user)).order_by("name")
    unit, physician = _int(request.GET.get("service")), _int(request.GET.get("medecin"))
    clinical = role in CLINICAL_ROLES and bool(unit_ids(request.user))
    rows = worklist(stays_visible_to(request.user), unit, physician) if clinical else []
    if rows:
        audit.record_list(request.user, "stay", [r.stay.pk for r in rows], why="sorties du jour")
    physicians = Practitioner.objects.filter(units__in=units, profession__in=["medecin", "sage_femme"])
    ctx = {
        "role_label": ROLE_LABELS.get(role, "Aucun rôle") if role else "Aucun rôle",
        "rows": rows,
        "units": units,
        "physicians": physicians.distinct().order_by("family_name"),
        "unit": unit,
        "physician": physician,
        "clinical": clinical,
        "today": timezone.localtime(timezone.now(), PARIS).date(),
        "can_hand_over": role in HANDOVER_ROLES,
        "can_draft": role in DRAFTING_ROLES,
        "now": timezone.localtime(timezone.now(), PARIS),
        "to_validate": list(letter_review.to_validate(request.user)) if role == Role.MEDECIN else [],
        "returned": letter_review.returned_to(request.user) if role == Role.INTERNE else [],
    }
    handed = [r.letter_id for r in (*ctx["to_validate"], *ctx["returned"])]
    if handed:
        audit.record_list(request.user, "letter", handed, why="lettres à valider ou renvoyées")
    if request.htmx and request.htmx.target == "worklist":
        return render(request, "web/_worklist.html", ctx)
    return render(request, "web/worklist.html", ctx)


@login_required
def all_stays(request: HttpRequest) -> HttpResponse:
    """Every recent stay of the user's units with its letter state (the longer view)."""
    role = role_of(request.user)
    qs = stays_visible_to(request.user)
    units = Unit.objects.filter(id__in=unit_ids(request.user)).order_by("name")
    unit = _int(request.GET.get("service"))
    if unit:
        qs = qs.filter(unit_id=unit)
    days = min(_int(request.GET.get("jours")) or 14, 365)
    since = timezone.now() - dt.timedelta(days=days)
    qs = (
        qs.filter(Q(discharge_at__isnull=True) | Q(discharge_at__gte=since))
        .select_related("patient", "unit", "responsible_physician")
        .prefetch_related(Prefetch("letters", to_attr="prefetched_letters"))
        .order_by("-discharge_at", "-admission_at")[:300]
    )
    rows = []
    for stay in qs:
        letters = [x for x in stay.prefetched_letters if x.status != Letter.Status.SUPERSEDED]
        letter = max(letters, key=lambda x: x.version, default=None)
        missing = len(letter.parsed().problems()) if letter else None
        consistency, differences = stay_consistency(stay.prefetched_letters)
        rows.append(
            {
                "stay": stay,
                "state": letter.state_label if letter else "Aucune lettre",
                "letter": letter,
                "missing": missing,
                "consistency": consistency,
                "differences": differences,
            }
        )
    if rows:
        audit.record_list(request.user, "stay", [r["stay"].pk for r in rows], why="liste des séjours")
    ctx = {
        "role_label": ROLE_LABELS.get(role, "Aucun rôle") if role else "Aucun rôle",
        "rows": rows,
        "units": units,
        "unit": unit,
        "days": days,
        "clinical": role is not None and bool(unit_ids(request.user)),
    }
    return render(request, "web/stays.html", ctx)


@login_required
def open_stay_letter(request: HttpRequest, stay_id: int) -> HttpResponse:
    """GET: the stay's letter, or (none yet) the stay and a button; POST: open the draft.

    Creating a letter is a change: a GET (a link followed, a prefetch) never creates one.
    """
    stay = get_object_or_404(Stay.objects.select_related("patient", "unit"), pk=stay_id)
    try:
        check_view(request.user, stay)
    except PermissionDeniedFr as exc:
        raise _deny(exc) from exc
    current = stay.current_letter
    if current is not None:
        return redirect("letter", letter_id=current.pk)
    if not _allowed(check_edit, request.user, stay):
        messages.error(
            request, "Aucune lettre n'est ouverte pour ce séjour ; votre rôle ne permet pas d'en créer une."
        )
        return redirect("stays")
    if request.method == "POST":
        letter = lifecycle.open_letter(stay, request.user)
        return redirect("letter", letter_id=letter.pk)
    audit.record(request.user, "read", stay, why="séjour sans lettre")
    return render(request, "web/open_letter.html", {"stay": stay})


# --- the letter page --------------------------------------------------------------------------


def _letter_context(
    request: HttpRequest, letter: Letter, content: LetterContent, parsed: ParsedForm | None = None
) -> dict:
    page = letter_page(letter, content, request.user, parsed)
    page["presence_questions"] = [(name, label, getattr(content, name)) for name, label in PRESENCE_QUESTIONS]
    return page


@login_required
def letter_detail(request: HttpRequest, letter_id: int) -> HttpResponse:
    letter = drafting.refresh_on_open(_get_letter(request, letter_id), request.user)
    audit.record(request.user, "read", letter, why="consultation de la lettre")
    return render(request, "web/letter.html", _letter_context(request, letter, letter.parsed()))


@login_required
@require_POST
def letter_check(request: HttpRequest, letter_id: int) -> HttpResponse:
    """The live QLS panel for the form as typed (nothing saved, no patient data returned)."""
    letter = _get_letter(request, letter_id, related=("stay",))
    # The GAM parts come from the stored draft (the form cannot change them; an ADT change
    # refreshes the draft itself), so no stay re-read here: this runs on every keystroke batch.
    parsed = parse_form(letter.parsed(), request.POST)
    panel = build_panel(
        letter.stay, letter, parsed.content, parsed, getattr(request.user, "practitioner", None)
    )
    return render(request, "web/_panel.html", {"panel": panel, "letter": letter})


@login_required
@require_POST
def letter_save(request: HttpRequest, letter_id: int) -> HttpResponse:
    """Save the draft (autosave through htmx, or the form's own button) with optimistic locking."""
    letter = _get_letter(request, letter_id)
    parsed = parse_form(letter.parsed(), request.POST)
    expected = _int(request.POST.get("overwrite_revision")) or _int(request.POST.get("revision")) or 0
    overwrite = bool(request.POST.get("overwrite_revision"))
    why = "rédaction (remplace la version d'un autre utilisateur)" if overwrite else "rédaction"
    if parsed.errors:  # refused whole: what was typed stays on screen, nothing stored is emptied
        invalid = [f"{field_label(path)} : {message}" for path, message in parsed.errors.items()]
        if request.htmx:
            return render(request, "web/_autosave.html", {"letter": letter, "invalid": invalid})
        messages.error(request, "Brouillon non enregistré : " + " ".join(invalid))
        return render(
            request, "web/letter.html", _letter_context(request, letter, parsed.content, parsed), status=422
        )
    try:
        saved = lifecycle.save_draft(letter.pk, parsed.content, expected, request.user, why=why)
    except lifecycle.StaleEditError as exc:
        letter.refresh_from_db()
        theirs = letter.parsed()
        changed = changed_sections(parsed.content, theirs)
        ctx = {
            "letter": letter,
            "conflict": str(exc),
            "current_revision": exc.current_revision,
            "changed": sorted({SECTION_LABELS[k] for k in changed if k in SECTION_LABELS}),
        }
        if request.htmx:
            return render(request, "web/_autosave.html", ctx)
        page = _letter_context(request, letter, parsed.content, parsed)
        page.update(ctx, form_revision=expected)
        return render(request, "web/letter.html", page, status=409)
    except (lifecycle.LifecycleError, PermissionDeniedFr) as exc:
        if request.htmx:
            return render(request, "web/_autosave.html", {"letter": letter, "refused": str(exc)})
        messages.error(request, str(exc))
        return redirect("letter", letter_id=letter.pk)
    if request.htmx:
        return render(
            request,
            "web/_autosave.html",
            {"letter": saved, "saved_at": timezone.localtime(saved.updated_at, PARIS)},
        )
    messages.success(request, "Brouillon enregistré.")
    return redirect("letter", letter_id=saved.pk)


# --- documents --------------------------------------------------------------------------------


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


def _preview_content(letter: Letter, user) -> tuple[LetterContent, Professional]:
    return lifecycle.preview_content(letter, getattr(user, "practitioner", None))


@xframe_options_sameorigin  # shown in the signature page's frame
@login_required
@require_GET
def letter_preview_pdf(request: HttpRequest, letter_id: int) -> HttpResponse:
    """The PDF the signature would produce, not validated and not stored: "aperçu, non signé"."""
    letter = _get_letter(request, letter_id)
    if letter.status != Letter.Status.DRAFT:
        return redirect("letter_pdf", letter_id=letter.pk)
    content, author = _preview_content(letter, request.user)
    now = timezone.now()
    meta = document_meta(letter, author, now)
    missing = [p.message for p in content.problems()]
    try:
        cda: bytes | None = build_cda(content, meta)
    except CdaBuildError as exc:  # too incomplete for a CDA yet: the letter as it stands
        cda = None
        missing += [m for _, m in exc.problems if m not in missing]
    pdf = render_pdf(content, meta, cda, preview=True, missing=missing)
    audit.record(request.user, "preview", letter, why="aperçu PDF avant signature")
    resp = HttpResponse(pdf, content_type="application/pdf")
    name = f"apercu-non-signe-{letter.stay.visit_number}-v{letter.version}"
    resp["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return resp


# --- lifecycle actions ------------------------------------------------------------------------


def _act(request: HttpRequest, letter_id: int, action, success: str, back: str | None = None) -> HttpResponse:
    letter = _get_letter(request, letter_id)
    try:
        result = action(letter)
    except (lifecycle.LifecycleError, PermissionDeniedFr) as exc:
        messages.error(request, str(exc))
        return redirect(back or reverse("letter", args=[letter.pk]))
    messages.success(request, success)
    return redirect(back or reverse("letter", args=[result.pk]))


@login_required
def letter_sign(request: HttpRequest, letter_id: int) -> HttpResponse:
    """GET: the PDF preview and what still blocks (`signing.readiness`); POST: sign (`_sign`)."""
    if request.method == "POST":
        return _sign(request, letter_id)
    letter = _get_letter(request, letter_id)
    if letter.status != Letter.Status.DRAFT:
        return redirect("letter", letter_id=letter.pk)
    audit.record(request.user, "read", letter, why="vérification avant signature")
    ready = signing.readiness(letter, request.user)
    ctx = {
        "letter": letter,
        "stay": letter.stay,
        "c": ready.content,
        **gp_context(letter, ready.content),
        "panel": build_panel(letter.stay, letter, ready.content),
        "blockers": ready.blockers,
        "plan": ready.plan,
        "review": letter_review.pending(letter),
        "can_sign": ready.may_sign,
        "sign_refusal": ready.refusal,
        "signer": authentication.signer(request),
        "psc_enabled": authentication.psc_configured(),
    }
    return render(request, "web/sign.html", ctx)


def _sign(request: HttpRequest, letter_id: int) -> HttpResponse:
    """Sign through `signing.sign` (documents and deliveries in one transaction), once the
    authentication is recent enough: otherwise nothing is signed and the user authenticates again."""
    if not authentication.recent_enough(request):
        _get_letter(request, letter_id)  # 404 / refusal for a letter the user may not see
        messages.error(request, authentication.too_old_message())
        return redirect("letter_sign", letter_id=letter_id)
    return _act(request, letter_id, lambda lt: signing.sign(lt.pk, request.user), "Lettre signée.")


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return None


def _hand_over_time(raw: str) -> dt.datetime | None:
    if not raw:
        return None
    try:
        return dt.datetime.fromisoformat(raw).replace(tzinfo=PARIS)
    except ValueError as exc:
        raise lifecycle.LifecycleError("Heure de remise invalide.") from exc


@login_required
@require_POST
def letter_hand_over(request: HttpRequest, letter_id: int) -> HttpResponse:
    return _act(
        request,
        letter_id,
        lambda lt: lifecycle.hand_over(
            lt.pk,
            request.user,
            at=_hand_over_time(request.POST.get("at", "")),
            to=request.POST.get("to", "patient") or "patient",
            understanding_checked=request.POST.get("understanding_checked") == "on",
        ),
        "Remise au patient enregistrée.",
        back=_safe_next(request),
    )


@login_required
@require_POST
def letter_correct(request: HttpRequest, letter_id: int) -> HttpResponse:
    return _act(
        request,
        letter_id,
        lambda lt: lifecycle.start_correction(lt.pk, request.user, request.POST.get("why", "")),
        "Correction ouverte : nouvelle version en brouillon, elle remplacera la lettre signée.",
    )


# --- HAS discharge check-list -----------------------------------------------------------------


@login_required
@require_POST
def checklist_save(request: HttpRequest, stay_id: int) -> HttpResponse:
    stay = get_object_or_404(Stay.objects.select_related("patient"), pk=stay_id)
    try:
        check_hand_over(request.user, stay)  # the care team: nurses included
    except PermissionDeniedFr as exc:
        raise _deny(exc) from exc
    checklist = load_checklist()
    answers, errors = checklist.clean_answers(
        {k[3:]: v for k, v in request.POST.items() if k.startswith("cl-")}
    )
    with transaction.atomic():
        row, _ = DischargeChecklist.objects.select_for_update().get_or_create(
            stay=stay, defaults={"checklist_id": checklist.id}
        )
        row.answers = answers
        row.comment = request.POST.get("comment", "")[:2000]
        row.revision += 1
        row.updated_by = request.user
        row.save()
        audit.record(
            request.user, "update", stay, why="check-list de sortie HAS", details={"answers": len(answers)}
        )
    ctx = {"row": row, "errors": errors, "checklist": checklist}
    if request.htmx:
        return render(request, "web/_checklist_status.html", ctx)
    if errors:
        messages.error(request, " ".join(f"Item {n} : {m}" for n, m in errors.items()))
    else:
        messages.success(request, "Check-list de sortie enregistrée.")
    letter = stay.current_letter
    return redirect(reverse("letter", args=[letter.pk]) + "#checklist-panel" if letter else "stays")


# --- directory of correspondents (recipients) ----------------------------------------------------


@login_required
@require_GET
def correspondents(request: HttpRequest) -> HttpResponse:
    """`<option>`s for the recipients datalist: the professionals Liaison already knows (the GAM's
    médecins traitants and adresseurs, earlier recipients) whose name starts with the text typed;
    choosing one fills the row's MSSanté address and RPPS."""
    term = ""
    for key, value in request.GET.items():  # the row's input sends its own name
        if key == "q" or key.endswith(".name"):
            term = value.strip()
    found: list[Correspondent] = []
    if len(term) >= 2:
        words = term.split()
        query = Q()
        for word in words:
            query &= Q(family_name__icontains=word) | Q(given_name__icontains=word)
        found = list(
            Correspondent.objects.filter(query, kind=Correspondent.Kind.PERSON)
            .exclude(mssante="", rpps="")
            .order_by("family_name", "given_name")[:15]
        )
    return render(request, "web/_correspondents.html", {"correspondents": found})


# --- BDPM autocomplete --------------------------------------------------------------------------


@login_required
@require_GET
def medicines(request: HttpRequest) -> HttpResponse:
    """`<option>`s for the medicines datalist: lines in DCI first, then the BDPM products
    (active authorisation, marketed first), by substance, brand, ATC, strength and form."""
    term = ""
    for key, value in request.GET.items():  # the row's input sends its own name
        if key == "q" or key.endswith(".medicine"):
            term = value
    found = medicine_search.search(term, 40) if len(term.strip()) >= 2 else []
    dci = medicine_search.dci_suggestions(found, term, 5)
    return render(request, "web/_medicines.html", {"medicines": found[:15], "dci": dci})
