"""Pure message building: XDS metadata (valid ebRS), IHE_XDM.ZIP, the MSSanté mail, ack parsing."""

from __future__ import annotations

import email
import email.policy
import hashlib
import zipfile
from functools import cache
from io import BytesIO

import pytest
from lxml import etree

from liaison.core.content import Confidentiality, LetterContent
from liaison.delivery import acks, xdm
from liaison.delivery.xds_metadata import (
    DE_CONFIDENTIALITY,
    RPLC,
    DocumentIds,
    XdsMetadataError,
    entry_uuid_for,
    submit_objects_request,
)
from liaison.demo.sandboxes import mail as mail_sandbox
from liaison.documents.cda import build_cda
from liaison.paths import ihe_xds_dir
from tests.documents.sample_letters import complete, meta

RIM = {"rim": "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"}


@cache
def lcm_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(ihe_xds_dir() / "schema" / "ebRS" / "lcm.xsd")))


@cache
def sample() -> tuple[LetterContent, bytes, DocumentIds]:
    content = complete()
    m = meta(content)
    ids = DocumentIds(f"{m.id.root}^{m.id.extension}", "2.25.4242", "2.25.77")
    return content, build_cda(content, m), ids


def spec(**changes) -> xdm.MailSpec:
    content, cda, ids = sample()
    values = dict(
        message_id="<0b7e6c1e-1111-4c2b-9a43-5d0a1e2f3a4b@liaison.local>",
        sender="lettre-de-liaison@ch-test.mssante.fr",
        recipient="louis.bernard@medecin.mssante.fr",
        recipient_name="Dr Louis BERNARD",
        to_patient=False,
        content=content,
        ids=ids,
        cda=cda,
        pdf=b"%PDF-1.7 fake",
        nil="NIL-TEST-1",
    )
    values.update(changes)
    return xdm.MailSpec(**values)


def _slot(el: etree._Element, name: str) -> list[str]:
    return el.xpath(f"rim:Slot[@name='{name}']/rim:ValueList/rim:Value/text()", namespaces=RIM)


def test_metadata_is_valid_ebrs_with_ldl_ses_codes_and_hash():
    content, cda, ids = sample()
    root = submit_objects_request(
        content, ids, cda, xdm_uri="DOC0001.XML", intended_recipients=["a@b.mssante.fr"]
    )
    assert lcm_schema().validate(root), lcm_schema().error_log
    de = root.find(".//rim:ExtrinsicObject", RIM)
    assert de.get("id") == entry_uuid_for(ids.unique_id)
    assert _slot(de, "hash") == [hashlib.sha1(cda).hexdigest()]
    assert _slot(de, "size") == [str(len(cda))]
    assert _slot(de, "URI") == ["DOC0001.XML"]
    assert _slot(de, "creationTime") == ["20241203100000"]  # 11:00 Paris = 10:00 UTC
    assert _slot(de, "languageCode") == ["fr-FR"]
    codes = {c.get("nodeRepresentation") for c in de.findall("rim:Classification", RIM)}
    assert {"11490-0", "10", "urn:asip:ci-sis:ldl-ses:2017", "SA01", "ETABLISSEMENT", "N"} <= codes
    patient = de.xpath(
        "rim:ExternalIdentifier[rim:Name/rim:LocalizedString/@value='XDSDocumentEntry.patientId']",
        namespaces=RIM,
    )[0]
    assert patient.get("value") == "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH"
    assert _slot(de, "sourcePatientInfo")[0] == "PID-5|TEST-PATIENT^DOMINIQUE^^^^^L"
    author = de.xpath("rim:Classification[rim:Slot/@name='authorPerson']", namespaces=RIM)[0]
    assert _slot(author, "authorPerson")[0].startswith("810001234565^MARTIN^Claire^")
    assert "&1.2.250.1.71.4.2.2&ISO^IDNST^^^1750000028" in _slot(author, "authorInstitution")[0]
    ss = root.find(".//rim:RegistryPackage", RIM)
    assert _slot(ss, "intendedRecipient") == ["|^^Internet^a@b.mssante.fr"]
    assert not root.xpath(f"//rim:Association[@associationType='{RPLC}']", namespaces=RIM)


def test_replacement_adds_rplc_and_masks_add_confidentiality_codes():
    content, cda, ids = sample()
    masked = content.model_copy(
        update={"confidentiality": Confidentiality(invisible_to_legal_representatives=True)}
    )
    root = submit_objects_request(masked, ids, cda, replaces="1.2.250.1.999.1.1^LLS-2024-0001-0")
    assert lcm_schema().validate(root), lcm_schema().error_log
    rplc = root.xpath(f"//rim:Association[@associationType='{RPLC}']", namespaces=RIM)
    assert len(rplc) == 1
    assert rplc[0].get("sourceObject") == entry_uuid_for(ids.unique_id)
    assert rplc[0].get("targetObject") == entry_uuid_for("1.2.250.1.999.1.1^LLS-2024-0001-0")
    conf = root.xpath(f"//rim:Classification[@classificationScheme='{DE_CONFIDENTIALITY}']", namespaces=RIM)
    assert [c.get("nodeRepresentation") for c in conf] == ["N", "INVISIBLE_REPRESENTANTS_LEGAUX"]
    assert _slot(root.find(".//rim:ExtrinsicObject", RIM), "URI") == []  # ITI-41: no URI slot


def test_wrong_document_id_is_refused_in_french():
    content, cda, _ = sample()
    with pytest.raises(XdsMetadataError, match="ne correspond pas"):
        submit_objects_request(content, DocumentIds("1.2.3", "2.25.1", "2.25.2"), cda)


def test_xdm_zip_layout_and_cda_byte_identical():
    content, cda, ids = sample()
    data = xdm.build_xdm_zip(content, ids, cda, "bal@ch.mssante.fr")
    with zipfile.ZipFile(BytesIO(data)) as zf:
        assert zf.namelist() == [
            "INDEX.HTM",
            "README.TXT",
            "IHE_XDM/SUBSET01/METADATA.XML",
            "IHE_XDM/SUBSET01/DOC0001.XML",
        ]
        assert zf.read("IHE_XDM/SUBSET01/DOC0001.XML") == cda
        assert "Lettre de liaison" in zf.read("INDEX.HTM").decode()
    assert lcm_schema().validate(xdm.metadata_of(data))
    # Same letter, same submission time → same archive (a retry sends the same bytes).
    t = meta().effective_time
    assert xdm.build_xdm_zip(content, ids, cda, "b", submission_time=t) == xdm.build_xdm_zip(
        content, ids, cda, "b", submission_time=t
    )


def test_mail_to_a_professional():
    s = spec(ask_mdn=True)
    msg = email.message_from_bytes(xdm.build_mail(s).as_bytes(), policy=email.policy.default)
    assert msg["Subject"] == (
        "XDM/1.0/DDM+Lettre de liaison a la sortie d'un etabl TEST-PATIENT DOMINIQUE 28/03/1979"
    )
    assert msg["Message-ID"] == s.message_id
    assert msg["X-MSS-CODECDA"] == "11490-0"
    assert msg["X-MSS-INS"] == "O"
    assert msg["X-MSS-NIL"] == "NIL-TEST-1"
    assert msg["X-MSS-MES"] is None
    assert msg["Disposition-Notification-To"] == s.sender
    assert msg["To"].addresses[0].addr_spec == s.recipient
    body = msg.get_body(("plain",)).get_content()
    assert "Veuillez trouver ci-joint la lettre de liaison" in body and "IHE_XDM.ZIP" in body
    files = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert set(files) == {"LETTRE_DE_LIAISON_TEST-PATIENT_20241203.pdf", "IHE_XDM.ZIP"}
    assert files["LETTRE_DE_LIAISON_TEST-PATIENT_20241203.pdf"] == s.pdf
    assert xdm.read_xdm_zip(files["IHE_XDM.ZIP"])["IHE_XDM/SUBSET01/DOC0001.XML"] == s.cda
    assert xdm.smtp_options(s) == (
        ["RET=HDRS", "ENVID=0b7e6c1e-1111-4c2b-9a43-5d0a1e2f3a4b@liaison.local"],
        ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;louis.bernard@medecin.mssante.fr"],
    )


def test_mail_to_the_patient_forbids_replies_and_says_replacement():
    s = spec(
        to_patient=True,
        recipient="279035121518989@patient.mssante.fr",
        recipient_name="",
        replaces="1.2.3^old",
        version=2,
    )
    msg = xdm.build_mail(s)
    assert msg["X-MSS-MES"] == "FIN"
    assert msg["Disposition-Notification-To"] is None
    body = msg.get_body(("plain",)).get_content()
    assert (
        body.startswith("Bonjour,") and "annule et remplace" in body and "pas possible d'y répondre" in body
    )


def test_identity_not_qualified_gives_x_mss_ins_n():
    content, _, _ = sample()
    p = content.patient.model_copy(update={"identity_status": "validee"})
    msg = xdm.build_mail(spec(content=content.model_copy(update={"patient": p})))
    assert msg["X-MSS-INS"] == "N"


# --- acknowledgements -------------------------------------------------------------------------


def _original() -> bytes:
    return xdm.build_mail(spec(ask_mdn=True)).as_bytes()


def test_dsn_success_failure_and_delay_are_parsed():
    mid = spec().message_id
    ok = acks.parse_bytes(mail_sandbox.build_dsn(_original(), "s@x.mssante.fr", "r@y.mssante.fr", envid="E"))
    assert [(a.message_id, a.kind) for a in ok] == [(mid, "delivered")]
    relayed = mail_sandbox.build_dsn(_original(), "s@x", "r@y", action="relayed")  # Postfix after LMTP
    assert acks.parse_bytes(relayed)[0].kind == "delivered"
    failed = acks.parse_bytes(
        mail_sandbox.build_dsn(
            _original(), "s@x", "r@y", status="5.1.1", action="failed", diagnostic="550 unknown"
        )
    )
    assert failed[0].kind == "failed" and "5.1.1" in failed[0].detail and "Vérifiez" in failed[0].detail
    delayed = mail_sandbox.build_dsn(_original(), "s@x", "r@y", status="4.4.1", action="delayed")
    assert acks.parse_bytes(delayed)[0].kind == "delayed"


def test_dsn_without_returned_headers_uses_the_envelope_id():
    raw = mail_sandbox.build_dsn(b"", "s@x", "r@y", envid="abc@liaison.local")
    assert acks.parse_bytes(raw)[0].message_id == "<abc@liaison.local>"


def test_mdn_read_and_integration_error():
    read = acks.parse_bytes(mail_sandbox.build_mdn(_original(), "louis.bernard@medecin.mssante.fr"))
    assert [(a.message_id, a.kind) for a in read] == [(spec().message_id, "read")]
    err = acks.parse_bytes(
        mail_sandbox.build_mdn(
            _original(),
            "louis.bernard@medecin.mssante.fr",
            disposition="automatic-action/MDN-sent-automatically; processed/Error: 902^Patient inconnu",
        )
    )
    assert err[0].kind == "failed" and "Patient inconnu (code 902)" in err[0].detail


def test_error_mail_and_ordinary_mail():
    mid = spec().message_id
    raw = (
        f"From: logiciel@cabinet.mssante.fr\nTo: bal@ch.mssante.fr\nIn-Reply-To: {mid}\n"
        "Subject: [KO Intégration système !][902] XDM/1.0/DDM+Lettre\n\nDocument illisible.\n"
    ).encode()
    got = acks.parse_bytes(raw)
    assert got[0].kind == "failed" and got[0].message_id == mid and "Document illisible" in got[0].detail
    assert acks.parse_bytes(b"From: a@b\nSubject: Merci\n\nBien recu.\n") == []


def test_sandbox_recipient_rules():
    assert mail_sandbox.check_recipient("dr@medecin.mssante.fr") is None
    assert mail_sandbox.check_recipient("279035121518989@patient.mssante.fr") is None
    assert mail_sandbox.check_recipient("dr@gmail.com").startswith("550 5.1.2")
    assert mail_sandbox.check_recipient("dupont@patient.mssante.fr").startswith("550 5.1.1")
