"""The raw HL7 v2 message as the establishment administrator may read it: its structure and the
integration fields (MSH, EVN, PV1 movement and unit, IPP, visit number) kept, every identity and
clinical value replaced by `***`.

The administrator troubleshoots the interface (which message, which field is empty, why it was
refused) but sees no patient (DESIGN.md): names, birth date and place, address, telephone,
INS matricule, relatives, and the content of clinical segments (OBX, DG1, AL1, RXE…) are masked.
A field is kept only if it is listed here; a segment not listed keeps only its set id (field 1).
Pure Python, no Django.
"""

from __future__ import annotations

MASK = "***"
INS_OID_PREFIX = "1.2.250.1.213.1.4."

# Fields (1-based, after the segment name) shown as received; every other non-empty field is masked.
KEPT_FIELDS: dict[str, set[int] | None] = {
    "MSH": None,  # all: sender, type, control id, version
    "EVN": None,
    "MRG": {1},  # prior IPP (the merge's integration key)
    "PID": {1, 3, 18, 30, 32},  # set id, IPP (INS masked below), NDA, death flag, identity status
    "PV1": None,  # movement, unit, visit number, dates: the stay, no identity
    "PV2": {8, 9},  # expected dates
    "ZBE": None,  # movement id and action
    "ZFU": None,
    "ZFD": None,
}


def _local_identifiers(field: str, rep: str, comp: str) -> str:
    """PID-3: the local identifiers (IPP) kept, any INS repetition masked."""
    out = []
    for value in field.split(rep):
        parts = value.split(comp)
        is_ins = INS_OID_PREFIX in value or (len(parts) > 4 and parts[4].startswith("INS"))
        out.append(MASK if is_ins else value)
    return rep.join(out)


def mask_identities(raw: str) -> str:
    """`raw` (segments separated by CR or LF) with identities and clinical values masked."""
    if not raw.startswith("MSH") or len(raw) < 8:
        return MASK if raw.strip() else raw
    sep = raw[3]
    comp, rep = raw[4], raw[5]
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = []
    for line in lines:
        if not line:
            out.append(line)
            continue
        fields = line.split(sep)
        name = fields[0]
        kept = KEPT_FIELDS.get(name, {1})
        for i in range(1, len(fields)):
            if kept is None or not fields[i]:
                continue
            if name == "PID" and i == 3:
                fields[i] = _local_identifiers(fields[i], rep, comp)
            elif i not in kept:
                fields[i] = MASK
        out.append(sep.join(fields))
    return "\n".join(out)
