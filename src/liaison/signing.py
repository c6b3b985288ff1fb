"""Signing a letter, with its side effects: the one service above `letters`, `documents` and `delivery`.

One transaction, as a physician's signature has always been: the draft locked and the signer
checked (`lifecycle.open_signature`), everything that blocks it refused with the form field to
fix (`signature_blockers`: the decree's essentials, then the delivery plan), the CDA and the PDF
built, validated and frozen (`lifecycle.freeze`, through `letters.rendering`), and one delivery
queued per recipient and channel (`delivery.outbox.queue`). A failure anywhere rolls it all back:
no signed letter without its deliveries, no delivery of an unsigned letter.

`letters` knows nothing of deliveries; the entry points (web, API, demo) sign, show what blocks a
signature (`readiness`) and submit an intern's draft (`submit`) through here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from liaison.core.content import LetterContent, Problem, Professional
from liaison.delivery import outbox
from liaison.delivery.routing import DeliveryPlan, RoutingError, delivery_plan
from liaison.letters import lifecycle, review
from liaison.letters.lifecycle import LifecycleError
from liaison.letters.models import Letter, LetterReview
from liaison.letters.permissions import PermissionDeniedFr, User, check_sign


def signature_blockers(content: LetterContent, plan: DeliveryPlan | None = None) -> list[Problem]:
    """Everything `sign` refuses a content for, with the form field to fix: the decree's
    essentials, then the delivery plan (an unreachable recipient, a forbidden mask). `plan`:
    `delivery_plan(content)` when the caller already has it (not computed again).

    The one source of « can sign »: the sign page, the form's panel, the API and an intern's
    submission show this list; `sign` also refuses a CDA the ANS artefacts reject (shown by the
    sign page, see `readiness`)."""
    out = content.signature_blockers()
    if plan is None:
        plan = delivery_plan(content)
    out += [Problem(field=f, message=m, blocks_signature=True) for f, m in plan.blockers]
    return out


def sign(letter_id: int, user: User, at: dt.datetime | None = None) -> Letter:
    """Sign and freeze a draft and queue its deliveries, in one transaction; the version it
    replaces becomes superseded. Refused (`LifecycleError`, French) with every reason."""
    at = at or timezone.now()
    with transaction.atomic():
        letter, content = lifecycle.open_signature(letter_id, user)
        lifecycle.refuse_if_blocked(signature_blockers(content))
        letter = lifecycle.freeze(letter, content, user, at)
        try:
            outbox.queue(letter, content)  # the deliveries, in the signature's transaction
        except RoutingError as exc:
            raise LifecycleError(f"{lifecycle.SIGN_REFUSED}{exc}") from exc
        return letter


def submit(letter_id: int, user: User, to: int | None = None, note: str = "") -> LetterReview:
    """An intern submits his draft to a senior (`letters.review.submit`), refused while the
    senior's signature would be (`signature_blockers`)."""
    return review.submit(letter_id, user, to, note, blockers=signature_blockers)


@dataclass(frozen=True, slots=True)
class Readiness:
    """What a signature of a draft would do now, for the sign page (nothing stored)."""

    content: LetterContent  # as the signature would freeze it
    author: Professional
    blockers: list[Problem]  # what `sign` would refuse: the content and the plan, else the CDA
    plan: DeliveryPlan  # every recipient, its channel, what is sent at signature
    may_sign: bool  # whether this user may sign this stay's letters (`permissions.check_sign`)
    refusal: str = ""  # why not, in French


def readiness(letter: Letter, user: User) -> Readiness:
    """What blocks `user`'s signature of the draft `letter` now, and what it sends (a user who
    may not sign sees the letter as its signer would). The CDA is built and validated (a dry
    run) only when nothing else blocks."""
    content, author = lifecycle.preview_content(letter, getattr(user, "practitioner", None))
    plan = delivery_plan(content)
    blockers = signature_blockers(content, plan)
    if not blockers:
        blockers = lifecycle.document_blockers(letter, content, author)
    try:
        check_sign(user, letter.stay)
    except PermissionDeniedFr as exc:
        return Readiness(content, author, blockers, plan, False, str(exc))
    return Readiness(content, author, blockers, plan, True)
