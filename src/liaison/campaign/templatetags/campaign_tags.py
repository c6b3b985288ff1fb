"""Template filters of the campaign pages: French numbers and percentages."""

from __future__ import annotations

from django import template

from liaison.campaign.stats import fr as _fr

register = template.Library()


@register.filter
def fr(value: float | None, digits: int = 1) -> str:
    return _fr(value, int(digits)) if value is not None and value != "" else "—"


@register.filter
def pct(value: float | None) -> str:
    return f"{_fr(100 * value)} %" if value is not None else "—"


@register.filter
def evolution(code: str) -> str:
    from liaison.campaign.profile_pdf import EVOLUTION_LABELS

    return EVOLUTION_LABELS.get(code, "—")


@register.filter
def get(mapping: dict, key: str):
    return mapping.get(key) if mapping else None
