"""Apply ADT messages to the database: one transaction per message, all or nothing.

`process(data, source, peer)` is the one entry point of the MLLP listener and of the batch
import: it decodes and parses the message, applies it, keeps the raw message with its outcome
(`InboundMessage`) and returns the ACK to send back.

- The patient row is locked (`SELECT … FOR UPDATE`) for the whole transaction, so messages for
  one patient are applied one after the other, in the order they arrive, whatever the number
  of connections.
- A message already applied (same sending facility and MSH-10) is acknowledged again and has
  no second effect; the partial unique index on `InboundMessage` settles a race between two
  copies.
- Any refusal (`HL7Error`) or failure rolls the whole message back; the raw message is then
  kept with the outcome "refused" and the French reason sent in the NACK.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from liaison import rowsql
from liaison.ingest import apply_clinical, hl7v2
from liaison.ingest.clinical import ClinicalMessage, parse_message
from liaison.ingest.hl7v2 import AdtMessage, HL7Error, PatientData, Person, VisitData
from liaison.ingest.models import InboundMessage
from liaison.letters import audit, medecin_traitant
from liaison.letters.lifecycle import open_letter, refresh_from_stay
from liaison.letters.models import (
    PARIS,
    AuditEvent,
    Correspondent,
    Establishment,
    Letter,
    Patient,
    Practitioner,
    Stay,
    Unit,
)
from liaison.letters.prefill import correspondent_snapshot, initial_content
from liaison.letters.reconcile import reconcile

logger = logging.getLogger(__name__)

ADMISSIONS = {"A01", "A04", "A05"}
# What building the letter reads from a stay, fetched with it.
STAY_RELATED = ("unit", "adresseur", "receiving_structure", "responsible_physician")
IDENTITY_ONLY = {"A08", "A31", "A28"}
# Events after which a signed letter is compared with the GAM's discharge (`letters.reconcile`).
RECONCILED = {"A03", "A13", "A16", "A25"}
# Events that change the planned discharge: a draft takes the GAM's plan, to be confirmed again.
REPLANS = {"A16", "A25"}


@dataclass(frozen=True)
class Outcome:
    """What happened to one message, and the acknowledgement to send back."""

    ack: str
    code: str  # AA, AE, AR
    outcome: str  # InboundMessage.Outcome
    reason: str
    message_id: int | None = None
    charset: str = ""

    @property
    def encoding(self) -> str:
        return hl7v2.python_encoding(self.charset)


# --- entry point --------------------------------------------------------------------------------


def process(data: bytes | str, source: str = InboundMessage.Source.MLLP, peer: str = "") -> Outcome:
    """Decode, parse, apply and archive one message; never raises, always returns an ACK."""
    received_at = timezone.now()
    text = hl7v2.decode(data) if isinstance(data, bytes) else data
    try:
        msg = parse_message(text)
    except HL7Error as exc:  # the NACK answers what can be read of the MSH
        return _refuse(text, hl7v2.sniff_header(text), exc, received_at, source, peer)
    except Exception as exc:  # a parser defect must still be answered
        logger.exception("HL7 parser failure")
        err = HL7Error(f"Message illisible ({type(exc).__name__}).", "AR", "100")
        return _refuse(text, hl7v2.sniff_header(text), err, received_at, source, peer)
    header = msg.header
    base = _row_fields(text, header, received_at, source, peer)
    if isinstance(msg, ClinicalMessage):
        base.update(patient_ipp=msg.ipp[:30], visit_number=msg.visit_number[:30])
    else:
        base.update(
            patient_ipp=msg.patient.ipp[:30], visit_number=(msg.visit.visit_number if msg.visit else "")[:30]
        )
    try:
        # The accepted row goes first: a copy already applied fails here, on the unique index.
        with transaction.atomic():
            row = InboundMessage(
                **base, outcome=InboundMessage.Outcome.ACCEPTED, ack_code="AA", applied_at=timezone.now()
            )
            rowsql.insert([row])
            note = apply_message(msg, source=row)
            if note:
                row.reason = note
                rowsql.update(row, ["reason"])
    except HL7Error as exc:
        return _refuse(text, header, exc, received_at, source, peer, base)
    except IntegrityError:
        if _already_applied(header):
            return _duplicate(base, header)
        logger.exception("integrity error on %s", header.control_id)
        err = HL7Error(
            "Le message contredit des données déjà enregistrées (contrainte d'intégrité) : "
            "rien n'a été appliqué ; message rejeté, ne le renvoyez pas tel quel.",
            "AR",
            "207",
        )
        return _refuse(text, header, err, received_at, source, peer, base)
    except (OperationalError, InterfaceError) as exc:
        # The only retryable refusal: the database is down, unreachable or locked; the same
        # message will apply once it is back.
        logger.exception("database unavailable on %s", header.control_id)
        err = HL7Error(
            f"Base de données indisponible ou verrouillée ({type(exc).__name__}) : "
            "rien n'a été appliqué, renvoyez le message.",
            "AE",
            "206",
        )
        return _refuse(text, header, err, received_at, source, peer, base)
    except DatabaseError as exc:
        # DataError and its kin: a value the database refuses. Sending the same bytes again
        # would fail the same way and block the sender's ordered queue.
        logger.exception("database refused %s", header.control_id)
        err = HL7Error(
            f"Donnée refusée par la base ({type(exc).__name__} : {_first_line(exc)}) : rien n'a été "
            "appliqué ; message rejeté, ne le renvoyez pas tel quel.",
            "AR",
            "207",
        )
        return _refuse(text, header, err, received_at, source, peer, base)
    except Exception as exc:
        logger.exception("failure applying %s", header.control_id)
        err = HL7Error(
            f"Erreur interne de Liaison ({type(exc).__name__}) : rien n'a été appliqué ; message "
            "rejeté et conservé, signalez-le à l'administrateur de Liaison.",
            "AR",
            "207",
        )
        return _refuse(text, header, err, received_at, source, peer, base)
    return _answer(header, "AA", InboundMessage.Outcome.ACCEPTED, note, row.pk, note or "Message intégré.")


def refuse_oversize(
    head: bytes, size: int, limit: int, source: str, peer: str = "", complete: bool = True
) -> Outcome:
    """A message larger than `limit` bytes: archived (its first bytes and its size), then rejected.
    `complete` is False when the sender was cut off before the end of the frame."""
    text = hl7v2.decode(head)
    more = "" if complete else "au moins "
    err = HL7Error(
        f"Message trop volumineux : {more}{size} octets reçus, {limit} au plus. Liaison en conserve "
        f"les {len(head)} premiers octets ; message rejeté, ne le renvoyez pas tel quel.",
        "AR",
        "100",
    )
    return _refuse(text, hl7v2.sniff_header(text), err, timezone.now(), source, peer)


def _answer(
    header: hl7v2.Header,
    code: str,
    outcome: str,
    reason: str,
    row_id: int | None,
    ack_text: str = "",
    **ack_error: str,
) -> Outcome:
    """The outcome and its ACK, which names the archived row (`L<id>`) when there is one."""
    ack = hl7v2.build_ack(
        header, code, ack_text or reason, ack_control_id=f"L{row_id}" if row_id else "", **ack_error
    )
    return Outcome(ack, code, outcome, reason, row_id, header.charset)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().split("\n", 1)[0][:200]


def _no_nul(value: str) -> str:
    """PostgreSQL text holds no NUL: the archive shows U+FFFD in its place."""
    return value.replace("\x00", "\ufffd")


def _row_fields(
    text: str, header: hl7v2.Header, received_at: dt.datetime, source: str, peer: str
) -> dict[str, Any]:
    return dict(
        received_at=received_at,
        source=source,
        peer=peer[:100],
        raw=_no_nul(text),
        sending_application=_no_nul(header.sending_application[:180]),
        sending_facility=_no_nul(header.sending_facility[:180]),
        control_id=_no_nul(header.control_id[:199]),
        message_type=_no_nul(header.message_code[:10]),
        event=_no_nul(header.event[:10]),
    )


def _already_applied(header: hl7v2.Header) -> InboundMessage | None:
    return (
        InboundMessage.objects.filter(
            sending_facility=header.sending_facility[:180],
            control_id=header.control_id[:199],
            outcome=InboundMessage.Outcome.ACCEPTED,
        )
        .only("id", "applied_at")
        .first()
    )


def _duplicate(base: dict[str, Any], header: hl7v2.Header) -> Outcome:
    first = _already_applied(header)
    when = timezone.localtime(first.applied_at, PARIS).strftime("%d/%m/%Y %H:%M:%S") if first else "?"
    reason = f"Message déjà reçu et intégré le {when} : ignoré (aucun nouvel effet)."
    row = InboundMessage.objects.create(
        **base, outcome=InboundMessage.Outcome.DUPLICATE, ack_code="AA", reason=reason
    )
    return _answer(header, "AA", InboundMessage.Outcome.DUPLICATE, reason, row.pk)


def _refuse(
    text: str,
    header: hl7v2.Header,
    exc: HL7Error,
    received_at: dt.datetime,
    source: str,
    peer: str,
    base: dict[str, Any] | None = None,
) -> Outcome:
    reason = str(exc)
    code = exc.ack_code if exc.ack_code in ("AE", "AR") else "AE"
    row_id = None
    try:
        fields = base or _row_fields(text, header, received_at, source, peer)
        row = InboundMessage.objects.create(
            **fields, outcome=InboundMessage.Outcome.REFUSED, ack_code=code, reason=reason
        )
        row_id = row.pk
    except Exception:  # the archive must not stop the answer
        logger.exception("could not archive refused message %s", header.control_id)
    return _answer(
        header,
        code,
        InboundMessage.Outcome.REFUSED,
        reason,
        row_id,
        error_code=exc.error_code,
        location=exc.location,
    )


# --- reference data, cached per process --------------------------------------------------------

CACHE_SECONDS = 30.0
_cache: dict[tuple[Any, ...], tuple[float, Any]] = {}


def _cached(key: tuple[Any, ...], load: Callable[[], Any]) -> Any:
    """Establishments, units and physicians change rarely: keep what was found for 30 s.

    Only found objects are kept, so a unit created after a NACK is seen at the next message.
    """
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = load()
    if value is not None:
        _cache[key] = (now, value)
    return value


def clear_caches() -> None:
    _cache.clear()


# --- applying one parsed message (inside the caller's transaction) --------------------------------


class _Context:
    """One message being applied: its establishment, and the audit rows written at the end."""

    def __init__(self, msg: AdtMessage, est: Establishment):
        self.msg = msg
        self.est = est
        self.why = f"message {msg.header.message_code}^{msg.event} {msg.control_id}"[:200]
        self.traces: list[AuditEvent] = []
        self.gp_changed = False  # the patient's médecin traitant changed (ROL)

    def audit(self, action: str, obj: Patient | Stay | Letter, why: str = "", **details: Any) -> None:
        """The row `letters.audit.record` writes for the system user, inserted with the others."""
        self.traces.append(audit.event(None, action, obj, why or self.why, details))

    def flush(self) -> None:
        rowsql.insert(self.traces)
        self.traces.clear()


def apply_message(msg: AdtMessage | ClinicalMessage, source: InboundMessage | None = None) -> str:
    """Apply one message; return a note for the ACK ('' when nothing to say). Raises HL7Error.

    `source` is the archived row of the message, named by the clinical facts it writes."""
    if isinstance(msg, ClinicalMessage):
        est = _establishment(msg)
        traces: list[AuditEvent] = []
        why = f"message {msg.kind} {msg.control_id}"[:200]

        def trace(action: str, obj: Stay, why: str = why, **details: Any) -> None:
            traces.append(audit.event(None, action, obj, why, details))

        note = apply_clinical.apply_message(msg, est, source, trace)
        rowsql.insert(traces)
        return note
    ctx = _Context(msg, _establishment(msg))
    note = _apply(ctx)
    if msg.clinical is not None:
        _record_coded(ctx, source)
    ctx.flush()
    return note


def _record_coded(ctx: _Context, source: InboundMessage | None) -> None:
    """DG1/PR1/AL1 of an ADT message: written into the record of the stay it names."""
    msg = ctx.msg
    assert msg.clinical is not None
    if msg.visit is None:
        raise HL7Error(
            "Segment obligatoire absent : PV1 (diagnostics, actes ou allergies sans séjour).",
            "AE",
            "100",
            "PV1",
        )
    stay = apply_clinical.locked_stay(ctx.est, msg.visit.visit_number, msg.patient.ipp)
    kind = f"ADT^{msg.event}"
    origin = apply_clinical.Source(source, kind, msg.event_at or msg.sent_at, msg.header.sending_application)
    apply_clinical.record_facts(stay, msg.clinical, origin, ctx.audit)


def _apply(ctx: _Context) -> str:
    msg, est, event = ctx.msg, ctx.est, ctx.msg.event
    if event == "A40":
        return _merge(ctx)
    patient, identity_changed, created = _upsert_patient(ctx, msg.patient, msg.roles)
    if not created:
        identity_changed |= _apply_patient_roles(ctx, patient, msg.roles)
    # A patient created by this message has no other stay: no other draft to refresh.
    identity_changed = identity_changed and not created
    if event in IDENTITY_ONLY and msg.visit is None:
        if identity_changed:
            _refresh_drafts(ctx, patient)
        _flag_signed_letters(ctx, patient)
        return ""
    visit = msg.visit
    assert visit is not None
    if event == "A08":
        stay = _find_stay(est, visit, patient, required=False)
        synced = stay is not None and bool(_update_visit_details(ctx, stay, visit))
        if synced:
            _sync_letter(ctx, stay, open_new=False)
        if identity_changed:
            _refresh_drafts(ctx, patient, exclude=stay.pk if synced else None)
        _flag_signed_letters(ctx, patient)
        return ""
    if event in ADMISSIONS:
        stay, stay_created = _admit(ctx, patient, visit)
        _sync_letter(ctx, stay, open_new=event != "A05", new_stay=stay_created)
    else:
        stay = _find_stay(est, visit, patient, required=True)
        assert stay is not None
        if event in ("A02", "A12"):
            _transfer(ctx, stay, visit)
        elif event == "A03":
            _discharge(ctx, stay, visit)
        elif event == "A13":
            _cancel_discharge(ctx, stay)
        elif event == "A16":
            _pending_discharge(ctx, stay, visit)
        elif event == "A25":
            _cancel_pending_discharge(ctx, stay)
        elif event in ("A11", "A38"):
            _cancel_admission(ctx, stay)
        if event not in ("A11", "A38"):
            _sync_letter(ctx, stay, open_new=True, replan=event in REPLANS)
        if event in RECONCILED:
            reconcile(stay, event, ctx.traces.append, f"rapprochement avec la sortie ({ctx.why})"[:200])
    if identity_changed:
        _refresh_drafts(ctx, patient, exclude=stay.pk)
    _flag_signed_letters(ctx, patient)
    return ""


def _establishment(msg: AdtMessage | ClinicalMessage) -> Establishment:
    candidates = msg.facility_candidates()
    return _cached(("establishment", candidates), lambda: _find_establishment(candidates)) or _unknown_est(
        candidates
    )


def _find_establishment(candidates: tuple[str, ...]) -> Establishment | None:
    if candidates:
        by_eg = {e.finess_eg: e for e in Establishment.objects.filter(finess_eg__in=candidates)}
        for c in candidates:
            if c in by_eg:
                return by_eg[c]
        by_ej = list(Establishment.objects.filter(finess_ej__in=candidates)[:2])
        if len(by_ej) == 1:
            return by_ej[0]
    only = list(Establishment.objects.all()[:2])
    return only[0] if len(only) == 1 else None


def _unknown_est(candidates: tuple[str, ...]) -> Establishment:
    raise HL7Error(
        "Établissement destinataire inconnu : indiquez son FINESS géographique en MSH-6 "
        "ou en PV1-3.4 (" + (", ".join(candidates) or "aucun FINESS reçu") + ").",
        "AE",
        "204",
        "MSH-6",
    )


# --- patients -------------------------------------------------------------------------------------


def _locked_patient(est: Establishment, ipp: str) -> Patient | None:
    p = rowsql.fetch(
        Patient,
        "t.establishment_id = %s AND t.ipp = %s",
        [est.pk, ipp],
        related=("medecin_traitant",),
        lock=True,
    )
    if p is not None:
        p.establishment = est  # same row: saves a query when the letter is built
    return p


def _identity_changes(p: Patient, d: PatientData) -> list[str]:
    """Copy the message's identity traits onto `p`; return the fields that changed."""
    values: dict[str, Any] = {
        "birth_family_name": d.birth_family_name,
        "first_given_name": d.first_given_name,
        "birth_date": d.birth_date,
        "sex": d.sex,
        # PID-3 is the complete list of identifiers: no INS there means no INS.
        "ins_matricule": d.ins_matricule,
        "ins_oid": d.ins_oid or "",
    }
    optional = {
        "used_family_name": d.used_family_name,
        "given_names": d.given_names,
        "used_given_name": d.used_given_name,
        "birth_place_cog": d.birth_place_cog,
        "address": d.address,
        "phone": d.phone,
        "identity_status": d.identity_status,
    }
    values.update({k: v for k, v in optional.items() if v is not None})
    if values.get("identity_status") == "":
        values["identity_status"] = "provisoire"
    changed = []
    for name, value in values.items():
        if getattr(p, name) != value:
            setattr(p, name, value)
            changed.append(name)
    if p.identity_status in ("qualifiee", "recuperee") and not p.ins_matricule:
        raise HL7Error(
            "L'identité du patient est qualifiée ou récupérée mais le message ne porte plus d'INS "
            "(PID-3) : précisez le statut de l'identité (PID-32).",
            "AE",
            "101",
            "PID-32",
        )
    return changed


def _upsert_patient(
    ctx: _Context, d: PatientData, roles: tuple[hl7v2.Role, ...] = ()
) -> tuple[Patient, bool, bool]:
    """The locked patient, created or updated from PID; whether its identity changed; whether
    it was created. A new patient gets its médecin traitant (`roles`) in the same INSERT; for an
    existing one the caller applies the roles."""
    est = ctx.est
    p = _locked_patient(est, d.ipp)
    if p is None:
        p = Patient(establishment=est, ipp=d.ipp)
        _identity_changes(p, d)
        _apply_patient_roles(ctx, p, roles)
        if rowsql.insert([p], skip_conflicting=True):
            ctx.audit("create", p)
            return p, True, True
        # Created meanwhile by another connection: lock it and update it.
        p = _locked_patient(est, d.ipp)
        if p is None:
            raise HL7Error(
                f"Patient IPP {d.ipp} introuvable après un conflit d'écriture : renvoyez le message.",
                "AE",
                "206",
            )
    if p.merged_into_id:
        survivor = Patient.objects.filter(pk=p.merged_into_id).values_list("ipp", flat=True).first()
        raise HL7Error(
            f"L'IPP {d.ipp} a été fusionné dans l'IPP {survivor} : utilisez l'identifiant conservé.",
            "AE",
            "204",
            "PID-3",
        )
    changed = _identity_changes(p, d)
    if changed:
        rowsql.update(p, changed)
        ctx.audit("update", p, champs=changed)
    return p, bool(changed), False


def _same_person(corr: Correspondent | None, person: Person) -> bool:
    if corr is None:
        return False
    if person.rpps:
        return corr.rpps == person.rpps
    return (
        not corr.rpps
        and corr.family_name.lower() == person.family_name.lower()
        and corr.given_name.lower() == person.given_name.lower()
    )


def _correspondent(person: Person, address: str = "", phone: str = "") -> Correspondent:
    rpps = person.rpps
    family, given = person.family_name, person.given_name
    qs = Correspondent.objects.filter(kind=Correspondent.Kind.PERSON)
    found = (
        rowsql.fetch(Correspondent, "t.kind = %s AND t.rpps = %s", [Correspondent.Kind.PERSON, rpps])
        if rpps
        else qs.filter(rpps="", family_name__iexact=family, given_name__iexact=given).first()
    )
    if found is not None:
        return found
    title = person.title.strip()
    if title.upper() in ("DR", "DR.", "DOCTEUR"):
        title = "Dr"
    created = Correspondent(
        kind=Correspondent.Kind.PERSON,
        rpps=rpps or "",
        title=title,
        family_name=family,
        given_name=given,
        address=address,
        phone=phone,
    )
    rowsql.insert([created])
    return created


def _apply_patient_roles(ctx: _Context, patient: Patient, roles: tuple[hl7v2.Role, ...]) -> bool:
    """Médecin traitant from ROL (ODRP/FHCP/PP); return whether it changed.

    A patient not saved yet is only given its médecin traitant (its INSERT follows)."""
    changed = False
    saved = patient.pk is not None
    for role in roles:
        if role.role not in hl7v2.MEDECIN_TRAITANT_ROLES:
            continue
        current = patient.medecin_traitant if patient.medecin_traitant_id else None
        if role.action == "DE":
            if current is not None and (not role.person.rpps or _same_person(current, role.person)):
                patient.medecin_traitant = None
                if saved:
                    rowsql.update(patient, ["medecin_traitant"])
                    ctx.audit("update", patient, champs=["medecin_traitant"])
                    ctx.gp_changed = True
                changed = True
            continue
        if _same_person(current, role.person):
            continue
        patient.medecin_traitant = _correspondent(role.person, role.address, role.phone)
        if saved:
            rowsql.update(patient, ["medecin_traitant"])
            ctx.audit("update", patient, champs=["medecin_traitant"])
            ctx.gp_changed = True
        changed = True
    return changed


# --- stays ----------------------------------------------------------------------------------------


def _find_stay(est: Establishment, v: VisitData, patient: Patient, required: bool) -> Stay | None:
    stay = rowsql.fetch(
        Stay,
        "t.establishment_id = %s AND t.visit_number = %s",
        [est.pk, v.visit_number],
        related=STAY_RELATED,
        lock=True,
    )
    if stay is None:
        if required:
            raise HL7Error(
                f"Séjour inconnu : NDA {v.visit_number} (aucune admission reçue pour ce séjour).",
                "AE",
                "204",
                "PV1-19",
            )
        return None
    if stay.patient_id != patient.pk:
        owner = Patient.objects.filter(pk=stay.patient_id).values_list("ipp", flat=True).first()
        raise HL7Error(
            f"Le séjour {v.visit_number} appartient au patient IPP {owner}, pas à l'IPP {patient.ipp}.",
            "AE",
            "205",
            "PV1-19",
        )
    stay.patient = patient
    stay.establishment = est
    if stay.responsible_physician is not None and stay.responsible_physician.establishment_id == est.pk:
        stay.responsible_physician.establishment = est
    return stay


def _unit(est: Establishment, v: VisitData, current: Unit | None) -> Unit:
    for code in v.unit_codes:
        unit = _cached(
            ("unit", est.pk, code),
            lambda code=code: Unit.objects.filter(establishment=est, code=code).first(),
        )
        if unit is not None:
            return unit
    if current is not None:
        return current
    if not v.unit_codes:
        raise hl7v2._missing("PV1-3 ou ZBE-7", "unité fonctionnelle")
    raise HL7Error(
        "Unité fonctionnelle inconnue : " + ", ".join(v.unit_codes) + ". Créez-la dans le référentiel "
        "des services de Liaison (code UF) ou corrigez PV1-3 / ZBE-7, puis renvoyez le message.",
        "AE",
        "103",
        "PV1-3",
    )


def _practitioner(est: Establishment, person: Person | None) -> Practitioner | None:
    if person is None or not person.rpps:
        return None
    rpps = person.rpps

    def load() -> Practitioner | None:
        pr = Practitioner.objects.select_related("establishment").filter(rpps=rpps).first()
        if pr is not None and pr.establishment_id == est.pk:
            pr.establishment = est
        return pr

    return _cached(("practitioner", rpps), load)


def _set(stay: Stay, changed: list[str], name: str, value: Any) -> None:
    if not hasattr(value, "pk"):
        if getattr(stay, name) != value:
            setattr(stay, name, value)
            changed.append(name)
        return
    if getattr(stay, f"{name}_id") != value.pk:
        setattr(stay, name, value)
        changed.append(name)


def _update_visit_details(ctx: _Context, stay: Stay, v: VisitData, save: bool = True) -> list[str]:
    """Attributes that any visit message may update: physician, adresseur, planned discharge."""
    changed: list[str] = []
    physician = _practitioner(ctx.est, v.attending)
    if physician is not None:
        _set(stay, changed, "responsible_physician", physician)
    referring = v.referring
    for role in ctx.msg.roles:
        if role.role in hl7v2.ADRESSEUR_ROLES and role.action != "DE":
            referring = role.person
    if referring is not None:
        current = stay.adresseur if stay.adresseur_id else None
        if not _same_person(current, referring):
            _set(stay, changed, "adresseur", _correspondent(referring))
    if v.expected_discharge_at is not None:
        _set(stay, changed, "planned_discharge_at", v.expected_discharge_at)
    if save and changed and stay.pk is not None:
        rowsql.update(stay, changed)
        ctx.audit("update", stay, champs=changed)
    return changed


def _admit(ctx: _Context, patient: Patient, v: VisitData) -> tuple[Stay, bool]:
    """The stay admitted (created or updated), and whether this message created it."""
    msg, est = ctx.msg, ctx.est
    stay = _find_stay(est, v, patient, required=False)
    if msg.event == "A05":
        admission_at = v.expected_admit_at or v.admit_at or v.movement_at or msg.event_at or msg.sent_at
    else:
        admission_at = v.admit_at or v.movement_at or msg.event_at or msg.sent_at
    if admission_at is None:
        raise hl7v2._missing("PV1-44", "date-heure d'admission")
    unit = _unit(est, v, stay.unit if stay else None)
    if stay is not None and stay.discharge_at and admission_at > stay.discharge_at:
        raise HL7Error(
            "La date d'admission (PV1-44) suit la date de sortie déjà reçue.", "AE", "207", "PV1-44"
        )
    created = stay is None
    if stay is None:
        stay = Stay(establishment=est, patient=patient, visit_number=v.visit_number)
    changed: list[str] = []
    _set(stay, changed, "unit", unit)
    _set(stay, changed, "sector", unit.sector)
    _set(stay, changed, "admission_at", admission_at)
    if v.entry_mode is not None:  # an admission fact: only admissions set it
        _set(stay, changed, "entry_mode", v.entry_mode)
    _set(stay, changed, "cancelled", False)
    changed += _update_visit_details(ctx, stay, v, save=False)
    if created:
        rowsql.insert([stay])
        ctx.audit("create", stay)
    elif changed:
        changed = list(dict.fromkeys(changed))
        rowsql.update(stay, changed)
        ctx.audit("update", stay, champs=changed)
    return stay, created


def _transfer(ctx: _Context, stay: Stay, v: VisitData) -> None:
    if stay.cancelled:
        raise HL7Error(f"Le séjour {stay.visit_number} est annulé : mutation impossible.", "AE", "207")
    if not v.unit_codes:
        raise hl7v2._missing("PV1-3 ou ZBE-7", "nouvelle unité fonctionnelle")
    unit = _unit(ctx.est, v, None)
    changed: list[str] = []
    _set(stay, changed, "unit", unit)
    _set(stay, changed, "sector", unit.sector)
    changed += _update_visit_details(ctx, stay, v, save=False)
    if changed:
        changed = list(dict.fromkeys(changed))
        rowsql.update(stay, changed)
        ctx.audit("update", stay, champs=changed)


def _receiving_structure(finess: str) -> Correspondent:
    found = Correspondent.objects.filter(kind=Correspondent.Kind.STRUCTURE, finess=finess).first()
    return found or Correspondent.objects.create(
        kind=Correspondent.Kind.STRUCTURE, finess=finess, organisation=f"Structure FINESS {finess}"
    )


def _after_admission(stay: Stay, at: dt.datetime, what: str, location: str) -> None:
    """Refuse a discharge (recorded or planned) before the admission, naming both dates."""
    if at < stay.admission_at:
        fmt = "%d/%m/%Y %H:%M"
        raise HL7Error(
            f"{what} ({timezone.localtime(at, PARIS):{fmt}}) précède la date d'entrée "
            f"({timezone.localtime(stay.admission_at, PARIS):{fmt}}).",
            "AE",
            "207",
            location,
        )


def _discharge(ctx: _Context, stay: Stay, v: VisitData) -> None:
    if stay.cancelled:
        raise HL7Error(f"Le séjour {stay.visit_number} est annulé : sortie impossible.", "AE", "207")
    discharge_at = v.discharge_at or v.movement_at or ctx.msg.event_at
    if discharge_at is None:
        raise hl7v2._missing("PV1-45", "date-heure de sortie")
    _after_admission(stay, discharge_at, "La date de sortie", "PV1-45")
    changed: list[str] = []
    if v.receiving_finess and (
        stay.receiving_structure is None or stay.receiving_structure.finess != v.receiving_finess
    ):
        _set(stay, changed, "receiving_structure", _receiving_structure(v.receiving_finess))
    _write_discharge(ctx, stay, v, discharge_at, "", changed, sortie=True)


def _write_discharge(
    ctx: _Context, stay: Stay, v: VisitData, at: dt.datetime, prefix: str, changed: list[str], **trace: Any
) -> None:
    """Date, mode and destination of the discharge: recorded (A03, `prefix` "") or planned (A16,
    "planned_"); then the visit details, one UPDATE and the audit row."""
    _set(stay, changed, f"{prefix}discharge_at", at)
    if v.exit_mode is not None:
        _set(stay, changed, f"{prefix}exit_mode", v.exit_mode)
    if v.destination is not None:
        _set(stay, changed, f"{prefix}destination", v.destination)
    changed += _update_visit_details(ctx, stay, v, save=False)
    changed = list(dict.fromkeys(changed))
    if changed:
        rowsql.update(stay, changed)
    ctx.audit("update", stay, champs=changed, **trace)


def _cancel_discharge(ctx: _Context, stay: Stay) -> None:
    if stay.discharge_at is None:
        raise HL7Error(f"Aucune sortie à annuler pour le séjour {stay.visit_number}.", "AE", "207", "PV1-19")
    stay.discharge_at = None
    stay.exit_mode = ""
    stay.destination = ""
    stay.receiving_structure = None
    rowsql.update(stay, ["discharge_at", "exit_mode", "destination", "receiving_structure"])
    ctx.audit("update", stay, annulation="sortie")


def _pending_discharge(ctx: _Context, stay: Stay, v: VisitData) -> None:
    """A16: the planned discharge (PV2-9, else ZBE-2, else PV1-45) with its mode (ZFM / PV1-36)."""
    if stay.cancelled:
        raise HL7Error(f"Le séjour {stay.visit_number} est annulé : sortie prévue impossible.", "AE", "207")
    if stay.discharge_at is not None:
        raise HL7Error(
            f"La sortie du séjour {stay.visit_number} est déjà enregistrée : une sortie prévue (A16) "
            "ne peut plus la précéder (annulez d'abord la sortie par un A13).",
            "AE",
            "207",
        )
    at = v.expected_discharge_at or v.movement_at or v.discharge_at
    if at is None:
        raise hl7v2._missing("PV2-9", "date-heure de sortie prévue")
    _after_admission(stay, at, "La sortie prévue", "PV2-9")
    _write_discharge(ctx, stay, v, at, "planned_", [], sortie_prevue=True)


def _cancel_pending_discharge(ctx: _Context, stay: Stay) -> None:
    """A25: the planned discharge is cancelled."""
    if stay.planned_discharge_at is None and not stay.planned_exit_mode:
        raise HL7Error(
            f"Aucune sortie prévue à annuler pour le séjour {stay.visit_number} (aucun A16 ni PV2-9 reçu).",
            "AE",
            "207",
            "PV2-9",
        )
    stay.planned_discharge_at = None
    stay.planned_exit_mode = ""
    stay.planned_destination = ""
    rowsql.update(stay, ["planned_discharge_at", "planned_exit_mode", "planned_destination"])
    ctx.audit("update", stay, annulation="sortie prévue")


def _cancel_admission(ctx: _Context, stay: Stay) -> None:
    if not stay.cancelled:
        stay.cancelled = True
        rowsql.update(stay, ["cancelled"])
    ctx.audit("update", stay, annulation="admission")


# --- merge ----------------------------------------------------------------------------------------


def _merge(ctx: _Context) -> str:
    msg, est = ctx.msg, ctx.est
    ipps = sorted({msg.patient.ipp, *msg.prior_ipps})
    # Lock every patient involved, always in the same order (no deadlock between two merges).
    list(Patient.objects.select_for_update().filter(establishment=est, ipp__in=ipps).order_by("pk"))
    survivor, _, created = _upsert_patient(ctx, msg.patient, msg.roles)
    if not created:
        _apply_patient_roles(ctx, survivor, msg.roles)
    notes = []
    for ipp in msg.prior_ipps:
        if ipp == survivor.ipp:
            continue
        absorbed = _locked_patient(est, ipp)
        if absorbed is None:
            notes.append(f"IPP {ipp} inconnu : rien à fusionner.")
            continue
        if absorbed.merged_into_id == survivor.pk:
            continue
        moved = list(Stay.objects.filter(patient=absorbed).values_list("pk", flat=True))
        Stay.objects.filter(pk__in=moved).update(patient=survivor)
        absorbed.merged_into = survivor
        absorbed.save(update_fields=["merged_into"])
        Patient.objects.filter(merged_into=absorbed).update(merged_into=survivor)
        if survivor.medecin_traitant_id is None and absorbed.medecin_traitant_id is not None:
            survivor.medecin_traitant = absorbed.medecin_traitant
            survivor.save(update_fields=["medecin_traitant"])
        ctx.audit("update", absorbed, fusionne_dans=survivor.pk)
        ctx.audit("update", survivor, absorbe=absorbed.pk, sejours=moved)
    _refresh_drafts(ctx, survivor)
    return " ".join(notes)


# --- letters --------------------------------------------------------------------------------------


def _sync_letter(
    ctx: _Context, stay: Stay, open_new: bool, new_stay: bool = False, replan: bool = False
) -> None:
    """Open the pre-filled draft (admission, discharge) or bring the existing draft up to date
    (`lifecycle.refresh_from_stay` with the stay already locked here; it writes only when the
    content changes). A signed letter is never touched."""
    if new_stay:
        # Created by this transaction: invisible to any other, so it has no letter yet.
        if open_new and not stay.cancelled:
            letter = Letter(stay=stay, version=1, content=initial_content(stay).model_dump(mode="json"))
            rowsql.insert([letter])
            ctx.audit("create", letter, why="ouverture de la lettre")
        return
    current = rowsql.fetch(
        Letter,
        "t.stay_id = %s AND t.status <> %s",
        [stay.pk, Letter.Status.SUPERSEDED],
        order_by="t.version DESC",
        lock=True,
    )
    if current is None:
        if open_new and not stay.cancelled:
            open_letter(stay)
        return
    if current.status != Letter.Status.DRAFT:
        return
    current.stay = stay
    why = f"mise à jour depuis le séjour ({ctx.why})"[:200]
    refresh_from_stay(current, stay=stay, why=why, trace=ctx.traces.append, replan=replan)


def _flag_signed_letters(ctx: _Context, patient: Patient) -> None:
    """After the GAM sent a médecin traitant: each current signed letter of the patient that
    names another one, designated by the physician, is flagged (never regenerated)."""
    if not ctx.gp_changed:
        return
    gam = correspondent_snapshot(patient.medecin_traitant) if patient.medecin_traitant_id else None
    signed = Letter.objects.select_for_update().filter(
        stay__patient=patient, status=Letter.Status.SIGNED, content__medecin_traitant__source="medecin"
    )
    for letter in signed.select_related("stay"):
        note = medecin_traitant.difference(letter.parsed(), gam)
        if note == letter.medecin_traitant_difference:
            continue
        letter.medecin_traitant_difference = note
        rowsql.update(letter, ["medecin_traitant_difference"])
        ctx.audit("flag", letter, why=f"médecin traitant transmis par le GAM ({ctx.why})"[:200], ecart=note)


def _refresh_drafts(ctx: _Context, patient: Patient, exclude: int | None = None) -> None:
    """After an identity change: every draft of the patient shows the new identity."""
    stays = Stay.objects.filter(patient=patient, letters__status=Letter.Status.DRAFT).select_related(
        *STAY_RELATED
    )
    if exclude is not None:
        stays = stays.exclude(pk=exclude)
    for stay in stays.distinct():
        stay.patient = patient
        stay.establishment = ctx.est
        _sync_letter(ctx, stay, open_new=False)
