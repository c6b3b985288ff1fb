"""HL7 v2.5 ADT messages (IHE PAM with the French extension PAM.fr): parsing and mapping.

Pure Python, no Django. `decode` turns the bytes received into text (MSH-18 decides the
character set), `parse` turns the text into an `AdtMessage` of typed dataclasses or raises
`HL7Error` whose message is in French, and `build_ack` writes the ACK/NACK (original mode).

Segments are split with `str.split` and escape sequences decoded by python-hl7 (`hl7`): hl7apy
was measured at 10-15 ms a message here, python-hl7's own parser at 0.6 ms for the splitting
alone, this module at 0.2 ms splitting and mapping (bench/bench_mllp.py prints the three).

The PAM.fr mapping (fields are 1-based, as in the standard):

- MSH-3/4 sending application/facility, MSH-5/6 receiving, MSH-7 date, MSH-9 type^event,
  MSH-10 control id (idempotence key with MSH-4), MSH-12 version, MSH-18 character set.
- EVN-2 recorded date-time, EVN-6 event occurred date-time.
- PID-3 identifiers: IPP (type PI) and INS (type INS, or an INS OID as assigning authority:
  matricule in CX-1, OID in CX-4.2); PID-5 names (type L: birth name, first given name, the
  list of birth given names in XPN-3; type D: used name and used given name); PID-7 birth date;
  PID-8 sex; PID-11 address (type H) and birth place (type BDL, COG code in XAD-9); PID-13
  phone; PID-18 account number (NDA); PID-32 identity reliability (PROV, VALI, RECUP, QUAL).
- PV1-2 patient class, PV1-3 location (PL-1 = unit code, PL-4 = facility, FINESS in HD-2),
  PV1-4 admission type, PV1-7 attending doctor, PV1-8 referring doctor, PV1-19 visit number,
  PV1-36 discharge disposition, PV1-37 discharged-to location, PV1-44/45 admit/discharge.
- PV2-8 expected admission, PV2-9 expected discharge.
- ROL-2 action (AD/UP/DE/UC), ROL-3 role (ODRP/FHCP/PP: médecin traitant; RP: adresseur),
  ROL-4 the person (RPPS in XCN-1, optionally as IdNat_PS "8" + RPPS).
- ZBE-1 movement id, ZBE-2 movement date, ZBE-4 action, ZBE-7/8 medical/care unit (XON-10).
- ZFM-1..4 PMSI entry mode, exit mode, provenance, destination (a mode or destination outside
  the PMSI value set is refused).
- A16 (pending discharge): PV2-9 (else ZBE-2, else PV1-45) the planned date, ZFM / PV1-36 the
  planned mode; A25 cancels it.
- MRG-1 the absorbed patient's identifiers (A40).

An empty field means "not sent, keep what is known"; the HL7 null `""` means "delete".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import hl7

from liaison.core.controls import ONE_LINE, describe
from liaison.core.identifiers import INS_OIDS, IdentifierError, validate_finess, validate_ins, validate_rpps
from liaison.core.paris import PARIS

if TYPE_CHECKING:
    from liaison.ingest.clinical import ClinicalFacts


START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"

# Events Liaison applies, and what each does (for the NACK of an unknown event).
EVENTS: dict[str, str] = {
    "A01": "admission",
    "A04": "inscription (consultation, externe)",
    "A05": "pré-admission",
    "A02": "mutation (changement d'unité)",
    "A12": "annulation de mutation",
    "A03": "sortie",
    "A11": "annulation d'admission",
    "A13": "annulation de sortie",
    "A16": "sortie prévue (sortie en attente)",
    "A25": "annulation de la sortie prévue",
    "A38": "annulation de pré-admission",
    "A08": "mise à jour des informations du patient",
    "A31": "mise à jour de l'identité",
    "A28": "création d'identité",
    "A40": "fusion de patients",
}
VISIT_EVENTS = {"A01", "A04", "A05", "A02", "A12", "A03", "A11", "A13", "A38", "A16", "A25"}

NULL = '""'  # the HL7 null: delete the value held by the receiver

IDENTITY_STATUS = {"PROV": "provisoire", "VALI": "validee", "RECUP": "recuperee", "QUAL": "qualifiee"}
INS_TYPES = {"INS", "INS-NIR", "INS-NIA", "NH"}
MEDECIN_TRAITANT_ROLES = {"ODRP", "FHCP", "PP"}
ADRESSEUR_ROLES = {"RP"}

# PMSI codes (ZFM, or PV1-36 when the GAM puts them there).
PMSI_DESTINATION = {
    "1": ("autre_es", "Médecine, chirurgie, obstétrique"),
    "2": ("smr", "Soins médicaux et de réadaptation"),
    "3": ("autre_es", "Soins de longue durée"),
    "4": ("autre_es", "Psychiatrie"),
    "6": ("had", "Hospitalisation à domicile"),
    "7": ("ehpad", "Structure d'hébergement médico-sociale"),
}
# PMSI exit modes: 6 mutation, 7 transfert, 8 domicile, 9 décès, 0 transfert pour prestation.
PMSI_EXIT_MODES = {"6", "7", "8", "9", "0"}
EMERGENCY_ADMISSION_TYPES = {"E", "U", "A"}  # HL7 table 0007: emergency, urgent, accident
PLANNED_ADMISSION_TYPES = {"R", "C"}  # routine, elective


class HL7Error(Exception):
    """A message Liaison cannot accept. `str(error)` is the French reason sent back in the NACK.

    `ack_code` is AR (the message itself is refused: unreadable, unknown type) or AE (the
    message is readable but its content cannot be applied). `error_code` is from HL7 table
    0357, `location` the faulty field (e.g. "PID-7").
    """

    def __init__(self, message: str, ack_code: str = "AE", error_code: str = "207", location: str = ""):
        super().__init__(message)
        self.ack_code = ack_code
        self.error_code = error_code
        self.location = location


def _missing(location: str, what: str) -> HL7Error:
    return HL7Error(f"Champ obligatoire absent : {location} ({what}).", "AE", "101", location)


def _bounded(value: str | None, limit: int, location: str, what: str) -> Any:
    """`value` when it fits the column it is stored in; refused otherwise, never cut (an identity
    must not change without notice)."""
    if value and len(value) > limit:
        raise HL7Error(
            f"Valeur trop longue en {location} ({what}) : {len(value)} caractères, {limit} au plus. "
            "Liaison ne la tronque pas : message rejeté, corrigez-la à la source.",
            "AR",
            "102",
            location,
        )
    return value


# --- typed result -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """What the ACK needs from MSH; filled best-effort even for an unreadable message."""

    field_sep: str = "|"
    encoding_chars: str = "^~\\&"
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    message_code: str = ""
    event: str = ""
    control_id: str = ""
    processing_id: str = "P"
    version: str = "2.5"
    charset: str = ""


@dataclass(frozen=True)
class Person:
    """An XCN: a professional (RPPS when the identifier is one)."""

    identifier: str = ""
    family_name: str = ""
    given_name: str = ""
    title: str = ""
    id_type: str = ""
    authority_oid: str = ""

    @property
    def rpps(self) -> str | None:
        if not self.identifier:
            return None
        try:
            return validate_rpps(self.identifier)
        except IdentifierError:
            return None


@dataclass(frozen=True)
class Role:
    action: str  # AD, UP, DE, UC
    role: str  # ODRP, RP…
    person: Person
    address: str = ""
    phone: str = ""


@dataclass(frozen=True)
class PatientData:
    """PID. For optional traits, None means "not sent" and "" means "delete"."""

    ipp: str
    ins_matricule: str | None
    ins_oid: str | None
    identity_status: str | None
    birth_family_name: str
    used_family_name: str | None
    first_given_name: str
    given_names: str | None
    used_given_name: str | None
    birth_date: dt.date
    birth_place_cog: str | None
    sex: str
    address: str | None
    phone: str | None
    account_number: str = ""


@dataclass(frozen=True)
class VisitData:
    """PV1, PV2, ZBE, ZFM."""

    visit_number: str
    patient_class: str = ""
    unit_codes: tuple[str, ...] = ()
    facility_ids: tuple[str, ...] = ()
    admission_type: str = ""
    attending: Person | None = None
    referring: Person | None = None
    admit_at: dt.datetime | None = None
    discharge_at: dt.datetime | None = None
    expected_admit_at: dt.datetime | None = None
    expected_discharge_at: dt.datetime | None = None
    entry_mode: str | None = None
    exit_mode: str | None = None
    destination: str | None = None
    receiving_finess: str | None = None
    movement_id: str = ""
    movement_at: dt.datetime | None = None
    movement_action: str = ""


@dataclass(frozen=True)
class AdtMessage:
    header: Header
    sent_at: dt.datetime | None
    event_at: dt.datetime | None
    patient: PatientData
    visit: VisitData | None
    roles: tuple[Role, ...] = ()
    prior_ipps: tuple[str, ...] = ()  # A40: the absorbed patient(s)
    facility_ids: tuple[str, ...] = field(default_factory=tuple)
    clinical: ClinicalFacts | None = None  # DG1/PR1/AL1 (mapped by `ingest.clinical`)

    @property
    def event(self) -> str:
        return self.header.event

    @property
    def control_id(self) -> str:
        return self.header.control_id

    @property
    def sending_facility(self) -> str:
        return self.header.sending_facility

    def facility_candidates(self) -> tuple[str, ...]:
        """Identifiers that may name the receiving establishment (FINESS), most specific first."""
        visit_ids = self.visit.facility_ids if self.visit else ()
        return tuple(dict.fromkeys(visit_ids + self.facility_ids))


# --- decoding and framing ---------------------------------------------------------------------


def charset_of(data: bytes) -> str:
    """The MSH-18 value of raw bytes ('' when absent)."""
    first = data.lstrip(b"\x0b\r\n ").split(b"\r", 1)[0].split(b"\n", 1)[0]
    if not first.startswith(b"MSH") or len(first) < 4:
        return ""
    parts = first.split(first[3:4])
    return parts[17].decode("ascii", "replace").strip() if len(parts) > 17 else ""


def python_encoding(charset: str) -> str:
    c = charset.upper()
    if "8859/15" in c:
        return "iso-8859-15"
    if "8859" in c:
        return "latin-1"
    return "utf-8"


def decode(data: bytes) -> str:
    """Bytes → text, honouring MSH-18 (UTF-8 by default; Latin-1 as a last resort)."""
    encoding = python_encoding(charset_of(data))
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return data.decode("latin-1")


def normalise(text: str) -> str:
    """Segments separated by CR only, no MLLP framing, no blank segments."""
    text = text.replace("\x0b", "").replace("\x1c", "")
    lines = re.split(r"\r\n|\n|\r", text)
    return "\r".join(line for line in lines if line.strip())


def split_batch(text: str) -> list[str]:
    """A batch file → messages: each starts at an MSH segment; FHS/BHS/BTS/FTS are dropped."""
    messages: list[list[str]] = []
    for line in re.split(r"\r\n|\n|\r|\x0b|\x1c", text):
        if not line.strip():
            continue
        if line[:3] in ("FHS", "BHS", "BTS", "FTS"):
            continue
        if line.startswith("MSH") or not messages:
            messages.append([line])
        else:
            messages[-1].append(line)
    return ["\r".join(m) for m in messages]


# --- a uniform view of the tokens --------------------------------------------------------------


class Segment:
    """One segment as nested lists: fields[n] → repetitions → components → subcomponents.

    `tainted` holds the numbers of the fields that contain a control character (raw, or from an
    escape such as `\\X0D0A\\`): `get` refuses such a value, so nothing Liaison maps carries one,
    while a field Liaison does not read cannot refuse the message."""

    def __init__(self, name: str, fields: list[list[list[list[str]]]], tainted: frozenset[int] = frozenset()):
        self.name = name
        self.fields = fields
        self.tainted = tainted

    def reps(self, n: int) -> list[list[list[str]]]:
        return self.fields[n] if 0 <= n < len(self.fields) else []

    def get(self, n: int, comp: int = 1, sub: int = 1, rep: int = 1) -> str:
        reps = self.reps(n)
        if rep > len(reps):
            return ""
        comps = reps[rep - 1]
        if comp > len(comps):
            return ""
        subs = comps[comp - 1]
        value = subs[sub - 1].strip() if sub <= len(subs) else ""
        if n in self.tainted and (found := ONE_LINE.search(value)):
            raise HL7Error(
                f"Caractère de contrôle interdit en {self.name}-{n} ({describe(found.group())}) : "
                "corrigez la donnée à la source ; message rejeté, ne le renvoyez pas tel quel.",
                "AR",
                "102",
                f"{self.name}-{n}",
            )
        return value

    def raw(self, n: int) -> str:
        """Is the field the HL7 null? (the only whole-field test needed)."""
        return self.get(n)


def _tokens(line: str, sep: str, enc: str, escapes: Any) -> Segment:
    """One segment line → `Segment`. MSH keeps MSH-1 (the field separator) and MSH-2 (the
    encoding characters) whole, so field numbers are those of the standard for every segment."""
    comp_sep, rep_sep, esc, sub_sep = enc[:4]
    raw = line.split(sep)
    fields: list[list[list[list[str]]]] = []
    if raw[0] == "MSH":
        fields = [[[["MSH"]]], [[[sep]]], [[[raw[1] if len(raw) > 1 else ""]]]]
        raw = raw[2:]
    else:
        fields = [[[[raw[0]]]]]
        raw = raw[1:]
    for value in raw:
        fields.append(
            [
                [
                    [escapes.unescape(s) if esc in s else s for s in comp.split(sub_sep)]
                    for comp in rep.split(comp_sep)
                ]
                for rep in value.split(rep_sep)
            ]
        )
    tainted: frozenset[int] = frozenset()
    if esc in line or ONE_LINE.search(line):  # rare: only then look for controls field by field
        tainted = frozenset(
            n for n, reps in enumerate(fields) if any(ONE_LINE.search(s) for r in reps for c in r for s in c)
        )
    return Segment(fields[0][0][0][0], fields, tainted)


# --- small parsers ------------------------------------------------------------------------------

_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$")


def parse_ts(value: str, location: str) -> dt.datetime | None:
    """HL7 TS/DTM → aware datetime; without an offset the time is Europe/Paris local time."""
    if not value or value == NULL:
        return None
    m = _TS.match(value.strip())
    if not m:
        raise HL7Error(
            f"Date-heure illisible en {location} : « {value} » (attendu AAAAMMJJHHMM[SS]).",
            "AE",
            "102",
            location,
        )
    y, mo, d, h, mi, s, off = m.groups()
    try:
        tz: dt.tzinfo = PARIS
        if off:
            sign = 1 if off[0] == "+" else -1
            tz = dt.timezone(sign * dt.timedelta(hours=int(off[1:3]), minutes=int(off[3:5])))
        return dt.datetime(
            int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0), tzinfo=tz
        )
    except ValueError as exc:
        raise HL7Error(f"Date-heure impossible en {location} : « {value} ».", "AE", "102", location) from exc


def parse_date(value: str, location: str) -> dt.date | None:
    if not value or value == NULL:
        return None
    m = re.match(r"^(\d{4})(\d{2})(\d{2})", value.strip())
    if not m:
        raise HL7Error(
            f"Date illisible en {location} : « {value} » (attendu AAAAMMJJ).", "AE", "102", location
        )
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise HL7Error(f"Date impossible en {location} : « {value} ».", "AE", "102", location) from exc


def _opt(value: str) -> str | None:
    """Empty → None (keep), HL7 null → "" (delete), else the value."""
    if value == "":
        return None
    if value == NULL:
        return ""
    return value


def _person(seg: Segment, n: int, rep: int = 1) -> Person | None:
    ident = seg.get(n, 1, rep=rep)
    family = seg.get(n, 2, rep=rep)
    if not ident and not family:
        return None
    where = f"{seg.name}-{n}"
    return Person(
        identifier=ident,
        family_name=_bounded(family, 100, where, "nom"),
        given_name=_bounded(seg.get(n, 3, rep=rep), 100, where, "prénom"),
        title=_bounded(seg.get(n, 6, rep=rep), 10, where, "titre"),
        id_type=seg.get(n, 13, rep=rep),
        authority_oid=seg.get(n, 9, 2, rep=rep),
    )


def _best_person(seg: Segment, n: int) -> Person | None:
    """The repetition that carries an RPPS, else the first one."""
    people = [p for r in range(1, len(seg.reps(n)) + 1) if (p := _person(seg, n, r))]
    for p in people:
        if p.rpps:
            return p
    return people[0] if people else None


def _finess_like(value: str) -> str | None:
    if not value:
        return None
    try:
        return validate_finess(value)
    except IdentifierError:
        return None


def _hd_ids(seg: Segment, n: int, comp: int | None = None) -> list[str]:
    """FINESS candidates in an HD (or in the HD held in component `comp`)."""
    values = [seg.get(n, 1), seg.get(n, 2)] if comp is None else [seg.get(n, comp, 1), seg.get(n, comp, 2)]
    return [f for v in values if (f := _finess_like(v))]


# --- segments → dataclasses --------------------------------------------------------------------


def _header(msh: Segment, sep: str, enc: str) -> Header:
    def hd(n: int) -> str:
        return "^".join(x for x in (msh.get(n, 1), msh.get(n, 2), msh.get(n, 3)) if x)

    return Header(
        field_sep=sep,
        encoding_chars=enc,
        sending_application=hd(3),
        sending_facility=hd(4),
        receiving_application=hd(5),
        receiving_facility=hd(6),
        message_code=msh.get(9, 1).upper(),
        event=msh.get(9, 2).upper(),
        control_id=msh.get(10),
        processing_id=msh.get(11) or "P",
        version=msh.get(12) or "2.5",
        charset=msh.get(18),
    )


def ipp_of(pid: Segment) -> str:
    """The IPP of PID-3 (type PI), for messages that need only the patient's local id."""
    for r in range(1, len(pid.reps(3)) + 1):
        value, id_type = pid.get(3, 1, rep=r), pid.get(3, 5, rep=r).upper()
        if value and id_type in ("PI", "") and pid.get(3, 4, 2, rep=r) not in INS_OIDS:
            if len(value) > 30:
                raise HL7Error("IPP trop long (30 caractères au plus).", "AE", "102", "PID-3")
            return value
    raise _missing("PID-3", "IPP, identifiant de type PI")


def _ins_and_ipp(pid: Segment) -> tuple[str, str | None, str | None]:
    ipp = ""
    ins: str | None = None
    ins_oid: str | None = None
    for r in range(1, len(pid.reps(3)) + 1):
        value = pid.get(3, 1, rep=r)
        id_type = pid.get(3, 5, rep=r).upper()
        oid = pid.get(3, 4, 2, rep=r)
        if not value:
            continue
        if id_type in INS_TYPES or oid in INS_OIDS:
            if ins is not None:
                continue
            if not oid:
                raise HL7Error(
                    "INS sans OID : l'autorité d'affectation (PID-3.4.2) doit porter l'OID de l'INS.",
                    "AE",
                    "101",
                    "PID-3",
                )
            if oid not in INS_OIDS:
                raise HL7Error(f"OID d'INS inconnu en PID-3 : « {oid} ».", "AE", "103", "PID-3")
            try:
                ins = validate_ins(value)
            except IdentifierError as exc:
                raise HL7Error(f"INS refusé (PID-3) : {exc}", "AE", "102", "PID-3") from exc
            ins_oid = oid
        elif not ipp and id_type in ("PI", ""):
            ipp = value
    if not ipp:
        raise _missing("PID-3", "IPP, identifiant de type PI")
    if len(ipp) > 30:
        _bounded(ipp, 30, "PID-3", "IPP")
    return ipp, ins, ins_oid


def _patient(pid: Segment) -> PatientData:
    ipp, ins, ins_oid = _ins_and_ipp(pid)
    legal = display = None
    for r in range(1, len(pid.reps(5)) + 1):
        kind = pid.get(5, 7, rep=r).upper()
        if kind == "L" and legal is None:
            legal = r
        elif kind == "D" and display is None:
            display = r
    if legal is None:
        legal = 1 if display != 1 or len(pid.reps(5)) == 1 else 2
    birth_family = pid.get(5, 1, rep=legal)
    first_given = pid.get(5, 2, rep=legal)
    if not birth_family or birth_family == NULL:
        raise _missing("PID-5.1", "nom de naissance")
    if not first_given or first_given == NULL:
        raise _missing("PID-5.2", "premier prénom de naissance")
    given_names = _opt(pid.get(5, 3, rep=legal))
    used_family = used_given = None
    if display is not None:
        used_family = _opt(pid.get(5, 1, rep=display))
        used_given = _opt(pid.get(5, 2, rep=display))
        if used_family == birth_family:
            used_family = ""
    birth_date = parse_date(pid.get(7), "PID-7")
    if birth_date is None:
        raise _missing("PID-7", "date de naissance")
    sex = pid.get(8).upper()
    sex = sex if sex in ("M", "F") else "U"
    address = birth_place = None
    for r in range(1, len(pid.reps(11)) + 1):
        kind = pid.get(11, 7, rep=r).upper()
        if kind == "BDL" and birth_place is None:
            birth_place = _opt(pid.get(11, 9, rep=r))
            if birth_place and not re.fullmatch(r"[0-9][0-9AB][0-9]{3}", birth_place):
                raise HL7Error(
                    f"Code COG du lieu de naissance invalide (PID-11.9) : « {birth_place} ».",
                    "AE",
                    "102",
                    "PID-11",
                )
        elif kind in ("H", "") and address is None:
            street = pid.get(11, 1, rep=r)
            if street == NULL:
                address = ""
                continue
            parts = [
                street,
                pid.get(11, 2, rep=r),
                " ".join(x for x in (pid.get(11, 5, rep=r), pid.get(11, 3, rep=r)) if x),
            ]
            text = ", ".join(p for p in parts if p)
            address = text or None
    phone = None
    for r in range(1, len(pid.reps(13)) + 1):
        number = pid.get(13, 1, rep=r) or pid.get(13, 12, rep=r)
        if number:
            phone = _opt(number)
            break
    statuses = [pid.get(32, 1, rep=r).upper() for r in range(1, len(pid.reps(32)) + 1)]
    status = next((IDENTITY_STATUS[s] for s in statuses if s in IDENTITY_STATUS), None)
    if status in ("qualifiee", "recuperee") and not ins:
        raise HL7Error(
            "Identité qualifiée ou récupérée (PID-32) sans matricule INS en PID-3.", "AE", "101", "PID-32"
        )
    return PatientData(
        ipp=ipp,
        ins_matricule=ins,
        ins_oid=ins_oid,
        identity_status=status,
        birth_family_name=_bounded(birth_family, 100, "PID-5", "nom de naissance"),
        used_family_name=_bounded(used_family, 100, "PID-5", "nom utilisé"),
        first_given_name=_bounded(first_given, 100, "PID-5", "premier prénom"),
        given_names=_bounded(given_names, 200, "PID-5", "prénoms de naissance"),
        used_given_name=_bounded(used_given, 100, "PID-5", "prénom utilisé"),
        birth_date=birth_date,
        birth_place_cog=birth_place,
        sex=sex,
        address=_bounded(address, 300, "PID-11", "adresse"),
        phone=_bounded(phone, 30, "PID-13", "téléphone"),
        account_number=pid.get(18),
    )


def _entry_mode(pv1: Segment, zfm: Segment | None) -> str | None:
    pmsi_entry = zfm.get(1) if zfm else ""
    provenance = zfm.get(3) if zfm else ""
    if pmsi_entry in ("7", "0"):
        return "transfert"
    if provenance == "5":  # via the emergency department
        return "urgence"
    admission_type = pv1.get(4).upper()
    if admission_type in EMERGENCY_ADMISSION_TYPES:
        return "urgence"
    if admission_type in PLANNED_ADMISSION_TYPES:
        return "programmee"
    if pmsi_entry or admission_type:
        return "autre"
    return None


def _exit_mode(pv1: Segment, zfm: Segment | None) -> tuple[str | None, str | None]:
    """(exit mode, destination label) from ZFM-2/ZFM-4, else PV1-36 (PMSI codes)."""
    mode = zfm.get(2) if zfm else ""
    dest = zfm.get(4) if zfm else ""
    if not mode:
        mode = pv1.get(36)
    if not mode:
        return None, None
    where = "ZFM-2" if zfm and zfm.get(2) else "PV1-36"
    if mode not in PMSI_EXIT_MODES:
        raise HL7Error(
            f"Modalité de sortie hors du jeu de valeurs en {where} : « {mode[:20]} » (attendu 6 mutation, "
            "7 transfert, 8 domicile, 9 décès ou 0 prestation inter-établissement).",
            "AE",
            "103",
            where,
        )
    if dest and dest not in PMSI_DESTINATION:
        raise HL7Error(
            f"Destination hors du jeu de valeurs en ZFM-4 : « {dest[:20]} » (attendu 1, 2, 3, 4, 6 ou 7).",
            "AE",
            "103",
            "ZFM-4",
        )
    label = PMSI_DESTINATION.get(dest, (None, None))[1]
    if mode == "9":
        return "deces", "Décès"
    if mode == "8":
        if dest == "6":
            return "had", label
        if dest == "7":
            return "ehpad", label
        return "domicile", label or "Domicile"
    return PMSI_DESTINATION.get(dest, ("autre_es", None))[0], label


def _zbe_unit(zbe: Segment, n: int) -> str:
    return zbe.get(n, 10) or ""


def _visit(
    pv1: Segment, pv2: Segment | None, zbe: Segment | None, zfm: Segment | None, pid: Segment
) -> VisitData:
    visit_number = pid.get(18) or pv1.get(19)
    if not visit_number:
        raise _missing("PID-18 ou PV1-19", "numéro de séjour (NDA)")
    _bounded(visit_number, 30, "PID-18 ou PV1-19", "numéro de séjour")
    units = [
        _zbe_unit(zbe, 7) if zbe else "",
        pv1.get(3, 1),
        pv1.get(10),
        _zbe_unit(zbe, 8) if zbe else "",
    ]
    exit_mode, destination = _exit_mode(pv1, zfm)
    receiving = _finess_like(pv1.get(37))
    if pv1.get(37) and not receiving:
        destination = destination or _bounded(pv1.get(37), 200, "PV1-37", "destination")
    return VisitData(
        visit_number=visit_number,
        patient_class=pv1.get(2).upper(),
        unit_codes=tuple(dict.fromkeys(u for u in units if u and u != NULL)),
        facility_ids=tuple(_hd_ids(pv1, 3, 4)),
        admission_type=pv1.get(4).upper(),
        attending=_best_person(pv1, 7),
        referring=_best_person(pv1, 8),
        admit_at=parse_ts(pv1.get(44), "PV1-44"),
        discharge_at=parse_ts(pv1.get(45), "PV1-45"),
        expected_admit_at=parse_ts(pv2.get(8), "PV2-8") if pv2 else None,
        expected_discharge_at=parse_ts(pv2.get(9), "PV2-9") if pv2 else None,
        entry_mode=_entry_mode(pv1, zfm),
        exit_mode=exit_mode,
        destination=destination,
        receiving_finess=receiving,
        movement_id=zbe.get(1) if zbe else "",
        movement_at=parse_ts(zbe.get(2), "ZBE-2") if zbe else None,
        movement_action=zbe.get(4).upper() if zbe else "",
    )


def _roles(segments: list[Segment]) -> tuple[Role, ...]:
    out = []
    for seg in segments:
        if seg.name != "ROL":
            continue
        person = _best_person(seg, 4)
        if person is None:
            continue
        street = seg.get(11, 1)
        city = " ".join(x for x in (seg.get(11, 5), seg.get(11, 3)) if x)
        out.append(
            Role(
                action=seg.get(2).upper() or "UC",
                role=seg.get(3, 1).upper(),
                person=person,
                address=_bounded(", ".join(x for x in (street, city) if x), 300, "ROL-11", "adresse"),
                phone=_bounded(seg.get(12, 1) or seg.get(12, 12), 30, "ROL-12", "téléphone"),
            )
        )
    return tuple(out)


# --- the entry points ----------------------------------------------------------------------------


def sane_separators(sep: str, enc: str) -> bool:
    """Separators a reply can reuse: five distinct punctuation characters."""
    chars = sep + enc[:4]
    return (
        len(sep) == 1
        and len(enc) >= 4
        and len(set(chars)) == 5
        and all(not c.isalnum() and not c.isspace() and c.isprintable() for c in chars)
    )


def sniff_header(text: str) -> Header:
    """Best-effort MSH of a message that may not parse (for the NACK and the archive). Never raises."""
    try:
        first = normalise(text).split("\r", 1)[0]
        if not first.startswith("MSH") or len(first) < 8:
            return Header()
        sep = first[3]
        parts = first.split(sep)
        enc = parts[1][:4] if len(parts) > 1 and len(parts[1]) >= 4 else "^~\\&"
        if not sane_separators(sep, enc):
            return Header()
        comp = enc[0]

        def f(n: int) -> str:
            return parts[n - 1].strip() if len(parts) >= n else ""

        def hd(n: int) -> str:
            return "^".join(x for x in f(n).split(comp)[:3] if x)

        msg_type = f(9).split(comp)
        return Header(
            field_sep=sep,
            encoding_chars=enc,
            sending_application=hd(3)[:180],
            sending_facility=hd(4)[:180],
            receiving_application=hd(5)[:180],
            receiving_facility=hd(6)[:180],
            message_code=msg_type[0].upper()[:10],
            event=(msg_type[1].upper() if len(msg_type) > 1 else "")[:10],
            control_id=f(10)[:199],
            processing_id=f(11)[:3] or "P",
            version=f(12).split(comp)[0][:20] or "2.5",
            charset=f(18)[:40],
        )
    except Exception:
        return Header()


def parse(text: str) -> AdtMessage:
    """Parse one ADT message; raise `HL7Error` (French message) on anything Liaison cannot apply.

    (`ingest.clinical.parse_message` reads every message type the listener accepts.)"""
    return map_adt(*tokenize(text))


def tokenize(text: str) -> tuple[Header, list[Segment]]:
    """Any HL7 v2 message → its header and its segments; raise `HL7Error` when unreadable."""
    text = normalise(text)
    if not text.startswith("MSH"):
        raise HL7Error("Message illisible : il doit commencer par un segment MSH.", "AR", "100", "MSH")
    if len(text) < 9 or not sane_separators(text[3], text[4:8]):
        raise HL7Error("Message illisible : séparateurs MSH-1/MSH-2 invalides.", "AR", "102", "MSH-1")
    try:
        sep, enc = text[3], text[4:8]
        # python-hl7 decodes the escape sequences; splitting is plain str.split (python-hl7's
        # parser builds its containers 5x slower, for the same tokens).
        escapes = hl7.Message(separator="\r", esc=enc[2], separators="\r" + sep + enc[1] + enc[0] + enc[3])
        segments = [_tokens(line, sep, enc, escapes) for line in text.split("\r")]
    except Exception as exc:  # python-hl7 raises several kinds on garbage
        raise HL7Error(
            f"Message illisible : découpage HL7 impossible ({type(exc).__name__}).", "AR", "100"
        ) from exc
    for seg in segments:
        if not re.fullmatch(r"[A-Z][A-Z0-9]{2}", seg.name):
            shown = seg.name[:20]
            raise HL7Error(
                f"Segment mal formé : « {shown} » n'est pas un nom de segment.", "AR", "100", shown
            )
    return _header(segments[0], sep, enc), segments


def check_header(header: Header) -> None:
    """MSH-10 and MSH-12 checks shared by every message type."""
    if not header.control_id:
        raise HL7Error("Champ obligatoire absent : MSH-10 (identifiant du message).", "AR", "101", "MSH-10")
    _bounded(header.control_id, 199, "MSH-10", "identifiant du message")
    _bounded(header.sending_application, 180, "MSH-3", "application émettrice")
    _bounded(header.sending_facility, 180, "MSH-4", "établissement émetteur")
    if not header.version.startswith("2."):
        raise HL7Error(
            f"Version HL7 non prise en charge : {header.version} (attendu 2.5).", "AR", "203", "MSH-12"
        )


def facility_ids_of(msh: Segment) -> list[str]:
    """FINESS candidates of MSH-6 then MSH-4."""
    return _hd_ids(msh, 6) + _hd_ids(msh, 4)


def map_adt(header: Header, segments: list[Segment]) -> AdtMessage:
    if not header.control_id:
        raise HL7Error("Champ obligatoire absent : MSH-10 (identifiant du message).", "AR", "101", "MSH-10")
    if not header.message_code:
        raise HL7Error("Champ obligatoire absent : MSH-9 (type de message).", "AR", "101", "MSH-9")
    if header.message_code != "ADT":
        raise HL7Error(
            f"Type de message non pris en charge : {header.message_code}^{header.event} "
            "(Liaison reçoit les messages ADT, ORU^R01, OMP^O09 et RDE^O11).",
            "AR",
            "200",
            "MSH-9",
        )
    if header.event not in EVENTS:
        known = ", ".join(EVENTS)
        raise HL7Error(
            f"Événement non pris en charge : ADT^{header.event or '?'} (pris en charge : {known}).",
            "AR",
            "201",
            "MSH-9",
        )
    check_header(header)
    by_name: dict[str, Segment] = {}
    for seg in segments:
        by_name.setdefault(seg.name, seg)
    pid = by_name.get("PID")
    if pid is None:
        raise HL7Error("Segment obligatoire absent : PID.", "AE", "100", "PID")
    patient = _patient(pid)
    visit = None
    if header.event in VISIT_EVENTS or (header.event == "A08" and "PV1" in by_name):
        pv1 = by_name.get("PV1")
        if pv1 is None:
            raise HL7Error("Segment obligatoire absent : PV1.", "AE", "100", "PV1")
        visit = _visit(pv1, by_name.get("PV2"), by_name.get("ZBE"), by_name.get("ZFM"), pid)
    prior: tuple[str, ...] = ()
    if header.event == "A40":
        mrg = by_name.get("MRG")
        if mrg is None:
            raise HL7Error("Segment obligatoire absent : MRG (patient absorbé).", "AE", "100", "MRG")
        ids = []
        for r in range(1, len(mrg.reps(1)) + 1):
            value, id_type = mrg.get(1, 1, rep=r), mrg.get(1, 5, rep=r).upper()
            if value and id_type in ("PI", "") and mrg.get(1, 4, 2, rep=r) not in INS_OIDS:
                ids.append(value)
        if not ids:
            raise _missing("MRG-1", "IPP du patient absorbé")
        prior = tuple(dict.fromkeys(ids))
    msh = segments[0]
    evn = by_name.get("EVN")
    facility_ids = facility_ids_of(msh)
    return AdtMessage(
        header=header,
        sent_at=ts_or_none(msh.get(7)),
        event_at=ts_or_none(evn.get(6)) or ts_or_none(evn.get(2)) if evn else None,
        patient=patient,
        visit=visit,
        roles=_roles(segments),
        prior_ipps=prior,
        facility_ids=tuple(facility_ids),
    )


def ts_or_none(value: str) -> dt.datetime | None:
    """A date of the header: an unreadable one is ignored rather than refused."""
    try:
        return parse_ts(value, "")
    except HL7Error:
        return None


# --- acknowledgements ---------------------------------------------------------------------------


def _escape(value: str, sep: str, enc: str) -> str:
    comp, rep, esc, sub = (enc + "^~\\&")[:4]
    out = value.replace(esc, f"{esc}E{esc}")
    for ch, code in ((sep, "F"), (comp, "S"), (rep, "R"), (sub, "T")):
        out = out.replace(ch, f"{esc}{code}{esc}")
    return ONE_LINE.sub(" ", out)


def build_ack(
    header: Header,
    code: str,
    text: str = "",
    error_code: str = "",
    location: str = "",
    ack_control_id: str = "",
    now: dt.datetime | None = None,
) -> str:
    """The ACK (original mode): MSH + MSA, and ERR for AE/AR, with the French reason."""
    sep, enc = header.field_sep, header.encoding_chars[:4]
    if not sane_separators(sep, enc):
        sep, enc = "|", "^~\\&"
    comp = enc[0]
    now = now or dt.datetime.now(PARIS)

    def e(value: str) -> str:
        return _escape(value, sep, enc)

    def hd(value: str) -> str:
        return comp.join(e(x) for x in value.split("^"))

    msg_type = comp.join(["ACK", e(header.event), "ACK"]) if header.event else "ACK"
    msh = [
        "MSH",
        enc,
        hd(header.receiving_application or "LIAISON"),
        hd(header.receiving_facility),
        hd(header.sending_application),
        hd(header.sending_facility),
        now.strftime("%Y%m%d%H%M%S"),
        "",
        msg_type,
        e(ack_control_id or f"ACK{now.strftime('%Y%m%d%H%M%S%f')}"),
        e(header.processing_id or "P"),
        "2.5",
    ]
    if header.charset:
        msh += ["", "", "", "", "", e(header.charset)]
    segments = [sep.join(msh), sep.join(["MSA", code, e(header.control_id), e(text[:500])])]
    if code != "AA":
        seg, _, fld = location.partition("-")
        location_er7 = comp.join([e(seg), "", e(fld)]) if seg and fld.isdigit() else ""
        err = [
            "ERR",
            "",
            location_er7,
            comp.join([error_code or "207", "", "HL70357"]),
            "E",
            "",
            "",
            "",
            e(text),
        ]
        segments.append(sep.join(err))
    return "\r".join(segments) + "\r"


def frame(message: str, encoding: str = "utf-8") -> bytes:
    """MLLP framing: <VT> message <FS><CR>."""
    return START_BLOCK + message.encode(encoding, "replace") + END_BLOCK
