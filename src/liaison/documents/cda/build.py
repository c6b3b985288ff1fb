"""Build the CDA: check the content, write the header, then each section of the registry in order."""

from __future__ import annotations

from lxml import etree

from liaison.core.content import LetterContent
from liaison.documents.cda.checks import check
from liaison.documents.cda.codes import NSMAP, V3
from liaison.documents.cda.header import write_header
from liaison.documents.cda.model import DocumentMeta
from liaison.documents.cda.sections import REGISTRY
from liaison.documents.cda.writer import Writer
from liaison.documents.cda.xml import el


def build_cda_tree(content: LetterContent, meta: DocumentMeta) -> etree._Element:
    """The CDA as an lxml element (for callers that validate without re-parsing)."""
    check(content, meta)
    w = Writer(content, meta)
    doc = etree.Element(f"{{{V3}}}ClinicalDocument", nsmap=NSMAP)
    write_header(w, doc)
    body = el(el(doc, "component"), "structuredBody")
    for section in REGISTRY:
        section.write(w, body)
    return doc


def build_cda(content: LetterContent, meta: DocumentMeta) -> bytes:
    """The LDL-SES 2022.01 CDA of a letter, UTF-8 with an XML declaration.

    Raises `CdaBuildError` (French messages, one per missing item) when required data is missing.
    """
    return etree.tostring(build_cda_tree(content, meta), xml_declaration=True, encoding="UTF-8")
