"""Campaign pages (/campagne/): import, figures, targeting, campaigns, profiles, plans, evaluation."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from liaison.campaign import follow_up, planning, services, stats
from liaison.campaign.access import campaign_only, figures_readers
from liaison.campaign.mapping import mappings
from liaison.campaign.models import (
    ActionItem,
    ActionPlan,
    Attachment,
    Campaign,
    Establishment,
    ImportBatch,
    Indicator,
    Meeting,
    Target,
)
from liaison.campaign.reader import ImportRefused
from liaison.campaign.spreadsheet_limits import MAX_FILE_BYTES


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _refused(request: HttpRequest, exc: ImportRefused) -> None:
    messages.error(request, f"Import refusé, rien n'a été importé : {len(exc.errors)} erreur(s).")
    request.session["campaign_import_errors"] = [str(e) for e in exc.errors[:200]]


@figures_readers
def home(request: HttpRequest) -> HttpResponse:
    ctx = {
        "batches": ImportBatch.objects.all()[:20],
        "available": services.available(),
        "campaigns": Campaign.objects.annotate(
            n_targets=Count("targets"), n_selected=Count("targets", filter=Q(targets__selected=True))
        ),
        "families": mappings().values(),
        "opendata": services.opendata_files(),
        "errors": request.session.pop("campaign_import_errors", []),
        "n_establishments": Establishment.objects.count(),
        "attribute_columns": services.ATTRIBUTE_COLUMNS,
        "is_campaign": request.user.groups.filter(name="campagne").exists(),
    }
    return render(request, "campaign/home.html", ctx)


@campaign_only
@require_POST
def import_upload(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if not upload:
        messages.error(request, "Choisissez un fichier à importer.")
        return redirect("campaign:home")
    if upload.size > MAX_FILE_BYTES:
        messages.error(request, f"Fichier trop volumineux ({MAX_FILE_BYTES // 1024 // 1024} Mio au plus).")
        return redirect("campaign:home")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(upload.name).name
        with path.open("wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        try:
            batch = services.import_file(
                path,
                _int(request.POST.get("year")),
                request.POST.get("family") or None,
                request.user,
                display_name=upload.name,
            )
        except ImportRefused as exc:
            _refused(request, exc)
            return redirect("campaign:home")
    messages.success(
        request,
        f"{batch.file_name} importé : recueil {batch.year}, {batch.rows} établissements, "
        f"{batch.results} résultats.",
    )
    return redirect("campaign:home")


@campaign_only
@require_POST
def import_opendata(request: HttpRequest) -> HttpResponse:
    done = []
    try:
        for f in services.opendata_files():
            b = services.import_file(f, user=request.user)
            done.append(f"{b.file_name} ({b.year}, {b.rows} établissements)")
    except ImportRefused as exc:
        _refused(request, exc)
        return redirect("campaign:home")
    messages.success(request, "Importé : " + "; ".join(done) if done else "Aucun fichier HAS sur ce poste.")
    return redirect("campaign:home")


@campaign_only
@require_POST
def import_attributes(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if not upload:
        messages.error(request, "Choisissez un fichier CSV.")
        return redirect("campaign:home")
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        messages.error(request, "Le CSV doit être encodé en UTF-8.")
        return redirect("campaign:home")
    try:
        n = services.import_attributes(text, request.POST.get("source", "").strip())
    except ImportRefused as exc:
        _refused(request, exc)
        return redirect("campaign:home")
    messages.success(request, f"Attributs mis à jour pour {n} établissement(s).")
    return redirect("campaign:home")


# --- figures -------------------------------------------------------------------------------


@figures_readers
def figures(request: HttpRequest) -> HttpResponse:
    available = services.available()
    if not available:
        messages.error(request, "Aucun résultat importé.")
        return redirect("campaign:home")
    codes = {i.code: years for i, years in available}
    code = request.GET.get("indicateur") if request.GET.get("indicateur") in codes else next(iter(codes))
    year = _int(request.GET.get("annee"))
    year = year if year in codes[code] else codes[code][0]
    by = "department" if request.GET.get("par") == "departement" else "region"
    f = services.figures(code, year)
    groups = f.regions if by == "region" else f.departments
    max_band = max((b[2] for b in f.national.bands), default=1) or 1
    return render(
        request,
        "campaign/figures.html",
        {
            "available": available,
            "code": code,
            "year": year,
            "by": by,
            "f": f,
            "groups": groups,
            "bands": [(lo, hi, n, round(100 * n / max_band)) for lo, hi, n in f.national.bands],
        },
    )


# --- targeting -----------------------------------------------------------------------------


def _config_from(data, base: dict) -> dict:
    cfg = {"rule": data.get("rule") or base.get("rule", "any"), "criteria": {}}
    for cid, c in base["criteria"].items():
        raw = data.get(f"w_{cid}")
        try:
            weight = float(str(raw).replace(",", ".")) if raw not in (None, "") else c["weight"]
        except ValueError as exc:
            raise ValueError(f"Poids « {raw} » invalide pour « {c['label']} ».") from exc
        cfg["criteria"][cid] = {
            "label": c["label"],
            "weight": weight,
            "prefer": data.get(f"p_{cid}") or c.get("prefer", "high"),
        }
    return cfg


def _regions() -> list[str]:
    return list(
        Establishment.objects.exclude(region="")
        .values_list("region", flat=True)
        .distinct()
        .order_by("region")
    )


@campaign_only
def targeting(request: HttpRequest) -> HttpResponse:
    available = services.available()
    if not available:
        messages.error(request, "Importez d'abord des résultats HAS.")
        return redirect("campaign:home")
    data = request.POST if request.method == "POST" else request.GET
    all_years = sorted({y for _, ys in available for y in ys}, reverse=True)
    chosen = [c for c in data.getlist("indicateur") if any(i.code == c for i, _ in available)]
    year = _int(data.get("annee")) or all_years[0]
    region = data.get("region", "")
    result = error = None
    try:
        config = _config_from(data, services.default_config())
        if chosen:
            result = services.run_targeting(chosen, year, config, region)
    except ValueError as exc:
        error, config = str(exc), services.default_config()
    if request.method == "POST" and result is not None and not error:
        name = data.get("nom", "").strip() or f"Campagne {year}{' ' + region if region else ''}"
        campaign = services.save_campaign(name, chosen, year, config, region, request.user)
        messages.success(
            request,
            f"Campagne « {campaign.name} » enregistrée avec {campaign.targets.count()} établissements.",
        )
        return redirect("campaign:campaign", campaign.pk)
    return render(
        request,
        "campaign/targeting.html",
        {
            "available": available,
            "years": all_years,
            "chosen": chosen,
            "year": year,
            "region": region,
            "regions": _regions(),
            "config": config,
            "result": result,
            "error": error,
        },
    )


@campaign_only
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "selection":
            keep = {int(x) for x in request.POST.getlist("retenu") if x.isdigit()}
            with transaction.atomic():
                campaign.targets.update(selected=False)
                campaign.targets.filter(pk__in=keep).update(selected=True)
            messages.success(request, f"{len(keep)} établissement(s) retenu(s) pour une visite.")
        elif action == "ponderations":
            try:
                services.rescore(campaign, _config_from(request.POST, campaign.config))
                messages.success(request, "Pondérations enregistrées ; classement recalculé.")
            except ValueError as exc:
                messages.error(request, str(exc))
        return redirect("campaign:campaign", campaign.pk)
    targets = campaign.targets.select_related("establishment").prefetch_related("plan__items")
    rows = []
    for t in targets:
        plan = getattr(t, "plan", None)
        done, total = plan.progress() if plan else (0, 0)
        rows.append({"t": t, "plan": plan, "done": done, "total": total})
    labels = services.labels()
    return render(
        request,
        "campaign/campaign.html",
        {
            "campaign": campaign,
            "rows": rows,
            "national": [(labels.get(k, k), v) for k, v in campaign.national.items()],
            "config": campaign.config,
            "n_selected": sum(1 for r in rows if r["t"].selected),
            "eval_years": services.evaluation_years(campaign, campaign.indicators[0]),
        },
    )


@campaign_only
def evaluation(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    code = request.GET.get("indicateur")
    code = code if code in campaign.indicators else campaign.indicators[0]
    try:
        ev = services.evaluate_campaign(campaign, code, _int(request.GET.get("annee")))
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("campaign:campaign", campaign.pk)
    return render(
        request,
        "campaign/evaluation.html",
        {
            "campaign": campaign,
            "ev": ev,
            "r": ev.result,
            "groups": [ev.result.targeted, ev.result.control, ev.result.comparable],
            "years": services.evaluation_years(campaign, code),
            "indicators": Indicator.objects.filter(code__in=campaign.indicators),
            "planned_year": campaign.year + follow_up.EVALUATION_AFTER_YEARS,
            "calendar_source": follow_up.SOURCE_FR,
        },
    )


# --- establishments ------------------------------------------------------------------------


class AttributesForm(forms.ModelForm):
    parcours_codes = forms.MultipleChoiceField(
        label="Services de parcours",
        choices=list(stats.PARCOURS_SERVICES.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    parcours_known = forms.BooleanField(label="Services de parcours connus", required=False)

    class Meta:
        model = Establishment
        fields = ["dmp_rate", "mss_rate", "cpts", "beds", "attributes_source"]

    def clean(self) -> dict:
        data = super().clean()
        for f in ("dmp_rate", "mss_rate"):
            v = data.get(f)
            if v is not None and not 0 <= v <= 100:
                self.add_error(f, "Pourcentage entre 0 et 100 attendu.")
        if not data.get("attributes_source"):
            self.add_error("attributes_source", "Déclarez la source de ces informations.")
        return data


@campaign_only
def establishments(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    qs = Establishment.objects.all()
    if q:
        qs = qs.filter(
            Q(name__icontains=q)
            | Q(finess_eg__startswith=q)
            | Q(finess_ej__startswith=q)
            | Q(region__icontains=q)
        )
    return render(request, "campaign/establishments.html", {"q": q, "rows": qs[:100], "total": qs.count()})


@campaign_only
def establishment(request: HttpRequest, finess: str) -> HttpResponse:
    est = get_object_or_404(Establishment, finess_eg=finess)
    if request.method == "POST":
        form = AttributesForm(request.POST, instance=est)
        if form.is_valid():
            e = form.save(commit=False)
            e.parcours = form.cleaned_data["parcours_codes"] if form.cleaned_data["parcours_known"] else None
            e.attributes_updated_at = timezone.now()
            e.save()
            messages.success(request, "Attributs enregistrés.")
            return redirect("campaign:establishment", finess)
    else:
        form = AttributesForm(
            instance=est,
            initial={"parcours_codes": est.parcours or [], "parcours_known": est.parcours is not None},
        )
    p = services.profile(finess)
    return render(request, "campaign/profile.html", {"p": p, "est": est, "form": form})


@campaign_only
def establishment_pdf(request: HttpRequest, finess: str) -> HttpResponse:
    from liaison.campaign.profile_pdf import render_profile_pdf

    try:
        p = services.profile(finess)
    except Establishment.DoesNotExist as exc:
        raise Http404("Établissement inconnu.") from exc
    response = HttpResponse(render_profile_pdf(p), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="profil-{finess}.pdf"'
    return response


# --- action plans --------------------------------------------------------------------------


class ItemForm(forms.ModelForm):
    class Meta:
        model = ActionItem
        fields = ["criterion", "action", "owner", "deadline", "status"]
        widgets = {"deadline": forms.DateInput(attrs={"type": "date"}), "action": forms.TextInput()}


class MeetingForm(forms.ModelForm):
    class Meta:
        model = Meeting
        fields = ["kind", "date", "participants", "notes"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }


@campaign_only
def plan(request: HttpRequest, campaign_id: int, target_id: int) -> HttpResponse:
    target = get_object_or_404(
        Target.objects.select_related("establishment", "campaign"), pk=target_id, campaign_id=campaign_id
    )
    action_plan = ActionPlan.objects.filter(target=target).first()
    item_form, meeting_form = ItemForm(prefix="item"), MeetingForm(prefix="meeting")
    if request.method == "POST":
        action = request.POST.get("action")
        url = reverse("campaign:plan", args=[campaign_id, target_id])
        if action == "create" and action_plan is None:
            planning.create_plan(target)
            messages.success(request, "Plan d'action créé sur les trois critères prioritaires.")
            return redirect(url)
        if action_plan is None:
            raise Http404("Pas de plan d'action.")
        if action == "item":
            item_form = ItemForm(request.POST, prefix="item")
            if item_form.is_valid():
                planning.add_item(action_plan, item_form.save(commit=False))
                messages.success(request, "Action ajoutée.")
                return redirect(url)
        elif action == "status":
            try:
                changed = planning.set_status(
                    action_plan, _int(request.POST.get("item")), request.POST.get("status")
                )
            except ActionItem.DoesNotExist:
                raise Http404("Action introuvable.") from None
            if changed:
                messages.success(request, "Statut mis à jour.")
            return redirect(url)
        elif action == "meeting":
            meeting_form = MeetingForm(request.POST, prefix="meeting")
            if meeting_form.is_valid():
                planning.add_meeting(action_plan, meeting_form.save(commit=False))
                messages.success(request, "Rencontre enregistrée.")
                return redirect(url)
        elif action == "attachment":
            refused = planning.add_attachment(action_plan, request.FILES.get("file"), request.user)
            if refused:
                messages.error(request, refused)
            else:
                messages.success(request, "Pièce jointe ajoutée.")
            return redirect(url)
    page = planning.plan_page(target, action_plan)
    return render(
        request, "campaign/plan.html", {**page, "item_form": item_form, "meeting_form": meeting_form}
    )


@campaign_only
def attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    a = get_object_or_404(Attachment, pk=attachment_id)
    response = HttpResponse(bytes(a.data), content_type=a.content_type or "application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{a.name}"'
    return response
