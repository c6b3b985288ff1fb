"""The letter form ↔ `LetterContent`: parse the posted form, name each field's HTML id.

Form field names are `LetterContent` paths (`reason`, `adverse_events.present`,
`medications.2.duration`), so a QLS result's `field` points straight at the input to fix.
Rows are read in the order the browser sends them (the order on screen); wholly blank rows are
dropped, and `ParsedForm.row_map` keeps, for each list, the screen index of every kept row.
GAM-owned parts (identities, dates, modes) are never read from the form.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from pydantic import ValidationError

from liaison.core import catalogue
from liaison.core.content import (
    Channel,
    Confidentiality,
    ExitMode,
    FollowUpItem,
    FollowUpKind,
    LetterContent,
    MedicationLine,
    MedicationStatus,
    Orientation,
    PendingResult,
    PlannedDischarge,
    Presence,
    Recipient,
    RecipientRole,
)
from liaison.core.identifiers import IdentifierError, validate_mssante, validate_rpps
from liaison.ingest.hl7v2 import PMSI_DESTINATION
from liaison.letters import medecin_traitant, medicine_search
from liaison.letters.lifecycle import PLANNED_LABELS, FieldError, check_planned_discharge
from liaison.letters.medicine_search import Product
from liaison.letters.models import PARIS

TEXT_FIELDS = tuple(e.key for e in catalogue.ELEMENTS if e.kind == "text")
FLAG_FIELDS = tuple(e.key for e in catalogue.ELEMENTS if e.kind == "flag")
CONFIDENTIALITY_FIELDS = (
    "masked_from_professionals",
    "invisible_to_patient",
    "invisible_to_legal_representatives",
)
ROW_FIELDS: dict[str, tuple[str, ...]] = {
    "medications": (
        "medicine",
        "cis",
        "atc",
        "usual_treatment",
        "status",
        "dosage",
        "duration",
        "reason",
        "comment",
        "route",
    ),
    "pending_results": ("description", "expected_on", "followed_by"),
    "follow_up": ("kind", "description", "date", "with_whom", "orientation"),
    "recipients": ("role", "name", "rpps", "mssante", "channel"),
}
# Values that are not the user's words: a row holding only these is blank.
_NOT_CONTENT = {"cis", "atc", "route", "status", "kind", "role", "channel", "orientation"}
# Fields that come from the GAM: links from the QLS panel point at the read-only identity block.
GAM_FIELDS = {e.key for e in catalogue.ELEMENTS if e.kind == "gam"}
# Destinations as the GAM names them (PMSI ZFM-4 labels, `ingest.hl7v2`), offered for the
# planned discharge so that the reconciliation with the A03 compares like with like.
DESTINATION_CHOICES = ("Domicile", *dict.fromkeys(label for _, label in PMSI_DESTINATION.values()))
_ROW_KEY = re.compile(r"^(medications|pending_results|follow_up|recipients)\.(\d+)\.([a-z_]+)$")


@dataclass
class ParsedForm:
    content: LetterContent
    errors: dict[str, str] = field(default_factory=dict)  # field path → French message
    row_map: dict[str, list[int]] = field(default_factory=dict)  # list → screen index of each row

    def screen_path(self, path: str) -> str:
        """A content path with the row index as shown on screen (blank rows were dropped)."""
        parts = path.split(".")
        if len(parts) >= 2 and parts[0] in self.row_map and parts[1].isdigit():
            rows = self.row_map[parts[0]]
            i = int(parts[1])
            if i < len(rows):
                parts[1] = str(rows[i])
        return ".".join(parts)


ROW_LABELS = {e.key: e.row for e in catalogue.ELEMENTS if e.row}
ROW_FIELD_LABELS = {
    "mssante": "adresse MSSanté",
    "rpps": "RPPS",
    "date": "date",
    "expected_on": "date prévue",
    "description": "description",
    "status": "statut",
    "kind": "type",
    "role": "qualité",
    "channel": "canal",
}


def field_label(path: str) -> str:
    """The French name of a form field, as the user sees it (« Destinataire 2, adresse MSSanté »)."""
    parts = path.split(".")
    if len(parts) == 3 and parts[0] in ROW_LABELS and parts[1].isdigit():
        what = ROW_FIELD_LABELS.get(parts[2], parts[2])
        return f"{ROW_LABELS[parts[0]]} {int(parts[1]) + 1}, {what}"
    if path in PLANNED_LABELS:
        return PLANNED_LABELS[path]
    element = catalogue.BY_KEY.get(parts[0])
    if element is not None and element.title and len(parts) <= 2:  # "reason", "adverse_events.details"
        return element.title
    return path


def field_id(path: str) -> str:
    """The HTML id of the input (or section) for a content path."""
    root = path.split(".")[0]
    if root in GAM_FIELDS:
        return "s-identites"
    if root in ("handover", "letter", "signature"):
        return "s-actions"
    if root == "medecin_traitant":
        return "f-medecin_traitant"
    return "f-" + path.replace(".", "-")


def _bool3(value: str | None) -> bool | None:
    return {"oui": True, "non": False}.get((value or "").strip())


def _date(value: str, path: str, errors: dict[str, str]) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors[path] = "Date invalide : utilisez le format jj/mm/aaaa."
        return None


def _rows(data: Mapping[str, object], keys: list[str], name: str) -> list[tuple[int, dict[str, str]]]:
    """The rows of list `name`, in the order their first field arrived."""
    rows: dict[int, dict[str, str]] = {}
    for key in keys:
        m = _ROW_KEY.match(key)
        if not m or m.group(1) != name:
            continue
        rows.setdefault(int(m.group(2)), {})[m.group(3)] = str(data.get(key) or "")
    return list(rows.items())


def _blank(row: dict[str, str]) -> bool:
    return not any(v.strip() for k, v in row.items() if k not in _NOT_CONTENT)


@cache
def _by_name() -> dict[str, Product]:
    return {p.name.upper(): p for p in medicine_search.index().products}


def _medicine_codes(name: str) -> dict[str, str | None]:
    """CIS, ATC and substance code of a medicine named exactly as in the BDPM (chosen from the
    list), or the substance code (and ATC) of a line written in DCI (« apixaban 5 mg »)."""
    product = _by_name().get(name.strip().upper())
    if product is not None:
        single = product.substances[0].code if len(product.substances) == 1 else None
        return {"cis": product.cis, "atc": product.atc, "substance_code": single}
    found = medicine_search.substance_of(name)
    code, atc = found if found else (None, None)
    return {"cis": None, "atc": atc, "substance_code": code}


def parse_form(base: LetterContent, data: Mapping[str, object], keys: list[str] | None = None) -> ParsedForm:
    """The content the form describes, on top of `base` (GAM parts and unknown fields kept).

    `data` is a `QueryDict` (or a plain dict); `keys` is its key order when it is not ordered.
    """
    keys = list(keys if keys is not None else data.keys())
    errors: dict[str, str] = {}
    get = lambda k: str(data.get(k) or "")  # noqa: E731
    upd: dict[str, object] = {}
    for name in TEXT_FIELDS:
        if name in data:
            upd[name] = get(name)
    for name in FLAG_FIELDS:
        upd[name] = get(name) in ("on", "1", "true")
    if "resistant_organisms_screened" in data:
        upd["resistant_organisms_screened"] = _bool3(get("resistant_organisms_screened"))
    for name in catalogue.PRESENCE_KEYS:
        try:
            upd[name] = Presence(present=_bool3(get(f"{name}.present")), details=get(f"{name}.details"))
        except ValidationError as exc:
            _refused(exc, name, errors)
    upd["confidentiality"] = Confidentiality(
        **{n: get(f"confidentiality.{n}") in ("on", "1", "true") for n in CONFIDENTIALITY_FIELDS}
    )
    row_map: dict[str, list[int]] = {}

    meds: list[MedicationLine] = []
    row_map["medications"] = []
    for idx, row in _rows(data, keys, "medications"):
        if _blank(row):
            continue
        status = row.get("status", "").strip()
        name = row.get("medicine", "").strip()
        codes = _medicine_codes(name) if name else {}
        try:
            meds.append(
                MedicationLine(
                    medicine=name,
                    **codes,
                    usual_treatment=row.get("usual_treatment", ""),
                    status=MedicationStatus(status) if status else None,
                    dosage=row.get("dosage", ""),
                    route=row.get("route", ""),
                    duration=row.get("duration", ""),
                    reason=row.get("reason", ""),
                    comment=row.get("comment", ""),
                )
            )
            row_map["medications"].append(idx)
        except ValidationError as exc:
            _refused(exc, f"medications.{idx}", errors)
        except ValueError:
            errors[f"medications.{idx}.status"] = "Statut inconnu."
    upd["medications"] = meds

    pending: list[PendingResult] = []
    row_map["pending_results"] = []
    for idx, row in _rows(data, keys, "pending_results"):
        if _blank(row):
            continue
        expected = _date(row.get("expected_on", ""), f"pending_results.{idx}.expected_on", errors)
        if not row.get("description", "").strip():
            errors[f"pending_results.{idx}.description"] = "Décrivez le résultat attendu."
            continue
        try:
            pending.append(
                PendingResult(
                    description=row["description"],
                    expected_on=expected,
                    followed_by=row.get("followed_by", ""),
                )
            )
        except ValidationError as exc:
            _refused(exc, f"pending_results.{idx}", errors)
            continue
        row_map["pending_results"].append(idx)
    upd["pending_results"] = pending

    follow: list[FollowUpItem] = []
    row_map["follow_up"] = []
    for idx, row in _rows(data, keys, "follow_up"):
        if _blank(row):
            continue
        when = _date(row.get("date", ""), f"follow_up.{idx}.date", errors)
        if not row.get("description", "").strip():
            errors[f"follow_up.{idx}.description"] = "Décrivez la suite à donner."
            continue
        try:
            orientation = row.get("orientation", "").strip()
            follow.append(
                FollowUpItem(
                    kind=FollowUpKind(row.get("kind") or FollowUpKind.RECOMMANDATION),
                    description=row["description"],
                    date=when,
                    with_whom=row.get("with_whom", ""),
                    orientation=Orientation(orientation) if orientation else None,
                )
            )
            row_map["follow_up"].append(idx)
        except ValidationError as exc:
            _refused(exc, f"follow_up.{idx}", errors)
        except ValueError:
            errors[f"follow_up.{idx}.kind"] = "Type de suite inconnu."
    upd["follow_up"] = follow

    recipients: list[Recipient] = []
    row_map["recipients"] = []
    for idx, row in _rows(data, keys, "recipients"):
        if _blank(row):
            continue
        mss = row.get("mssante", "").strip() or None
        if mss:  # refused, but kept as typed: the save is refused and the form shows it back
            try:
                mss = validate_mssante(mss)
            except IdentifierError as exc:
                errors[f"recipients.{idx}.mssante"] = str(exc)
        rpps = row.get("rpps", "").strip() or None
        if rpps:
            try:
                rpps = validate_rpps(rpps)
            except IdentifierError as exc:
                errors[f"recipients.{idx}.rpps"] = str(exc)
        try:
            recipients.append(
                Recipient(
                    role=RecipientRole(row.get("role") or RecipientRole.AUTRE),
                    name=row.get("name", ""),
                    rpps=rpps,
                    mssante=mss,
                    channel=Channel(row.get("channel") or (Channel.MSSANTE if mss else Channel.COURRIER)),
                )
            )
            row_map["recipients"].append(idx)
        except ValidationError as exc:
            _refused(exc, f"recipients.{idx}", errors)
        except ValueError:
            errors[f"recipients.{idx}.role"] = "Destinataire inconnu."
    upd["recipients"] = recipients
    if base.medecin_traitant is not None:  # the GAM knows one: "no médecin traitant" cannot be ticked
        upd["no_medecin_traitant"] = False
    if "planned_discharge.at" in data and not base.discharge_recorded:
        upd["planned_discharge"] = _planned(get, errors) or base.planned_discharge
    # The « vérifié » tick of each section drafted from the record (shown for each of them).
    upd["prefill"] = {
        name: state.model_copy(
            update={"verified": get(f"prefill.{name}.verified") in ("on", "1", "true")}
        ).model_dump()
        for name, state in base.prefill.items()
    }

    try:
        content = LetterContent.model_validate({**base.model_dump(), **_dumped(upd)})
    except ValidationError as exc:  # a top-level text field (a control character in it)
        _refused(exc, "", errors)
        content = base
    if medecin_traitant.physician_may_name(base):  # the GAM knows none: a recipient names him
        content = content.model_copy(update=medecin_traitant.merge(content, None))
    try:
        check_planned_discharge(base, content)
    except FieldError as exc:  # refused with the field named: the form is not saved
        errors[exc.field] = exc.reason
    return ParsedForm(content=content.stating_planned(), errors=errors, row_map=row_map)


def _planned(get, errors: dict[str, str]) -> PlannedDischarge | None:  # type: ignore[no-untyped-def]
    """The planned discharge as typed (date-time in Europe/Paris); None if the date is unreadable."""
    typed = get("planned_discharge.at").strip()
    at = None
    if typed:
        try:
            at = dt.datetime.fromisoformat(typed).replace(tzinfo=PARIS)
        except ValueError:
            errors["planned_discharge.at"] = "valeur illisible."
            return None
    mode = get("planned_discharge.exit_mode").strip()
    if mode and mode not in ExitMode.__members__.values():
        errors["planned_discharge.exit_mode"] = "valeur inconnue."
        return None
    return PlannedDischarge(
        at=at,
        exit_mode=ExitMode(mode) if mode else None,
        destination=get("planned_discharge.destination").strip()[:200],
        confirmed=get("planned_discharge.confirmed") in ("on", "1", "true"),
    )


def _refused(exc: ValidationError, prefix: str, errors: dict[str, str]) -> None:
    """The model's own French reason for each value it refuses (a control character in a name…),
    unless the form already named a reason for that field."""
    for err in exc.errors():
        path = ".".join([prefix, *(str(p) for p in err["loc"])] if prefix else [str(p) for p in err["loc"]])
        reason = err.get("ctx", {}).get("error") if err["type"] == "value_error" else None
        errors.setdefault(path, str(reason) if reason else "Valeur refusée.")


def _dumped(upd: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in upd.items():
        if isinstance(v, list):
            out[k] = [x.model_dump() if hasattr(x, "model_dump") else x for x in v]
        elif hasattr(v, "model_dump"):
            out[k] = v.model_dump()
        else:
            out[k] = v
    return out


def changed_sections(mine: LetterContent, theirs: LetterContent) -> list[str]:
    """Top-level fields that differ between two contents (to show what a conflict touches)."""
    a, b = mine.model_dump(mode="json"), theirs.model_dump(mode="json")
    return [k for k in a if a.get(k) != b.get(k)]
