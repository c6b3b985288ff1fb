"""Proof of a figure: the exhaustive list of the stays (or mails) in its denominator, each marked
in the numerator or not, with the definition used; CSV and XLSX.

Pseudonymised unless the reader may see identities: the stay number and a keyed hash of the
IPP (HMAC with the installation's secret key, so the same patient keeps the same pseudonym
across exports of one installation), never a name.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.crypto import salted_hmac
from openpyxl import Workbook
from openpyxl.styles import Font

from liaison.cells import safe_row, safe_rows
from liaison.core.content import RECIPIENT_ROLE_LABELS
from liaison.delivery.models import Delivery
from liaison.indicators import compute
from liaison.indicators import definitions as d
from liaison.letters.models import PARIS, Establishment, Practitioner, Stay, Unit

PSEUDONYM_SALT = "liaison.indicators.pseudonym"
YES_NO = {True: "oui", False: "non"}

STAY_COLUMNS = [  # (fact, French header)
    ("has_letter", "Lettre signée"),
    ("sign_delay", "Délai de signature (jours)"),
    ("hand_delay", "Délai de remise (jours)"),
    ("mt_mss", "Médecin traitant avec MSSanté"),
    ("mt_delay", "Délai d'envoi au médecin traitant (jours)"),
    ("pro_mss", "Destinataire professionnel avec MSSanté"),
    ("pro_delay", "Délai d'envoi MSSanté professionnel (jours)"),
    ("ins_qualified", "INS qualifiée"),
    ("dmp_delay", "Délai d'alimentation du DMP (jours)"),
    ("pat_delay", "Délai d'envoi Mon espace santé (jours)"),
    ("signed_before_discharge", "Signée avant la sortie enregistrée"),
    ("corrected_after_discharge", "Corrigée après la sortie (sortie enregistrée différente)"),
]
DELIVERY_COLUMNS = [
    ("recipient_role", "Destinataire"),
    ("state", "État de l'envoi"),
    ("left", "Parti"),
    ("delivered", "Reçu"),
    ("read", "Lu"),
]


def pseudonym(establishment: Establishment, ipp: str) -> str:
    """A keyed hash of the IPP: stable within one installation, not reversible without its key."""
    return salted_hmac(PSEUDONYM_SALT, f"{establishment.finess_eg}:{ipp}").hexdigest()[:16]


@dataclass
class Proof:
    indicator: d.Indicator
    figure: d.Figure
    meta: list[tuple[str, str]]  # (label, value), the definition and the figure
    header: list[str]
    rows: list[list[Any]]
    stay_ids: list[int]
    identified: bool


# Columns holding an enumeration: shown by their French label (a person reads these files).
VALUE_LABELS: dict[str, dict[str, str]] = {
    "recipient_role": dict(RECIPIENT_ROLE_LABELS),
    "state": dict(Delivery.State.choices),
}


def _cell(v: Any, column: str = "") -> Any:
    if isinstance(v, bool):
        return YES_NO[v]
    if column in VALUE_LABELS and v:
        return VALUE_LABELS[column].get(v, v)
    return "" if v is None else v


def build(
    est: Establishment,
    start: dt.date,
    end: dt.date,
    indicator: d.Indicator,
    defs: d.Definitions,
    identified: bool,
    unit_ids: Iterable[int] | None = None,
) -> Proof:
    facts = compute.facts_for(indicator, est, start, end, defs, unit_ids)
    rows = compute.proof_rows(facts, indicator)
    stay_key = "id" if indicator.unit == "sejour" else "stay_id"
    stay_ids = sorted({r[stay_key] for r in rows})
    patients = {
        s["id"]: s
        for s in Stay.objects.filter(pk__in=stay_ids).values(
            "id",
            "visit_number",
            "patient__ipp",
            "patient__birth_family_name",
            "patient__used_family_name",
            "patient__first_given_name",
            "patient__birth_date",
        )
    }
    units = dict(Unit.objects.filter(establishment=est).values_list("id", "name"))
    physicians = {p.pk: str(p) for p in Practitioner.objects.filter(establishment=est)}
    ident = (
        ["N° de séjour (NDA)", "IPP", "Nom", "Prénom", "Date de naissance"]
        if identified
        else ["Pseudonyme patient (IPP haché)"]
    )
    first = ["Séjour"] if indicator.unit == "sejour" else ["Envoi", "Séjour"]
    columns = STAY_COLUMNS if indicator.unit == "sejour" else DELIVERY_COLUMNS
    header = [
        *first,
        *ident,
        "Service",
        "Médecin responsable",
        "Sortie",
        "Au numérateur",
        *(h for _, h in columns),
    ]
    out = []
    for r in rows:
        p = patients[r[stay_key]]
        who = (
            [
                p["visit_number"],
                p["patient__ipp"],
                p["patient__used_family_name"] or p["patient__birth_family_name"],
                p["patient__first_given_name"],
                p["patient__birth_date"].strftime("%d/%m/%Y"),
            ]
            if identified
            else [pseudonym(est, p["patient__ipp"])]
        )
        ids = [r["id"]] if indicator.unit == "sejour" else [r["id"], r["stay_id"]]
        out.append(
            [
                *ids,
                *who,
                units.get(r["unit_id"], ""),
                physicians.get(r["physician_id"], "non renseigné"),
                r["discharged"].astimezone(PARIS).strftime("%d/%m/%Y %H:%M"),
                YES_NO[r["in_numerator"]],
                *(_cell(r[k], k) for k, _ in columns),
            ]
        )
    k = sum(1 for r in rows if r["in_numerator"])
    fig = d.Figure(k, len(rows))
    value = f"{100 * fig.value:.1f} %".replace(".", ",") if fig.value is not None else "—"
    meta = [
        ("Indicateur", f"{indicator.id} — {indicator.label}"),
        ("Établissement", f"{est.name} (FINESS {est.finess_eg})"),
        ("Période (jours de sortie)", f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}"),
        ("Définition", indicator.definition),
        ("Numérateur", indicator.numerator_text),
        ("Dénominateur", indicator.denominator_text),
        ("Périmètre", defs.texts.get("scope", "")),
        ("Lettre", defs.texts.get("letter", "")),
        ("Jour de la sortie", defs.texts.get("same_day", "")),
        ("Statut de la définition", d.STATUS_LABELS.get(indicator.status, indicator.status)),
        ("Version des définitions", defs.version),
        ("Résultat", f"{fig.numerator} / {fig.denominator} {d.UNIT_LABELS[indicator.unit]} = {value}"),
        (
            "Identités",
            "nominatives (accès clinique)"
            if identified
            else "pseudonymisées : numéro de séjour et IPP haché avec la clé de l'installation",
        ),
    ]
    return Proof(indicator, fig, meta, header, out, stay_ids, identified)


def to_csv(proof: Proof) -> str:
    """CSV (`;`, UTF-8): the definition as `#` comment lines, then one line per counted row."""
    buf = io.StringIO()
    for label, value in proof.meta:
        buf.write(f"# {label} : {value}\n")
    w = csv.writer(buf, delimiter=";", lineterminator="\n")
    w.writerow(safe_row(proof.header))
    w.writerows(safe_rows(proof.rows))
    return buf.getvalue()


def to_xlsx(proof: Proof) -> bytes:
    """XLSX: a « Définition » sheet and a sheet of the counted rows."""
    wb = Workbook()
    meta = wb.active
    meta.title = "Définition"
    for label, value in proof.meta:
        meta.append(safe_row([label, value]))
        meta.cell(meta.max_row, 1).font = Font(bold=True)
    meta.column_dimensions["A"].width = 28
    meta.column_dimensions["B"].width = 110
    rows = wb.create_sheet("Séjours" if proof.indicator.unit == "sejour" else "Envois")
    rows.append(safe_row(proof.header))
    for c in rows[1]:
        c.font = Font(bold=True)
    for r in safe_rows(proof.rows):
        rows.append(r)
    rows.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def filename(proof: Proof, start: dt.date, end: dt.date, ext: str) -> str:
    return f"preuve-{proof.indicator.id.lower()}-{start:%Y%m%d}-{end:%Y%m%d}.{ext}"
