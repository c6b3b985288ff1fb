"""LDL-SES validation: CDA XSD (lxml) + ANS schematrons (saxonche) + Python checks.

Adapted from the recipe in `shared/domain/ldl-ses-cda.md` §6: the ANS schematrons are turned
into XSLT with the ISO skeleton shipped inside lxml, run by Saxon-HE (saxonche), and
`terminologie.sch` (which does not compile with that skeleton) is replaced by its Python
equivalent. On top of it, `liaison_findings` checks what the schematrons do not (§4): the
section-3 entry cardinalities, the modalité de sortie value set, narrative references and
maximum-dose units.

Build one `LdlSesValidator` per process and reuse it: compiling the schematrons costs seconds
(StrucMin, enabled with `full=True`, about 12 s and 1.2 GB). The generated XSL is cached on disk
(`$LIAISON_CACHE_DIR`, else `$XDG_CACHE_HOME/liaison`, else `~/.cache/liaison`).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import lxml
from lxml import etree
from saxonche import PySaxonProcessor

from liaison.core import catalogue
from liaison.core.codes import HL7_V3 as V3
from liaison.core.codes import LDL_SES_LOINC, XSI
from liaison.documents.xmlsafe import XmlInputError, parse_xml, read_xml_file
from liaison.paths import default_cache_dir, ldl_ses_dir

SCHEMATRON_FILES = {
    "volet": "CI-SIS_LDL-SES_2022.01.sch",
    "ihe": "profils/IHE.sch",
    "modeles_cisis": "profils/CI-SIS_ModelesDeContenusCDA.sch",
    "modeles_ans": "profils/CI-SIS_Modeles_ANS.sch",
    "strucmin": "profils/structurationMinimale/ASIP-STRUCT-MIN-StrucMin.sch",  # slow: full=True
}
CORE = ("volet", "ihe", "modeles_cisis", "modeles_ans")
SOURCE_LABELS = {
    "xsd": "Schéma XML CDA",
    "volet": "Schématron du volet LDL-SES",
    "ihe": "Schématron IHE",
    "modeles_cisis": "Schématron des modèles de contenu CI-SIS",
    "modeles_ans": "Schématron des modèles ANS",
    "strucmin": "Schématron de structuration minimale",
    "terminologie": "Contrôle des terminologies",
    "liaison": "Contrôles complémentaires Liaison",
}

SKELETON = Path(lxml.__file__).parent / "isoschematron/resources/xsl/iso-schematron-xslt1"
SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
SVRL = "{" + SVRL_NS + "}"
XSL_NS = "http://www.w3.org/1999/XSL/Transform"
NS = {"hl7": V3, "xsi": XSI}
TA_ASIP = "1.2.250.1.213.1.1.4.322"
_COMPILER_VERSION = "3"  # bump when the .sch → .xsl steps change (invalidates the cache)


@dataclass(frozen=True)
class Finding:
    """One problem found in a document."""

    source: str  # "xsd", a SCHEMATRON_FILES key, "terminologie" or "liaison"
    severity: str  # "error" | "warning" (warnings do not block signature)
    location: str  # XPath of the element, e.g. /ClinicalDocument/recordTarget[1]/patientRole[1]
    message: str  # French, readable
    field: str | None = None  # LetterContent form field, when it can be told

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.is_error]


# --- schematron compilation -------------------------------------------------------------------


def _fingerprint(folder: Path) -> str:
    """Cheap identity of the schematron tree (paths, sizes, mtimes) and of the skeleton."""
    h = hashlib.sha256(f"{etree.__version__}|{_COMPILER_VERSION}".encode())
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(folder)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class _Compiler:
    """Turns a .sch into an XSL file with the ISO skeleton (include → expand → svrl)."""

    def __init__(self, proc: PySaxonProcessor) -> None:
        xslt = proc.new_xslt30_processor()
        self._steps = [
            xslt.compile_stylesheet(stylesheet_file=str(SKELETON / name))
            for name in ("iso_dsdl_include.xsl", "iso_abstract_expand.xsl", "iso_svrl_for_xslt1.xsl")
        ]
        self._proc = proc

    def to_xsl(self, sch: Path, optimise: bool = True) -> bytes:
        include, expand, svrl = self._steps
        step1 = include.transform_to_string(source_file=str(sch))
        step2 = expand.transform_to_string(xdm_node=self._proc.parse_xml(xml_text=step1))
        doc = etree.fromstring(step2.encode())
        # The XSLT1 skeleton refuses queryBinding="xslt2"; Saxon still runs XPath 2 functions.
        doc.set("queryBinding", "xslt")
        step3 = svrl.transform_to_string(xdm_node=self._proc.parse_xml(xml_text=etree.tostring(doc).decode()))
        xsl = etree.fromstring(step3.encode())
        if optimise:
            _optimise(xsl)
        # doc()/document() paths in the rules are relative to the .sch folder.
        xsl.set("{http://www.w3.org/XML/1998/namespace}base", sch.parent.as_uri() + "/")
        return etree.tostring(xsl, xml_declaration=True, encoding="UTF-8")


def _optimise(xsl: etree._Element) -> None:
    """Make the generated XSL cheaper to run without changing which asserts fire.

    The skeleton walks the whole document once per pattern (hundreds of patterns), plus once
    more per pattern in the default mode under `svrl:active-pattern`, and writes an
    `svrl:fired-rule` per rule firing. Here:
    1. `svrl:active-pattern` (and the default-mode walk inside it), `svrl:fired-rule` and
       `svrl:ns-prefix-in-attribute-values` are dropped: we read only failed asserts and
       successful reports;
    2. a pattern whose every rule context requires a `templateId/@root` literal is run only
       when the document holds one of those roots (a necessary condition, so no finding lost);
    3. a pattern whose rules cannot match an attribute walks elements only (`*`, not `@*|*`).
    `tests/documents` checks the findings equal those of the unmodified XSL.
    """
    for tag in ("active-pattern", "fired-rule", "ns-prefix-in-attribute-values"):
        for el in list(xsl.iter(SVRL + tag)):
            if (parent := el.getparent()) is not None:
                parent.remove(el)
    matches: dict[str, list[str]] = {}
    for t in xsl.iter(f"{{{XSL_NS}}}template"):
        mode, match = t.get("mode") or "", t.get("match")
        if _MODE_RE.match(mode) and match and t.get("priority") not in ("-1", "-2"):
            matches.setdefault(mode, []).append(match)
    guards = {}
    for mode, ms in matches.items():
        roots = [r for m in ms if (r := _required_root(m))]
        if len(roots) == len(ms):  # every rule context requires a root
            guards[mode] = " or ".join(f"$liaison-roots = '{r}'" for r in sorted(set(roots)))
    var = etree.Element(f"{{{XSL_NS}}}variable", name="liaison-roots", select="//cda:templateId/@root")
    first_template = next(xsl.iter(f"{{{XSL_NS}}}template"))
    first_template.addprevious(var)
    for call in list(xsl.iter(f"{{{XSL_NS}}}apply-templates")):
        mode = call.get("mode") or ""
        if call.get("select") == "/" and mode in guards:
            guard = etree.Element(f"{{{XSL_NS}}}if", test=guards[mode])
            call.addprevious(guard)
            guard.append(call)
        elif (
            call.get("select") == "@*|*"
            and mode in matches
            and not any(_may_match_attribute(m) for m in matches[mode])
        ):
            call.set("select", "*")


_MODE_RE = re.compile(r"^M\d+$")
_ROOT_LITERAL_RE = re.compile(r"""cda:templateId(?:/@root\s*=\s*|\[@root\s*=\s*)(["'])([^"']+)\1""")


def _required_root(match: str) -> str | None:
    """A templateId root every node matching `match` needs in the document, if one can be told.

    Conservative: any `or`, `|` or `!=` in the pattern, or a `not(` before the literal, and we
    give up (the pattern is then run unguarded).
    """
    if re.search(r"\bor\b|\||!=", match):
        return None
    m = _ROOT_LITERAL_RE.search(match)
    if not m or "not(" in match[: m.start()]:
        return None
    return m.group(2)


def _may_match_attribute(match: str) -> bool:
    last_step = re.split(r"/(?![^\[]*\])", match)[-1]
    return "@" in last_step.split("[")[0] or "attribute::" in match or match.strip() in ("node()", "@*")


# --- the validator ----------------------------------------------------------------------------


class LdlSesValidator:
    """XSD + ANS schematrons + terminology + Liaison checks for LDL-SES documents.

    Calls into Saxon are serialised by a lock, so one instance may be shared by threads.
    """

    def __init__(self, cache_dir: Path | None = None, full: bool = False, standards: Path | None = None):
        self.standards = standards or ldl_ses_dir()
        self.full = full
        self.names = (*CORE, "strucmin") if full else CORE
        sch_dir = self.standards / "schematrons"
        cache_root = (cache_dir or default_cache_dir()) / f"schematron-{_fingerprint(sch_dir)}"
        cache_root.mkdir(parents=True, exist_ok=True)
        self._proc = PySaxonProcessor(license=False)
        xslt = self._proc.new_xslt30_processor()
        compiler: _Compiler | None = None
        self._exes = {}
        for name in self.names:
            xsl_file = cache_root / f"{name}.xsl"
            if not xsl_file.is_file():
                compiler = compiler or _Compiler(self._proc)
                _atomic_write(xsl_file, compiler.to_xsl((sch_dir / SCHEMATRON_FILES[name]).resolve()))
            self._exes[name] = xslt.compile_stylesheet(stylesheet_file=str(xsl_file))
        self._xsd = etree.XMLSchema(etree.parse(str(self.standards / "infrastructure/cda/CDA_extended.xsd")))
        self._lock = threading.Lock()

    # public API

    def validate(self, cda: bytes | str | Path | etree._ElementTree) -> list[Finding]:
        """All findings for one document; an empty list (or no errors) means valid."""
        try:
            tree, text = _load(cda)
        except XmlInputError as exc:  # empty, truncated, binary, DTD, too deep or too big
            return [Finding("fichier", "error", "", str(exc))]
        with self._lock:
            out = self._xsd_findings(tree)
            node = self._proc.parse_xml(xml_text=text)
            for name, exe in self._exes.items():
                svrl = exe.transform_to_string(xdm_node=node)
                out += _svrl_findings(name, svrl)
        out += terminology_findings(tree, self.standards)
        out += liaison_findings(tree, self.standards)
        return [_with_field(f, tree) for f in out]

    def validate_many(
        self, documents: Iterable[bytes | str | Path | etree._ElementTree]
    ) -> list[list[Finding]]:
        """Validate several documents, in order; one list of findings per document."""
        return [self.validate(d) for d in documents]

    def is_valid(self, cda: bytes | str | Path | etree._ElementTree) -> bool:
        return not errors(self.validate(cda))

    def _xsd_findings(self, tree: etree._ElementTree) -> list[Finding]:
        if self._xsd.validate(tree):
            return []
        out = []
        for e in self._xsd.error_log:
            out.append(
                Finding("xsd", "error", e.path or f"ligne {e.line}", xsd_message_fr(e.message, e.line))
            )
        return out


def _load(cda: bytes | str | Path | etree._ElementTree) -> tuple[etree._ElementTree, str]:
    if isinstance(cda, etree._ElementTree):
        tree = cda
    elif isinstance(cda, Path):
        tree = etree.ElementTree(read_xml_file(cda)[1])
    else:
        data = cda.encode() if isinstance(cda, str) else cda
        tree = etree.ElementTree(parse_xml(data, "Le document CDA"))
    text = etree.tostring(tree.getroot(), encoding="unicode")
    return tree, text


# --- SVRL → findings --------------------------------------------------------------------------

_PREFIX_RE = re.compile(
    r"^\s*(\[[^\]]*\]\s*)*(\[[^\]]*\]\s*)?(Erreur|Attention|Avertissement)?[^:]{0,80}?:\s*", re.I
)
_LOCAL_NAME_RE = re.compile(r"\*:(\w+)|\*\[local-name\(\)\s*=\s*'(\w+)'[^\]]*\]")


def _svrl_findings(source: str, svrl: str) -> list[Finding]:
    if "failed-assert" not in svrl and "successful-report" not in svrl:
        return []
    root = etree.fromstring(svrl.encode())
    out = []
    for el in root:
        if el.tag not in (SVRL + "failed-assert", SVRL + "successful-report"):
            continue
        role = (el.get("role") or "error").lower()
        severity = "warning" if role in ("warning", "warn", "info", "information") else "error"
        text = " ".join("".join(el.itertext()).split())
        out.append(Finding(source, severity, _short_location(el.get("location", "")), _clean_message(text)))
    return out


def _short_location(location: str) -> str:
    """`/*[local-name()='ClinicalDocument' and …]/*[…][2]` → `/ClinicalDocument/recordTarget[2]`."""
    return _LOCAL_NAME_RE.sub(lambda m: m.group(1) or m.group(2), location)


def _clean_message(text: str) -> str:
    """Drop the technical prefix ("[E_x_fr] Erreur de conformité CI-SIS :") a reader cannot use."""
    cleaned = _PREFIX_RE.sub("", text, count=1).strip()
    if not cleaned:
        return text
    return cleaned[0].upper() + cleaned[1:]


# --- XSD messages in French -------------------------------------------------------------------

_EL = r"Element '(?:\{[^}]*\})?([\w:]+)'"
_XSD_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(_EL + r": This element is not expected\. Expected is(?: one of)? \( ?(.*?) ?\)"),
        "L'élément « {0} » n'est pas attendu à cet endroit (attendu : {1}).",
    ),
    (
        re.compile(r"Element '(?:\{[^}]*\})?([\w:]+)': This element is not expected"),
        "L'élément « {0} » n'est pas attendu à cet endroit.",
    ),
    (
        re.compile(_EL + r": Missing child element\(s\)\. Expected is(?: one of)? \( ?(.*?) ?\)"),
        "Il manque un élément dans « {0} » (attendu : {1}).",
    ),
    (
        re.compile(
            r"Element '(?:\{[^}]*\})?([\w:]+)', attribute '([\w:{}/.]+)': The attribute .* is not allowed"
        ),
        "L'attribut « {1} » n'est pas autorisé sur l'élément « {0} ».",
    ),
    (
        re.compile(r"Element '(?:\{[^}]*\})?([\w:]+)': The attribute '([\w:]+)' is required but missing"),
        "L'attribut obligatoire « {1} » manque sur l'élément « {0} ».",
    ),
    (
        re.compile(
            r"Element '(?:\{[^}]*\})?([\w:]+)', attribute '([\w:]+)': \[facet 'pattern'\] The value '(.*?)'"
        ),
        "La valeur « {2} » de l'attribut « {1} » de l'élément « {0} » n'a pas le format attendu.",
    ),
    (
        re.compile(r"Element '(?:\{[^}]*\})?([\w:]+)', attribute '([\w:]+)': '(.*?)' is not a valid value"),
        "La valeur « {2} » de l'attribut « {1} » de l'élément « {0} » n'est pas valide.",
    ),
    (
        re.compile(r"Element '(?:\{[^}]*\})?([\w:]+)': '(.*?)' is not a valid value"),
        "La valeur « {1} » de l'élément « {0} » n'est pas valide.",
    ),
]


def xsd_message_fr(message: str, line: int | None = None) -> str:
    """A libxml2 schema error message rewritten in French (the original kept when unknown)."""
    for pattern, template in _XSD_PATTERNS:
        m = pattern.search(message)
        if m:
            groups = [re.sub(r"\{[^}]*\}", "", g or "") for g in m.groups()]
            return template.format(*groups)
    where = f" (ligne {line})" if line else ""
    return f"Document non conforme au schéma CDA{where} : {message}"


# --- terminology (equivalent of terminologie.sch) ---------------------------------------------


@cache
def _notations(termino: Path, oid: str) -> frozenset[str] | None:
    f = termino / f"{oid}.rdf"
    if not oid or not f.is_file():  # like doc-available() = false: not checked
        return None
    return frozenset(
        e.text
        for e in etree.parse(str(f)).iter("{http://www.w3.org/2004/02/skos/core#}notation")
        if e.text is not None
    )


@cache
def _ucum(termino: Path) -> frozenset[str]:
    ucum = etree.parse(str(termino / "2.16.840.1.113883.6.8.xml"))
    return frozenset(e.text for e in ucum.iter("code") if e.text is not None)


_PQ = "@xsi:type='PQ' or @xsi:type='c:PQ'"
_IVL = "@xsi:type='IVL_PQ' or @xsi:type='c:IVL_PQ'"
_CODES = etree.XPath(
    # terminologie.sch checks code and coded values; translations (ATC, CLADIMED…) are checked too.
    "//hl7:code | //hl7:translation | //hl7:value[@xsi:type='CD' or @xsi:type='CE']",
    namespaces=NS,
)
_UNITS = etree.XPath(
    f"//hl7:value[{_PQ}] | //hl7:value[{_IVL}]/hl7:low | //hl7:value[{_IVL}]/hl7:high"
    " | //hl7:substanceAdministration//hl7:doseQuantity/hl7:low"
    " | //hl7:substanceAdministration//hl7:doseQuantity/hl7:high"
    " | //hl7:substanceAdministration//hl7:rateQuantity/hl7:low"
    " | //hl7:substanceAdministration//hl7:rateQuantity/hl7:high"
    # terminologie.sch misspells maxDoseQuantity, so ANS never checks these (§4 item 10).
    " | //hl7:substanceAdministration/hl7:maxDoseQuantity/hl7:numerator"
    " | //hl7:substanceAdministration/hl7:maxDoseQuantity/hl7:denominator",
    namespaces=NS,
)


def _path(tree: etree._ElementTree, el: etree._Element) -> str:
    """/ClinicalDocument/component[1]/structuredBody[1]/…: local names with positions."""
    steps = []
    node: etree._Element | None = el
    while node is not None and isinstance(node.tag, str):
        parent = node.getparent()
        name = etree.QName(node).localname
        if parent is None:
            steps.append(name)
        else:
            same = [s for s in parent if s.tag == node.tag]
            steps.append(f"{name}[{same.index(node) + 1}]")
        node = parent
    return "/" + "/".join(reversed(steps))


def terminology_findings(tree: etree._ElementTree, standards: Path | None = None) -> list[Finding]:
    termino = (standards or ldl_ses_dir()) / "schematrons/profils/terminologies/terminologie"
    out = []
    for el in _CODES(tree):
        known = _notations(termino, el.get("codeSystem", ""))
        if known is not None and el.get("code", "") not in known:
            out.append(
                Finding(
                    "terminologie",
                    "error",
                    _path(tree, el),
                    f"Le code « {el.get('code')} » n'existe pas dans la terminologie "
                    f"{el.get('codeSystemName') or el.get('codeSystem')}.",
                )
            )
    ucum = _ucum(termino)
    for el in _UNITS(tree):
        unit = re.sub(r"\{.[a-z]*.\}", "", el.get("unit", ""))  # same regex as the ANS rule
        if unit and unit not in ucum:
            out.append(
                Finding(
                    "terminologie",
                    "error",
                    _path(tree, el),
                    f"L'unité « {el.get('unit')} » n'est pas une unité UCUM connue.",
                )
            )
    return out


# --- what the schematrons do not check (ldl-ses-cda.md §4) ------------------------------------

# The section-3 entries the LDL-SES asks exactly once (code → name), and those at most once.
SECTION3_REQUIRED = {e.code: e.label for e in catalogue.ENTRIES if e.required}
SECTION3_OPTIONAL = tuple(e.code for e in catalogue.ENTRIES if not e.required)
_SECTION3 = etree.XPath(
    "//hl7:section[hl7:templateId/@root='1.3.6.1.4.1.19376.1.7.3.1.1.13.7']", namespaces=NS
)
_ENTRY_OBS = etree.XPath("hl7:entry/hl7:observation", namespaces=NS)
_REFS = etree.XPath("//hl7:reference[@value]", namespaces=NS)
_IDS = etree.XPath("//hl7:text//@ID", namespaces=NS, smart_strings=False)


@cache
def value_set(jdv_dir: Path, name: str) -> frozenset[tuple[str | None, str | None]]:
    """(code, codeSystem) pairs of a JDV file of `jeuxDeValeurs/` (IHE SVS)."""
    root = etree.parse(str(jdv_dir / f"{name}.xml"))
    return frozenset((c.get("code"), c.get("codeSystem")) for c in root.iter("{urn:ihe:iti:svs:2008}Concept"))


def liaison_findings(tree: etree._ElementTree, standards: Path | None = None) -> list[Finding]:
    """Checks of §4: section-3 cardinalities, ORG-074 value set, narrative references, max dose units."""
    standards = standards or ldl_ses_dir()
    out: list[Finding] = []
    root = tree.getroot()
    doc_code = root.find("hl7:code", NS)
    is_ldl = doc_code is not None and doc_code.get("code") == LDL_SES_LOINC
    if is_ldl:
        # The volet's rules key on this templateId: without it they silently do not apply.
        if root.find("hl7:templateId[@root='1.2.250.1.213.1.1.1.29']", NS) is None:
            out.append(
                Finding(
                    "liaison",
                    "error",
                    "/ClinicalDocument",
                    "Le templateId du modèle LDL-SES (1.2.250.1.213.1.1.1.29) est absent : "
                    "le document n'est pas reconnu comme une lettre de liaison.",
                )
            )
        language = root.find("hl7:languageCode", NS)
        if language is None or language.get("code") != "fr-FR":
            out.append(
                Finding(
                    "liaison",
                    "error",
                    "/ClinicalDocument/languageCode",
                    "La langue du document (languageCode) doit être fr-FR.",
                )
            )
    sections = _SECTION3(tree)
    if is_ldl and sections:
        section = sections[0]
        counts: dict[str, list[etree._Element]] = {}
        for obs in _ENTRY_OBS(section):
            code = obs.find("hl7:code", NS)
            if code is not None and code.get("codeSystem") == TA_ASIP:
                counts.setdefault(code.get("code", ""), []).append(obs)
        for code, label in SECTION3_REQUIRED.items():
            n = len(counts.get(code, []))
            if n != 1:
                what = "absente" if n == 0 else f"présente {n} fois"
                out.append(
                    Finding(
                        "liaison",
                        "error",
                        _path(tree, section),
                        f"Synthèse médicale : l'entrée « {label} » ({code}) est {what} ; "
                        "elle est obligatoire une fois exactement.",
                    )
                )
        for code in SECTION3_OPTIONAL:
            if len(counts.get(code, [])) > 1:
                out.append(
                    Finding(
                        "liaison",
                        "error",
                        _path(tree, section),
                        f"Synthèse médicale : l'entrée {code} ne peut figurer qu'une fois.",
                    )
                )
        exit_values = [o.find("hl7:value", NS) for o in counts.get("ORG-074", [])]
        allowed = value_set(standards / "jeuxDeValeurs", "JDV_ModaliteSortie_CISIS")
        for v in exit_values:
            if v is None or (v.get("code"), v.get("codeSystem")) not in allowed:
                code = None if v is None else v.get("code")
                out.append(
                    Finding(
                        "liaison",
                        "error",
                        _path(tree, v if v is not None else section),
                        f"La modalité de sortie « {code} » ne fait pas partie du jeu de valeurs "
                        "JDV_ModaliteSortie_CISIS.",
                    )
                )
    # Narrative ↔ entry links (§4 item 8, our proposal): a warning, the ANS example breaks it twice.
    ids = set(_IDS(tree))
    for ref in _REFS(tree):
        value = ref.get("value", "")
        target = value[1:] if value.startswith("#") else value
        if target and target not in ids:
            out.append(
                Finding(
                    "liaison",
                    "warning",
                    _path(tree, ref),
                    f"La référence « {value} » ne pointe vers aucun élément du texte lisible "
                    "(attribut ID absent).",
                )
            )
    return out


# --- map findings to LetterContent form fields ------------------------------------------------

# (substring of the message or of the location, field); first match wins.
_FIELD_HINTS: list[tuple[str, str]] = [
    ("birthTime", "patient.birth_date"),
    ("date de naissance", "patient.birth_date"),
    ("birthplace", "patient.birth_place_cog"),
    ("lieu de naissance", "patient.birth_place_cog"),
    ("administrativeGenderCode", "patient.sex"),
    ("sexe", "patient.sex"),
    ("recordTarget", "patient"),
    ("legalAuthenticator", "responsible_physician"),
    ("author", "responsible_physician"),
    ("custodian", "establishment"),
    ("participant", "medecin_traitant"),
    ("informationRecipient", "recipients"),
    ("serviceEvent", "discharge_at"),
    ("encompassingEncounter", "discharge_at"),
    ("Traitements-a-la-sortie", "medications"),
    ("Raison-de-la-recommandation", "reason"),
    ("Resultats-evenements", "medical_summary"),
]
# The form field a finding about a section, or a section-3 entry, points at.
_SECTION_FIELDS = {s.code: s.key for s in catalogue.SECTIONS if s.key}
_ENTRY_FIELDS = catalogue.FIELD_OF_ENTRY


def _with_field(f: Finding, tree: etree._ElementTree) -> Finding:
    field = field_for(f, tree)
    if field is None:
        return f
    return Finding(f.source, f.severity, f.location, f.message, field)


def _code_of(el: etree._Element) -> str:
    """The `code` attribute of the element's `hl7:code` child, "" without one."""
    code = el.find("hl7:code", NS)
    return (code.get("code") or "") if code is not None else ""


def field_for(f: Finding, tree: etree._ElementTree) -> str | None:
    """The LetterContent field a finding is about, from the element it points at, else its text."""
    for code, field in _ENTRY_FIELDS.items():
        if code in f.message:
            return field
    el = None
    if f.location.startswith("/ClinicalDocument/"):
        try:
            found = tree.xpath(_qualified(f.location), namespaces=NS)
            el = found[0] if found and isinstance(found[0], etree._Element) else None
        except etree.XPathError:
            el = None
    while el is not None:
        if el.tag == f"{{{V3}}}observation" and (entry := _code_of(el)) in _ENTRY_FIELDS:
            return _ENTRY_FIELDS[entry]
        if el.tag == f"{{{V3}}}section" and (section := _code_of(el)) in _SECTION_FIELDS:
            return _SECTION_FIELDS[section]
        el = el.getparent()
    haystack = f"{f.location} {f.message}"
    for needle, field in _FIELD_HINTS:
        if needle in haystack:
            return field
    return None


def _qualified(location: str) -> str:
    """/ClinicalDocument/x[1] → /hl7:ClinicalDocument/hl7:x[1] (attributes and text left alone)."""
    parts = []
    for step in location.split("/"):
        if step and not step.startswith(("@", "text()", "hl7:")) and re.match(r"^[A-Za-z]", step):
            step = "hl7:" + step
        parts.append(step)
    return "/".join(parts)
