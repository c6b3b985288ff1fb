"""Synthetic PAM.fr ADT messages built in code (test NIR OID, valid keys, fictitious people)."""

from __future__ import annotations

import threading

from liaison.core.identifiers import OID_FINESS, OID_INS_NIR_TEST, OID_RPPS
from liaison.ingest.mllp import MLLPClient
from tests.conftest import valid_finess, valid_nir, valid_rpps

FINESS_EG = valid_finess(2)  # the `hospital` fixture's establishment
GP_RPPS = valid_rpps(900)  # the fixture's médecin traitant
NEW_GP_RPPS = valid_rpps(901)
MEDECIN_RPPS = valid_rpps(100)  # the fixture's first role (medecin) practitioner


def adt(
    event: str,
    control_id: str,
    *,
    ipp: str = "IPP100",
    nda: str = "NDA100",
    unit: str = "CARDIO",
    nir: str | None = None,
    status: str = "QUAL",
    family: str = "MARTIN",
    given: str = "Claire",
    given_names: str = "Claire Anne",
    used_family: str = "",
    birth: str = "19850412",
    sex: str = "F",
    birth_cog: str = "45234",
    admit: str = "202611100930",
    discharge: str = "",
    admission_type: str = "R",
    attending_rpps: str = "",
    referring_rpps: str = "",
    gp_rpps: str = "",
    zfm: str = "",
    prior_ipp: str = "",
    expected_discharge: str = "",
    facility: str = FINESS_EG,
    message_type: str = "ADT",
    charset: str = "UNICODE UTF-8",
    sent: str = "20261110093500",
) -> str:
    """One ADT message; every argument is a PAM.fr field in plain text."""
    nir = valid_nir() if nir is None else nir
    structure = {
        "A01": "ADT_A01",
        "A04": "ADT_A01",
        "A05": "ADT_A05",
        "A08": "ADT_A01",
        "A31": "ADT_A05",
    }.get(event, f"ADT_{event}")
    msh = (
        f"MSH|^~\\&|GAM|CHTEST^{facility}^M|LIAISON|CHTEST^{facility}^M|{sent}||"
        f"{message_type}^{event}^{structure}|{control_id}|P|2.5^FRA^2.11|||||FRA|{charset}|FR||2.11^IHE_FRANCE-2.11-PAM"
    )
    evn = f"EVN||{sent}||||{admit if event in ('A01', 'A04', 'A05') else sent}"
    ids = f"{ipp}^^^CHTEST&1.2.250.1.999.1&ISO^PI"
    if nir:
        ids += f"~{nir}^^^ASIP-SANTE-INS-NIR&{OID_INS_NIR_TEST}&ISO^INS^^20200101"
    names = f"{family}^{given}^{given_names}^^^^L"
    if used_family:
        names += f"~{used_family}^{given}^^^^^D"
    pid = (
        f"PID|1||{ids}||{names}||{birth}|{sex}|||12 rue des Lilas^^ORLEANS^^45000^FRA^H"
        f"~^^^^^^BDL^^{birth_cog}||0238000000^PRN^PH|||||{nda}^^^CHTEST&{facility}&M^AN"
        + "|" * 12  # PID-19 … PID-29 empty, PID-30 (death indicator) next
        + f"N||{status}"
    )
    segments = [msh, evn, pid]
    if gp_rpps:
        segments.append(
            f"ROL||UC|ODRP|{gp_rpps}^GENERALISTE^Paul^^^DR^^^ASIP-SANTE-PS&{OID_RPPS}&ISO^L^^^RPPS"
            "|||||||3 place du Martroi^^ORLEANS^^45000"
        )
    if event == "A40":
        segments.append(f"MRG|{prior_ipp}^^^CHTEST&1.2.250.1.999.1&ISO^PI")
    if event not in ("A31", "A28", "A40"):
        attending = (
            f"{attending_rpps}^MEDECIN^Test^^^DR^^^ASIP-SANTE-PS&{OID_RPPS}&ISO^L^^^RPPS"
            if attending_rpps
            else ""
        )
        referring = (
            f"{referring_rpps}^ADRESSEUR^Jean^^^DR^^^ASIP-SANTE-PS&{OID_RPPS}&ISO^L^^^RPPS"
            if referring_rpps
            else ""
        )
        fields = [""] * 46
        fields[0] = "PV1"
        fields[1] = "1"
        fields[2] = "I"
        fields[3] = f"{unit}^^^CHTEST&{facility}&M^O" if unit else ""
        fields[4] = admission_type
        fields[7] = attending
        fields[8] = referring
        fields[19] = f"{nda}^^^CHTEST&{facility}&M^VN"
        fields[44] = admit
        fields[45] = discharge
        segments.append("|".join(fields))
        if expected_discharge:
            segments.append(f"PV2|||||||||{expected_discharge}")
        unit_xon = f"{unit}^^^^^CHTEST&{facility}&M^UF^^^{unit}" if unit else ""
        action = "CANCEL" if event in ("A11", "A12", "A13", "A38") else "INSERT"
        segments.append(f"ZBE|MVT-{control_id}^GAM|{discharge or admit}||{action}|N||{unit_xon}||HMS")
        if zfm:
            segments.append(f"ZFM|{zfm}")
    return "\r".join(segments)


__all__ = ["FINESS_EG", "GP_RPPS", "MEDECIN_RPPS", "NEW_GP_RPPS", "OID_FINESS", "adt"]


def admit_transfer_discharge(ipp: str, nda: str, control: str) -> list[str]:
    """One stay from start to end: A01 in CARDIO, A02 to MATER, A03 home (control ids `control-A0x`)."""
    return [
        adt(event, f"{control}-{event}", ipp=ipp, nda=nda, **extra)
        for event, extra in (
            ("A01", {}),
            ("A02", {"unit": "MATER"}),
            ("A03", {"unit": "MATER", "discharge": "202611141500"}),
        )
    ]


def send_stays(address: tuple[str, int], connections: int, stays: int, tag: str) -> list[str]:
    """`connections` MLLP connections at once, each sending `stays` admit → transfer → discharge
    sequences of its own patients (IPP `{tag}-n-k`, NDA `N{tag}-n-k`); returns what was not AA."""
    problems: list[str] = []

    def run(n: int) -> None:
        try:
            with MLLPClient(*address) as client:
                for k in range(stays):
                    for message in admit_transfer_discharge(
                        f"{tag}-{n}-{k}", f"N{tag}-{n}-{k}", f"{tag}-{n}-{k}"
                    ):
                        ack = client.send(message)
                        if "\rMSA|AA|" not in ack:
                            problems.append(ack)
        except Exception as exc:  # reported to the test
            problems.append(repr(exc))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return problems
