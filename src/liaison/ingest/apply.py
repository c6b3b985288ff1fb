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
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from liaison.ingest import hl7v2
from liaison.ingest.hl7v2 import AdtMessage, HL7Error, PatientData, Person, VisitData
from liaison.ingest.models import InboundMessage
from liaison.letters import audit
from liaison.letters.lifecycle import open_letter, refresh_from_stay
from liaison.letters.models import (
    PARIS,
    Correspondent,
    Establishment,
    Letter,
    Patient,
    Practitioner,
    Stay,
    Unit,
)

logger = logging.getLogger(__name__)

ADMISSIONS = {"A01", "A04", "A05"}
IDENTITY_ONLY = {"A08", "A31", "A28"}


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
    header = hl7v2.sniff_header(text)
    try:
        msg = hl7v2.parse(text)
    except HL7Error as exc:
        return _refuse(text, header, exc, received_at, source, peer)
    except Exception as exc:  # a parser defect must still be answered
        logger.exception("HL7 parser failure")
        err = HL7Error(f"Message illisible ({type(exc).__name__}).", "AR", "100")
        return _refuse(text, header, err, received_at, source, peer)
    header = msg.header
    base = _row_fields(text, header, received_at, source, peer)
    base.update(
        patient_ipp=msg.patient.ipp[:30], visit_number=(msg.visit.visit_number if msg.visit else "")[:30]
    )
    try:
        if _already_applied(header):
            return _duplicate(base, header)
        with transaction.atomic():
            row = InboundMessage.objects.create(
                **base,
                outcome=InboundMessage.Outcome.ACCEPTED,
                ack_code="AA",
                applied_at=timezone.now(),
            )
            note = apply_message(msg)
            if note:
                row.reason = note
                row.save(update_fields=["reason"])
    except HL7Error as exc:
        return _refuse(text, header, exc, received_at, source, peer, base)
    except IntegrityError:
        if _already_applied(header):
            return _duplicate(base, header)
        logger.exception("integrity error on %s", header.control_id)
        err = HL7Error(
            "Le message contredit des données déjà enregistrées (contrainte d'intégrité) : "
            "rien n'a été appliqué.",
            "AE",
            "207",
        )
        return _refuse(text, header, err, received_at, source, peer, base)
    except DatabaseError as exc:
        logger.exception("database error on %s", header.control_id)
        err = HL7Error(
            f"Base de données indisponible ou verrouillée ({type(exc).__name__}) : "
            "rien n'a été appliqué, renvoyez le message.",
            "AE",
            "206",
        )
        return _refuse(text, header, err, received_at, source, peer, base)
    except Exception as exc:
        logger.exception("failure applying %s", header.control_id)
        err = HL7Error(
            f"Erreur interne de Liaison ({type(exc).__name__}) : rien n'a été appliqué.", "AE", "207"
        )
        return _refuse(text, header, err, received_at, source, peer, base)
    text_ok = note or "Message intégré."
    return Outcome(
        ack=hl7v2.build_ack(header, "AA", text_ok, ack_control_id=f"L{row.pk}"),
        code="AA",
        outcome=InboundMessage.Outcome.ACCEPTED,
        reason=note,
        message_id=row.pk,
        charset=header.charset,
    )


def _row_fields(
    text: str, header: hl7v2.Header, received_at: dt.datetime, source: str, peer: str
) -> dict[str, Any]:
    return dict(
        received_at=received_at,
        source=source,
        peer=peer[:100],
        raw=text.replace("\x00", "\ufffd"),
        sending_application=header.sending_application[:180],
        sending_facility=header.sending_facility[:180],
        control_id=header.control_id[:199],
        message_type=header.message_code[:10],
        event=header.event[:10],
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
    return Outcome(
        ack=hl7v2.build_ack(header, "AA", reason, ack_control_id=f"L{row.pk}"),
        code="AA",
        outcome=InboundMessage.Outcome.DUPLICATE,
        reason=reason,
        message_id=row.pk,
        charset=header.charset,
    )


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
    return Outcome(
        ack=hl7v2.build_ack(
            header,
            code,
            reason,
            error_code=exc.error_code,
            location=exc.location,
            ack_control_id=f"L{row_id}" if row_id else "",
        ),
        code=code,
        outcome=InboundMessage.Outcome.REFUSED,
        reason=reason,
        message_id=row_id,
        charset=header.charset,
    )


# --- applying one parsed message (inside the caller's transaction) --------------------------------


def apply_message(msg: AdtMessage) -> str:
    """Apply one message; return a note for the ACK ('' when nothing to say). Raises HL7Error."""
    est = _establishment(msg)
    why = f"message ADT^{msg.event} {msg.control_id}"[:200]
    event = msg.event
    if event == "A40":
        return _merge(est, msg, why)
    patient, identity_changed = _upsert_patient(est, msg.patient, why)
    identity_changed |= _apply_patient_roles(patient, msg.roles, why)
    if event in IDENTITY_ONLY and msg.visit is None:
        if identity_changed:
            _refresh_drafts(patient)
        return ""
    visit = msg.visit
    assert visit is not None
    if event == "A08":
        stay = _find_stay(est, visit, patient, required=False)
        if stay is not None and _update_visit_details(stay, visit, msg, why):
            _sync_letter(stay, open_new=False)
        if identity_changed:
            _refresh_drafts(patient, exclude=stay.pk if stay else None)
        return ""
    if event in ADMISSIONS:
        stay = _admit(est, patient, visit, msg, why)
        _sync_letter(stay, open_new=event != "A05")
        if identity_changed:
            _refresh_drafts(patient, exclude=stay.pk)
        return ""
    stay = _find_stay(est, visit, patient, required=True)
    assert stay is not None
    if event in ("A02", "A12"):
        _transfer(stay, est, visit, msg, why)
    elif event == "A03":
        _discharge(stay, visit, msg, why)
    elif event == "A13":
        _cancel_discharge(stay, why)
    elif event in ("A11", "A38"):
        _cancel_admission(stay, why)
        return ""
    _sync_letter(stay, open_new=True)
    if identity_changed:
        _refresh_drafts(patient, exclude=stay.pk)
    return ""


def _establishment(msg: AdtMessage) -> Establishment:
    candidates = msg.facility_candidates()
    if candidates:
        by_eg = {e.finess_eg: e for e in Establishment.objects.filter(finess_eg__in=candidates)}
        for c in candidates:
            if c in by_eg:
                return by_eg[c]
        by_ej = list(Establishment.objects.filter(finess_ej__in=candidates)[:2])
        if len(by_ej) == 1:
            return by_ej[0]
    only = list(Establishment.objects.all()[:2])
    if len(only) == 1:
        return only[0]
    raise HL7Error(
        "Établissement destinataire inconnu : indiquez son FINESS géographique en MSH-6 "
        "ou en PV1-3.4 (" + (", ".join(candidates) or "aucun FINESS reçu") + ").",
        "AE",
        "204",
        "MSH-6",
    )


# --- patients -------------------------------------------------------------------------------------


def _locked_patient(est: Establishment, ipp: str) -> Patient | None:
    p = Patient.objects.select_for_update().filter(establishment=est, ipp=ipp).first()
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


def _upsert_patient(est: Establishment, d: PatientData, why: str) -> tuple[Patient, bool]:
    """The locked patient, created or updated from PID; and whether its identity changed."""
    p = _locked_patient(est, d.ipp)
    if p is None:
        p = Patient(establishment=est, ipp=d.ipp)
        _identity_changes(p, d)
        try:
            with transaction.atomic():
                p.save()
        except IntegrityError:  # created meanwhile by another connection: lock it and update
            p = _locked_patient(est, d.ipp)
            if p is None:
                raise
        else:
            audit.record(None, "create", p, why=why)
            return p, True
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
        p.save(update_fields=changed)
        audit.record(None, "update", p, why=why, details={"champs": changed})
    return p, bool(changed)


def _correspondent(person: Person, address: str = "", phone: str = "") -> Correspondent:
    rpps = person.rpps
    family, given = person.family_name[:100], person.given_name[:100]
    qs = Correspondent.objects.filter(kind=Correspondent.Kind.PERSON)
    found = (
        qs.filter(rpps=rpps).first()
        if rpps
        else qs.filter(rpps="", family_name__iexact=family, given_name__iexact=given).first()
    )
    if found is not None:
        return found
    title = person.title.strip()
    if title.upper() in ("DR", "DR.", "DOCTEUR"):
        title = "Dr"
    return Correspondent.objects.create(
        kind=Correspondent.Kind.PERSON,
        rpps=rpps or "",
        title=title[:10],
        family_name=family,
        given_name=given,
        address=address[:300],
        phone=phone[:30],
    )


def _apply_patient_roles(patient: Patient, roles: tuple[hl7v2.Role, ...], why: str) -> bool:
    """Médecin traitant from ROL (ODRP/FHCP/PP); return whether it changed."""
    changed = False
    for role in roles:
        if role.role not in hl7v2.MEDECIN_TRAITANT_ROLES:
            continue
        if role.action == "DE":
            if patient.medecin_traitant_id is not None:
                current = patient.medecin_traitant
                if current is None or not role.person.rpps or current.rpps == role.person.rpps:
                    patient.medecin_traitant = None
                    patient.save(update_fields=["medecin_traitant"])
                    audit.record(None, "update", patient, why=why, details={"champs": ["medecin_traitant"]})
                    changed = True
            continue
        corr = _correspondent(role.person, role.address, role.phone)
        if patient.medecin_traitant_id != corr.pk:
            patient.medecin_traitant = corr
            patient.save(update_fields=["medecin_traitant"])
            audit.record(None, "update", patient, why=why, details={"champs": ["medecin_traitant"]})
            changed = True
    return changed


# --- stays ----------------------------------------------------------------------------------------


def _find_stay(est: Establishment, v: VisitData, patient: Patient, required: bool) -> Stay | None:
    stay = (
        Stay.objects.select_for_update()
        .select_related("unit")
        .filter(establishment=est, visit_number=v.visit_number)
        .first()
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
    return stay


def _unit(est: Establishment, v: VisitData, current: Unit | None) -> Unit:
    if v.unit_codes:
        found = {u.code: u for u in Unit.objects.filter(establishment=est, code__in=v.unit_codes)}
        for code in v.unit_codes:
            if code in found:
                return found[code]
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


def _practitioner(person: Person | None) -> Practitioner | None:
    if person is None or not person.rpps:
        return None
    return Practitioner.objects.filter(rpps=person.rpps).first()


def _set(stay: Stay, changed: list[str], name: str, value: Any) -> None:
    if name.endswith("_id") or not hasattr(value, "pk"):
        if getattr(stay, name) != value:
            setattr(stay, name, value)
            changed.append(name)
        return
    if getattr(stay, f"{name}_id") != value.pk:
        setattr(stay, name, value)
        changed.append(name)


def _update_visit_details(
    stay: Stay, v: VisitData, msg: AdtMessage, why: str, save: bool = True
) -> list[str]:
    """Attributes that any visit message may update: physician, adresseur, planned discharge."""
    changed: list[str] = []
    physician = _practitioner(v.attending)
    if physician is not None:
        _set(stay, changed, "responsible_physician", physician)
    referring = v.referring
    for role in msg.roles:
        if role.role in hl7v2.ADRESSEUR_ROLES and role.action != "DE":
            referring = role.person
    if referring is not None:
        _set(stay, changed, "adresseur", _correspondent(referring))
    if v.expected_discharge_at is not None:
        _set(stay, changed, "planned_discharge_at", v.expected_discharge_at)
    if v.entry_mode is not None and stay.pk is not None:
        _set(stay, changed, "entry_mode", v.entry_mode)
    if save and changed and stay.pk is not None:
        stay.save(update_fields=changed)
        audit.record(None, "update", stay, why=why, details={"champs": changed})
    return changed


def _admit(est: Establishment, patient: Patient, v: VisitData, msg: AdtMessage, why: str) -> Stay:
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
    if created:
        stay = Stay(establishment=est, patient=patient, visit_number=v.visit_number)
    changed: list[str] = []
    _set(stay, changed, "unit", unit)
    _set(stay, changed, "sector", unit.sector)
    _set(stay, changed, "admission_at", admission_at)
    if v.entry_mode is not None:
        _set(stay, changed, "entry_mode", v.entry_mode)
    _set(stay, changed, "cancelled", False)
    changed += _update_visit_details(stay, v, msg, why, save=False)
    if created:
        stay.save()
        audit.record(None, "create", stay, why=why)
    elif changed:
        stay.save(update_fields=list(dict.fromkeys(changed)))
        audit.record(None, "update", stay, why=why, details={"champs": changed})
    return stay


def _transfer(stay: Stay, est: Establishment, v: VisitData, msg: AdtMessage, why: str) -> None:
    if stay.cancelled:
        raise HL7Error(f"Le séjour {stay.visit_number} est annulé : mutation impossible.", "AE", "207")
    if not v.unit_codes:
        raise hl7v2._missing("PV1-3 ou ZBE-7", "nouvelle unité fonctionnelle")
    unit = _unit(est, v, None)
    changed: list[str] = []
    _set(stay, changed, "unit", unit)
    _set(stay, changed, "sector", unit.sector)
    changed += _update_visit_details(stay, v, msg, why, save=False)
    if changed:
        stay.save(update_fields=list(dict.fromkeys(changed)))
        audit.record(None, "update", stay, why=why, details={"champs": changed})


def _receiving_structure(finess: str) -> Correspondent:
    found = Correspondent.objects.filter(kind=Correspondent.Kind.STRUCTURE, finess=finess).first()
    return found or Correspondent.objects.create(
        kind=Correspondent.Kind.STRUCTURE, finess=finess, organisation=f"Structure FINESS {finess}"
    )


def _discharge(stay: Stay, v: VisitData, msg: AdtMessage, why: str) -> None:
    if stay.cancelled:
        raise HL7Error(f"Le séjour {stay.visit_number} est annulé : sortie impossible.", "AE", "207")
    discharge_at = v.discharge_at or v.movement_at or msg.event_at
    if discharge_at is None:
        raise hl7v2._missing("PV1-45", "date-heure de sortie")
    if discharge_at < stay.admission_at:
        fmt = "%d/%m/%Y %H:%M"
        raise HL7Error(
            f"La date de sortie ({timezone.localtime(discharge_at, PARIS):{fmt}}) précède la date "
            f"d'entrée ({timezone.localtime(stay.admission_at, PARIS):{fmt}}).",
            "AE",
            "207",
            "PV1-45",
        )
    changed: list[str] = []
    _set(stay, changed, "discharge_at", discharge_at)
    if v.exit_mode is not None:
        _set(stay, changed, "exit_mode", v.exit_mode)
    if v.destination is not None:
        _set(stay, changed, "destination", v.destination[:200])
    if v.receiving_finess:
        _set(stay, changed, "receiving_structure", _receiving_structure(v.receiving_finess))
    changed += _update_visit_details(stay, v, msg, why, save=False)
    if changed:
        stay.save(update_fields=list(dict.fromkeys(changed)))
    audit.record(None, "update", stay, why=why, details={"champs": changed, "sortie": True})


def _cancel_discharge(stay: Stay, why: str) -> None:
    if stay.discharge_at is None:
        raise HL7Error(f"Aucune sortie à annuler pour le séjour {stay.visit_number}.", "AE", "207", "PV1-19")
    stay.discharge_at = None
    stay.exit_mode = ""
    stay.destination = ""
    stay.receiving_structure = None
    stay.save(update_fields=["discharge_at", "exit_mode", "destination", "receiving_structure"])
    audit.record(None, "update", stay, why=why, details={"annulation": "sortie"})


def _cancel_admission(stay: Stay, why: str) -> None:
    if not stay.cancelled:
        stay.cancelled = True
        stay.save(update_fields=["cancelled"])
    audit.record(None, "update", stay, why=why, details={"annulation": "admission"})


# --- merge ----------------------------------------------------------------------------------------


def _merge(est: Establishment, msg: AdtMessage, why: str) -> str:
    ipps = sorted({msg.patient.ipp, *msg.prior_ipps})
    # Lock every patient involved, always in the same order (no deadlock between two merges).
    list(Patient.objects.select_for_update().filter(establishment=est, ipp__in=ipps).order_by("pk"))
    survivor, _ = _upsert_patient(est, msg.patient, why)
    _apply_patient_roles(survivor, msg.roles, why)
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
            survivor.medecin_traitant_id = absorbed.medecin_traitant_id
            survivor.save(update_fields=["medecin_traitant"])
        audit.record(None, "update", absorbed, why=why, details={"fusionne_dans": survivor.pk})
        audit.record(None, "update", survivor, why=why, details={"absorbe": absorbed.pk, "sejours": moved})
    _refresh_drafts(survivor)
    return " ".join(notes)


# --- letters --------------------------------------------------------------------------------------


def _sync_letter(stay: Stay, open_new: bool) -> None:
    """Open the pre-filled draft (admission, discharge) or bring the existing draft up to date."""
    letter = stay.current_letter
    if letter is None:
        if open_new and not stay.cancelled:
            open_letter(stay)
        return
    if letter.status == Letter.Status.DRAFT:
        refresh_from_stay(letter)


def _refresh_drafts(patient: Patient, exclude: int | None = None) -> None:
    """After an identity change: every draft of the patient shows the new identity."""
    drafts = Letter.objects.filter(stay__patient=patient, status=Letter.Status.DRAFT)
    if exclude is not None:
        drafts = drafts.exclude(stay_id=exclude)
    for letter in drafts:
        refresh_from_stay(letter)
