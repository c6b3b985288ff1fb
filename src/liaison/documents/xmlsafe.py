"""One safe way to read XML that comes from outside (files, request bodies, CDA, SOAP).

`parse_xml(data)` uses a single lxml parser configuration: no entity expansion, no DTD loaded,
no network, no huge trees (libxml2's limits on depth and text size stay on). A document that
declares a DTD (`<!DOCTYPE …>`, the way in for « billion laughs » and external entities) is
refused outright: no CDA, SOAP envelope or XDS metadata has one. Everything refused raises
`XmlInputError` with a French reason. Pure Python, no Django.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

# The largest XML file a command reads (one CDA, with any PDF copy it carries, weighs a few
# hundred Kio; the DMP sandbox bounds a whole ITI-41 request at the same figure).
MAX_XML_BYTES = 10 * 1024 * 1024


class XmlInputError(ValueError):
    """An XML input refused, with the reason in French."""


# What may come before the root element: BOM, XML declaration, processing instructions,
# comments, white space. A `<!DOCTYPE` found there is refused before lxml reads it.
_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.S)

# libxml2's messages (English) → the French reason a user reads; the original stays as detail.
_REASONS = (
    ("Excessive depth", "éléments imbriqués sur plus de 256 niveaux"),
    ("amplification", "expansion d'entités excessive"),
    ("Document is empty", "aucun élément XML (fichier binaire ou qui n'est pas du XML ?)"),
    ("Start tag expected", "aucun élément XML (fichier binaire ou qui n'est pas du XML ?)"),
    ("Premature end", "document tronqué"),
    ("end of data", "document tronqué"),
    ("Couldn't find end", "document tronqué ou balise mal fermée"),
    ("expected '>'", "document tronqué ou balise mal fermée"),
    ("mismatch", "balise fermante qui ne correspond pas à la balise ouvrante"),
    ("not proper UTF-8", "encodage invalide (UTF-8 attendu)"),
    ("encoding", "encodage invalide ou non pris en charge"),
    ("huge", "nœud de texte trop volumineux"),
    ("Extra content", "contenu après l'élément racine"),
)


def _reason(message: str) -> str:
    for needle, reason in _REASONS:
        if needle.lower() in message.lower():
            return reason
    return "erreur de syntaxe"


def _parser(remove_comments: bool) -> etree.XMLParser:
    # A new parser per call: lxml parsers are not thread-safe.
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=remove_comments,
    )


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} Mo".replace(".", ",")


def parse_xml(
    data: bytes, what: str = "Le document", max_bytes: int = MAX_XML_BYTES, remove_comments: bool = False
) -> etree._Element:
    """The root element of `data`, or `XmlInputError` naming `what` (« Le fichier x.xml », …)."""
    if len(data) > max_bytes:
        raise XmlInputError(f"{what} est trop volumineux : {_size(len(data))}, {_size(max_bytes)} au plus.")
    if not data.strip():
        raise XmlInputError(f"{what} est vide.")
    prolog = _PROLOG.match(data)
    if data[prolog.end() if prolog else 0 :].lstrip()[:9].upper() == b"<!DOCTYPE":
        raise _dtd_refused(what)
    try:
        root = etree.fromstring(data, _parser(remove_comments))
    except etree.XMLSyntaxError as exc:
        where = f" (ligne {exc.lineno}, colonne {exc.offset})" if exc.lineno else ""
        raise XmlInputError(
            f"{what} n'est pas un XML bien formé{where} : {_reason(exc.msg)} (détail : {exc.msg})."
        ) from exc
    except ValueError as exc:  # e.g. a str with an encoding declaration
        raise XmlInputError(f"{what} n'est pas un XML lisible : {exc}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _dtd_refused(what)
    return root


def _dtd_refused(what: str) -> XmlInputError:
    return XmlInputError(
        f"{what} déclare une DTD (<!DOCTYPE …>) : refusé, car une DTD peut définir des entités "
        "(expansion exponentielle, lecture de fichiers ou d'adresses externes)."
    )


def read_xml_file(
    path: Path, max_bytes: int = MAX_XML_BYTES, remove_comments: bool = False
) -> tuple[bytes, etree._Element]:
    """The bytes and root element of an XML file, size checked before reading."""
    what = f"Le fichier {path}"
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise XmlInputError(f"{what} est trop volumineux : {_size(size)}, {_size(max_bytes)} au plus.")
        data = path.read_bytes()
    except IsADirectoryError as exc:
        raise XmlInputError(f"{what} est un dossier, pas un fichier.") from exc
    except FileNotFoundError as exc:
        raise XmlInputError(f"{what} n'existe pas.") from exc
    except PermissionError as exc:
        raise XmlInputError(f"{what} n'est pas lisible (droits insuffisants).") from exc
    except OSError as exc:
        raise XmlInputError(f"{what} est illisible : {exc.strerror or exc}.") from exc
    return data, parse_xml(data, what, max_bytes, remove_comments)
