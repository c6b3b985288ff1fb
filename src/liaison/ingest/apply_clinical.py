"""Write the clinical facts of one message (ORU, OMP/RDE, DG1/PR1/AL1) into the stay's record.

Called by `ingest.apply` inside the message's transaction: a refusal (`HL7Error`) rolls back the
whole message, so nothing is half-applied. Replacement rules, so that a message sent again, or a
corrected one, leaves the record as the sender holds it:

- results: a message replaces every row of the orders it carries (an order keyed by its filler
  number, else its placer number); a pending order is one row with the status « en attente »,
  replaced by its observations when they arrive; a cancelled order leaves no row.
- prescriptions: keyed by (kind, ORC-2); ORC-1 CA/OC withdraws the line, DC/OD records it
  as stopped, anything else (NW, XO, RP, SC, OK) writes it as current.
- diagnoses, procedures, allergies: the DG1 (PR1, AL1) segments of an ADT message are the
  stay's whole list of that kind; a message without such segments changes nothing.

Medicine codes are checked against the BDPM (CIS, CIP13) and the ATC classification shipped in
`shared/reference/`; UCD codes only by their form (no UCD file in the reference data).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import Model, Q
from django.utils import timezone

from liaison import rowsql
from liaison.clinical.models import Allergy, Diagnosis, LabResult, Prescription, Procedure
from liaison.ingest.clinical import ClinicalFacts, ClinicalMessage, PrescriptionOrder
from liaison.ingest.hl7v2 import HL7Error
from liaison.ingest.models import InboundMessage
from liaison.letters import medicines
from liaison.letters.models import Establishment, Patient, Stay

_UCD = re.compile(r"^(?:\d{7}|3400\d{9})$")

Audit = Callable[..., None]


class Source:
    """The provenance written on every row of one message."""

    def __init__(self, row: InboundMessage | None, kind: str, at: dt.datetime | None, system: str):
        self.row = row
        self.kind = kind[:20]
        self.at = at or timezone.now()
        self.system = system[:200]

    def fields(self, author: str = "") -> dict[str, Any]:
        return dict(
            source=self.row,
            source_kind=self.kind,
            source_at=self.at,
            source_author=(author or self.system)[:200],
        )


def locked_stay(est: Establishment, visit_number: str, ipp: str) -> Stay:
    """The stay the message is about, locked; refused when unknown or another patient's."""
    stay = rowsql.fetch(
        Stay, "t.establishment_id = %s AND t.visit_number = %s", [est.pk, visit_number], lock=True
    )
    if stay is None:
        raise HL7Error(
            f"Séjour inconnu : NDA {visit_number} (aucune admission reçue pour ce séjour).",
            "AE",
            "204",
            "PV1-19",
        )
    patient = rowsql.fetch(Patient, "t.id = %s", [stay.patient_id])
    if patient is None or patient.ipp != ipp:
        owner = patient.ipp if patient else "?"
        raise HL7Error(
            f"Le séjour {visit_number} appartient au patient IPP {owner}, pas à l'IPP {ipp}.",
            "AE",
            "205",
            "PID-3",
        )
    stay.patient = patient
    return stay


def apply_message(msg: ClinicalMessage, est: Establishment, row: InboundMessage | None, audit: Audit) -> str:
    stay = locked_stay(est, msg.visit_number, msg.ipp)
    source = Source(row, msg.kind, msg.sent_at, msg.header.sending_application)
    return record_facts(stay, msg.facts, source, audit)


def record_facts(stay: Stay, facts: ClinicalFacts, source: Source, audit: Audit) -> str:
    """Write the facts; return a note for the ACK. Raises HL7Error before writing anything."""
    prescriptions = [(p, _medicine_codes(p, i + 1)) for i, p in enumerate(facts.prescriptions)]
    summary: dict[str, int] = {}
    if facts.results:
        summary["résultats"] = _results(stay, facts, source)
    if prescriptions:
        summary["prescriptions"] = _prescriptions(stay, prescriptions, source)
    if facts.diagnoses is not None:
        rows = [
            Diagnosis(stay=stay, code=d.code, label=d.label, principal=d.principal, **source.fields(d.author))
            for d in facts.diagnoses
        ]
        summary["diagnostics"] = _replace(Diagnosis, stay, rows)
    if facts.procedures is not None:
        rows = [
            Procedure(
                stay=stay, code=p.code, label=p.label, performed_at=p.performed_at, **source.fields(p.author)
            )
            for p in facts.procedures
        ]
        summary["actes"] = _replace(Procedure, stay, rows)
    if facts.allergies is not None:
        rows = [
            Allergy(
                stay=stay,
                code=a.code,
                label=a.label,
                kind=a.kind,
                severity=a.severity,
                reaction=a.reaction,
                **source.fields(),
            )
            for a in facts.allergies
        ]
        summary["allergies"] = _replace(Allergy, stay, rows)
    audit("update", stay, why=f"dossier clinique ({source.kind})", **{"dossier": summary})
    return ""


def _replace(model: type[Model], stay: Stay, rows: Sequence[Model]) -> int:
    model.objects.filter(stay=stay).delete()
    rowsql.insert(rows)
    return len(rows)


def _results(stay: Stay, facts: ClinicalFacts, source: Source) -> int:
    numbers = [o.order_number for o in facts.results]
    LabResult.objects.filter(stay=stay, order_number__in=numbers).delete()
    rows: list[LabResult] = []
    for order in facts.results:
        common = dict(
            stay=stay,
            order_number=order.order_number,
            test_code=order.test.code,
            test_label=order.test.label,
            **source.fields(order.author),
        )
        if order.status == "cancelled":
            continue
        if order.status == "pending" or not order.observations:
            rows.append(
                LabResult(
                    **common,
                    code=order.test.code,
                    code_system=order.test.system,
                    label=order.test.label,
                    status=LabResult.Status.PENDING,
                    observed_at=order.observed_at,
                )
            )
            continue
        for obs in order.observations:
            if obs.status == "cancelled":
                continue
            rows.append(
                LabResult(
                    **common,
                    code=obs.code.code,
                    code_system=obs.code.system,
                    label=obs.code.label,
                    value=obs.value,
                    unit=obs.unit,
                    reference_range=obs.reference_range,
                    abnormal_flag=obs.abnormal_flag,
                    status=obs.status if order.status != "preliminary" else "preliminary",
                    observed_at=obs.observed_at or order.observed_at,
                )
            )
    rowsql.insert(rows)
    return len(rows)


def _medicine_codes(p: PrescriptionOrder, index: int) -> dict[str, str]:
    """The BDPM / ATC codes of a prescription and its label; refused when the code is unknown."""
    code, system = p.medicine.code, p.medicine.system
    where = f"prescription {index} ({p.medicine.label or code})"
    codes = {"cis": "", "cip13": "", "ucd": "", "atc": "", "medicine": p.medicine.label}
    if system == "cis":
        name = medicines.cis_names().get(code)
        if name is None:
            raise HL7Error(
                f"Code médicament inconnu : CIS {code} absent de la BDPM, {where}.", "AE", "103", "RXE-2"
            )
        codes.update(cis=code, medicine=p.medicine.label or name)
    elif system == "cip13":
        cis = medicines.cip13_to_cis().get(code)
        if cis is None:
            raise HL7Error(
                f"Code médicament inconnu : CIP13 {code} absent de la BDPM, {where}.", "AE", "103", "RXE-2"
            )
        codes.update(cip13=code, cis=cis, medicine=p.medicine.label or medicines.cis_names().get(cis, ""))
    elif system == "atc":
        label = medicines.atc_labels().get(code.upper())
        if label is None or len(code) > 7:
            raise HL7Error(f"Code ATC inconnu : {code}, {where}.", "AE", "103", "RXE-2")
        codes.update(atc=code.upper(), medicine=p.medicine.label or label)
    else:
        if not _UCD.match(code):
            raise HL7Error(f"Code UCD mal formé : {code} (7 ou 13 chiffres), {where}.", "AE", "102", "RXE-2")
        codes.update(ucd=code)
    if codes["cis"] and not codes["atc"]:
        codes["atc"] = medicines.cis_to_atc().get(codes["cis"], "")[:7]
    if not codes["medicine"]:
        raise HL7Error(f"Nom du médicament absent (RXE-2.2), {where}.", "AE", "101", "RXE-2")
    codes["medicine"] = codes["medicine"][:200]
    return codes


def _prescriptions(stay: Stay, lines: list[tuple[PrescriptionOrder, dict[str, str]]], source: Source) -> int:
    same = Q()
    for p, _ in lines:
        same |= Q(kind=p.kind, order_number=p.order_number)
    Prescription.objects.filter(same, stay=stay).delete()
    rows = [
        Prescription(
            stay=stay,
            kind=p.kind,
            order_number=p.order_number,
            state=Prescription.State.STOPPED if p.state == "stopped" else Prescription.State.ACTIVE,
            dosage=p.dosage,
            route=p.route,
            duration=p.duration,
            start_at=p.start_at,
            end_at=p.end_at,
            **codes,
            **source.fields(p.prescriber),
        )
        for p, codes in lines
        if p.state != "withdrawn"
    ]
    # One order number may come twice in a message (a replaced line): the last one wins.
    unique = {(r.kind, r.order_number): r for r in rows}
    rowsql.insert(list(unique.values()))
    return len(unique)
