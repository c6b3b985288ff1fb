"""Small lxml writing helpers of the CDA: elements in the HL7 v3 namespace, TS with the Paris
offset, narrative lines."""

from __future__ import annotations

import datetime as dt
import re

from lxml import etree

from liaison.core.paris import PARIS
from liaison.documents.cda.codes import V3


def el(
    parent: etree._Element, tag: str, attrib: dict[str, str] | None = None, text: str | None = None
) -> etree._Element:
    e = etree.SubElement(parent, f"{{{V3}}}{tag}", attrib or {})
    if text is not None:
        e.text = text
    return e


def ts(value: dt.datetime) -> str:
    """CDA TS with seconds and the Europe/Paris offset, e.g. 20241203133000+0100."""
    return value.astimezone(PARIS).strftime("%Y%m%d%H%M%S%z")


def hl7_date(value: dt.date) -> str:
    return value.strftime("%Y%m%d")


def fr_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(PARIS).strftime("%d/%m/%Y à %H h %M")
    return value.strftime("%d/%m/%Y")


def tel(phone: str) -> str:
    return "tel:" + re.sub(r"[^0-9+]", "", phone)


def text_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def narrative(parent: etree._Element, text: str) -> None:
    """Multi-line text as one line per <br/> (mixed content)."""
    lines = text_lines(text)
    parent.text = lines[0] if lines else ""
    for line in lines[1:]:
        br = el(parent, "br")
        br.tail = line


def bl(value: bool | None) -> str:
    return "true" if value else "false"
