"""« Envois en échec » (/envois/echecs/): given-up and long-failing deliveries of the
establishment, for its administrator, each with its reason and a « renvoyer » button.

The administrator acts on the delivery, not on the patient: he sees the recipient, the channel,
the reason, the attempts and the letter's reference (its document identifier, version, unit and
signature date), never the patient's name, INS or the letter's content. A patient-side recipient
(the patient's DMP or mailbox, whose address is the INS) is named by its kind only, and any INS
in a peer's answer is masked. « Renvoyer » (POST) requeues the delivery and is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from liaison.delivery import outbox
from liaison.delivery.models import Delivery
from liaison.letters import audit
from liaison.letters.permissions import PermissionDeniedFr, User, check_operations

PATIENT_SIDE = {"dmp": "DMP du patient", "patient": "Le patient (messagerie Mon espace santé)"}
_INS = re.compile(r"\d{13,15}")


def failing(establishment_id: int | None) -> QuerySet[Delivery]:
    """Given-up deliveries, and deliveries failing for more than `outbox.LONG_FAILING`."""
    long_ago = timezone.now() - outbox.LONG_FAILING
    return Delivery.objects.filter(
        Q(state=Delivery.State.GIVEN_UP) | Q(state=Delivery.State.FAILED, failing_since__lte=long_ago),
        letter__stay__establishment_id=establishment_id,
    )


@dataclass(frozen=True)
class FailureRow:
    """What the administrator sees of one delivery: nothing of the patient."""

    id: int
    given_up: bool
    state_label: str
    channel: str
    recipient: str
    address: str
    reason: str
    attempts: int
    failing_since: object
    next_attempt_at: object
    letter_ref: str
    letter_version: int
    unit: str
    signed_at: object


def _row(d: Delivery) -> FailureRow:
    patient_side = d.recipient_role in PATIENT_SIDE
    reason = d.last_error
    if patient_side:
        for secret in (d.recipient_address, d.recipient_name):
            if secret:
                reason = reason.replace(secret, "[patient]")
    letter = d.letter
    return FailureRow(
        id=d.pk,
        given_up=d.state == Delivery.State.GIVEN_UP,
        state_label=d.get_state_display(),
        channel=d.get_channel_display(),
        recipient=PATIENT_SIDE[d.recipient_role] if patient_side else d.recipient_name,
        address="" if patient_side else d.recipient_address,
        reason=_INS.sub("[INS]", reason),
        attempts=d.attempts,
        failing_since=d.failing_since,
        next_attempt_at=d.next_attempt_at,
        letter_ref=letter.document_oid,
        letter_version=letter.version,
        unit=letter.stay.unit.name,
        signed_at=letter.signed_at,
    )


def _establishment_id(user: User) -> int | None:
    try:
        check_operations(user)
    except PermissionDeniedFr as exc:
        raise PermissionDenied(str(exc)) from exc
    profile = getattr(user, "profile", None)
    return profile.establishment_id if profile else None


@login_required
@require_GET
def delivery_failures(request: HttpRequest) -> HttpResponse:
    est = _establishment_id(request.user)
    rows = [
        _row(d)
        for d in failing(est)
        .select_related("letter__stay__unit")
        .order_by("-state", "failing_since", "id")  # given_up before failed, oldest first
    ]
    return render(
        request,
        "web/delivery_failures.html",
        {"rows": rows, "long_failing_hours": int(outbox.LONG_FAILING.total_seconds() // 3600)},
    )


@login_required
@require_POST
def delivery_resend(request: HttpRequest, delivery_id: int) -> HttpResponse:
    est = _establishment_id(request.user)
    delivery = get_object_or_404(failing(est).select_related("letter__stay"), pk=delivery_id)
    done = outbox.requeue(delivery.pk, by=request.user.get_username())
    if done is None:
        messages.info(request, "Cet envoi n'est plus en échec : un processus d'envoi l'a déjà repris.")
        return redirect("delivery_failures")
    audit.record(
        request.user,
        "resend",
        delivery.letter,
        why="renvoi d'un envoi en échec",
        details={"delivery": delivery.pk, "channel": delivery.channel, "attempts": delivery.attempts},
    )
    who = PATIENT_SIDE.get(delivery.recipient_role) or delivery.recipient_name or delivery.recipient_address
    messages.success(
        request,
        f"Envoi remis en file ({delivery.get_channel_display()} → {who}) : "
        "il part dans les secondes qui suivent.",
    )
    return redirect("delivery_failures")
