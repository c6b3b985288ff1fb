"""Section « Synthèse médicale du séjour » (42545-4): narrative table and the section-3 entries
(ORG-070, ORG-074, MED-142 to MED-148, MED-309).

Its codes, its writer (`write`) and its reader (`read`), registered in `sections.REGISTRY`."""

from __future__ import annotations

import re

from lxml import etree

from liaison.core import catalogue
from liaison.core.content import (
    ENTRY_MODE_CODES,
    ENTRY_MODE_LABELS,
    EXIT_MODE_CODES,
    EXIT_MODE_LABELS,
    ExitMode,
    LetterContent,
    Presence,
)
from liaison.documents.cda.codes import NO_PROCEDURES_TEXT, XSI_TYPE
from liaison.documents.cda.reading import (
    ENTRY_WORDS,
    EXIT_WORDS,
    ReadState,
    attr,
    coded_mode,
    first,
    mode_from_words,
    node_text,
    obs_bool,
    obs_detail,
    obs_lines,
    obs_text,
    observations,
    presence_from_text,
    referenced_lines,
    referenced_text,
    xpath,
)
from liaison.documents.cda.writer import Section, SectionSpec, Writer, required
from liaison.documents.cda.xml import bl, fr_date, text_lines

SPEC = SectionSpec(
    (
        "1.3.6.1.4.1.19376.1.5.3.1.1.21.2.9",
        "1.3.6.1.4.1.19376.1.7.3.1.1.13.7",
        "1.2.250.1.213.1.1.2.163",
        "1.2.250.1.213.1.1.2.163.1",
    ),
    catalogue.SUMMARY.code,
    catalogue.SUMMARY.display,
)
EXIT_ROW = "modalite-sortie"  # the ID of the narrative row the ORG-074 entry points to
YES = "Oui : "  # before the details of a transfusion or of blood derivatives, in their row
DEVICES_ROW = "Dispositif médical implanté"  # the row that says « Non » when no device was implanted


def write(w: Writer, body: etree._Element) -> None:
    c = w.c
    sec, text = w.section(body, SPEC, catalogue.SUMMARY.title)
    tbody = w.table(text, None)
    entry_mode, exit_mode = required(c.entry_mode, "entry_mode"), required(c.exit_mode, "exit_mode")
    entry_code, entry_system, entry_display = ENTRY_MODE_CODES[entry_mode]
    exit_code, exit_system, exit_display = EXIT_MODE_CODES[exit_mode]
    exit_label = EXIT_MODE_LABELS[exit_mode] + (f" ({c.destination})" if c.destination else "")
    w.row(
        tbody,
        "Modalité et date d'entrée",
        f"{fr_date(c.admission_at)}, {ENTRY_MODE_LABELS[entry_mode]}",
        "modalite-entree",
    )
    w.row(
        tbody,
        "Modalité et date de sortie",
        f"{fr_date(c.discharge_at)}, {exit_label}",
        EXIT_ROW,
    )
    w.row(tbody, "Synthèse médicale", c.medical_summary, "synthese")
    if c.procedures_and_exams.strip():
        w.row(tbody, "Actes et examens réalisés", c.procedures_and_exams, "actes-examens")
    elif c.no_procedures_and_exams:
        w.row(tbody, "Actes et examens réalisés", NO_PROCEDURES_TEXT, "actes-examens")
    ae = c.adverse_events
    if ae.present is not None:
        w.row(
            tbody,
            "Événements indésirables survenus pendant l'hospitalisation",
            ae.details if ae.present else "Aucun",
            "evenements-indesirables",
        )
    bmr = c.resistant_organisms
    screened = bmr_screened(c)
    w.row(
        tbody,
        "Recherche de micro-organismes multirésistants ou émergents (BMR/BHRe)",
        {True: "Effectuée", False: "Non effectuée", None: "Non renseignée"}[screened],
        "bmr-recherche",
    )
    w.row(
        tbody,
        "Micro-organismes multirésistants ou émergents identifiés",
        bmr.details if bmr.present else "Aucun",
        "bmr-identification",
    )
    w.row(
        tbody,
        "Transfusion de produits sanguins",
        f"{YES}{c.transfusion.details}" if c.transfusion.present else "Non",
        "transfusion",
    )
    if c.transfusion_incident.strip():
        w.row(tbody, "Accident transfusionnel", c.transfusion_incident, "accident-transfusionnel")
    w.row(
        tbody,
        "Administration de dérivés du sang",
        f"{YES}{c.blood_derivatives.details}" if c.blood_derivatives.present else "Non",
        "derives-sang",
    )
    if c.blood_derivatives_incident.strip():
        w.row(
            tbody,
            "Événement indésirable suite à l'administration de dérivés du sang",
            c.blood_derivatives_incident,
            "derives-sang-evenement",
        )
    dm = c.implanted_devices
    if dm.present is not None:
        w.row(
            tbody,
            DEVICES_ROW,
            "Oui (voir la section Dispositifs médicaux)" if dm.present else "Non",
        )

    end = required(c.discharge_at, "discharge_at")
    w.simple_obs(
        sec,
        "ORG-070",
        "modalite-entree",
        required(c.admission_at, "admission_at"),
        {XSI_TYPE: "CE", "code": entry_code, "codeSystem": entry_system, "displayName": entry_display},
    )
    w.simple_obs(
        sec,
        "ORG-074",
        EXIT_ROW,
        end,
        {XSI_TYPE: "CE", "code": exit_code, "codeSystem": exit_system, "displayName": exit_display},
    )
    w.simple_obs(sec, "MED-142", "synthese", end, " ".join(text_lines(c.medical_summary)))
    if ae.present is not None:
        w.simple_obs(
            sec,
            "MED-143",
            "evenements-indesirables",
            end,
            " ".join(text_lines(ae.details)) if ae.present else "Aucun",
        )
    searched = (
        {XSI_TYPE: "BL", "nullFlavor": "NI"}
        if screened is None
        else {
            XSI_TYPE: "BL",
            "value": bl(screened),
        }
    )
    w.simple_obs(sec, "MED-309", "bmr-recherche", end, searched)
    if bmr.present:
        w.simple_obs(sec, "MED-144", "bmr-identification", end, " ".join(text_lines(bmr.details)))
    w.simple_obs(sec, "MED-145", "transfusion", end, {XSI_TYPE: "BL", "value": bl(c.transfusion.present)})
    if c.transfusion_incident.strip():
        w.simple_obs(
            sec, "MED-146", "accident-transfusionnel", end, " ".join(text_lines(c.transfusion_incident))
        )
    w.simple_obs(
        sec, "MED-147", "derives-sang", end, {XSI_TYPE: "BL", "value": bl(c.blood_derivatives.present)}
    )
    if c.blood_derivatives_incident.strip():
        w.simple_obs(
            sec,
            "MED-148",
            "derives-sang-evenement",
            end,
            " ".join(text_lines(c.blood_derivatives_incident)),
        )


def bmr_screened(c: LetterContent) -> bool | None:
    """MED-309 "Recherche de micro-organismes multi-résistants ou émergents effectuée" (BL).

    `resistant_organisms_screened` when answered. Letters written before that field existed
    leave it None: organisms identified (`resistant_organisms.present`) imply a search, so
    True; otherwise the letter does not say, and MED-309 carries `nullFlavor="NI"` rather
    than a "false" the physician never wrote. The entry stays (1..1, ldl-ses-cda.md §4 item
    1): no ANS rule checks its value (E_rechercheMicroOrganismes_fr only asks for a `value`),
    and a BL with nullFlavor NI, UNK, NASK or NAV gave 0 findings with LdlSesValidator, core
    and full=True (StrucMin). The shape "screening_not_answered" of tests/documents/test_cda.py
    keeps it checked. Refusing the letter instead would block every letter saved before the
    question existed.
    """
    if c.resistant_organisms_screened is not None:
        return c.resistant_organisms_screened
    return True if c.resistant_organisms.present else None


def _destination(doc: etree._Element, mode: ExitMode | None) -> str | None:
    """The destination from Liaison's own « Modalité et date de sortie » row (`write`: « date,
    exit label (destination) »): "" when the row names only the mode; None when the document has
    no such row (another software's), whose exit modality is then read as its destination."""
    row = referenced_text(doc, f"#{EXIT_ROW}")
    m = re.search(rf", {re.escape(EXIT_MODE_LABELS[mode])}(?: \((.*)\))?$", row) if mode else None
    return (m.group(1) or "") if m else None


def _said_no_device(section: etree._Element | None) -> bool:
    """Liaison's narrative row « Dispositif médical implanté : Non » (no entry carries it; the
    devices section, read next, is written only when a device was implanted)."""
    if section is None:
        return False
    for row in xpath(section, "cda:text/cda:table/cda:tbody/cda:tr"):
        cells = [node_text(td) for td in xpath(row, "cda:td")]
        if len(cells) == 2 and cells[0] == DEVICES_ROW:
            return cells[1] == "Non"
    return False


def read(s: ReadState, section: etree._Element | None) -> None:
    """Modalities, summary and the « le cas échéant » items, from the entries, else the narrative."""
    c, doc = s.content, s.doc
    obs = observations(section)
    if _said_no_device(section):
        c.implanted_devices = Presence(present=False)
    c.entry_mode = coded_mode(obs.get("ORG-070"), ENTRY_MODE_CODES)
    c.exit_mode = coded_mode(obs.get("ORG-074"), EXIT_MODE_CODES)
    if c.entry_mode is None and (text := obs_text(doc, obs.get("ORG-070"))):
        c.entry_mode = mode_from_words(text, ENTRY_WORDS)
        s.notes.append("Modalité d'entrée lue dans le texte libre.")
    exit_text = attr(obs.get("ORG-074"), "cda:value", "displayName") if "ORG-074" in obs else ""
    exit_text = exit_text or obs_text(doc, obs.get("ORG-074"))
    if c.exit_mode is None and exit_text:
        c.exit_mode = mode_from_words(exit_text, EXIT_WORDS)
        s.notes.append("Modalité de sortie lue dans le texte libre.")
    destination = _destination(doc, c.exit_mode)
    # not Liaison's row: the exit modality as the document words it
    c.destination = exit_text if destination is None else destination
    if "MED-142" in obs:
        c.medical_summary = obs_lines(doc, obs["MED-142"])
    elif section is not None:
        c.medical_summary = node_text(first(section, "cda:text"))
        if c.medical_summary:
            s.notes.append("Synthèse médicale lue dans le texte de la section (entrée MED-142 absente).")
    c.adverse_events = presence_from_text(obs_lines(doc, obs.get("MED-143")))
    procedures = referenced_lines(doc, "#actes-examens")  # Liaison's own narrative row
    if procedures and procedures.lower().startswith("aucun"):
        c.no_procedures_and_exams = True
    elif procedures:
        c.procedures_and_exams = procedures
    # MED-309 (search done, BL; nullFlavor = not said) and MED-144 (organisms identified, ST).
    c.resistant_organisms_screened = obs_bool(obs.get("MED-309"))
    organisms = obs_lines(doc, obs.get("MED-144"))
    if organisms:
        c.resistant_organisms = presence_from_text(organisms)
    elif "MED-309" in obs:  # the question was answered and nothing was identified
        c.resistant_organisms = Presence(present=False)
    for name, incident in (
        ("transfusion", "transfusion_incident"),
        ("blood_derivatives", "blood_derivatives_incident"),
    ):
        (entry,) = catalogue.BY_KEY[name].entries
        (detail_entry,) = catalogue.BY_KEY[incident].entries
        code, detail_code, label = entry.code, detail_entry.code, entry.display
        incident_label = catalogue.BY_KEY[incident].printed
        given = obs_bool(obs.get(code))
        if given is not None:
            # Liaison's narrative row says « Oui : details »; otherwise the details name the entry
            row = referenced_lines(doc, attr(obs.get(code), "cda:text/cda:reference", "value"))
            if not given:
                details = ""
            elif row.startswith(YES) or row == YES.strip():
                details = row.removeprefix(YES.strip()).strip()
            else:
                details = f"{label} (déclarée dans le CDA)"
            setattr(c, name, Presence(present=given, details=details))
        detail = obs_detail(doc, obs.get(detail_code))
        setattr(c, incident, detail)
        if detail and not given:
            s.notes.append(
                f"{incident_label} ({detail_code}) décrit alors que « {label.lower()} » ({code}) "
                "n'est pas déclarée."
            )


SECTION = Section("summary", SPEC, write, read, key_template="1.3.6.1.4.1.19376.1.7.3.1.1.13.7")
