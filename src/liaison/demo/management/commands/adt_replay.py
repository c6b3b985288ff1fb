"""`liaison adt-replay`: send a day of HL7 v2 ADT traffic to the MLLP listener, as a GAM would.

By default the day is synthetic and built from the establishment in the database (the demo's
units, physicians and médecins traitants), over the last 24 hours:

- admissions (A01) of new synthetic patients, drawn like the demo's (`demo.synthetic.identities`:
  test INS, OID 1.2.250.1.213.1.4.10, valid keys; most qualified, some provisional), each with
  an attending physician of its unit and, most of the time, a médecin traitant (ROL);
- transfers (A02) of some of them to another unit of the same sector;
- discharges (A03) of patients already in the hospital (stays without a discharge date), their
  identity sent back as it is stored, most announced first by a planned discharge (A16, PV2-9);
- planned discharges (A16) later today of other patients staying, one of them cancelled (A25);
- one identity update (A08) of a new patient (name used, phone);
- one message sent twice (same MSH-10: applied once, acknowledged twice);
- one malformed message (no PID segment), to show the refusal (NACK);
- the clinical traffic of each stay (`liaison.demo.synthetic.clinical`): after an admission, the
  treatment at entry (RDE^O11), prescriptions (OMP^O09) and laboratory results (ORU^R01);
  before a discharge, the stay's results, its discharge prescription (RDE^O11) and its coding
  (DG1/PR1/AL1 in an ADT^A08). A stay draws the same medicines here as in `demo-data`.

Each message waits for its ACK; one French line per message gives the ACK code and text, then
a summary. `--file F` replays a file instead (one message per block starting with MSH, MLLP
frames accepted). `--dry-run --out F` writes the generated messages to F (segments on one line
each, a blank line between messages) without sending them; `--seed` makes the day reproducible
for a given database. Replayed again on the same database, the day brings new patients and new
control ids (`RJ<date>S<seed>R2-…`): never an old MSH-10 with new content.

    liaison adt-replay                               # 127.0.0.1:2575, the port of `make run`
    liaison adt-replay --admissions 40 --seed 7 --port 2575
    liaison adt-replay --dry-run --out journee.hl7
    liaison adt-replay --file journee.hl7
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from liaison.cliutil import port, write_bytes
from liaison.core.identifiers import OID_INS_NIR_TEST, OID_RPPS
from liaison.demo.synthetic.clinical import stay_messages
from liaison.demo.synthetic.identities import People, SyntheticPatient, faker
from liaison.ingest import hl7v2
from liaison.ingest.mllp import MLLPClient
from liaison.ingest.models import InboundMessage
from liaison.letters.models import PARIS, Correspondent, Establishment, Patient, Practitioner, Stay, Unit

STATUS_CODES = {v: k for k, v in hl7v2.IDENTITY_STATUS.items()}
# A GAM's new patients: most identities qualified on admission, the others still provisional.
NEW_PATIENT_STATUSES = {"qualifiee": 85, "provisoire": 15}


@dataclass
class _Person:
    """What PID carries for one patient."""

    ipp: str
    family: str
    given: str
    given_names: str
    birth: dt.date
    sex: str
    status: str  # PID-32 code
    ins: str = ""
    ins_oid: str = OID_INS_NIR_TEST
    birth_cog: str = ""
    address: str = ""  # "street^^city^^zip" (HL7 XAD), empty: not sent
    phone: str = ""
    used_family: str = ""


@dataclass
class Planned:
    """One message of the day: when, what, and the HL7 text."""

    at: dt.datetime
    event: str
    control_id: str
    ipp: str
    visit: str
    text: str
    note: str = ""


def _ts(at: dt.datetime) -> str:
    return timezone.localtime(at, PARIS).strftime("%Y%m%d%H%M%S")


def _xcn(pr: Practitioner | Correspondent) -> str:
    title = (getattr(pr, "title", "") or "DR").upper()
    return (
        f"{pr.rpps}^{pr.family_name.upper()}^{pr.given_name}^^^{title}^^^"
        f"ASIP-SANTE-PS&{OID_RPPS}&ISO^L^^^RPPS"
    )


class _Builder:
    """PAM.fr messages of one establishment."""

    def __init__(self, est: Establishment):
        self.est = est
        self.facility = est.finess_eg
        self.assigner = f"CH&{est.ipp_oid or '1.2.250.1.999.1'}&ISO"

    def message(
        self,
        event: str,
        control_id: str,
        at: dt.datetime,
        person: _Person,
        *,
        visit: str = "",
        unit: Unit | None = None,
        admit_at: dt.datetime | None = None,
        discharge_at: dt.datetime | None = None,
        attending: Practitioner | None = None,
        gp: Correspondent | None = None,
        zfm: str = "",
        admission_type: str = "R",
        expected_discharge: dt.datetime | None = None,
    ) -> str:
        structure = {"A01": "ADT_A01", "A08": "ADT_A01"}.get(event, f"ADT_{event}")
        f = self.facility
        segs = [
            f"MSH|^~\\&|GAM|CH^{f}^M|LIAISON|CH^{f}^M|{_ts(at)}||ADT^{event}^{structure}|{control_id}|P|"
            f"2.5^FRA^2.11|||||FRA|UNICODE UTF-8|FR||2.11^IHE_FRANCE-2.11-PAM",
            f"EVN||{_ts(at)}||||{_ts(admit_at if event == 'A01' and admit_at else at)}",
        ]
        ids = f"{person.ipp}^^^{self.assigner}^PI"
        if person.ins:
            ids += f"~{person.ins}^^^ASIP-SANTE-INS-NIR&{person.ins_oid}&ISO^INS"
        names = f"{person.family}^{person.given}^{person.given_names}^^^^L"
        if person.used_family:
            names += f"~{person.used_family}^{person.given}^^^^^D"
        addresses = person.address + "^H" if person.address else ""
        if person.birth_cog:
            addresses += f"~^^^^^^BDL^^{person.birth_cog}"
        nda = f"{visit}^^^CH&{f}&M^AN" if visit else ""
        segs.append(
            f"PID|1||{ids}||{names}||{person.birth:%Y%m%d}|{person.sex}|||{addresses}||"
            f"{person.phone + '^PRN^PH' if person.phone else ''}|||||{nda}" + "|" * 12 + f"N||{person.status}"
        )
        if gp is not None:
            segs.append(f"ROL||UC|ODRP|{_xcn(gp)}")
        if event == "A08" and not visit:
            return "\r".join(segs)
        pv1 = [""] * 46
        pv1[:5] = ["PV1", "1", "I", f"{unit.code}^^^CH&{f}&M^O" if unit else "", admission_type]
        pv1[7] = _xcn(attending) if attending else ""
        pv1[19] = f"{visit}^^^CH&{f}&M^VN"
        pv1[44] = _ts(admit_at) if admit_at else ""
        pv1[45] = _ts(discharge_at) if discharge_at else ""
        segs.append("|".join(pv1))
        if expected_discharge is not None:  # PV2-9: the planned discharge (A16)
            segs.append("PV2" + "|" * 9 + _ts(expected_discharge))
        if unit is not None:
            movement = discharge_at or (at if event == "A02" else admit_at) or at
            segs.append(
                f"ZBE|MVT-{control_id}^GAM|{_ts(movement)}||INSERT|N||{unit.code}^^^^^CH&{f}&M^UF^^^{unit.code}||HMS"
            )
        if zfm:
            segs.append(f"ZFM|{zfm}")
        return "\r".join(segs)


def _new_person(p: SyntheticPatient, ipp: str) -> _Person:
    """PID of a new synthetic patient (`demo.synthetic.identities`)."""
    return _Person(
        ipp=ipp,
        family=p.family,
        given=p.given,
        given_names=p.given_names,
        birth=p.birth,
        sex=p.sex,
        status=STATUS_CODES[p.status],
        ins=p.nir,
        birth_cog=p.birth_cog,
        address=f"{p.street}^^{p.city.upper()}^^{p.postcode}",
        phone=p.phone,
    )


def _stored_person(p: Patient) -> _Person:
    """PID built from the stored identity, so that sending it changes nothing."""
    return _Person(
        ipp=p.ipp,
        family=p.birth_family_name,
        given=p.first_given_name,
        given_names=p.given_names or "",
        birth=p.birth_date,
        sex=p.sex if p.sex in ("M", "F") else "U",
        status=STATUS_CODES.get(p.identity_status, "PROV"),
        ins=p.ins_matricule or "",
        ins_oid=p.ins_oid or OID_INS_NIR_TEST,
        birth_cog=p.birth_place_cog or "",
    )


def _unused_prefix(base: str) -> str:
    """`base`, or `baseR2`, `baseR3`… when that day was already replayed on this database: a new
    day of traffic (the patients of the first one are taken) must not reuse its control ids, or
    the listener would take its admissions for copies of the first day's."""
    run = 1
    while True:
        prefix = base if run == 1 else f"{base}R{run}"
        if not InboundMessage.objects.filter(control_id__startswith=f"{prefix}-").exists():
            return prefix
        run += 1


def generate_day(
    seed: int, admissions: int = 24, discharges: int | None = None, now: dt.datetime | None = None
) -> list[Planned]:
    """A synthetic day of ADT traffic for the establishment in the database, in time order."""
    est = Establishment.objects.order_by("pk").first()
    if est is None:
        raise CommandError("Aucun établissement en base : lancez d'abord « liaison demo-data ».")
    units = [u for u in Unit.objects.filter(establishment=est).order_by("code") if u.sector != "CA"]
    units = units or list(Unit.objects.filter(establishment=est).order_by("code"))
    if not units:
        raise CommandError("L'établissement n'a aucune unité fonctionnelle.")
    doctors: dict[int, list[Practitioner]] = {u.pk: [] for u in units}
    for pr in Practitioner.objects.filter(establishment=est, profession="medecin").prefetch_related("units"):
        for u in pr.units.all():
            if u.pk in doctors:
                doctors[u.pk].append(pr)
    anyone = list(Practitioner.objects.filter(establishment=est, profession="medecin").order_by("rpps"))
    gps = list(Correspondent.objects.filter(kind=Correspondent.Kind.PERSON).exclude(rpps="").order_by("rpps"))
    rng = random.Random(seed)
    people = People(rng, faker(seed))
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    start = now - dt.timedelta(hours=23)
    builder = _Builder(est)
    day = f"{timezone.localtime(now, PARIS):%y%m%d}"
    taken_ipp = set(Patient.objects.filter(establishment=est).values_list("ipp", flat=True))
    taken_nda = set(Stay.objects.filter(establishment=est).values_list("visit_number", flat=True))
    plan: list[Planned] = []
    counter = iter(range(1, 10**6))

    def control_id() -> str:  # a placeholder, numbered in time order at the end
        return f"@{next(counter)}@"

    def moment(after: dt.datetime, before: dt.datetime) -> dt.datetime:
        span = max(int((before - after).total_seconds() // 60), 1)
        return after + dt.timedelta(minutes=rng.randrange(span))

    def new_id(taken: set[str], prefix: str) -> str:
        while True:
            value = f"{prefix}{rng.randrange(10**6):06d}"
            if value not in taken:
                taken.add(value)
                return value

    admitted: list[tuple[_Person, str, Unit, dt.datetime]] = []
    for _ in range(admissions):
        unit = rng.choice(units)
        sex = "F" if unit.is_obstetric else rng.choice("MF")
        ages = (20, 42) if unit.is_obstetric else (18, 95)
        synthetic = people.patient(sex, *ages, statuses=NEW_PATIENT_STATUSES)
        person = _new_person(synthetic, new_id(taken_ipp, "7"))
        at = moment(start, now - dt.timedelta(hours=2))
        visit = new_id(taken_nda, day[:2] + "8")
        emergency = rng.random() < 0.4
        cid = control_id()
        staff = doctors[unit.pk] or anyone
        text = builder.message(
            "A01",
            cid,
            at,
            person,
            visit=visit,
            unit=unit,
            admit_at=at,
            attending=rng.choice(staff) if staff else None,
            gp=rng.choice(gps) if gps and rng.random() < 0.9 else None,
            zfm="8||5" if emergency else "8",
            admission_type="U" if emergency else "R",
        )
        plan.append(Planned(at, "A01", cid, person.ipp, visit, text, unit.name))
        admitted.append((person, visit, unit, at))
        # The laboratory and the pharmacy follow: treatment at entry, orders, results.
        for m in stay_messages(
            random.Random(visit),
            ipp=person.ipp,
            nda=visit,
            facility=builder.facility,
            admit_at=at,
            end_at=now,
            discharged=False,
            control=control_id(),
        ):
            plan.append(
                Planned(
                    max(m.at, at + dt.timedelta(minutes=1)),
                    m.kind,
                    m.control_id,
                    person.ipp,
                    visit,
                    m.text,
                    "dossier clinique",
                )
            )
    # Transfers: a third of the new patients, to another unit of the same sector.
    for person, visit, unit, admit_at in rng.sample(admitted, k=len(admitted) // 3):
        others = [u for u in units if u.sector == unit.sector and u.pk != unit.pk and not u.is_obstetric]
        if not others:
            continue
        target = rng.choice(others)
        at = moment(admit_at + dt.timedelta(minutes=30), now - dt.timedelta(minutes=30))
        cid = control_id()
        text = builder.message("A02", cid, at, person, visit=visit, unit=target, admit_at=admit_at)
        plan.append(Planned(at, "A02", cid, person.ipp, visit, text, f"vers {target.name}"))
    # Discharges of patients already in the hospital.
    in_house = list(
        Stay.objects.filter(establishment=est, discharge_at__isnull=True, cancelled=False)
        .select_related("patient", "unit")
        .order_by("visit_number")
    )
    count = len(in_house) if discharges is None else min(discharges, len(in_house))
    count = min(count, max(admissions // 2, 1)) if discharges is None else count
    # A quarter of the patients staying announce their discharge (A16) instead of leaving.
    ready = [s for s in in_house if s.admission_at < now - dt.timedelta(hours=1)]
    announced = rng.sample(ready, k=min(len(ready), max(len(in_house) // 4, 1)))
    rest = [s for s in in_house if s not in announced]
    leaving = rng.sample(rest, k=min(count, len(rest)))

    def pending(
        event: str, stay: Stay, at: dt.datetime, note: str, planned: dt.datetime | None = None
    ) -> None:
        """A16: the ward announces the discharge (PV2-9, planned mode « domicile » in ZFM-2);
        A25: it is cancelled."""
        cid = control_id()
        text = builder.message(
            event,
            cid,
            at,
            _stored_person(stay.patient),
            visit=stay.visit_number,
            unit=stay.unit,
            admit_at=stay.admission_at,
            zfm="|8" if planned else "",
            expected_discharge=planned,
        )
        plan.append(Planned(at, event, cid, stay.patient.ipp, stay.visit_number, text, note))

    # Planned discharges (A16) of patients staying: later today; one is then cancelled (A25).
    for stay in announced:
        at = moment(max(start, stay.admission_at + dt.timedelta(minutes=30)), now - dt.timedelta(minutes=20))
        planned = (now + dt.timedelta(hours=rng.randrange(1, 6))).replace(minute=0, second=0, microsecond=0)
        pending("A16", stay, at, "sortie prévue", planned)
    if announced:
        at = now - dt.timedelta(minutes=rng.randrange(1, 15))
        pending("A25", announced[0], at, "sortie prévue annulée")
    for stay in leaving:
        earliest = max(start, stay.admission_at + dt.timedelta(hours=1))
        if earliest >= now:
            continue
        at = moment(earliest, now - dt.timedelta(minutes=5))
        if at - earliest > dt.timedelta(minutes=30):  # announced first (A16), as most wards do
            pending("A16", stay, moment(earliest, at - dt.timedelta(minutes=20)), "sortie prévue", at)
        cid = control_id()
        person = _stored_person(stay.patient)
        exit_zfm = rng.choices(["|8", "|6|1|2", "|6|1|7"], weights=[85, 10, 5])[0]
        text = builder.message(
            "A03",
            cid,
            at,
            person,
            visit=stay.visit_number,
            unit=stay.unit,
            admit_at=stay.admission_at,
            discharge_at=at,
            zfm=exit_zfm,
        )
        plan.append(Planned(at, "A03", cid, person.ipp, stay.visit_number, text, "sortie"))
        # Before the A03: the stay's record up to discharge, its discharge prescription and its
        # coding (DG1/PR1/AL1 in an A08). Same generator as `demo-data` for this stay.
        for m in stay_messages(
            random.Random(stay.visit_number),
            ipp=person.ipp,
            nda=stay.visit_number,
            facility=builder.facility,
            admit_at=stay.admission_at,
            end_at=at,
            discharged=True,
            control=control_id(),
        ):
            when = min(max(m.at, start), at - dt.timedelta(seconds=30))
            text = m.text or "\r".join(
                [
                    builder.message(
                        "A08",
                        m.control_id,
                        when,
                        person,
                        visit=stay.visit_number,
                        unit=stay.unit,
                        admit_at=stay.admission_at,
                    ),
                    *m.segments,
                ]
            )
            plan.append(
                Planned(when, m.kind, m.control_id, person.ipp, stay.visit_number, text, "dossier clinique")
            )
    # One identity update: a married name and a new phone for one new patient.
    if admitted:
        person, visit, unit, admit_at = rng.choice(admitted)
        updated = _Person(
            **{**person.__dict__, "used_family": people.family_name().upper(), "phone": "0611223344"}
        )
        at = moment(admit_at + dt.timedelta(minutes=10), now - dt.timedelta(minutes=10))
        cid = control_id()
        text = builder.message("A08", cid, at, updated, visit=visit, unit=unit, admit_at=admit_at)
        plan.append(Planned(at, "A08", cid, person.ipp, visit, text, "nom d'usage, téléphone"))
    # A malformed message: an admission without its PID segment.
    if admitted:
        at = moment(start, now)
        cid = control_id()
        person, visit, unit, _ = admitted[0]
        full = builder.message("A01", cid, at, person, visit="X" + visit, unit=unit, admit_at=at)
        text = "\r".join(seg for seg in full.split("\r") if not seg.startswith("PID"))
        plan.append(Planned(at, "A01", cid, "", "", text, "message mal formé (sans PID)"))
    plan.sort(key=lambda p: p.at)
    prefix = _unused_prefix(f"RJ{day}S{seed}")
    for n, p in enumerate(plan, start=1):
        real = f"{prefix}-{n:04d}"
        p.text = p.text.replace(f"|{p.control_id}|", f"|{real}|").replace(
            f"MVT-{p.control_id}^", f"MVT-{real}^"
        )
        p.control_id = real
    # The same message twice (a GAM that did not get the ACK in time sends it again).
    first = next((p for p in plan if p.event == "A01" and p.ipp), None)
    if first is not None:
        i = plan.index(first)
        plan.insert(
            i + 1, Planned(first.at, "A01", first.control_id, first.ipp, first.visit, first.text, "renvoi")
        )
    return plan


def read_file(path: Path) -> list[Planned]:
    messages = hl7v2.split_batch(hl7v2.decode(path.read_bytes()))
    out = []
    for text in messages:
        header = hl7v2.sniff_header(text)
        out.append(Planned(timezone.now(), header.event or "?", header.control_id, "", "", text))
    return out


def ack_parts(ack: str) -> tuple[str, str]:
    """(MSA-1 code, text) of an ACK: the ERR-8 user message, else MSA-3."""
    code, text = "?", ""
    for seg in ack.replace("\n", "\r").split("\r"):
        fields = seg.split("|")
        if fields[0] == "MSA":
            code = fields[1] if len(fields) > 1 else "?"
            text = text or (fields[3] if len(fields) > 3 else "")
        elif fields[0] == "ERR" and len(fields) > 8 and fields[8]:
            text = fields[8]
    return code, hl7v2_unescape(text)


def hl7v2_unescape(text: str) -> str:
    return (
        text.replace("\\F\\", "|")
        .replace("\\S\\", "^")
        .replace("\\T\\", "&")
        .replace("\\R\\", "~")
        .replace("\\E\\", "\\")
    )


class Command(BaseCommand):
    help = (
        "Envoie une journée de messages ADT (synthétique, ou un fichier) à l'écoute MLLP et affiche les ACK."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="adresse de l'écoute MLLP (127.0.0.1)")
        parser.add_argument("--port", type=port, default=2575, help="port de l'écoute MLLP (2575)")
        parser.add_argument("--file", help="rejouer ce fichier de messages au lieu d'une journée synthétique")
        parser.add_argument("--seed", type=int, default=1, help="graine de la journée synthétique (1)")
        parser.add_argument("--admissions", type=int, default=24, help="admissions de nouveaux patients (24)")
        parser.add_argument(
            "--discharges",
            type=int,
            default=None,
            help="sorties de patients présents (par défaut : la moitié des admissions)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="écrire les messages sans les envoyer (avec --out)"
        )
        parser.add_argument("--out", help="fichier où écrire les messages (--dry-run)")
        parser.add_argument(
            "--timeout", type=float, default=30.0, help="attente maximale d'un ACK, en secondes (30)"
        )

    def handle(self, *args, **opts) -> None:
        if opts["file"]:
            path = Path(opts["file"])
            if not path.is_file():
                raise CommandError(f"Fichier introuvable : {path}")
            plan = read_file(path)
        else:
            plan = generate_day(opts["seed"], opts["admissions"], opts["discharges"])
        if opts["dry_run"]:
            if not opts["out"]:
                raise CommandError("--dry-run demande --out FICHIER.")
            text = "\n\n".join(p.text.replace("\r", "\n") for p in plan) + "\n"
            write_bytes(Path(opts["out"]), text.encode("utf-8"))
            self.stdout.write(f"{len(plan)} message(s) écrit(s) dans {opts['out']} (rien n'a été envoyé).")
            return
        try:
            client = MLLPClient(opts["host"], opts["port"], timeout=opts["timeout"])
        except OSError as exc:
            raise CommandError(
                f"Connexion impossible à l'écoute MLLP {opts['host']}:{opts['port']} "
                f"({exc.strerror or exc}) : lancez « liaison mllp » ou « make run »."
            ) from exc
        codes: Counter[str] = Counter()
        duplicates = 0
        started = time.perf_counter()
        with client:
            for i, p in enumerate(plan, start=1):
                try:
                    ack = client.send(p.text)
                except (OSError, ConnectionError) as exc:
                    raise CommandError(f"Message {i} ({p.control_id}) : pas d'ACK ({exc}).") from exc
                code, text = ack_parts(ack)
                codes[code] += 1
                duplicates += "déjà reçu" in text
                when = timezone.localtime(p.at, PARIS).strftime("%d/%m %H:%M")
                who = f" IPP {p.ipp}" if p.ipp else ""
                where = f" séjour {p.visit}" if p.visit else ""
                note = f" ({p.note})" if p.note else ""
                self.stdout.write(
                    f"{i:3d}. {when} {p.event if '^' in p.event else 'ADT^' + p.event} {p.control_id}"
                    f"{who}{where}{note} → {code} : {text}"
                )
        elapsed = time.perf_counter() - started
        refused = codes["AE"] + codes["AR"]
        self.stdout.write(
            f"{len(plan)} message(s) envoyé(s) en {elapsed:.1f} s : {codes['AA']} acquitté(s) AA"
            f" (dont {duplicates} doublon(s) ignoré(s)), {refused} refusé(s)"
            f" ({codes['AE']} AE, {codes['AR']} AR)."
        )
