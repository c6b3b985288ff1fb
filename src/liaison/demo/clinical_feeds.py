"""The demo hospital's clinical traffic: every stay of `liaison demo-data` gets its laboratory,
pharmacy and coding messages (`liaison.demo.synthetic.clinical`), applied through the same entry
point as the listener (`ingest.apply.process`), so the raw messages are kept and acknowledged."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from django.db import transaction
from django.utils import timezone

from liaison.clinical import feeds
from liaison.demo.synthetic.clinical import stay_messages
from liaison.ingest import hl7v2
from liaison.ingest.apply import process
from liaison.ingest.models import InboundMessage
from liaison.letters.models import Establishment, Practitioner, Stay

STATUS_CODES = {v: k for k, v in hl7v2.IDENTITY_STATUS.items()}


def identity(stay: Stay) -> feeds.Identity:
    p = stay.patient
    return feeds.Identity(
        ipp=p.ipp,
        family=p.birth_family_name,
        given=p.first_given_name,
        given_names=p.given_names or "",
        birth=f"{p.birth_date:%Y%m%d}",
        sex=p.sex if p.sex in ("M", "F") else "U",
        status=STATUS_CODES.get(p.identity_status, "PROV"),
        ins=p.ins_matricule or "",
        ins_oid=p.ins_oid or "",
    )


def prescriber_xcn(pr: Practitioner | None) -> str:
    return f"{pr.rpps}^{pr.family_name.upper()}^{pr.given_name}^^^DR" if pr else ""


def feed_stays(est: Establishment) -> Counter[str]:
    """Send every stay's clinical messages; returns the count per outcome. Each stay draws from
    its own generator, seeded by its visit number (`liaison adt-replay` draws the same)."""
    now = timezone.now()
    outcomes: Counter[str] = Counter()
    stays = (
        Stay.objects.filter(establishment=est, cancelled=False)
        .select_related("patient", "unit", "responsible_physician")
        .order_by("pk")
    )
    with transaction.atomic():  # one commit for the whole demo, not one per message
        for stay in stays:
            _feed(stay, est, now, outcomes)
    return outcomes


def _feed(stay: Stay, est: Establishment, now: dt.datetime, outcomes: Counter[str]) -> None:
    end = stay.discharge_at or min(now, stay.planned_discharge_at or now)
    messages = stay_messages(
        random.Random(stay.visit_number),
        ipp=stay.patient.ipp,
        nda=stay.visit_number,
        facility=est.finess_eg,
        admit_at=stay.admission_at,
        end_at=end,
        discharged=stay.discharge_at is not None,
        control=f"DEMO{stay.visit_number}",
        prescriber=prescriber_xcn(stay.responsible_physician),
        biologist="BIO1&LABORATOIRE&Biologiste",
    )
    for m in messages:
        text = m.text or feeds.adt_a08(
            m.control_id,
            facility=est.finess_eg,
            sent=m.at.astimezone(hl7v2.PARIS).strftime("%Y%m%d%H%M"),
            who=identity(stay),
            nda=stay.visit_number,
            unit=stay.unit.code,
            segments=m.segments,
        )
        outcomes[process(text, InboundMessage.Source.FILE, peer="demo-data").outcome] += 1
