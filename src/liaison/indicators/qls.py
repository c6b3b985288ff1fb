"""The QLS audit on the establishment's own stays: database records in, pure `quality` out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Prefetch

from liaison.core.content import LetterContent, LetterFacts, RecipientRole, Sector
from liaison.core.paris import paris_days
from liaison.delivery.models import Delivery
from liaison.letters.models import Establishment, Letter, Stay
from liaison.quality.audit import Audit, AuditRecord, Override, run_audit
from liaison.quality.grid import Grid, load_grid
from liaison.quality.rules import Result
from liaison.quality.sampling import Draw, Replacement, StayRecord

DEFAULT_GRIDS = {Sector.MCO: "qls/mco/v2-2022", Sector.CA: "qls/ca/v2-2022"}


# The HAS draw (qls-indicator.md §6): 80 records drawn at random, and an ordered reserve of 20
# that replaces records found out of scope on review. Every QLS grid says the same (sample:).
HAS_SAMPLE_SIZE = 80
HAS_RESERVE = 20


class AuditError(ValueError):
    """A refused audit request; the message is French."""


class AuditConflict(AuditError):
    """The campaign's sample was already drawn (one draw per campaign)."""


def default_grid(sector: str) -> Grid:
    try:
        return load_grid(DEFAULT_GRIDS[Sector(sector)])
    except (KeyError, ValueError) as exc:
        raise AuditError(
            f"Pas de grille QLS par défaut pour le secteur {sector!r} : précisez --grid "
            f"({', '.join(DEFAULT_GRIDS.values())} ou une autre grille)."
        ) from exc


def letter_facts(stay: Stay, letter: Letter | None) -> LetterFacts:
    """What the record shows beyond the content: a signed letter, its signature, its hand-over."""
    if letter is None or letter.status != Letter.Status.SIGNED:
        return LetterFacts(exists=False, stay_id=str(stay.pk))
    return LetterFacts(
        letter_id=str(letter.pk),
        exists=True,
        signed_at=letter.signed_at,
        signer_profession=letter.signed_by.profession if letter.signed_by else None,
        handed_over_at=letter.handed_over_at,
        sent_to_patient_mss_at=_first_mss_to_patient(letter),
        stay_id=str(stay.pk),
    )


def _first_mss_to_patient(letter: Letter) -> dt.datetime | None:
    """When the letter was first sent to the patient by MSSanté and accepted (sent, received, read)."""
    accepted = {Delivery.State.SENT, Delivery.State.DELIVERED, Delivery.State.READ}
    times = [
        d.sent_at
        for d in letter.deliveries.all()
        if d.channel == Delivery.Channel.MSSANTE
        and d.recipient_role == RecipientRole.PATIENT
        and d.state in accepted
        and d.sent_at is not None
    ]
    return min(times, default=None)


def records(
    establishment: Establishment, sectors: Iterable[str], start: dt.date, end: dt.date
) -> list[AuditRecord]:
    """One record per stay discharged in [start, end] (Europe/Paris days), with its current letter."""
    if end < start:
        raise AuditError("La fin de la période précède son début.")
    lo, hi = paris_days(start, end)
    signed = Prefetch(
        "letters",
        queryset=Letter.objects.filter(status=Letter.Status.SIGNED)
        .select_related("signed_by")
        .prefetch_related("deliveries"),
        to_attr="signed_letters",
    )
    stays = (
        Stay.objects.filter(
            establishment=establishment,
            sector__in=list(sectors),
            cancelled=False,
            discharge_at__gte=lo,
            discharge_at__lt=hi,
        )
        .select_related("unit")
        .prefetch_related(signed)
    )
    out = []
    for stay in stays:
        letter = max(stay.signed_letters, key=lambda x: x.version, default=None)
        content = letter.parsed() if letter else LetterContent()
        out.append(
            AuditRecord(
                stay=StayRecord(
                    str(stay.pk),
                    stay.sector,
                    stay.admission_at,
                    stay.discharge_at,
                    stay.exit_mode or None,
                    stay.unit.name,
                ),
                content=content,
                facts=letter_facts(stay, letter),
            )
        )
    return out


def run(
    establishment: Establishment,
    grid: Grid,
    start: dt.date,
    end: dt.date,
    seed: str | int,
    size: int | None = None,
    draw: Draw | None = None,
    overrides: dict[str, dict[str, Override]] | None = None,
) -> Audit:
    recs = records(establishment, grid.eligibility.sectors, start, end)
    try:
        return run_audit(grid, recs, seed=seed, size=size, draw=draw, overrides=overrides)
    except ValueError as exc:
        raise AuditError(str(exc)) from exc


def the_establishment(finess: str | None = None) -> Establishment:
    qs = Establishment.objects.all()
    if finess:
        qs = qs.filter(finess_eg=finess)
    found = list(qs[:2])
    if not found:
        raise AuditError("Aucun établissement " + (f"de FINESS {finess}." if finess else "dans la base."))
    if len(found) > 1:
        raise AuditError("Plusieurs établissements : précisez --finess (FINESS géographique).")
    return found[0]


# --- saved audits ---------------------------------------------------------------------------


def draw_from_dict(d: dict) -> Draw:
    return Draw(
        seed=d["seed"],
        population_size=d["population_size"],
        population_sha256=d["population_sha256"],
        sample=tuple(d["sample"]),
        reserve=tuple(d["reserve"]),
        method=d["method"],
        replacements=tuple(Replacement(r["removed"], r["added"], r["reason"]) for r in d["replacements"]),
    )


def check_has_size(grid: Grid, size: int | None) -> None:
    """A saved draw has the HAS size: a larger (or smaller) sample is refused, in French."""
    if grid.sample.size != HAS_SAMPLE_SIZE or grid.sample.reserve != HAS_RESERVE:
        raise AuditError(
            f"La grille {grid.id} ne tire pas l'échantillon HAS ({HAS_SAMPLE_SIZE} dossiers "
            f"+ {HAS_RESERVE} en réserve) : elle ne peut pas servir à un audit enregistré."
        )
    if size is not None and size != HAS_SAMPLE_SIZE:
        raise AuditError(
            f"L'échantillon d'un audit QLS est fixé par la HAS à {HAS_SAMPLE_SIZE} dossiers "
            f"(+ {HAS_RESERVE} en réserve) : une taille de {size} est refusée. Pour évaluer tous "
            "les dossiers, l'auto-évaluation continue donne des chiffres agrégés, sans ouvrir les lettres."
        )


def find_campaign(
    establishment: Establishment,
    campaign_id: int | None = None,
    sector: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
):
    """The declared campaign named by its id, or by its sector and exact period; else refused."""
    from liaison.indicators.models import QlsCampaign

    declared = QlsCampaign.objects.filter(establishment=establishment)
    if campaign_id is not None:
        campaign = declared.filter(pk=campaign_id).first()
        if campaign is None:
            raise AuditError(f"Aucune campagne QLS n° {campaign_id} déclarée pour votre établissement.")
    else:
        if start is None or end is None:
            raise AuditError("Précisez la campagne QLS déclarée (ou son secteur et sa période).")
        campaign = declared.filter(sector=(sector or "MCO").upper(), period_from=start, period_to=end).first()
        if campaign is None:
            raise AuditError(
                f"Aucune campagne QLS {(sector or 'MCO').upper()} déclarée du {start:%d/%m/%Y} au "
                f"{end:%d/%m/%Y} : la période d'un audit est celle d'une campagne déclarée par "
                "l'administrateur de l'établissement."
            )
    if (start and start != campaign.period_from) or (end and end != campaign.period_to):
        raise AuditError(
            "La période d'un audit QLS est celle de la campagne déclarée (sorties du "
            f"{campaign.period_from:%d/%m/%Y} au {campaign.period_to:%d/%m/%Y}) : "
            "une autre période est refusée."
        )
    if sector and sector.upper() != campaign.sector:
        raise AuditError(
            f"La campagne {campaign} porte sur le secteur {campaign.sector}, pas {sector.upper()}."
        )
    return campaign


def draw_campaign(
    campaign,
    seed: str | int,
    user,
    grid: Grid | None = None,
    size: int | None = None,
    label: str = "",
):
    """The HAS draw of a declared campaign: 80 records + 20 in reserve, once, recorded with who drew it."""
    from django.db import IntegrityError

    from liaison.indicators.models import QlsAudit

    grid = grid or default_grid(campaign.sector)
    if not grid.id.startswith("qls/") or list(grid.eligibility.sectors) != [campaign.sector]:
        raise AuditError(f"La grille {grid.id} n'est pas une grille QLS du secteur {campaign.sector}.")
    check_has_size(grid, size)
    done = QlsAudit.objects.filter(campaign=campaign).select_related("created_by").first()
    if done is not None:
        raise AuditConflict(_already_drawn(campaign, done))
    try:
        with transaction.atomic():
            return _save_draw(
                campaign.establishment,
                grid,
                campaign.period_from,
                campaign.period_to,
                seed,
                user,
                label,
                campaign=campaign,
            )
    except IntegrityError as exc:  # two draws at once: the first one wins
        done = QlsAudit.objects.filter(campaign=campaign).select_related("created_by").first()
        raise AuditConflict(_already_drawn(campaign, done)) from exc


def campaign_sample_stay_ids(establishment_id: int | None) -> set[int]:
    """The stays of an establishment's QLS campaign draws, the records its quality role may read
    (registered in `letters.permissions` by `IndicatorsConfig.ready`); an audit saved without a
    campaign opens no letter."""
    from liaison.indicators.models import QlsAudit

    draws = QlsAudit.objects.filter(establishment_id=establishment_id, campaign__isnull=False)
    return {int(s) for d in draws.values_list("draw", flat=True) for s in d["sample"]}


def _already_drawn(campaign, done) -> str:  # type: ignore[no-untyped-def]
    who = done.created_by.get_username() if done and done.created_by else "inconnu"
    when = f"{done.created_at:%d/%m/%Y à %H:%M}" if done else ""
    return (
        f"L'échantillon de la campagne « {campaign} » a déjà été tiré le {when} par {who} "
        f"(audit n° {done.pk if done else '?'}) : un seul tirage par campagne."
    )


def start_audit(
    establishment: Establishment,
    grid: Grid,
    start: dt.date,
    end: dt.date,
    seed: str | int,
    user,
    size: int | None = None,
    label: str = "",
):
    """Draw the sample and freeze it (`liaison audit --save`): the HAS size, no campaign attached,
    so it opens no letter to the quality role (only a campaign's draw does)."""
    check_has_size(grid, size)
    return _save_draw(establishment, grid, start, end, seed, user, label)


def _save_draw(
    establishment: Establishment,
    grid: Grid,
    start: dt.date,
    end: dt.date,
    seed: str | int,
    user,
    label: str,
    campaign=None,
):
    from liaison.indicators.models import QlsAudit

    audit = run(establishment, grid, start, end, seed, HAS_SAMPLE_SIZE)
    return QlsAudit.objects.create(
        campaign=campaign,
        establishment=establishment,
        created_by=user,
        label=label,
        grid_id=grid.id,
        grid_version=grid.version,
        grid_sha256=grid.sha256,
        sector=",".join(grid.eligibility.sectors),
        period_from=start,
        period_to=end,
        draw=audit.draw.as_dict(),
    )


def saved_overrides(saved) -> dict[str, dict[str, Override]]:  # type: ignore[no-untyped-def]
    out: dict[str, dict[str, Override]] = {}
    for o in saved.overrides.select_related("by"):
        out.setdefault(str(o.stay_id), {})[o.criterion] = Override(Result(o.result), o.reason, o.by.username)
    return out


def result_of(saved) -> Audit:  # type: ignore[no-untyped-def]
    """Grade the frozen sample of a saved audit now, with the auditor's overrides."""
    grid = load_grid(saved.grid_id)
    if grid.sha256 != saved.grid_sha256:
        raise AuditError("La grille de cet audit a changé depuis son ouverture : résultat non comparable.")
    return run(
        saved.establishment,
        grid,
        saved.period_from,
        saved.period_to,
        saved.draw["seed"],
        draw=draw_from_dict(saved.draw),
        overrides=saved_overrides(saved),
    )


def override(saved, stay_id: int, criterion: str, result: str, reason: str, user):  # type: ignore[no-untyped-def]
    from liaison.indicators.models import QlsOverride

    grid = load_grid(saved.grid_id)
    if criterion not in {i.id for i in grid.items}:
        raise AuditError(f"Critère inconnu dans la grille {grid.id} : {criterion!r}.")
    try:
        value = Result(result)
    except ValueError as exc:
        raise AuditError("Résultat attendu : met, not_met ou not_applicable.") from exc
    if str(stay_id) not in saved.draw["sample"]:
        raise AuditError("Ce séjour n'est pas dans l'échantillon de l'audit.")
    if not reason.strip():
        raise AuditError("Le motif de la correction est obligatoire.")
    with transaction.atomic():
        row, _ = QlsOverride.objects.update_or_create(
            audit=saved,
            stay_id=stay_id,
            criterion=criterion,
            defaults={"result": value.value, "reason": reason, "by": user},
        )
    return row


def grade_all(grid: Grid, recs: list[AuditRecord]) -> list:  # list[ReviewedEvaluation]
    """The continuous self-check: every eligible record graded automatically, no sample."""
    try:
        return run_audit(grid, recs, seed="continu", size=0, reserve=0).full
    except ValueError as exc:
        raise AuditError(str(exc)) from exc
