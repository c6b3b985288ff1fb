"""Every enumeration a user may see, by name, with its French labels (issue 19).

The labels live next to their enumerations (`core.content`'s `*_LABELS`, the models'
`TextChoices`, `quality`'s dicts and grids); this registry only names them, for the `label`
template filter (`{{ stay.entry_mode|label:"entry_mode" }}`) and for the test that scans every page
and PDF for a stored value shown raw (`tests/web/test_labels.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from liaison.campaign.models import ActionItem, Meeting
from liaison.core.content import (
    CHANNEL_LABELS,
    ENTRY_MODE_LABELS,
    EXIT_MODE_LABELS,
    FOLLOW_UP_LABELS,
    IDENTITY_STATUS_LABELS,
    MEDICATION_STATUS_LABELS,
    ORIENTATION_LABELS,
    RECIPIENT_ROLE_LABELS,
    SECTOR_LABELS,
)
from liaison.delivery.models import Delivery
from liaison.letters.audit import ACTION_LABELS
from liaison.letters.models import HANDED_OVER_TO_LABELS, Correspondent, DischargeCheck, Letter, Profession
from liaison.letters.permissions import ROLE_LABELS
from liaison.quality.grid import STATUS_LABELS_FR as SOURCE_STATUS_LABELS
from liaison.quality.rules import Result

# What an auditor reads for a criterion's result (the grid's CSV keeps « oui / non / NA »).
RESULT_LABELS = {Result.MET: "rempli", Result.NOT_MET: "non rempli", Result.NOT_APPLICABLE: "non applicable"}


@cache
def criterion_labels() -> dict[str, str]:
    """Every QLS / decree criterion id with its French name (the newest grid's wording)."""
    from liaison.quality.grid import all_grids

    out: dict[str, str] = {}
    for grid in sorted(all_grids(), key=lambda g: g.version):
        for item in grid.items:
            out[item.id] = item.label_fr
    return out


def registry() -> dict[str, Mapping[str, str]]:
    """Enumeration name → {stored value: French label}."""
    return {
        "identity_status": IDENTITY_STATUS_LABELS,
        "entry_mode": ENTRY_MODE_LABELS,
        "exit_mode": EXIT_MODE_LABELS,
        "sector": SECTOR_LABELS,
        "medication_status": MEDICATION_STATUS_LABELS,
        "follow_up": FOLLOW_UP_LABELS,
        "orientation": ORIENTATION_LABELS,
        "recipient_role": RECIPIENT_ROLE_LABELS,
        "channel": CHANNEL_LABELS,
        "delivery_channel": dict(Delivery.Channel.choices),
        "delivery_state": dict(Delivery.State.choices),
        "letter_status": dict(Letter.Status.choices),
        "discharge_check": dict(DischargeCheck.choices),
        "profession": dict(Profession.choices),
        "correspondent_kind": dict(Correspondent.Kind.choices),
        "role": ROLE_LABELS,
        "audit_action": ACTION_LABELS,
        "handed_over_to": HANDED_OVER_TO_LABELS,
        "result": RESULT_LABELS,
        "source_status": SOURCE_STATUS_LABELS,
        "criterion": criterion_labels(),
        "action_status": dict(ActionItem.Status.choices),
        "meeting_kind": dict(Meeting.Kind.choices),
    }


def label(value: object, kind: str) -> str:
    """The French label of `value` in enumeration `kind`; « — » for no value; an unknown value
    as it is (a code that came from outside, shown rather than hidden)."""
    if value is None or value == "":
        return "—"
    return registry()[kind].get(str(value), str(value))
