"""The pure HL7 v2 / PAM.fr parser and ACK builder (no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liaison.core.identifiers import OID_INS_NIR_TEST
from liaison.ingest import hl7v2
from liaison.ingest.hl7v2 import HL7Error
from tests.conftest import valid_nir
from tests.ingest.messages import FINESS_EG, GP_RPPS, MEDECIN_RPPS, adt

PARIS = hl7v2.PARIS


def test_admission_mapping():
    msg = hl7v2.parse(
        adt(
            "A01",
            "C1",
            used_family="DURAND",
            attending_rpps=MEDECIN_RPPS,
            gp_rpps=GP_RPPS,
            zfm="8||5",
            expected_discharge="202611141200",
        )
    )
    assert msg.event == "A01" and msg.control_id == "C1"
    assert msg.header.sending_facility == f"CHTEST^{FINESS_EG}^M"
    p = msg.patient
    assert p.ipp == "IPP100"
    assert p.ins_matricule == valid_nir() and p.ins_oid == OID_INS_NIR_TEST
    assert p.identity_status == "qualifiee"
    assert (p.birth_family_name, p.first_given_name, p.given_names) == ("MARTIN", "Claire", "Claire Anne")
    assert (p.used_family_name, p.used_given_name) == ("DURAND", "Claire")
    assert p.birth_date == dt.date(1985, 4, 12) and p.sex == "F"
    assert p.birth_place_cog == "45234"
    assert p.address == "12 rue des Lilas, 45000 ORLEANS"
    assert p.phone == "0238000000"
    v = msg.visit
    assert v.visit_number == "NDA100"
    assert v.unit_codes == ("CARDIO",)
    assert v.admit_at == dt.datetime(2026, 11, 10, 9, 30, tzinfo=PARIS)
    assert v.expected_discharge_at == dt.datetime(2026, 11, 14, 12, 0, tzinfo=PARIS)
    assert v.entry_mode == "urgence"  # ZFM-3 = 5: through the emergency department
    assert v.attending.rpps == MEDECIN_RPPS
    assert FINESS_EG in msg.facility_candidates()
    (role,) = msg.roles
    assert role.role == "ODRP" and role.person.rpps == GP_RPPS and role.person.family_name == "GENERALISTE"


def test_entry_and_exit_modes():
    assert hl7v2.parse(adt("A01", "C", admission_type="R")).visit.entry_mode == "programmee"
    assert hl7v2.parse(adt("A01", "C", admission_type="E")).visit.entry_mode == "urgence"
    assert hl7v2.parse(adt("A01", "C", zfm="7")).visit.entry_mode == "transfert"
    cases = {
        "|8": ("domicile", "Domicile"),
        "|8||6": ("had", "Hospitalisation à domicile"),
        "|8||7": ("ehpad", "Structure d'hébergement médico-sociale"),
        "|7||2": ("smr", "Soins médicaux et de réadaptation"),
        "|7||1": ("autre_es", "Médecine, chirurgie, obstétrique"),
        "|9": ("deces", "Décès"),
    }
    for zfm, expected in cases.items():
        v = hl7v2.parse(adt("A03", "C", discharge="202611141500", zfm=zfm)).visit
        assert (v.exit_mode, v.destination) == expected, zfm
        assert v.discharge_at == dt.datetime(2026, 11, 14, 15, 0, tzinfo=PARIS)


def test_escapes_and_offsets():
    text = adt("A01", "C", family="D\\S\\ARC", admit="202611100930+0000")
    msg = hl7v2.parse(text)
    assert msg.patient.birth_family_name == "D^ARC"
    assert msg.visit.admit_at == dt.datetime(2026, 11, 10, 9, 30, tzinfo=dt.UTC)
    # Every separator escaped inside a component, and the escape character itself.
    msg = hl7v2.parse(adt("A01", "C", family="A\\F\\B\\R\\C\\T\\D\\E\\E"))
    assert msg.patient.birth_family_name == "A|B~C&D\\E"


def test_ans_style_message():
    """The shape of the ANS PAM.fr samples: unit only in ZBE-7, FINESS in PV1-3.4, NDA in PID-18."""
    nir = valid_nir("1", "7903", "51215", "189")
    text = "\r".join(
        [
            "MSH|^~\\&|GAM|CH-X|DPI|CH-X|20240306111154||ADT^A01^ADT_A01|3975|D|2.5^FRA^2.11|||||FRA|"
            "UNICODE UTF-8|FR||2.11^IHE_FRANCE-2.11-PAM",
            "EVN||20240306111154||||20240306111154",
            f"PID|1||000003^^^CH-X&1.2.3&N^PI~{nir}^^^ASIP-SANTE-INS-NIR&{OID_INS_NIR_TEST}&ISO^INS^^20101207"
            "||PAT-TROIS^DOMINIQUE^DOMINIQUE^^^^L||19790328|F|||28 Av de Breteuil^^PARIS^^75007^FRA^H^^^^^^^"
            "~^^^^^^BDL^^63220|||||S||24000006^^^CH-X&1.2.3&M^AN|||||||1|||||N||VALI|20240306111153||||||",
            f"PV1|1|I|^^^CH-X&{FINESS_EG}&M^O^^||||||||||||||||000897406^^^CH-X&1.2.3&M^VN^^20210409"
            "||||||||||||||||||||||||||||||||V",
            "ZBE|312^CH-X^000897406|20240306110000||INSERT|N||Chir V^^^^^CH-X&1.2.3&N^UF^^^6268|"
            "Chir V^^^^^CH-X&1.2.3&N^UF^^^6268|HMS",
            "ZFA|ACTIF|20240306111154|||||||INO|20240306111154|IC|20240306111154",
        ]
    )
    msg = hl7v2.parse(text)
    assert msg.patient.ipp == "000003" and msg.patient.identity_status == "validee"
    assert msg.patient.birth_place_cog == "63220"
    assert msg.visit.visit_number == "24000006"
    assert msg.visit.unit_codes == ("6268",)
    assert msg.visit.facility_ids == (FINESS_EG,)
    assert msg.visit.admit_at is None and msg.visit.movement_at == dt.datetime(
        2024, 3, 6, 11, 0, tzinfo=PARIS
    )


@pytest.mark.parametrize(
    ("text", "code", "err", "words"),
    [
        ("hello", "AR", "100", "MSH"),
        (adt("A01", "C", message_type="ORU"), "AR", "200", "ADT"),
        (adt("A21", "C"), "AR", "201", "A21"),
        (adt("A01", ""), "AR", "101", "MSH-10"),
        (adt("A01", "C", birth=""), "AE", "101", "date de naissance"),
        (adt("A01", "C", family=""), "AE", "101", "nom de naissance"),
        (adt("A01", "C", ipp=""), "AE", "101", "IPP"),
        (adt("A01", "C", admit="2026-11-10"), "AE", "102", "PV1-44"),
        (adt("A01", "C", birth="19851345"), "AE", "102", "PID-7"),
        (adt("A01", "C", nir=valid_nir()[:13] + "00"), "AE", "102", "clé"),
        (adt("A01", "C", nir="", status="QUAL"), "AE", "101", "INS"),
        (adt("A01", "C", birth_cog="XYZ"), "AE", "102", "COG"),
        (adt("A01", "C").replace("\rPV1|", "\rpv1|"), "AR", "100", "Segment mal formé"),
        (adt("A01", "C").replace("\rPV1|", "\rPV1~2|"), "AR", "100", "« PV1~2 »"),
        (adt("A01", "C").replace("\rPV1|", "\rPV1^X|"), "AR", "100", "« PV1^X »"),
        (adt("A01", "C").split("\rPV1|")[0], "AE", "100", "PV1"),
        (adt("A40", "C"), "AE", "101", "MRG-1"),
    ],
)
def test_refusals_are_french(text: str, code: str, err: str, words: str):
    with pytest.raises(HL7Error) as info:
        hl7v2.parse(text)
    assert info.value.ack_code == code
    assert info.value.error_code == err
    assert words in str(info.value)


def test_ack_and_nack():
    header = hl7v2.parse(adt("A01", "C42")).header
    ack = hl7v2.build_ack(header, "AA", "Message intégré.", ack_control_id="L1")
    msh, msa = ack.rstrip("\r").split("\r")
    assert msh.startswith(f"MSH|^~\\&|LIAISON|CHTEST^{FINESS_EG}^M|GAM|CHTEST^{FINESS_EG}^M|")
    assert "|ACK^A01^ACK|L1|P|2.5|" in msh and msh.endswith("|UNICODE UTF-8")
    assert msa == "MSA|AA|C42|Message intégré."
    nack = hl7v2.build_ack(header, "AE", "Séjour inconnu : NDA X|Y", error_code="204", location="PV1-19")
    segs = nack.rstrip("\r").split("\r")
    assert segs[1] == "MSA|AE|C42|Séjour inconnu : NDA X\\F\\Y"
    assert segs[2] == "ERR||PV1^^19|204^^HL70357|E||||Séjour inconnu : NDA X\\F\\Y"


def test_latin1_and_batches():
    text = adt("A01", "C", family="LEFÈVRE", charset="8859/1")
    data = text.encode("latin-1")
    assert hl7v2.charset_of(data) == "8859/1"
    assert hl7v2.parse(hl7v2.decode(data)).patient.birth_family_name == "LEFÈVRE"
    batch = (
        "FHS|^~\\&\nBHS|^~\\&\n"
        + adt("A01", "A").replace("\r", "\n")
        + "\n\n"
        + adt("A03", "B")
        + "\nBTS|2\nFTS|1\n"
    )
    parts = hl7v2.split_batch(batch)
    assert [hl7v2.parse(p).control_id for p in parts] == ["A", "B"]


# --- fuzzing: whatever arrives, the parser answers (a message or an HL7Error), never crashes ----------

VALID = adt("A01", "FUZZ", gp_rpps=GP_RPPS, attending_rpps=MEDECIN_RPPS, zfm="8||5")
HL7_ALPHABET = st.sampled_from(list('|^~\\&\r\n0123456789ABCDEFMSHPIDVZ"- .+é\x00\x0b\x1c'))


def _answer(text: str) -> str:
    header = hl7v2.sniff_header(text)
    try:
        msg = hl7v2.parse(text)
    except HL7Error as exc:
        assert exc.ack_code in ("AE", "AR") and str(exc)
        ack = hl7v2.build_ack(header, exc.ack_code, str(exc), exc.error_code, exc.location)
        code = exc.ack_code
    else:
        ack, code = hl7v2.build_ack(msg.header, "AA", "ok"), "AA"
    sep = ack[3]  # the sender's own field separator, when it was a sane one
    segments = ack.rstrip("\r").split("\r")
    assert segments[0].startswith("MSH" + sep)
    assert segments[1].startswith(f"MSA{sep}{code}{sep}")
    return ack


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_fuzz_arbitrary_text(text: str):
    _answer(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_messages(data):
    text = VALID
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(text)))
        op = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = data.draw(st.text(HL7_ALPHABET, min_size=1, max_size=8))
        if op == "insert":
            text = text[:pos] + chunk + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + len(chunk) :]
        else:
            text = text[:pos] + chunk + text[pos + len(chunk) :]
    _answer(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_bytes_decode(data: bytes):
    text = hl7v2.decode(b"MSH|^~\\&|" + data)
    _answer(text)
