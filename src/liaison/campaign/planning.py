"""The action plan of a targeted establishment: the service behind the plan page (`views.plan`).

A plan is created on the three priority criteria (`PLAN_TEMPLATE`); the campaign user then adds
actions, changes their status, records meetings and attaches files. `plan_page` gathers what the
page shows: the actions by criterion, the progress and the follow-up calendar. The view only
translates HTTP (forms, messages, redirects) to these calls.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from liaison.campaign import follow_up, services
from liaison.campaign.models import PRIORITY_CRITERIA, ActionItem, ActionPlan, Attachment, Meeting, Target

MAX_ATTACHMENT = 5 * 1024 * 1024

PLAN_TEMPLATE = {
    "handed_over": "Remettre la lettre au patient le jour de la sortie et tracer la remise "
    "(check-list de sortie).",
    "care_planning": "Renseigner la planification des soins : rendez-vous pris, examens et soins à prévoir.",
    "discharge_treatment": "Rédiger le traitement de sortie complet : poursuivi, modifié ou arrêté, "
    "avec le motif.",
}


def create_plan(target: Target) -> ActionPlan:
    """A new plan for `target`, with one action per priority criterion."""
    with transaction.atomic():
        plan = ActionPlan.objects.create(target=target)
        ActionItem.objects.bulk_create(
            [ActionItem(plan=plan, criterion=c, action=a) for c, a in PLAN_TEMPLATE.items()]
        )
    return plan


def add_item(plan: ActionPlan, item: ActionItem) -> None:
    item.plan = plan
    item.save()


def set_status(plan: ActionPlan, item_id: int | None, status: str | None) -> bool:
    """Change an action's status; False when `status` is not one. Raises ActionItem.DoesNotExist
    when the action is not the plan's."""
    item = ActionItem.objects.get(pk=item_id, plan=plan)
    if status not in ActionItem.Status.values:
        return False
    item.status = status
    item.save(update_fields=["status"])
    return True


def add_meeting(plan: ActionPlan, meeting: Meeting) -> None:
    meeting.plan = plan
    meeting.save()


def add_attachment(plan: ActionPlan, upload: UploadedFile | None, user: Any) -> str:
    """Attach an uploaded file to the plan; the French reason it is refused, "" when attached."""
    if not upload:
        return "Choisissez un fichier."
    if (upload.size or 0) > MAX_ATTACHMENT:
        return "Pièce jointe trop volumineuse (5 Mo au plus)."
    Attachment.objects.create(
        plan=plan,
        name=Path(upload.name or "").name[:200],
        content_type=upload.content_type or "application/octet-stream",
        data=upload.read(),
        size=upload.size,
        uploaded_by=user,
    )
    return ""


def plan_page(target: Target, plan: ActionPlan | None, today: dt.date | None = None) -> dict[str, Any]:
    """What the plan page shows of `target`'s plan (None: not created yet)."""
    today = today or timezone.localdate()
    done, total = plan.progress() if plan else (0, 0)
    items = list(plan.items.all()) if plan else []
    calendar = None
    if plan is not None:
        meetings = list(plan.meetings.all())
        calendar = follow_up.calendar(
            target.campaign.year,
            timezone.localdate(plan.created_at),
            [m.date for m in meetings if m.kind == Meeting.Kind.VISITE],
            [m.date for m in meetings if m.kind == Meeting.Kind.SUIVI],
            services.evaluation_years(target.campaign, target.campaign.indicators[0])
            if target.campaign.indicators
            else [],
        )
    return {
        "target": target,
        "campaign": target.campaign,
        "est": target.establishment,
        "plan": plan,
        "by_criterion": [
            (label, [i for i in items if i.criterion == c]) for c, label in PRIORITY_CRITERIA.items()
        ],
        "statuses": ActionItem.Status.choices,
        "done": done,
        "total": total,
        "percent": round(100 * done / total) if total else 0,
        "calendar": calendar,
        "meeting_state": calendar.meeting_state(today) if calendar else "",
        "calendar_source": follow_up.SOURCE_FR,
    }
