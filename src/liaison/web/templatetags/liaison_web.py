"""Template tags: field errors tied to their input (RGAA), French labels of enumerations."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from liaison.web.letter_form import field_id

register = template.Library()


def _path(parts: tuple[object, ...]) -> str:
    return ".".join(str(p) for p in parts)


@register.simple_tag
def ferr(errors: dict[str, str] | None, *parts: object) -> str:
    """The error message under a field, with the id its input points to."""
    path = _path(parts)
    message = (errors or {}).get(path)
    if not message:
        return ""
    return format_html('<p class="field-error" id="e-{}">{}</p>', field_id(path), message)


@register.simple_tag
def faria(errors: dict[str, str] | None, *parts: object) -> str:
    """`aria-invalid` and `aria-describedby` for an input whose field has an error."""
    path = _path(parts)
    if not (errors or {}).get(path):
        return ""
    return format_html(' aria-invalid="true" aria-describedby="e-{}"', field_id(path))


@register.filter(name="label")
def label_filter(value: object, kind: str) -> str:
    """`{{ value|label:"entry_mode" }}`: the French label of a stored enumeration value."""
    from liaison.web.labels import label

    return label(value, kind)
