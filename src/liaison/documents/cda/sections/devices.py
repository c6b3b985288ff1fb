"""Section « Dispositifs médicaux » (46264-8): the implanted devices.

Its codes, its writer (`write`) and its reader (`read`), registered in `sections.REGISTRY`."""

from __future__ import annotations

from lxml import etree

from liaison.core import catalogue
from liaison.core.content import (
    ImplantedDevice,
    Presence,
)
from liaison.documents.cda.codes import DEVICE_TEMPLATES, XSI_TYPE
from liaison.documents.cda.reading import (
    ReadState,
    attr,
    first,
    node_lines,
    node_text,
    parse_ts,
    presence_from_text,
    referenced_row,
    referenced_text,
    xpath,
)
from liaison.documents.cda.writer import Section, SectionSpec, Writer
from liaison.documents.cda.xml import el, fr_date, hl7_date, narrative

SPEC = SectionSpec(
    ("2.16.840.1.11383.10.20.1.7", "1.3.6.1.4.1.19376.1.5.3.1.1.5.3.5", "1.2.250.1.213.1.1.2.1"),
    catalogue.DEVICES.code,
    catalogue.DEVICES.display,
)
LOT = "Lot"  # the header of the table's lot column


def write(w: Writer, body: etree._Element) -> None:
    c = w.c
    if not c.implanted_devices.present:
        return
    sec, text = w.section(body, SPEC, catalogue.DEVICES.title)
    tbody = w.table(text, ("Date d'implantation", "Dispositif", "Identifiant unique (IUD)", LOT))
    devices = [(d.description, d.udi, d.lot, d.implanted_on) for d in c.devices] or [
        (c.implanted_devices.details, "", "", None)
    ]
    for i, (description, udi, lot, on) in enumerate(devices):
        tr = el(tbody, "tr")
        el(tr, "td", text=fr_date(on))
        el(el(tr, "td"), "content", {"ID": f"dm-{i + 1}"}, description)
        el(tr, "td", text=udi)
        el(tr, "td", text=lot)
    if c.devices and c.implanted_devices.details.strip():
        narrative(el(text, "paragraph"), c.implanted_devices.details)
    for i, (_, udi, _lot, on) in enumerate(devices):
        supply = w.entry(sec, "supply", {"classCode": "SPLY", "moodCode": "EVN"}, DEVICE_TEMPLATES)
        period = el(supply, "effectiveTime", {XSI_TYPE: "IVL_TS"})
        el(period, "low", {"value": hl7_date(on)} if on else {"nullFlavor": "UNK"})
        role = el(el(supply, "participant", {"typeCode": "DEV"}), "participantRole", {"classCode": "MANU"})
        el(role, "id", {"nullFlavor": "UNK"} if not udi else {"root": "1.3.160", "extension": udi})
        device = el(role, "playingDevice", {"classCode": "DEV", "determinerCode": "INSTANCE"})
        code = el(device, "code", {"nullFlavor": "UNK"})
        el(el(code, "originalText"), "reference", {"value": f"#dm-{i + 1}"})


def read(s: ReadState, section: etree._Element | None) -> None:
    if section is None:
        return
    c, doc = s.content, s.doc
    devices = []
    for supply in xpath(section, "cda:entry/cda:supply"):
        device = first(supply, ".//cda:playingDevice/cda:code")
        description = (device.get("displayName", "") if device is not None else "") or referenced_text(
            doc, attr(device, "cda:originalText/cda:reference", "value") if device is not None else None
        )
        used = parse_ts(attr(supply, "cda:effectiveTime/cda:low", "value"))
        row = referenced_row(doc, attr(device, "cda:originalText/cda:reference", "value"))
        devices.append(
            ImplantedDevice(
                description=description or "Dispositif médical",
                udi=attr(supply, ".//cda:participantRole/cda:id", "extension"),
                lot=row.get(LOT, ""),
                implanted_on=used.date() if used else None,
            )
        )
    c.devices = devices
    # Liaison writes the details after the table when it lists devices; else they are the list
    after = [node_lines(p) for p in xpath(section, "cda:text/cda:table/following-sibling::cda:paragraph")]
    if devices:
        details = " ".join(x for x in after if x) or "; ".join(d.description for d in devices)
        c.implanted_devices = Presence(present=True, details=details)
    else:
        c.implanted_devices = presence_from_text(node_text(first(section, "cda:text")))


SECTION = Section("devices", SPEC, write, read, key_template="1.2.250.1.213.1.1.2.1")
