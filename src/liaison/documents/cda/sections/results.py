"""Section « Résultats d'examens » (30954-2): the results and information still expected.

Its codes, its writer (`write`) and its reader (`read`), registered in `sections.REGISTRY`."""

from __future__ import annotations

from lxml import etree

from liaison.core import catalogue
from liaison.core.content import (
    PendingResult,
)
from liaison.documents.cda.reading import (
    ReadState,
    first,
    fold,
    node_text,
    parse_fr_date,
    xpath,
)
from liaison.documents.cda.writer import Section, SectionSpec, Writer
from liaison.documents.cda.xml import el, fr_date
from liaison.quality.rules import says_none

SPEC = SectionSpec(
    ("1.3.6.1.4.1.19376.1.5.3.1.3.27", "1.2.250.1.213.1.1.2.150"),
    catalogue.RESULTS.code,
    catalogue.RESULTS.display,
)


def write(w: Writer, body: etree._Element) -> None:
    c = w.c
    if not c.pending_results and not c.no_pending_results:
        return
    _, text = w.section(body, SPEC, catalogue.RESULTS.title)
    if not c.pending_results:
        el(text, "paragraph", text="Aucun résultat d'examen en attente.")
        return
    tbody = w.table(text, ("Examen ou information attendu", "Date prévue", "Transmis par"))
    for i, r in enumerate(c.pending_results):
        tr = el(tbody, "tr")
        el(el(tr, "td"), "content", {"ID": f"resultat-{i + 1}"}, r.description)
        el(tr, "td", text=fr_date(r.expected_on))
        el(tr, "td", text=r.followed_by)


# Columns of a results table, recognised by their header (`fold`ed, the first match wins).
_COLUMNS = {
    "expected_on": ("date",),
    "followed_by": ("transmis", "suivi par", "par "),
    "description": ("examen", "information", "resultat"),
}


def _column(header: str) -> str | None:
    h = fold(header)
    return next((key for key, words in _COLUMNS.items() if h.startswith(words)), None)


def _from_table(table: etree._Element) -> list[PendingResult] | None:
    """The rows of a table with a description column and a date or « transmis par » one (as
    Liaison writes it); None for another table, read cell by cell."""
    keys = [_column(node_text(th)) for th in xpath(table, "cda:thead/cda:tr/cda:th")]
    if "description" not in keys or not {"expected_on", "followed_by"} & set(keys):
        return None
    out = []
    for row in xpath(table, "cda:tbody/cda:tr"):
        x = dict(zip(keys, (node_text(td) for td in xpath(row, "cda:td")), strict=False))
        if x.get("description"):
            out.append(
                PendingResult(
                    description=x["description"],
                    expected_on=parse_fr_date(x.get("expected_on") or ""),
                    followed_by=x.get("followed_by") or "",
                )
            )
    return out


def read(s: ReadState, section: etree._Element | None) -> None:
    """A table whose columns are known gives one result per row; otherwise each cell (or the
    first paragraph) is one expected item."""
    if section is None:
        return
    tables = [r for t in xpath(section, "cda:text//cda:table") if (r := _from_table(t)) is not None]
    if tables:
        s.content.pending_results = [r for rows in tables for r in rows]
        return
    cells = [
        node_text(x)
        for x in xpath(section, "cda:text//cda:td | cda:text//cda:content[not(ancestor::cda:td)]")
    ]
    cells = [x for x in cells if x] or (
        [t] if (t := node_text(first(section, "cda:text/cda:paragraph"))) else []
    )
    if cells and all(says_none(x) or x.lower().startswith("aucun") for x in cells):
        s.content.no_pending_results = True
    else:
        s.content.pending_results = [PendingResult(description=x) for x in cells]


SECTION = Section("results", SPEC, write, read, key_template="1.3.6.1.4.1.19376.1.5.3.1.3.27")
