"""The raw rows of the digital indicators read from Liaison's tables (`digital.Rows`).

Stays discharged in the period with their unit, sector and patient (pseudonymised unless
identities may be shown); the DMP filings and MSSanté mails of their signed letters; the
correspondents each stay names. « Patient disposant d'un DMP » is what Liaison can attest: the
DMP accepted at least one document of this patient (any stay); otherwise it is not known.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from liaison.core.paris import paris_days
from liaison.delivery.models import Delivery
from liaison.indicators import definitions as d
from liaison.indicators import digital
from liaison.indicators.exports import pseudonym
from liaison.letters.models import Correspondent, Establishment, Letter, Stay

SIGNED_STATES = [Letter.Status.SIGNED, Letter.Status.SUPERSEDED]


def configured() -> digital.Config:
    """The digital indicators' configuration this installation uses (LIAISON_DIGITAL_CONFIG, read
    by the settings), else the bundled one."""
    return digital.load(settings.LIAISON_INDICATORS.digital)


def scope(start: dt.date, end: dt.date, defs: d.Definitions) -> digital.Scope:
    """The stays the establishment indicators count, over [start, end] (definitions.yaml rules)."""
    rules = defs.rules
    return digital.Scope(start, end, frozenset(rules["sectors"]), frozenset(rules["excluded_exit_modes"]))


def _key(c: Correspondent) -> str:
    return f"rpps:{c.rpps}" if c.rpps else f"finess:{c.finess}" if c.finess else f"id:{c.pk}"


def rows(
    est: Establishment, start: dt.date, end: dt.date, defs: d.Definitions, identified: bool = False
) -> digital.Rows:
    """The rows of the stays discharged in [start, end] (Paris days) of `est`."""
    lo, hi = paris_days(start, end)
    stays = list(
        Stay.objects.filter(establishment=est, discharge_at__gte=lo, discharge_at__lt=hi)
        .select_related("patient__medecin_traitant", "unit", "adresseur", "receiving_structure")
        .order_by("discharge_at", "pk")
    )
    by_pk = {s.pk: s for s in stays}
    dels = list(
        Delivery.objects.filter(
            letter__stay__in=stays, letter__status__in=SIGNED_STATES, letter__signed_at__isnull=False
        ).values(
            "channel",
            "state",
            "sent_at",
            "acknowledged_at",
            "recipient_role",
            "recipient_address",
            "recipient_name",
            "letter__stay_id",
        )
    )
    success = set(defs.rules["dmp_success_states"])
    accepted = set(defs.rules["mss_accepted_states"])
    with_dmp = set(
        Delivery.objects.filter(
            channel=Delivery.Channel.DMP,
            state__in=success,
            letter__stay__patient__in={s.patient_id for s in stays},
        ).values_list("letter__stay__patient_id", flat=True)
    )
    out_stays = [
        digital.StayRow(
            stay_id=s.visit_number,
            patient=s.patient.ipp if identified else pseudonym(est, s.patient.ipp),
            unit=s.unit.name,
            sector=s.sector,
            discharge_at=s.discharge_at,
            exit_mode=s.exit_mode,
            cancelled=s.cancelled,
            has_dmp=True if s.patient_id in with_dmp else None,
        )
        for s in stays
    ]
    filings, sendings = [], []
    for x in dels:
        stay = by_pk[x["letter__stay_id"]]
        if x["channel"] == Delivery.Channel.DMP:
            ok = x["state"] in success
            filings.append(
                digital.DmpFiling(
                    stay.visit_number,
                    digital.LLS_LOINC,
                    (x["acknowledged_at"] or x["sent_at"]) if ok else None,
                )
            )
        else:
            sendings.append(
                digital.MssSending(
                    stay.visit_number,
                    x["recipient_address"],
                    x["recipient_name"],
                    x["recipient_role"],
                    x["state"] in accepted,
                )
            )
    addressees = []
    for s in stays:
        for c in (s.patient.medecin_traitant, s.adresseur, s.receiving_structure):
            if c is not None:
                addressees.append(digital.Addressee(s.visit_number, _key(c), str(c), c.mssante))
    return digital.Rows(out_stays, filings, addressees, sendings)


# Liaison's own figures shown beside the year's definitions (definitions.yaml ids).
OURS = ("DMP", "DMP-ELIG", "MSS-PS")


def report(
    est: Establishment,
    year: int,
    month: str,
    defs: d.Definitions | None = None,
    config: digital.Config | None = None,
    identified: bool = False,
) -> dict:
    """The year's digital indicators over one calendar month, each with its list, and ours beside."""
    from liaison.indicators import compute

    defs = defs or compute.configured_definitions()
    config = config or configured()
    start, end = digital.parse_month(month)
    config.definitions(year)  # refuses an unknown year before any query
    results = digital.compute(config, year, scope(start, end, defs), rows(est, start, end, defs, identified))
    ours = compute.compute(est, start, end, defs, with_qls=False)
    return {
        "establishment": {"name": est.name, "finess_eg": est.finess_eg},
        "year": year,
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "config_version": config.version,
        "results": results,
        "indicators": [r.as_dict() for r in results],
        "liaison_indicators": [
            {
                "id": ind.id,
                "label": ind.label,
                **ours.totals[ind.id].as_dict(),
                "status": ind.status,
                "status_fr": d.STATUS_LABELS.get(ind.status, ind.status),
                "definition": ind.definition,
                "source": ind.source,
            }
            for ind in defs.indicators
            if ind.id in OURS
        ],
    }
