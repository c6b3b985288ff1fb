"""The digital indicators (DMP, MSSanté) by the definition of each year, from plain rows.

Pure Python, no Django. `digital.yaml` says which definition a year uses (2022–2025: the DGOS
D2.2I / D6.3I declared in oSIS on one calendar month; 2026: the arrêté's DMP feeding rate in
liaison letters). `compute()` takes the raw rows of one establishment — stays, DMP filings,
addressed correspondents, MSSanté sendings — and returns each figure with its exhaustive list
(every stay or correspondent, in the denominator or not, in the numerator or not), its method
and its source: the export an establishment attaches to its oSIS declaration.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from liaison.cells import safe_row, safe_rows
from liaison.core.codes import LDL_SES_LOINC
from liaison.core.paris import PARIS
from liaison.indicators.config import BUNDLED_DIGITAL

DEFAULT_PATH = BUNDLED_DIGITAL
LLS_LOINC = LDL_SES_LOINC
STATUS_LABELS = {"confirmed": "définition publique", "our_choice": "choix de Liaison (paramétrable)"}
KINDS = ("dmp_cme", "mss_correspondents", "dmp_lls")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class DigitalError(ValueError):
    """A refused request or a wrong configuration; the message is French."""


# --- raw rows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StayRow:
    """One stay of the establishment, as the GAM recorded it."""

    stay_id: str  # the stay number (NDA)
    patient: str  # a pseudonym (or the IPP when identities may be shown)
    unit: str
    sector: str
    discharge_at: dt.datetime | None  # aware
    exit_mode: str = ""
    cancelled: bool = False
    has_dmp: bool | None = None  # the patient had a DMP during the stay; None: not known


@dataclass(frozen=True)
class DmpFiling:
    """One document sent to the DMP for a stay; `accepted_at` is None unless the registry said Success."""

    stay_id: str
    type_code: str  # LOINC of the document type
    accepted_at: dt.datetime | None


@dataclass(frozen=True)
class Addressee:
    """A correspondent a stay names (médecin traitant, adresseur, structure d'aval)."""

    stay_id: str
    key: str  # RPPS, FINESS or Liaison's id when there is no MSSanté address
    name: str
    mssante: str = ""


@dataclass(frozen=True)
class MssSending:
    """One MSSanté mail of a document of a stay to one recipient."""

    stay_id: str
    address: str
    name: str
    role: str  # medecin_traitant | adresseur | structure_aval | autre | patient
    accepted: bool  # accepted by the operator's server, delivered or read


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    id: str
    kind: str
    label: str
    status: str
    source: str  # the source's full text
    definition: str
    numerator_text: str
    denominator_text: str
    method: str
    ifaq_target: float | None = None
    hopen_target: float | None = None
    same_as: str = ""


@dataclass(frozen=True)
class Config:
    version: str
    cme_codes: dict[str, str]
    cme_label: str
    correspondent_roles: frozenset[str]
    years: dict[int, dict[str, Any]]
    indicators: dict[str, dict[str, Any]]
    sources: dict[str, str]
    path: str = ""

    def definitions(self, year: int) -> list[Definition]:
        """The definitions in force for `year` (refused in French outside the configured years)."""
        if year not in self.years:
            known = ", ".join(str(y) for y in sorted(self.years))
            raise DigitalError(
                f"Année sans définition des indicateurs numériques : {year} (connues : {known})."
            )
        y = self.years[year]
        out = []
        for ind_id in y["indicators"]:
            raw = self.indicators[ind_id]
            hopen = (y.get("hopen_targets") or {}).get(ind_id, raw.get("hopen_target"))
            out.append(
                Definition(
                    id=ind_id,
                    kind=raw["kind"],
                    label=raw["label"],
                    status=raw["status"],
                    source=self.sources[raw["source"]],
                    definition=" ".join(raw["definition"].split()),
                    numerator_text=raw["numerator_text"],
                    denominator_text=raw["denominator_text"],
                    method=" ".join(raw["method"].split()),
                    ifaq_target=raw.get("ifaq_target"),
                    hopen_target=hopen,
                    same_as=raw.get("same_as", ""),
                )
            )
        return out

    def note(self, year: int) -> str:
        return str(self.years.get(year, {}).get("note", ""))


def load(path: str | Path | None = None) -> Config:
    """Read and check the configuration (default: the bundled file; the configured one is
    `settings.LIAISON_INDICATORS.digital`, see `digital_db.configured`)."""
    path = Path(path or DEFAULT_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        sources = dict(raw["sources"])
        indicators = dict(raw["indicators"])
        years = {int(k): v for k, v in raw["years"].items()}
        cme = raw["cme_documents"]
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DigitalError(f"Configuration des indicateurs numériques illisible : {path} ({exc}).") from exc
    for ind_id, ind in indicators.items():
        if ind.get("kind") not in KINDS:
            raise DigitalError(f"Indicateur numérique {ind_id} : type inconnu {ind.get('kind')!r}.")
        if ind.get("source") not in sources:
            raise DigitalError(f"Indicateur numérique {ind_id} : source inconnue {ind.get('source')!r}.")
    for year, y in years.items():
        for ind_id in y.get("indicators") or []:
            if ind_id not in indicators:
                raise DigitalError(f"Année {year} : indicateur inconnu {ind_id}.")
    return Config(
        version=str(raw.get("version", "")),
        cme_codes={str(k): str(v) for k, v in (cme.get("codes") or {}).items()},
        cme_label=str(cme.get("label", "")),
        correspondent_roles=frozenset(raw.get("correspondent_roles") or []),
        years=years,
        indicators=indicators,
        sources=sources,
        path=str(path),
    )


# --- the period -----------------------------------------------------------------------------


def parse_month(text: str) -> tuple[dt.date, dt.date]:
    """`YYYY-MM` → first and last day of that calendar month (refused in French otherwise)."""
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m[2]) <= 12:
        raise DigitalError(f"Mois illisible : « {text} » (attendu AAAA-MM, par exemple 2024-10).")
    year, month = int(m[1]), int(m[2])
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def paris_day(t: dt.datetime) -> dt.date:
    if t.tzinfo is None:
        raise DigitalError("Date sans fuseau horaire : refusée (heure de Paris ambiguë).")
    return t.astimezone(PARIS).date()


@dataclass(frozen=True)
class Scope:
    """Which stays count: discharged in [start, end] (Paris days), sector, not cancelled, not excluded."""

    start: dt.date
    end: dt.date
    sectors: frozenset[str]
    excluded_exit_modes: frozenset[str]

    def holds(self, s: StayRow) -> bool:
        if s.cancelled or s.discharge_at is None or s.sector not in self.sectors:
            return False
        if s.exit_mode in self.excluded_exit_modes:
            return False
        return self.start <= paris_day(s.discharge_at) <= self.end


# --- figures --------------------------------------------------------------------------------


@dataclass
class Result:
    definition: Definition
    year: int
    start: dt.date
    end: dt.date
    numerator: int
    denominator: int
    total_stays: int
    header: list[str]
    rows: list[list[Any]]  # the exhaustive list; the last two columns: in denominator, in numerator
    unit: str  # séjours | correspondants
    notes: list[str] = field(default_factory=list)

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def as_dict(self, with_rows: bool = False) -> dict[str, Any]:
        d = self.definition
        out: dict[str, Any] = {
            "id": d.id,
            "label": d.label,
            "year": self.year,
            "period": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": self.value,
            "total_stays": self.total_stays,
            "unit": self.unit,
            "ifaq_target": d.ifaq_target,
            "hopen_target": d.hopen_target,
            "status": d.status,
            "status_fr": STATUS_LABELS.get(d.status, d.status),
            "source": d.source,
            "definition": d.definition,
            "numerator_text": d.numerator_text,
            "denominator_text": d.denominator_text,
            "method": d.method,
            "notes": self.notes,
        }
        if d.same_as:
            out["same_as"] = d.same_as
        if with_rows:
            out["list"] = [dict(zip(self.header, r, strict=True)) for r in self.rows]
        return out


YES_NO = {True: "oui", False: "non", None: "inconnu"}


def _in_scope(stays: Iterable[StayRow], scope: Scope) -> list[StayRow]:
    return sorted((s for s in stays if scope.holds(s)), key=lambda s: (s.discharge_at, s.stay_id))


def dmp_cme(
    definition: Definition,
    year: int,
    scope: Scope,
    stays: Iterable[StayRow],
    filings: Iterable[DmpFiling],
    cme_codes: Iterable[str],
) -> Result:
    """D2.2I: stays of patients having a DMP whose DMP got at least one document of the CME list."""
    codes = set(cme_codes)
    accepted: dict[str, set[str]] = {}
    for f in filings:
        if f.accepted_at is not None:
            accepted.setdefault(f.stay_id, set()).add(f.type_code)
    kept = _in_scope(stays, scope)
    rows, num, den = [], 0, 0
    for s in kept:
        docs = accepted.get(s.stay_id, set())
        listed = sorted(docs & codes)
        in_den = s.has_dmp is True
        in_num = in_den and bool(listed)
        den += in_den
        num += in_num
        rows.append(
            [
                s.stay_id,
                s.patient,
                s.unit,
                paris_day(s.discharge_at).isoformat(),  # type: ignore[arg-type]
                YES_NO[s.has_dmp],
                ", ".join(sorted(docs)),
                ", ".join(listed),
                YES_NO[in_den],
                YES_NO[in_num],
            ]
        )
    header = [
        "Séjour",
        "Patient",
        "Service",
        "Jour de sortie",
        "Patient disposant d'un DMP",
        "Documents acceptés par le DMP (LOINC)",
        "Documents de la liste CME",
        "Au dénominateur",
        "Au numérateur",
    ]
    unknown = sum(1 for s in kept if s.has_dmp is None)
    notes = [f"{unknown} séjour(s) « DMP non attesté » hors dénominateur."] if unknown else []
    return Result(
        definition, year, scope.start, scope.end, num, den, len(kept), header, rows, "séjours", notes
    )


def dmp_lls(
    definition: Definition, year: int, scope: Scope, stays: Iterable[StayRow], filings: Iterable[DmpFiling]
) -> Result:
    """2026: every in-scope stay; numerator those whose liaison letter the DMP accepted."""
    accepted = {f.stay_id for f in filings if f.accepted_at is not None and f.type_code == LLS_LOINC}
    kept = _in_scope(stays, scope)
    rows = []
    for s in kept:
        rows.append(
            [
                s.stay_id,
                s.patient,
                s.unit,
                paris_day(s.discharge_at).isoformat(),  # type: ignore[arg-type]
                YES_NO[s.stay_id in accepted],
                "oui",
                YES_NO[s.stay_id in accepted],
            ]
        )
    num = sum(1 for s in kept if s.stay_id in accepted)
    header = [
        "Séjour",
        "Patient",
        "Service",
        "Jour de sortie",
        "Lettre de liaison acceptée par le DMP",
        "Au dénominateur",
        "Au numérateur",
    ]
    return Result(
        definition, year, scope.start, scope.end, num, len(kept), len(kept), header, rows, "séjours"
    )


def mss_correspondents(
    definition: Definition,
    year: int,
    scope: Scope,
    stays: Iterable[StayRow],
    addressees: Iterable[Addressee],
    sendings: Iterable[MssSending],
    roles: Iterable[str],
) -> Result:
    """D6.3I: correspondents with an MSSanté address who received at least one document by MSSanté."""
    kept = _in_scope(stays, scope)
    ids = {s.stay_id for s in kept}
    roles = set(roles)

    @dataclass
    class Row:
        name: str
        address: str
        stays: set[str] = field(default_factory=set)
        received: int = 0

    people: dict[str, Row] = {}

    def key(address: str, fallback: str) -> str:
        return f"mss:{address.strip().lower()}" if address.strip() else f"sans:{fallback}"

    for a in addressees:
        if a.stay_id in ids:
            r = people.setdefault(key(a.mssante, a.key), Row(a.name, a.mssante.strip().lower()))
            r.stays.add(a.stay_id)
    for m in sendings:
        if m.stay_id in ids and m.role in roles and m.address.strip():
            r = people.setdefault(key(m.address, ""), Row(m.name, m.address.strip().lower()))
            r.stays.add(m.stay_id)
            r.received += m.accepted
    rows, num, den = [], 0, 0
    for r in sorted(people.values(), key=lambda r: (not r.address, r.name.lower(), r.address)):
        in_den = bool(r.address)
        in_num = in_den and r.received > 0
        den += in_den
        num += in_num
        rows.append([r.name, r.address, len(r.stays), r.received, YES_NO[in_den], YES_NO[in_num]])
    header = [
        "Correspondant",
        "Adresse MSSanté",
        "Séjours du mois",
        "Envois MSSanté acceptés",
        "Au dénominateur",
        "Au numérateur",
    ]
    return Result(
        definition, year, scope.start, scope.end, num, den, len(kept), header, rows, "correspondants"
    )


@dataclass(frozen=True)
class Rows:
    """Everything `compute()` reads for one establishment."""

    stays: list[StayRow]
    filings: list[DmpFiling] = field(default_factory=list)
    addressees: list[Addressee] = field(default_factory=list)
    sendings: list[MssSending] = field(default_factory=list)


def compute(config: Config, year: int, scope: Scope, rows: Rows) -> list[Result]:
    """Each indicator of `year` over `scope`, from the raw rows."""
    out = []
    for d in config.definitions(year):
        if d.kind == "dmp_cme":
            res = dmp_cme(d, year, scope, rows.stays, rows.filings, config.cme_codes)
            res.notes.append(
                config.cme_label + " : " + ", ".join(f"{k} ({v})" for k, v in config.cme_codes.items())
            )
        elif d.kind == "dmp_lls":
            res = dmp_lls(d, year, scope, rows.stays, rows.filings)
        else:
            res = mss_correspondents(
                d, year, scope, rows.stays, rows.addressees, rows.sendings, config.correspondent_roles
            )
        if config.note(year):
            res.notes.append(config.note(year))
        out.append(res)
    return out


# --- the oSIS export ------------------------------------------------------------------------


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %".replace(".", ",")


def summary(res: Result, establishment: str = "") -> list[tuple[str, str]]:
    """The declaration's fields, as (label, value) in French."""
    d = res.definition
    out = [
        ("Indicateur", f"{d.id} — {d.label}"),
        ("Établissement", establishment),
        ("Période", f"du {res.start:%d/%m/%Y} au {res.end:%d/%m/%Y} (mois calendaire, heure de Paris)"),
        ("Numérateur", str(res.numerator)),
        ("Dénominateur", str(res.denominator)),
        ("Résultat", pct(res.value)),
        ("Nombre total de séjours de la période", str(res.total_stays)),
        ("Cible IFAQ", pct(d.ifaq_target) if d.ifaq_target is not None else "non publiée"),
    ]
    if d.hopen_target is not None:
        out.append(("Cible HOP'EN", pct(d.hopen_target)))
    out += [
        ("Définition", d.definition),
        ("Numérateur (définition)", d.numerator_text),
        ("Dénominateur (définition)", d.denominator_text),
        ("Méthode", d.method),
        ("Statut", STATUS_LABELS.get(d.status, d.status)),
        ("Source", d.source),
    ]
    out += [("Remarque", n) for n in res.notes]
    return [(k, v) for k, v in out if v != ""]


def to_csv(res: Result, establishment: str = "") -> str:
    """CSV (`;`, UTF-8): the declaration's fields as `#` lines, then the exhaustive list."""
    buf = io.StringIO()
    for label, value in summary(res, establishment):
        buf.write(f"# {label} : {' '.join(str(value).split())}\n")
    w = csv.writer(buf, delimiter=";", lineterminator="\n")
    w.writerow(safe_row(res.header))
    w.writerows(safe_rows(res.rows))
    return buf.getvalue()
