"""The build state shared by header and sections (`Writer`), and what a section is
(`SectionSpec`, `Section`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from lxml import etree

from liaison.core.content import LetterContent

if TYPE_CHECKING:
    from liaison.documents.cda.reading import ReadState
from liaison.core.codes import LOINC
from liaison.documents.cda.codes import SIMPLE_OBS, SUMMARY_ENTRIES, TA_ASIP, XSI_TYPE
from liaison.documents.cda.model import CdaBuildError, DocumentMeta
from liaison.documents.cda.xml import el, hl7_date, narrative, ts

T = TypeVar("T")


def required(value: T | None, field: str) -> T:
    """A value the checks (`checks.check`) make sure of before the build: the writers read it
    through here, so that a letter the checks let through without it is refused, not half-written."""
    if value is None:
        raise CdaBuildError([(field, f"Donnée requise absente ({field}).")])
    return value


class Writer:
    """The state of one build: the content, the meta and the counter of deterministic UUIDs."""

    def __init__(self, content: LetterContent, meta: DocumentMeta):
        self.c = content
        self.meta = meta
        self._n = 0

    def uid(self) -> str:
        """Deterministic UUIDs: the same content and meta give the same bytes."""
        self._n += 1
        seed = f"{self.meta.id.root}^{self.meta.id.extension or ''}#{self._n}"
        return str(uuid.uuid5(uuid.NAMESPACE_OID, seed)).upper()

    def entry(
        self, sec: etree._Element, tag: str, attrs: dict[str, str], templates: Iterable[str]
    ) -> etree._Element:
        """A new `entry` of the section: the clinical statement with its templateIds and its id."""
        statement = el(el(sec, "entry"), tag, attrs)
        for root in templates:
            el(statement, "templateId", {"root": root})
        el(statement, "id", {"root": self.uid()})
        return statement

    def section(
        self, body: etree._Element, spec: SectionSpec, title: str
    ) -> tuple[etree._Element, etree._Element]:
        templates, code, display = spec
        sec = el(el(body, "component"), "section")
        for root in templates:
            el(sec, "templateId", {"root": root})
        el(sec, "id", {"root": self.uid()})
        el(
            sec,
            "code",
            {"code": code, "codeSystem": LOINC, "codeSystemName": "LOINC", "displayName": display},
        )
        el(sec, "title", text=title)
        return sec, el(sec, "text")

    def table(self, text: etree._Element, headers: tuple[str, ...] | None) -> etree._Element:
        table = el(text, "table", {"border": "0"})
        if headers:
            row = el(el(table, "thead"), "tr")
            for h in headers:
                el(row, "th", text=h)
        return el(table, "tbody")

    def row(self, tbody: etree._Element, label: str, value: str, ref: str | None = None) -> None:
        tr = el(tbody, "tr")
        el(tr, "td", text=label)
        td = el(tr, "td")
        narrative(el(td, "content", {"ID": ref}) if ref else td, value)

    def simple_obs(
        self,
        sec: etree._Element,
        code: str,
        ref: str,
        when: dt.datetime | dt.date,
        value: dict[str, str] | str,
        templates: tuple[str, ...] | None = None,
    ) -> None:
        display = SUMMARY_ENTRIES[code][1] if code in SUMMARY_ENTRIES else ""
        templates = templates or (*SIMPLE_OBS, SUMMARY_ENTRIES[code][0])
        obs = self.entry(sec, "observation", {"classCode": "OBS", "moodCode": "EVN"}, templates)
        if code == "GEN-065":
            display = "Statut du document"
        el(
            obs,
            "code",
            {"code": code, "codeSystem": TA_ASIP, "codeSystemName": "TA_ASIP", "displayName": display},
        )
        el(el(obs, "text"), "reference", {"value": f"#{ref}"})
        el(obs, "statusCode", {"code": "completed"})
        el(obs, "effectiveTime", {"value": ts(when) if isinstance(when, dt.datetime) else hl7_date(when)})
        if isinstance(value, str):
            el(obs, "value", {XSI_TYPE: "ST"}, value)
        else:
            el(obs, "value", value)


class SectionSpec(NamedTuple):
    """A section's templateIds (in document order), LOINC code and LOINC display name."""

    template_ids: tuple[str, ...]
    code: str
    display: str


@dataclass(frozen=True)
class Section:
    """One LDL-SES section: its codes, its writer (which may write nothing), its reader (given the
    section element, or None when the document has none) and the templateId the reader finds it by
    (or, failing that, its LOINC code — never its title)."""

    name: str
    spec: SectionSpec
    write: Callable[[Writer, etree._Element], None]
    read: Callable[[ReadState, etree._Element | None], None] | None  # sets the fields the section holds
    key_template: str
