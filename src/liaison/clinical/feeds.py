"""HL7 v2.5 clinical messages as a hospital's systems send them: ORU^R01, OMP^O09, RDE^O11, and
the DG1/PR1/AL1 segments of an ADT message. Pure Python, no Django.

Used by the demo (`liaison demo-data`, `liaison adt-replay`), the tests and the benchmarks, so
that all of them send what `liaison.ingest.clinical` reads (see its docstring for the fields).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Obs:
    """One OBX: `flag` is OBX-8 (H, L, HH, LL, A or empty)."""

    code: str
    label: str
    value: str
    unit: str = ""
    reference_range: str = ""
    flag: str = ""
    value_type: str = "NM"
    system: str = "LN"


@dataclass(frozen=True)
class LabOrder:
    """One OBR group. An order with status I (or without observations) is a pending result."""

    number: str
    test_code: str
    test_label: str
    status: str = "F"  # OBR-25
    observed_at: str = ""  # HL7 TS
    observations: Sequence[Obs] = field(default_factory=tuple)
    system: str = "LN"


@dataclass(frozen=True)
class MedOrder:
    """One ORC + RXE/RXO + TQ1 + RXR group. `kind` is ORC-29: H entry, I stay, O discharge."""

    number: str
    code: str
    label: str
    amount: str
    unit: str
    frequency: str = "QD"  # TQ1-3 (HL7 table 0335)
    route: str = "PO"
    kind: str = "I"
    control: str = "NW"  # ORC-1
    system: str = "CIS"
    duration_days: int | None = None
    text: str = ""  # RXE-7 / RXO-7 free-text instructions


def _msh(message_type: str, control_id: str, facility: str, sent: str, application: str) -> str:
    return (
        f"MSH|^~\\&|{application}|CH^{facility}^M|LIAISON|CH^{facility}^M|{sent}||{message_type}|"
        f"{control_id}|P|2.5|||||FRA|UNICODE UTF-8"
    )


def _pid_pv1(ipp: str, nda: str, facility: str) -> list[str]:
    pid = ["PID", "1", "", f"{ipp}^^^CH&1.2.250.1.999.1&ISO^PI"] + [""] * 15
    pid[18] = f"{nda}^^^CH&{facility}&M^AN"
    pv1 = ["PV1", "1", "I"] + [""] * 17
    pv1[19] = f"{nda}^^^CH&{facility}&M^VN"
    return ["|".join(pid), "|".join(pv1)]


def oru(
    control_id: str,
    *,
    ipp: str,
    nda: str,
    facility: str,
    orders: Sequence[LabOrder],
    sent: str,
    biologist: str = "",
    application: str = "SIL",
) -> str:
    """ORU^R01^ORU_R01: the orders of one patient's stay with their results."""
    segments = [
        _msh("ORU^R01^ORU_R01", control_id, facility, sent, application),
        *_pid_pv1(ipp, nda, facility),
    ]
    for i, order in enumerate(orders, start=1):
        order_status = "IP" if order.status in ("I", "O", "S") else "CM"
        segments.append(f"ORC|RE|{order.number}|{order.number}-L||{order_status}")
        obr = [""] * 33
        obr[0], obr[1], obr[2], obr[3] = "OBR", str(i), order.number, f"{order.number}-L"
        obr[4] = f"{order.test_code}^{order.test_label}^{order.system}"
        obr[7] = order.observed_at
        obr[22] = sent
        obr[25] = order.status
        obr[32] = biologist
        segments.append("|".join(obr))
        for k, o in enumerate(order.observations, start=1):
            status = "F" if order.status in ("F", "C") else "P"
            segments.append(
                f"OBX|{k}|{o.value_type}|{o.code}^{o.label}^{o.system}||{o.value}|{o.unit}|"
                f"{o.reference_range}|{o.flag}|||{status}|||{order.observed_at}"
            )
    return "\r".join(segments)


def pharmacy(
    control_id: str,
    *,
    ipp: str,
    nda: str,
    facility: str,
    orders: Sequence[MedOrder],
    sent: str,
    message: str = "RDE",
    prescriber: str = "",
    application: str = "PHARMA",
) -> str:
    """RDE^O11 (RXE) or OMP^O09 (RXO): prescriptions of one stay."""
    message_type = "RDE^O11^RDE_O11" if message == "RDE" else "OMP^O09^OMP_O09"
    segments = [_msh(message_type, control_id, facility, sent, application), *_pid_pv1(ipp, nda, facility)]
    for o in orders:
        orc = [""] * 30
        orc[0], orc[1], orc[2], orc[9], orc[12], orc[29] = (
            "ORC",
            o.control,
            o.number,
            sent,
            prescriber,
            o.kind,
        )
        segments.append("|".join(orc))
        duration = f"{o.duration_days}^D" if o.duration_days else ""
        segments.append(f"TQ1|1|{o.amount}^{o.unit}|{o.frequency}|||{duration}|{sent}")
        code = f"{o.code}^{o.label}^{o.system}"
        if message == "RDE":
            segments.append(f"RXE||{code}|{o.amount}||{o.unit}||{o.text}")
        else:
            segments.append(f"RXO|{code}|{o.amount}||{o.unit}|||{o.text}")
        segments.append(f"RXR|{o.route}")
    return "\r".join(segments)


def dg1(index: int, code: str, label: str, principal: bool, coder: str = "") -> str:
    fields = [""] * 17
    fields[0], fields[1], fields[3] = "DG1", str(index), f"{code}^{label}^I10"
    fields[6] = "F"
    fields[15] = "1" if principal else "2"
    fields[16] = coder
    return "|".join(fields)


def pr1(index: int, code: str, label: str, performed: str, performer: str = "") -> str:
    fields = [""] * 12
    fields[0], fields[1], fields[3], fields[5], fields[11] = (
        "PR1",
        str(index),
        f"{code}^{label}^CCAM",
        performed,
        performer,
    )
    return "|".join(fields)


def al1(index: int, code: str, label: str, kind: str = "DA", severity: str = "MO", reaction: str = "") -> str:
    return f"AL1|{index}|{kind}|{code}^{label}|{severity}|{reaction}"


@dataclass(frozen=True)
class Identity:
    """What PID must carry for an ADT message to leave the patient's identity as it is stored
    (traits not sent — address, phone, birth place, used names — are kept by the receiver)."""

    ipp: str
    family: str
    given: str
    given_names: str
    birth: str  # AAAAMMJJ
    sex: str
    status: str  # PID-32: PROV, VALI, RECUP, QUAL
    ins: str = ""
    ins_oid: str = ""


def adt_a08(
    control_id: str, *, facility: str, sent: str, who: Identity, nda: str, unit: str, segments: Sequence[str]
) -> str:
    """ADT^A08 of one stay carrying DG1/PR1/AL1 segments (the coding of the stay)."""
    ids = f"{who.ipp}^^^CH&1.2.250.1.999.1&ISO^PI"
    if who.ins:
        ids += f"~{who.ins}^^^ASIP-SANTE-INS-NIR&{who.ins_oid}&ISO^INS"
    pid = [
        "PID",
        "1",
        "",
        ids,
        "",
        f"{who.family}^{who.given}^{who.given_names}^^^^L",
        "",
        who.birth,
        who.sex,
    ]
    pid += [""] * (32 - len(pid)) + [who.status]
    pid[18] = f"{nda}^^^CH&{facility}&M^AN"
    pv1 = ["PV1", "1", "I", f"{unit}^^^CH&{facility}&M^O"] + [""] * 15 + [f"{nda}^^^CH&{facility}&M^VN"]
    return "\r".join(
        [
            _msh("ADT^A08^ADT_A01", control_id, facility, sent, "GAM"),
            f"EVN||{sent}",
            "|".join(pid),
            "|".join(pv1),
            *segments,
        ]
    )
