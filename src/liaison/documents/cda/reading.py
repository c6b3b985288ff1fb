"""Reading helpers of the CDA (lxml, XPath in the `cda` namespace) and the state a reading
fills section by section (`ReadState`), shared by the reader's header part and the sections."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar

from lxml import etree

from liaison.core.codes import HL7_V3, LOINC, XSI
from liaison.core.content import (
    EntryMode,
    ExitMode,
    LetterContent,
    Presence,
)
from liaison.core.paris import PARIS
from liaison.core.text import strip_accents
from liaison.quality.rules import says_none

if TYPE_CHECKING:
    from liaison.documents.cda.writer import Section

NS = {"cda": HL7_V3, "xsi": XSI}
BR = f"{{{HL7_V3}}}br"
M = TypeVar("M")  # a coded modality (EntryMode, ExitMode)
# How the discharge treatment was read: entries | narrative_table | narrative_text |
# narrative_none (the section says there is none) | empty (a section with nothing in it) |
# absent (no such section).
MedicationSource = Literal[
    "entries", "narrative_table", "narrative_text", "narrative_none", "empty", "absent"
]


@dataclass
class ReadState:
    """What a reading has found so far: each section's reader sets the content's fields it reads."""

    doc: etree._Element
    content: LetterContent
    notes: list[str] = field(default_factory=list)  # French: where the reader fell back to narrative
    medication_source: MedicationSource = "absent"


def xpath(node: etree._Element, path: str) -> list[etree._Element]:
    """The elements an XPath selects (`strings` for attribute values and text)."""
    found = node.xpath(path, namespaces=NS)
    return [x for x in found if isinstance(x, etree._Element)] if isinstance(found, list) else []


def strings(node: etree._Element, path: str) -> list[str]:
    """The text results (attribute values, text nodes) of an XPath, as plain strings."""
    found = node.xpath(path, namespaces=NS)
    return [str(x) for x in found if isinstance(x, str)] if isinstance(found, list) else []


def first(node: etree._Element, path: str) -> etree._Element | None:
    found = xpath(node, path)
    return found[0] if found else None


def node_text(node: etree._Element | str | None) -> str:
    """Normalised text of a node and its descendants (narrative blocks included)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return " ".join(node.split())
    return " ".join(" ".join(node.itertext()).split())


def node_lines(node: etree._Element | None) -> str:
    """`node_text` keeping the line breaks a narrative marks with `<br/>` (as `xml.narrative`
    writes a multi-line field): each line normalised, empty lines dropped."""
    if node is None:
        return ""
    pieces: list[str] = []

    def walk(el: etree._Element) -> None:
        if el.tag == BR:
            pieces.append("\n")
        if isinstance(el.tag, str) and el.text:
            pieces.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                pieces.append(child.tail)

    walk(node)
    lines = (" ".join(line.split()) for line in " ".join(pieces).split("\n"))
    return "\n".join(line for line in lines if line)


def attr(node: etree._Element | None, path: str, name: str) -> str:
    """An attribute of the first element the path selects, trimmed; "" when there is none."""
    found = first(node, path) if node is not None else None
    return (found.get(name) or "").strip() if found is not None else ""


def parse_ts(value: str | None) -> dt.datetime | None:
    """HL7 TS (`aaaa[mm[jj[hh[mm[ss]]]]][±zzzz]`) → aware datetime; no offset = Europe/Paris."""
    if not value:
        return None
    m = re.fullmatch(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?", value.strip())
    if not m:
        return None
    year, month, day, hour, minute, second, offset = m.groups()
    try:
        moment = dt.datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    if offset:
        sign = 1 if offset[0] == "+" else -1
        delta = dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
        return moment.replace(tzinfo=dt.timezone(sign * delta))
    return moment.replace(tzinfo=PARIS)


def referenced(doc: etree._Element, ref: str | None) -> etree._Element | None:
    """The narrative element whose ID a `reference/@value` (« #id ») points to; None for a
    missing reference or one that is not a plain ID (it is put into an XPath)."""
    if not ref or not re.fullmatch(r"#?[\w.\-]+", ref):
        return None
    return first(doc, f"//*[@ID='{ref.lstrip('#')}']")


def referenced_text(doc: etree._Element, ref: str | None) -> str:
    """Text of the narrative element whose ID the entry's `text/reference` points to."""
    return node_text(referenced(doc, ref))


def referenced_lines(doc: etree._Element, ref: str | None) -> str:
    """`referenced_text` with the narrative's line breaks (`node_lines`)."""
    return node_lines(referenced(doc, ref))


def fold(text: str) -> str:
    """Lower case without accents, trimmed: how narrative headers and labels are compared."""
    return strip_accents(text.lower()).strip()


def referenced_row(doc: etree._Element, ref: str | None) -> dict[str, str]:
    """The narrative table row holding the referenced element, as {column header: cell text};
    empty when the reference is not inside a table with a header row."""
    target = referenced(doc, ref)
    row = first(target, "ancestor::cda:tr[1]") if target is not None else None
    table = first(row, "ancestor::cda:table[1]") if row is not None else None
    if row is None or table is None:
        return {}
    headers = [node_text(th) for th in xpath(table, "cda:thead/cda:tr/cda:th")]
    cells = [node_text(td) for td in xpath(row, "cda:td")]
    return dict(zip(headers, cells, strict=False))


def parse_fr_date(text: str) -> dt.date | None:
    """A French narrative date (`jj/mm/aaaa`, as `xml.fr_date` writes it) at the start of the text."""
    m = re.match(r"\s*(\d{2})/(\d{2})/(\d{4})", text)
    if not m:
        return None
    try:
        return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


def observations(section: etree._Element | None) -> dict[str, etree._Element]:
    if section is None:
        return {}
    return {attr(o, "cda:code", "code"): o for o in xpath(section, "cda:entry/cda:observation")}


def obs_text(doc: etree._Element, obs: etree._Element | None) -> str:
    if obs is None:
        return ""
    value = first(obs, "cda:value")
    text = node_text(value) if value is not None else ""
    return text or referenced_text(doc, attr(obs, "cda:text/cda:reference", "value"))


def obs_lines(doc: etree._Element, obs: etree._Element | None) -> str:
    """`obs_text` with the line breaks of the narrative the entry points to, when that narrative
    says the same text (an ST value is one line; the narrative keeps the field's lines)."""
    text = obs_text(doc, obs)
    lines = referenced_lines(doc, attr(obs, "cda:text/cda:reference", "value"))
    return lines if lines and " ".join(lines.split()) == text else text


def obs_bool(obs: etree._Element | None) -> bool | None:
    """A BL value; None when the entry is absent, has a nullFlavor or an unreadable value."""
    value = attr(obs, "cda:value", "value").lower() if obs is not None else ""
    return {"true": True, "false": False}.get(value)


def obs_detail(doc: etree._Element, obs: etree._Element | None) -> str:
    """An optional ST detail entry (MED-146, MED-148); "" when absent or saying "aucun"."""
    text = obs_lines(doc, obs)
    return "" if not text or says_none(text) else text


def presence_from_text(text: str) -> Presence:
    if not text:
        return Presence()
    if says_none(text):
        return Presence(present=False)
    return Presence(present=True, details=text)


def coded_mode(obs: etree._Element | None, codes: dict[M, tuple[str, str, str]]) -> M | None:
    """Map a coded modality back through ENTRY_MODE_CODES / EXIT_MODE_CODES (first match wins)."""
    if obs is None:
        return None
    code, system = attr(obs, "cda:value", "code"), attr(obs, "cda:value", "codeSystem")
    for mode, (c, s, _label) in codes.items():
        if c == code and (not system or s == system):
            return mode
    return None


ENTRY_WORDS = {
    "urgence": EntryMode.URGENCE,
    "programm": EntryMode.PROGRAMMEE,
    "transfert": EntryMode.TRANSFERT,
}
EXIT_WORDS = {
    "domicile": ExitMode.DOMICILE,
    "had": ExitMode.HAD,
    "ehpad": ExitMode.EHPAD,
    "ssr": ExitMode.SMR,
    "smr": ExitMode.SMR,
    "décès": ExitMode.DECES,
    "deces": ExitMode.DECES,
    "établissement": ExitMode.AUTRE_ES,
}


def mode_from_words(text: str, words: dict[str, M]) -> M | None:
    lowered = text.lower()
    return next((mode for word, mode in words.items() if re.search(rf"\b{word}", lowered)), None)


def find_sections(doc: etree._Element, registry: Iterable[Section]) -> dict[str, etree._Element]:
    """Each registered section (at any depth) by name: the first with its key templateId, else the
    first with its LOINC code; never by its title, which each software words its own way."""
    found = xpath(doc, "//cda:structuredBody//cda:section")
    out: dict[str, etree._Element] = {}
    for section in registry:
        match = next((s for s in found if section.key_template in strings(s, "cda:templateId/@root")), None)
        if match is None:
            match = next((s for s in found if _loinc_code(s) == section.spec.code), None)
        if match is not None:
            out[section.name] = match
    return out


def _loinc_code(section: etree._Element) -> str:
    code = first(section, "cda:code")
    if code is None or code.get("codeSystem", LOINC) != LOINC:
        return ""
    return (code.get("code") or "").strip()
