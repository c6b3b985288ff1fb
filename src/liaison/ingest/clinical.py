"""HL7 v2.5 clinical feeds: laboratory results, pharmacy orders, diagnoses, procedures, allergies.

Pure Python, no Django. `parse_message` is the one parser of the listener: it reads any
message Liaison accepts and returns either an `AdtMessage` (with the DG1/PR1/AL1 segments it
carries mapped to `ClinicalFacts`) or a `ClinicalMessage` (ORU^R01, OMP^O09, RDE^O11).

Mapping (fields are 1-based, as in the standard):

- ORU^R01 (IHE LTW): PID-3 IPP, PID-18 or PV1-19 visit number. Per order: ORC-2/OBR-2 placer
  number, ORC-3/OBR-3 filler number, ORC-5 order status, OBR-4 the test ordered, OBR-7 the
  observation date, OBR-22 the report date, OBR-25 the result status, OBR-32 the validating
  biologist. Per observation: OBX-3 code^label^system (LN = LOINC, anything else a local
  code), OBX-5 value, OBX-6 unit, OBX-7 reference range, OBX-8 abnormal flags, OBX-11 status,
  OBX-14 date, OBX-16 observer. An order whose OBR-25 is I/O/S (or ORC-5 IP/SC) or that has no
  OBX is a pending result.
- OMP^O09 (RXO) and RDE^O11 (RXE), IHE Pharmacy: ORC-1 order control (NW/XO/RP/SC: the order
  is current; DC: stopped; CA: withdrawn), ORC-2 placer number, ORC-9 date, ORC-12 prescriber,
  ORC-29 order type: `I` prescription during the stay, `O` discharge prescription (the
  outpatient order of HL7 table 0482), `H` treatment at entry (the patient's usual medication
  recorded at admission; a local value added to table 0482). Absent ORC-29 means `I`.
  Medicine: RXE-2 / RXO-1 code^label^system, system CIS, CIP (CIP13), UCD or ATC. Dosage:
  RXE-3 / RXO-2 amount, RXE-5 / RXO-4 unit, TQ1-2 quantity, TQ1-3 repeat pattern (code or text),
  TQ1-6 duration, TQ1-7/8 start and end; RXE-7 / RXO-7 administration instructions as text.
  Route: RXR-1.
- DG1 (in ADT A08/A03): DG1-3 CIM-10 code^label, DG1-6 type, DG1-15 priority (1 = the main
  diagnosis; DG1-6 `DP` too), DG1-16 the coder. PR1: PR1-3 CCAM code^label, PR1-5 date,
  PR1-11 the surgeon / performer. AL1: AL1-2 type, AL1-3 code^label, AL1-4 severity, AL1-5
  reaction. The DG1 (PR1, AL1) segments of one message are the stay's whole list of that kind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

from liaison.ingest import hl7v2
from liaison.ingest.hl7v2 import AdtMessage, Header, HL7Error, Segment, _bounded

# Message types besides ADT, and what each carries (for the NACK of an unknown type).
CLINICAL_TYPES = {
    ("ORU", "R01"): "résultats de biologie",
    ("OMP", "O09"): "prescription médicamenteuse",
    ("RDE", "O11"): "prescription médicamenteuse (validation pharmaceutique)",
}

RESULT_STATUS = {
    "F": "final",
    "C": "final",  # a correction replaces the previous values
    "P": "preliminary",
    "R": "preliminary",
    "A": "preliminary",  # some, not all, results available
    "I": "pending",
    "O": "pending",
    "S": "pending",
    "X": "cancelled",
    "D": "cancelled",
}
PENDING_ORDER_STATUS = {"IP", "SC", "A"}
ABNORMAL_FLAGS = {"L", "H", "LL", "HH", "<", ">", "A", "AA", "N", "S", "R", "I", "U", "D", "B", "W", "POS"}

PRESCRIPTION_KINDS = {"H": "entree", "I": "sejour", "O": "sortie"}
MEDICINE_SYSTEMS = {"CIS": "cis", "CIP": "cip13", "CIP13": "cip13", "UCD": "ucd", "ATC": "atc"}
ORDER_CONTROL = {"NW": "active", "XO": "active", "RP": "active", "SC": "active", "OK": "active"}
ORDER_CONTROL.update({"DC": "stopped", "OD": "stopped", "CA": "withdrawn", "OC": "withdrawn"})

ROUTES = {  # HL7 table 0162 → the label of the French prescription
    "PO": "voie orale",
    "SL": "voie sublinguale",
    "IV": "voie intraveineuse",
    "IM": "voie intramusculaire",
    "SC": "voie sous-cutanée",
    "TD": "voie transdermique",
    "TP": "voie cutanée",
    "IH": "voie inhalée",
    "NS": "voie nasale",
    "OP": "voie ophtalmique",
    "PR": "voie rectale",
    "VG": "voie vaginale",
}
FREQUENCIES = {  # TQ1-3 repeat pattern codes (HL7 table 0335)
    "QD": "1 fois par jour",
    "QAM": "le matin",
    "QPM": "le soir",
    "QHS": "au coucher",
    "BID": "2 fois par jour",
    "TID": "3 fois par jour",
    "QID": "4 fois par jour",
    "Q4H": "toutes les 4 heures",
    "Q6H": "toutes les 6 heures",
    "Q8H": "toutes les 8 heures",
    "Q12H": "toutes les 12 heures",
    "QW": "1 fois par semaine",
    "PRN": "si besoin",
    "ONCE": "en une prise",
}
DURATION_UNITS = {"D": "jours", "W": "semaines", "M": "mois", "H": "heures"}
ALLERGY_TYPES = {
    "DA": "médicament",
    "FA": "aliment",
    "EA": "environnement",
    "MA": "divers",
    "AA": "animal",
    "PA": "plante",
    "LA": "pollen",
    "MC": "contre-indication",
}
ALLERGY_SEVERITY = {"SV": "sévère", "MO": "modérée", "MI": "légère", "U": ""}

_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
_CIM10 = re.compile(r"^[A-Z]\d{2}(?:\.?[0-9A-Z+]{1,4})?$")
_CCAM = re.compile(r"^[A-Z]{4}\d{3}$")


# --- typed result -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Coded:
    code: str
    label: str
    system: str = ""


@dataclass(frozen=True)
class Observation:
    code: Coded
    value: str
    unit: str = ""
    reference_range: str = ""
    abnormal_flag: str = ""
    status: str = "final"
    observed_at: dt.datetime | None = None


@dataclass(frozen=True)
class ResultOrder:
    """One OBR group: a test ordered and its observations (none yet for a pending result)."""

    order_number: str
    test: Coded
    status: str  # final, preliminary, pending, cancelled
    observed_at: dt.datetime | None
    reported_at: dt.datetime | None
    author: str
    observations: tuple[Observation, ...] = ()


@dataclass(frozen=True)
class PrescriptionOrder:
    order_number: str
    kind: str  # entree, sejour, sortie
    state: str  # active, stopped, withdrawn
    medicine: Coded  # system: cis, cip13, ucd, atc
    dosage: str
    route: str
    duration: str
    start_at: dt.datetime | None
    end_at: dt.datetime | None
    prescriber: str
    ordered_at: dt.datetime | None


@dataclass(frozen=True)
class Diagnosis:
    code: str
    label: str
    principal: bool
    author: str = ""


@dataclass(frozen=True)
class Procedure:
    code: str
    label: str
    performed_at: dt.datetime | None
    author: str = ""


@dataclass(frozen=True)
class Allergy:
    code: str
    label: str
    kind: str
    severity: str
    reaction: str


@dataclass(frozen=True)
class ClinicalFacts:
    """What a message says about a stay's record. `None` lists were not sent (keep); empty
    tuples for diagnoses/procedures/allergies are never produced (no segment, no change)."""

    results: tuple[ResultOrder, ...] = ()
    prescriptions: tuple[PrescriptionOrder, ...] = ()
    diagnoses: tuple[Diagnosis, ...] | None = None
    procedures: tuple[Procedure, ...] | None = None
    allergies: tuple[Allergy, ...] | None = None

    @property
    def empty(self) -> bool:
        return not (self.results or self.prescriptions) and all(
            x is None for x in (self.diagnoses, self.procedures, self.allergies)
        )


@dataclass(frozen=True)
class ClinicalMessage:
    """ORU^R01, OMP^O09 or RDE^O11 for one stay."""

    header: Header
    sent_at: dt.datetime | None
    ipp: str
    visit_number: str
    facts: ClinicalFacts
    facility_ids: tuple[str, ...] = ()

    @property
    def event(self) -> str:
        return self.header.event

    @property
    def control_id(self) -> str:
        return self.header.control_id

    @property
    def kind(self) -> str:
        return f"{self.header.message_code}^{self.header.event}"

    def facility_candidates(self) -> tuple[str, ...]:
        return self.facility_ids


# --- entry point --------------------------------------------------------------------------------


def parse_message(text: str) -> AdtMessage | ClinicalMessage:
    """Parse any message Liaison accepts; raise `HL7Error` (French) otherwise."""
    header, segments = hl7v2.tokenize(text)
    key = (header.message_code, header.event)
    if header.message_code == "ADT":
        adt = hl7v2.map_adt(header, segments)
        facts = coded_facts(segments)
        return dataclasses.replace(adt, clinical=facts) if not facts.empty else adt
    if key not in CLINICAL_TYPES:
        known = ", ".join(["ADT", *(f"{c}^{e}" for c, e in CLINICAL_TYPES)])
        raise HL7Error(
            f"Type de message non pris en charge : {header.message_code or '?'}^{header.event or '?'} "
            f"(pris en charge : {known}).",
            "AR",
            "200",
            "MSH-9",
        )
    hl7v2.check_header(header)
    pid = _first(segments, "PID")
    if pid is None:
        raise HL7Error("Segment obligatoire absent : PID.", "AE", "100", "PID")
    ipp = hl7v2.ipp_of(pid)
    pv1 = _first(segments, "PV1")
    visit_number = pid.get(18) or (pv1.get(19) if pv1 else "")
    if not visit_number:
        raise hl7v2._missing("PID-18 ou PV1-19", "numéro de séjour (NDA)")
    if len(visit_number) > 30:
        raise HL7Error("Numéro de séjour trop long (30 caractères au plus).", "AE", "102", "PV1-19")
    if header.message_code == "ORU":
        facts = ClinicalFacts(results=_results(segments))
    else:
        facts = ClinicalFacts(prescriptions=_prescriptions(segments, header.message_code))
    msh = segments[0]
    return ClinicalMessage(
        header=header,
        sent_at=hl7v2.ts_or_none(msh.get(7)),
        ipp=ipp,
        visit_number=visit_number,
        facts=facts,
        facility_ids=tuple(hl7v2.facility_ids_of(msh)),
    )


def _first(segments: list[Segment], name: str) -> Segment | None:
    return next((s for s in segments if s.name == name), None)


def _coded(seg: Segment, n: int) -> Coded:
    where = f"{seg.name}-{n}"
    return Coded(
        _bounded(seg.get(n, 1), 40, where, "code"),
        _bounded(seg.get(n, 2), 200, where, "libellé"),
        _bounded(seg.get(n, 3).upper(), 20, where, "système de codage"),
    )


def _person_name(seg: Segment, n: int) -> str:
    """An XCN as « Dr Prénom NOM », else its identifier. OBR-32 is an NDL whose first component
    is a CNN: its parts are subcomponents."""
    if seg.name == "OBR" and n == 32:
        ident, family, given, title = (seg.get(n, 1, k) for k in (1, 2, 3, 6))
    else:
        ident, family, given, title = (seg.get(n, k) for k in (1, 2, 3, 6))
    name = " ".join(x for x in (title, given, family) if x)
    return _bounded(name or ident, 200, f"{seg.name}-{n}", "nom du professionnel")


# --- ORU^R01 ------------------------------------------------------------------------------------


def _results(segments: list[Segment]) -> tuple[ResultOrder, ...]:
    orders: list[ResultOrder] = []
    orc: Segment | None = None
    obr: Segment | None = None
    observations: list[Observation] = []

    def close() -> None:
        if obr is not None:
            orders.append(_result_order(orc, obr, tuple(observations)))

    for seg in segments:
        if seg.name == "ORC":
            close()
            orc, obr, observations = seg, None, []
        elif seg.name == "OBR":
            if obr is not None:
                close()
                observations = []
            obr = seg
        elif seg.name == "OBX":
            if obr is None:
                raise HL7Error("Segment mal placé : OBX sans OBR qui le précède.", "AE", "100", "OBX")
            observations.append(_observation(seg, len(observations) + 1))
    close()
    if not orders:
        raise HL7Error("Segment obligatoire absent : OBR (aucune demande d'examen).", "AE", "100", "OBR")
    return tuple(orders)


def _result_order(orc: Segment | None, obr: Segment, observations: tuple[Observation, ...]) -> ResultOrder:
    number = obr.get(3) or obr.get(2) or (orc.get(3) or orc.get(2) if orc else "")
    if not number:
        raise hl7v2._missing("OBR-2 ou OBR-3", "numéro de la demande")
    test = _coded(obr, 4)
    if not (test.code or test.label):
        raise hl7v2._missing("OBR-4", "examen demandé")
    raw_status = obr.get(25).upper()
    order_status = orc.get(5).upper() if orc else ""
    if raw_status and raw_status not in RESULT_STATUS:
        raise HL7Error(f"Statut de résultat inconnu en OBR-25 : « {raw_status} ».", "AE", "103", "OBR-25")
    status = RESULT_STATUS.get(raw_status, "")
    if not status:
        status = "pending" if order_status in PENDING_ORDER_STATUS or not observations else "final"
    if not observations and status != "cancelled":
        status = "pending"
    return ResultOrder(
        order_number=_bounded(number, 60, "OBR-3", "numéro de la demande"),
        test=test,
        status=status,
        observed_at=hl7v2.parse_ts(obr.get(7), "OBR-7"),
        reported_at=hl7v2.parse_ts(obr.get(22), "OBR-22"),
        author=_person_name(obr, 32),
        observations=observations,
    )


def _observation(obx: Segment, index: int) -> Observation:
    code = _coded(obx, 3)
    if not (code.code or code.label):
        raise hl7v2._missing(f"OBX-3 (observation {index})", "code de l'examen")
    status_code = obx.get(11).upper()
    if status_code and status_code not in RESULT_STATUS:
        raise HL7Error(f"Statut d'observation inconnu en OBX-11 : « {status_code} ».", "AE", "103", "OBX-11")
    flag = obx.get(8).upper()
    if flag and flag not in ABNORMAL_FLAGS:
        raise HL7Error(f"Indicateur d'anomalie inconnu en OBX-8 : « {flag} ».", "AE", "103", "OBX-8")
    value_type = obx.get(2).upper()
    if value_type == "CE" or value_type == "CWE":
        value = obx.get(5, 2) or obx.get(5, 1)
    else:
        value = " ".join(c[0] for c in obx.reps(5)[0] if c and c[0]) if obx.reps(5) else ""
    if value_type == "NM" and value and not _NUMBER.match(value):
        raise HL7Error(
            f"Valeur numérique illisible en OBX-5 ({code.label or code.code}) : « {value[:40]} ».",
            "AE",
            "102",
            "OBX-5",
        )
    return Observation(
        code=code,
        value=_bounded(value, 500, "OBX-5", "valeur"),
        unit=_bounded(obx.get(6, 1) or obx.get(6, 2), 40, "OBX-6", "unité"),
        reference_range=_bounded(obx.get(7), 60, "OBX-7", "valeurs de référence"),
        abnormal_flag=flag if flag != "N" else "",
        status=RESULT_STATUS.get(status_code, "final"),
        observed_at=hl7v2.parse_ts(obx.get(14), "OBX-14"),
    )


# --- OMP^O09 / RDE^O11 ------------------------------------------------------------------------------


def _prescriptions(segments: list[Segment], message_code: str) -> tuple[PrescriptionOrder, ...]:
    give = "RXE" if message_code == "RDE" else "RXO"
    groups: list[dict[str, Segment]] = []
    for seg in segments:
        if seg.name == "ORC":
            groups.append({"ORC": seg})
        elif seg.name in ("RXO", "RXE", "TQ1", "RXR") and groups:
            groups[-1].setdefault(seg.name, seg)
    if not groups:
        raise HL7Error("Segment obligatoire absent : ORC (aucune prescription).", "AE", "100", "ORC")
    return tuple(_prescription(g, give, i + 1) for i, g in enumerate(groups))


def _prescription(group: dict[str, Segment], give: str, index: int) -> PrescriptionOrder:
    orc = group["ORC"]
    rx = group.get(give)
    if rx is None:
        raise HL7Error(f"Segment obligatoire absent : {give} (prescription {index}).", "AE", "100", give)
    control = orc.get(1).upper()
    if control not in ORDER_CONTROL:
        raise HL7Error(
            f"Code de contrôle de commande inconnu en ORC-1 : « {control} ».", "AE", "103", "ORC-1"
        )
    number = orc.get(2) or orc.get(3)
    if not number:
        raise hl7v2._missing("ORC-2", "numéro de la prescription")
    order_type = orc.get(29).upper() or "I"
    if order_type not in PRESCRIPTION_KINDS:
        raise HL7Error(
            f"Type de prescription inconnu en ORC-29 : « {order_type} » (H entrée, I séjour, O sortie).",
            "AE",
            "103",
            "ORC-29",
        )
    code_field = 2 if give == "RXE" else 1
    medicine = _coded(rx, code_field)
    system = MEDICINE_SYSTEMS.get(medicine.system)
    if not medicine.code:
        raise hl7v2._missing(f"{give}-{code_field}", "code du médicament")
    if system is None:
        raise HL7Error(
            f"Système de codage du médicament non pris en charge en {give}-{code_field}.3 : "
            f"« {medicine.system} » (CIS, CIP, UCD ou ATC).",
            "AE",
            "103",
            f"{give}-{code_field}",
        )
    medicine = Coded(medicine.code, medicine.label, system)
    amount_field, unit_field, text_field = (3, 5, 7) if give == "RXE" else (2, 4, 7)
    tq1 = group.get("TQ1")
    dosage = _dosage(rx, amount_field, unit_field, text_field, tq1, give)
    route_seg = group.get("RXR")
    route = ""
    if route_seg is not None:
        route = ROUTES.get(route_seg.get(1, 1).upper()) or route_seg.get(1, 2) or route_seg.get(1, 1)
    return PrescriptionOrder(
        order_number=_bounded(number, 60, "ORC-2", "numéro de la prescription"),
        kind=PRESCRIPTION_KINDS[order_type],
        state=ORDER_CONTROL[control],
        medicine=medicine,
        dosage=_bounded(dosage, 300, f"{give}-{text_field}", "posologie"),
        route=_bounded(route, 60, "RXR-1", "voie"),
        duration=_duration(tq1),
        start_at=hl7v2.parse_ts(tq1.get(7), "TQ1-7") if tq1 else None,
        end_at=hl7v2.parse_ts(tq1.get(8), "TQ1-8") if tq1 else None,
        prescriber=_person_name(orc, 12),
        ordered_at=hl7v2.parse_ts(orc.get(9), "ORC-9"),
    )


def _dosage(rx: Segment, amount_f: int, unit_f: int, text_f: int, tq1: Segment | None, give: str) -> str:
    """« 1 comprimé 2 fois par jour », from the amount, its unit and the repeat pattern; the
    prescriber's text (RXE-7 / RXO-7) when there is one."""
    text = rx.get(text_f, 2) or rx.get(text_f, 1)
    amount = rx.get(amount_f) or (tq1.get(2, 1) if tq1 else "")
    if amount and not _NUMBER.match(amount):
        raise HL7Error(
            f"Posologie illisible : quantité « {amount[:20]} » en {give}-{amount_f} n'est pas un nombre.",
            "AE",
            "102",
            f"{give}-{amount_f}",
        )
    unit = rx.get(unit_f, 2) or rx.get(unit_f, 1) or (tq1.get(2, 2, 2) or tq1.get(2, 2) if tq1 else "")
    pattern = ""
    if tq1 is not None:
        code = tq1.get(3, 1).upper()
        pattern = tq1.get(3, 2) or FREQUENCIES.get(code, "")
        if code and not pattern:
            raise HL7Error(
                f"Posologie illisible : rythme d'administration « {code[:20]} » inconnu en TQ1-3.",
                "AE",
                "102",
                "TQ1-3",
            )
    built = " ".join(x for x in (amount.replace(".", ","), unit, pattern) if x)
    if text:
        return text
    if not amount:
        raise HL7Error(
            f"Posologie absente : ni quantité ({give}-{amount_f} ou TQ1-2) ni consigne ({give}-{text_f}).",
            "AE",
            "101",
            f"{give}-{amount_f}",
        )
    return built


def _duration(tq1: Segment | None) -> str:
    if tq1 is None:
        return ""
    value, unit = tq1.get(6, 1), tq1.get(6, 2).upper()
    if value and _NUMBER.match(value):
        return _bounded(f"{value} {DURATION_UNITS.get(unit, unit.lower())}".strip(), 60, "TQ1-6", "durée")
    return _bounded(tq1.get(6, 1), 60, "TQ1-6", "durée")


# --- DG1 / PR1 / AL1 in ADT ---------------------------------------------------------------------


def coded_facts(segments: list[Segment]) -> ClinicalFacts:
    diagnoses = [_diagnosis(s) for s in segments if s.name == "DG1"]
    procedures = [_procedure(s) for s in segments if s.name == "PR1"]
    allergies = [_allergy(s) for s in segments if s.name == "AL1"]
    return ClinicalFacts(
        diagnoses=tuple(diagnoses) if diagnoses else None,
        procedures=tuple(procedures) if procedures else None,
        allergies=tuple(allergies) if allergies else None,
    )


def _diagnosis(dg1: Segment) -> Diagnosis:
    code = dg1.get(3, 1).upper()
    if not code:
        raise hl7v2._missing("DG1-3", "code CIM-10 du diagnostic")
    if not _CIM10.match(code):
        raise HL7Error(f"Code CIM-10 mal formé en DG1-3 : « {code[:20]} ».", "AE", "102", "DG1-3")
    kind = dg1.get(6).upper()
    return Diagnosis(
        code=code,
        label=_bounded(dg1.get(3, 2) or dg1.get(4), 200, "DG1-3", "libellé"),
        principal=dg1.get(15) == "1" or kind == "DP",
        author=_person_name(dg1, 16),
    )


def _procedure(pr1: Segment) -> Procedure:
    code = pr1.get(3, 1).upper()
    if not code:
        raise hl7v2._missing("PR1-3", "code CCAM de l'acte")
    if not _CCAM.match(code):
        raise HL7Error(f"Code CCAM mal formé en PR1-3 : « {code[:20]} ».", "AE", "102", "PR1-3")
    return Procedure(
        code=code,
        label=_bounded(pr1.get(3, 2) or pr1.get(4), 200, "PR1-3", "libellé"),
        performed_at=hl7v2.parse_ts(pr1.get(5), "PR1-5"),
        author=_person_name(pr1, 11),
    )


def _allergy(al1: Segment) -> Allergy:
    code, label = al1.get(3, 1), al1.get(3, 2)
    if not (code or label):
        raise hl7v2._missing("AL1-3", "allergène")
    kind = al1.get(2, 1).upper()
    severity = al1.get(4, 1).upper()
    if severity and severity not in ALLERGY_SEVERITY:
        raise HL7Error(f"Sévérité d'allergie inconnue en AL1-4 : « {severity[:10]} ».", "AE", "103", "AL1-4")
    reactions = [al1.get(5, 1, rep=r) for r in range(1, len(al1.reps(5)) + 1)]
    return Allergy(
        code=_bounded(code, 40, "AL1-3", "code de l'allergène"),
        label=_bounded(label or code, 200, "AL1-3", "allergène"),
        kind=ALLERGY_TYPES.get(kind, ""),
        severity=ALLERGY_SEVERITY.get(severity, ""),
        reaction=_bounded(", ".join(r for r in reactions if r), 200, "AL1-5", "réaction"),
    )
