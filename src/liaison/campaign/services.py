"""Campaign services on the database: import, figures, targeting, profile, evaluation, attributes.

The CLI and the web views call these; the arithmetic is in `stats` (pure Python).
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from liaison.campaign import stats
from liaison.campaign.mapping import indicator_catalogue, mappings
from liaison.campaign.models import (
    PRIORITY_CRITERIA,
    ActionPlan,
    Campaign,
    Establishment,
    ImportBatch,
    Indicator,
    Result,
    Target,
)
from liaison.campaign.reader import ImportRefused, LineError, parse
from liaison.core.identifiers import IdentifierError, validate_finess
from liaison.paths import opendata_dir

DEFAULTS_FILE = Path(__file__).with_name("scoring_defaults.yaml")


@cache
def _defaults_text() -> str:
    return DEFAULTS_FILE.read_text(encoding="utf-8")


def default_config() -> dict:
    return yaml.safe_load(_defaults_text())


def opendata_files() -> list[Path]:
    """The HAS result files shipped on this machine (e-Satis SMR 2023 and 2024)."""
    folder = opendata_dir() / "ganebang-veltis"
    return sorted(folder.glob("esatis_ssr_from_iqss_recueil*.xlsx")) if folder.is_dir() else []


# --- import --------------------------------------------------------------------------------


def ensure_indicators() -> None:
    for m in mappings().values():
        for ind in m.indicators:
            Indicator.objects.update_or_create(
                code=ind.code,
                defaults=dict(
                    family=m.family,
                    label=ind.label,
                    short=ind.short,
                    unit=ind.unit,
                    weight_label=ind.weight_label,
                    satisfactory_classes=ind.satisfactory_classes,
                    discharge_organisation=ind.discharge_organisation,
                ),
            )


def import_file(
    path: Path, year: int | None = None, family: str | None = None, user=None, display_name: str = ""
) -> ImportBatch:
    """All or nothing: `ImportRefused` lists every faulty line and nothing is stored.

    Re-importing a family's year replaces that year's results.
    """
    t0 = time.perf_counter()
    parsed = parse(path, year, family)
    with transaction.atomic():
        ensure_indicators()
        indicators = {i.code: i for i in Indicator.objects.filter(family=parsed.mapping.family)}
        rows = {e.finess_eg: e for e in parsed.establishments}
        existing = {e.finess_eg: e for e in Establishment.objects.filter(finess_eg__in=rows)}
        latest_year = (
            Result.objects.filter(indicator__family=parsed.mapping.family).aggregate(y=Max("year"))["y"] or 0
        )
        fields = ["finess_ej", "name", "name_ej", "region", "department", "category"]
        new, changed = [], []
        for finess, row in rows.items():
            est = existing.get(finess)
            if est is None:
                new.append(Establishment(**{"finess_eg": finess, **{f: getattr(row, f) for f in fields}}))
            elif parsed.year >= latest_year:  # the newest file names the establishment
                values = {f: getattr(row, f) or getattr(est, f) for f in fields}
                if any(getattr(est, f) != v for f, v in values.items()):
                    for f, v in values.items():
                        setattr(est, f, v)
                    changed.append(est)
        Establishment.objects.bulk_create(new, batch_size=1000)
        Establishment.objects.bulk_update(changed, fields, batch_size=1000)
        ids = dict(Establishment.objects.filter(finess_eg__in=rows).values_list("finess_eg", "id"))
        Result.objects.filter(indicator__in=indicators.values(), year=parsed.year).delete()
        batch = ImportBatch.objects.create(
            family=parsed.mapping.family,
            year=parsed.year,
            file_name=display_name or path.name,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            rows=len(parsed.establishments),
            results=len(parsed.results),
            warnings=parsed.warnings,
            imported_by=user if getattr(user, "is_authenticated", False) else None,
        )
        Result.objects.bulk_create(
            [
                Result(
                    establishment_id=ids[r.finess_eg],
                    indicator=indicators[r.indicator],
                    year=parsed.year,
                    value=r.value,
                    weight=r.weight,
                    klass=r.klass,
                    evolution=r.evolution,
                    batch=batch,
                )
                for r in parsed.results
            ],
            batch_size=2000,
        )
        batch.duration_ms = round(1000 * (time.perf_counter() - t0))
        batch.save(update_fields=["duration_ms"])
    return batch


# --- figures -------------------------------------------------------------------------------


def available() -> list[tuple[Indicator, list[int]]]:
    """Indicators with imported results, and their years (newest first)."""
    years: dict[int, set[int]] = {}
    for ind_id, year in Result.objects.values_list("indicator_id", "year").distinct():
        years.setdefault(ind_id, set()).add(year)
    return [(i, sorted(years[i.id], reverse=True)) for i in Indicator.objects.filter(id__in=years)]


def observations(code: str, year: int) -> list[stats.Observation]:
    rows = Result.objects.filter(indicator__code=code, year=year).values_list(
        "establishment__finess_eg",
        "value",
        "weight",
        "klass",
        "evolution",
        "establishment__region",
        "establishment__department",
        "establishment__category",
    )
    return [stats.Observation(*r) for r in rows]


def satisfactory_classes(code: str) -> list[str]:
    ind = Indicator.objects.filter(code=code).first()
    return list(ind.satisfactory_classes) if ind else []


@dataclass
class Figures:
    indicator: Indicator
    year: int
    national: stats.Summary
    regions: dict[str, stats.Summary]
    departments: dict[str, stats.Summary]


def indicator(code: str) -> Indicator:
    """The indicator `code`, or a French ValueError naming the known ones."""
    try:
        return Indicator.objects.get(code=code)
    except Indicator.DoesNotExist:
        known = ", ".join(Indicator.objects.order_by("code").values_list("code", flat=True))
        hint = f"connus : {known}" if known else "aucun : importez d'abord un fichier HAS"
        raise ValueError(f"Indicateur inconnu : {code} ({hint}).") from None


def figures(code: str, year: int) -> Figures:
    found = indicator(code)
    obs = observations(code, year)
    sat = satisfactory_classes(code)
    return Figures(
        found,
        year,
        stats.summarise(obs, sat),
        stats.summarise_by(obs, lambda o: o.region, sat),
        stats.summarise_by(obs, lambda o: o.department, sat),
    )


def national_means(codes: list[str], year: int) -> dict[str, float]:
    out = {}
    for code in codes:
        m = stats.summarise(observations(code, year)).weighted_mean
        if m is not None:
            out[code] = m
    return out


# --- targeting -----------------------------------------------------------------------------


def _attributes(e: Establishment) -> stats.Attributes:
    return stats.Attributes(
        dmp_rate=e.dmp_rate,
        mss_rate=e.mss_rate,
        parcours=frozenset(e.parcours) if e.parcours is not None else None,
        cpts=e.cpts,
        beds=e.beds,
        priority_rates=dict(e.priority_rates) if e.priority_rates else None,
        source=e.attributes_source,
    )


def candidates(codes: list[str], year: int) -> list[stats.Candidate]:
    by_est: dict[int, dict] = {}
    for r in Result.objects.filter(indicator__code__in=codes, year=year).select_related("indicator"):
        d = by_est.setdefault(r.establishment_id, {"values": {}, "weights": {}, "evolutions": {}})
        d["values"][r.indicator.code] = r.value
        d["weights"][r.indicator.code] = r.weight
        d["evolutions"][r.indicator.code] = r.evolution
    out = []
    for e in Establishment.objects.filter(id__in=by_est):
        d = by_est[e.id]
        out.append(
            stats.Candidate(
                finess=e.finess_eg,
                name=e.name,
                region=e.region,
                department=e.department,
                category=e.category,
                values=d["values"],
                weights=d["weights"],
                evolutions=d["evolutions"],
                attributes=_attributes(e),
            )
        )
    return out


def labels() -> dict[str, str]:
    return {i.code: str(i) for i in Indicator.objects.all()}


def run_targeting(
    codes: list[str], year: int, config: dict | None = None, region: str = ""
) -> stats.TargetingResult:
    if not codes:
        raise ValueError("Choisissez au moins un indicateur de ciblage.")
    cfg = stats.ScoringConfig.from_dict(config or default_config())
    national = national_means(codes, year)
    missing = [c for c in codes if c not in national]
    if missing:
        raise ValueError(f"Aucun résultat importé pour {', '.join(missing)} en {year}.")
    # keep the order the user chose (the first indicator gives the evolution criterion)
    national = {c: national[c] for c in codes}
    return stats.target(candidates(codes, year), national, cfg, labels(), region or None)


@transaction.atomic
def save_campaign(
    name: str, codes: list[str], year: int, config: dict | None = None, region: str = "", user=None
) -> Campaign:
    config = config or default_config()
    result = run_targeting(codes, year, config, region)
    campaign = Campaign.objects.create(
        name=name,
        year=year,
        indicators=codes,
        region=region,
        config=stats.ScoringConfig.from_dict(config).to_dict(),
        national=result.national,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    _store_targets(campaign, result)
    return campaign


def _store_targets(campaign: Campaign, result: stats.TargetingResult) -> None:
    ids = dict(
        Establishment.objects.filter(finess_eg__in=[r.candidate.finess for r in result.ranked]).values_list(
            "finess_eg", "id"
        )
    )
    Target.objects.bulk_create(
        [
            Target(
                campaign=campaign,
                establishment_id=ids[r.candidate.finess],
                rank=r.rank,
                score=r.score,
                gap=r.gap,
                reasons=list(r.reasons),
            )
            for r in result.ranked
        ]
    )


@transaction.atomic
def rescore(campaign: Campaign, config: dict) -> Campaign:
    """New weights for a saved campaign: ranks and reasons are recomputed, choices and plans kept."""
    cfg = stats.ScoringConfig.from_dict(config)
    result = run_targeting(campaign.indicators, campaign.year, cfg.to_dict(), campaign.region)
    campaign.config = cfg.to_dict()
    campaign.save(update_fields=["config"])
    targets = {t.establishment.finess_eg: t for t in campaign.targets.select_related("establishment")}
    for r in result.ranked:
        t = targets.get(r.candidate.finess)
        if t:
            t.rank, t.score, t.gap, t.reasons = r.rank, r.score, r.gap, list(r.reasons)
    Target.objects.bulk_update(list(targets.values()), ["rank", "score", "gap", "reasons"])
    return campaign


# --- attributes (not in the open data) -------------------------------------------------------

# the three priority criteria of the CPAM/ARS campaign, per-criterion QLS rates (models.PRIORITY_CRITERIA)
PRIORITY_COLUMNS = {
    "taux_remise": "handed_over",
    "taux_planification": "care_planning",
    "taux_traitement": "discharge_treatment",
}

ATTRIBUTE_COLUMNS = {
    "finess_geo": "FINESS géographique",
    "taux_dmp": "taux d'alimentation du DMP en LLS (%)",
    "taux_mssante": "taux d'envoi MSSanté aux professionnels (%)",
    "parcours": "services de parcours, séparés par « | » (ic, avc, bpco, prado, ambu)",
    "cpts": "lien avec une CPTS (oui / non)",
    "lits": "lits et places",
    "taux_remise": "QLS : taux du critère « lettre remise au patient le jour de la sortie » (%)",
    "taux_planification": "QLS : taux du critère « planification des soins à la sortie » (%)",
    "taux_traitement": "QLS : taux du critère « traitement médicamenteux de sortie » (%)",
    "source": "source déclarée (ex. « ARS Grand Est, enquête 2025 »)",
}


def import_attributes(text: str, default_source: str = "") -> int:
    """CSV (`;` or `,`) of the columns of ATTRIBUTE_COLUMNS; an empty cell leaves the value alone.

    All or nothing, errors by line like the open-data import.
    """
    first = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";" if ";" in first else ",")
    header = [h.strip() for h in reader.fieldnames or []]
    errors: list[LineError] = [
        LineError(1, h, "colonne inconnue (" + ", ".join(ATTRIBUTE_COLUMNS) + ").")
        for h in header
        if h not in ATTRIBUTE_COLUMNS
    ]
    if "finess_geo" not in header:
        errors.append(LineError(1, "finess_geo", "colonne attendue absente du fichier."))
    if errors:
        raise ImportRefused(errors)
    known = dict(Establishment.objects.values_list("finess_eg", "id"))
    updates: list[tuple[int, dict]] = []
    for n, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        fields: dict = {}
        try:
            finess = validate_finess(row["finess_geo"])
        except IdentifierError as exc:
            errors.append(LineError(n, "finess_geo", f"FINESS inexistant — {exc}"))
            continue
        if finess not in known:
            errors.append(LineError(n, "finess_geo", f"FINESS {finess} absent des données importées."))
            continue
        for col, field in (("taux_dmp", "dmp_rate"), ("taux_mssante", "mss_rate")):
            if row.get(col):
                try:
                    v = float(row[col].replace(",", ".").rstrip("%").strip())
                    if not 0 <= v <= 100:
                        raise ValueError
                    fields[field] = v
                except ValueError:
                    errors.append(LineError(n, col, f"« {row[col]} » : pourcentage entre 0 et 100 attendu."))
        rates: dict[str, float] = {}
        for col, key in PRIORITY_COLUMNS.items():
            if row.get(col):
                try:
                    v = float(row[col].replace(",", ".").rstrip("%").strip())
                    if not 0 <= v <= 100:
                        raise ValueError
                    rates[key] = v
                except ValueError:
                    errors.append(LineError(n, col, f"« {row[col]} » : pourcentage entre 0 et 100 attendu."))
        if rates:
            fields["priority_rates"] = rates
        if row.get("parcours"):
            codes = [p.strip().lower() for p in row["parcours"].replace(",", "|").split("|") if p.strip()]
            bad = [p for p in codes if p not in stats.PARCOURS_SERVICES and p != "aucun"]
            if bad:
                errors.append(LineError(n, "parcours", f"service(s) inconnu(s) : {', '.join(bad)}."))
            fields["parcours"] = sorted(p for p in codes if p in stats.PARCOURS_SERVICES)
        if row.get("cpts"):
            v = row["cpts"].lower()
            if v not in ("oui", "non", "1", "0", "true", "false"):
                errors.append(LineError(n, "cpts", f"« {row['cpts']} » : oui ou non attendu."))
            fields["cpts"] = v in ("oui", "1", "true")
        if row.get("lits"):
            if not row["lits"].isdigit():
                errors.append(LineError(n, "lits", f"« {row['lits']} » : nombre entier attendu."))
            else:
                fields["beds"] = int(row["lits"])
        source = row.get("source") or default_source
        if not source:
            errors.append(LineError(n, "source", "source des données non déclarée."))
        fields["attributes_source"] = source
        updates.append((known[finess], fields))
    if errors:
        raise ImportRefused(errors)
    now = timezone.now()
    with transaction.atomic():
        for pk, fields in updates:
            Establishment.objects.filter(pk=pk).update(**fields, attributes_updated_at=now)
    return len(updates)


# --- profile -------------------------------------------------------------------------------


def _group_means(
    code: str, year: int
) -> tuple[float | None, dict[str, float | None], dict[str, float | None]]:
    obs = observations(code, year)
    national = stats.summarise(obs).weighted_mean
    by_region = {k: s.weighted_mean for k, s in stats.summarise_by(obs, lambda o: o.region).items()}
    by_cat = {k: s.weighted_mean for k, s in stats.summarise_by(obs, lambda o: o.category).items()}
    return national, by_region, by_cat


def profile(finess: str) -> dict:
    """Everything the profile page and PDF show, as plain data (French labels, no patient)."""
    est = Establishment.objects.get(finess_eg=finess)
    results = list(est.results.select_related("indicator").order_by("indicator_id", "year"))
    series: dict[str, dict] = {}
    means_cache: dict[tuple[str, int], tuple] = {}
    for r in results:
        code = r.indicator.code
        key = (code, r.year)
        if key not in means_cache:
            means_cache[key] = _group_means(code, r.year)
        national, by_region, by_cat = means_cache[key]
        s = series.setdefault(
            code,
            {
                "code": code,
                "label": r.indicator.label,
                "short": str(r.indicator),
                "unit": r.indicator.unit,
                "discharge_organisation": r.indicator.discharge_organisation,
                "years": [],
            },
        )
        s["years"].append(
            {
                "year": r.year,
                "value": r.value,
                "weight": r.weight,
                "klass": r.klass,
                "evolution": r.evolution,
                "region": by_region.get(est.region),
                "category": by_cat.get(est.category),
                "national": national,
            }
        )
    main = next(iter(series), None)
    peers: list[dict] = []
    peer_year = None
    if main:
        peer_year = series[main]["years"][-1]["year"]
        rows = (
            Result.objects.filter(
                indicator__code=main,
                year=peer_year,
                value__isnull=False,
                establishment__category=est.category,
                establishment__region=est.region,
            )
            .select_related("establishment")
            .order_by("-value")
        )
        peers = [
            {
                "finess": p.establishment.finess_eg,
                "name": p.establishment.name,
                "value": p.value,
                "klass": p.klass,
                "self": p.establishment_id == est.id,
            }
            for p in rows
        ]
    discharge = next((s for s in series.values() if s["discharge_organisation"]), None)
    plans = []
    for t in est.targets.select_related("campaign").order_by("-campaign__created_at"):
        plan = ActionPlan.objects.filter(target=t).first()
        items = list(plan.items.all()) if plan else []
        plans.append(
            {
                "campaign": t.campaign,
                "target": t,
                "plan": plan,
                "by_criterion": {c: [i for i in items if i.criterion == c] for c in PRIORITY_CRITERIA},
            }
        )
    return {
        "establishment": est,
        "series": list(series.values()),
        "main": main,
        "peers": peers,
        "peer_year": peer_year,
        "discharge": discharge,
        "priority_criteria": PRIORITY_CRITERIA,
        "plans": plans,
        "parcours_labels": [
            stats.PARCOURS_SERVICES[p] for p in (est.parcours or []) if p in stats.PARCOURS_SERVICES
        ],
    }


# --- evaluation ----------------------------------------------------------------------------


@dataclass
class CampaignEvaluation:
    campaign: Campaign
    indicator: Indicator
    year_before: int
    year_after: int
    result: stats.Evaluation


def evaluation_years(campaign: Campaign, code: str) -> list[int]:
    years = Result.objects.filter(indicator__code=code, year__gt=campaign.year, value__isnull=False)
    return sorted(set(years.values_list("year", flat=True)))


def evaluate_campaign(
    campaign: Campaign, code: str | None = None, year_after: int | None = None
) -> CampaignEvaluation:
    code = code or campaign.indicators[0]
    found = indicator(code)
    years = evaluation_years(campaign, code)
    if year_after is None:
        if not years:
            raise ValueError(
                f"Pas encore de mesure postérieure à {campaign.year} pour {code} : "
                "importez le fichier suivant."
            )
        year_after = years[0]
    qs = Result.objects.filter(indicator__code=code, value__isnull=False)
    if campaign.region:
        qs = qs.filter(establishment__region=campaign.region)
    before = dict(qs.filter(year=campaign.year).values_list("establishment_id", "value"))
    after = dict(qs.filter(year=year_after).values_list("establishment_id", "value"))
    national = campaign.national.get(code)
    if national is None:
        national = stats.summarise(observations(code, campaign.year)).weighted_mean
    targeted = set(campaign.targets.filter(selected=True).values_list("establishment_id", flat=True))
    pairs = [
        stats.Pair(str(e), before[e], after[e], e in targeted, before[e] < national)
        for e in before
        if e in after
    ]
    missing = sum(1 for e in targeted if e not in after or e not in before)
    return CampaignEvaluation(campaign, found, campaign.year, year_after, stats.evaluate(pairs, missing))


def indicator_codes() -> list[str]:
    return list(indicator_catalogue())
