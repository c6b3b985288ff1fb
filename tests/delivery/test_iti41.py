"""ITI-41 on the wire, without a database: envelope, MTOM, IHE schemas, metadata rules, VIHF, answers."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from lxml import etree

from liaison.core.content import IdentityStatus, LetterContent
from liaison.delivery import iti41, vihf
from liaison.delivery import xds_metadata as xds
from liaison.demo.sandboxes.dmp import checks
from liaison.paths import ldl_ses_dir

CDA = (ldl_ses_dir() / "ExemplesCDA" / "LDL-SES_2022.01.xml").read_bytes()
PATIENT = "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH"


def _content() -> LetterContent:
    c = LetterContent()
    c.patient.identity_status = IdentityStatus.QUALIFIEE
    return c


def _unique_id() -> str:
    doc_id = etree.fromstring(CDA).find("{urn:hl7-org:v3}id")
    return doc_id.get("root") + (f"^{doc_id.get('extension')}" if doc_id.get("extension") else "")


def _sor(replaces: str | None = None) -> etree._Element:
    ids = xds.DocumentIds(_unique_id(), "2.25.12345", xds.source_id_for("750803447"))
    return xds.submit_objects_request(_content(), ids, CDA, replaces)


def _context() -> vihf.VihfContext:
    return vihf.VihfContext("1750803447", "SA01^1.2.250.1.71.4.2.4", PATIENT, "801234567897")


def _request(sor: etree._Element | None = None, token: etree._Element | None = None) -> iti41.Request:
    sor = sor if sor is not None else _sor()
    token = token if token is not None else vihf.signed_vihf(_context())
    att = iti41.Attachment(xds.entry_uuid_for(_unique_id()), CDA)
    return iti41.provide_and_register(sor, [att], "http://127.0.0.1:8091/", token)


def _unpack(req: iti41.Request) -> tuple[etree._Element, dict[str, bytes]]:
    msg = iti41.parse_multipart(req.content_type, req.body)
    env = etree.fromstring(msg.root)
    pnr = env.find("s:Body/xdsb:ProvideAndRegisterDocumentSetRequest", iti41.NS)
    return env, iti41.resolve_xop(pnr, msg.parts)


def test_request_is_soap12_mtom_with_addressing_and_vihf():
    req = _request()
    main, params = iti41.content_type_params(req.content_type)
    assert main == "multipart/related"
    assert params["type"] == "application/xop+xml" and params["start-info"] == "application/soap+xml"
    assert params["action"] == iti41.ACTION
    env, docs = _unpack(req)
    assert env.tag == f"{{{iti41.SOAP}}}Envelope"
    assert env.findtext("s:Header/wsa:Action", namespaces=iti41.NS) == iti41.ACTION
    assert env.findtext("s:Header/wsa:MessageID", namespaces=iti41.NS) == req.message_id
    assert env.findtext("s:Header/wsa:To", namespaces=iti41.NS) == "http://127.0.0.1:8091/"
    assert list(docs.values()) == [CDA]  # byte-exact through the MTOM framing
    assertion = env.find(f"s:Header/wsse:Security/{{{vihf.SAML}}}Assertion", iti41.NS)
    token = vihf.verify(assertion, [vihf.demo_authority().read_bytes()])
    assert token.attributes[vihf.RESOURCE_ID] == PATIENT
    assert token.attributes[vihf.SUBJECT_ROLE] == "AUTOMATE^1.2.250.1.213.1.1.4.6"
    assert token.attributes["Authentification_Mode"] == "INDIRECTE"


def test_soap_body_is_valid_against_the_ihe_xdsb_schema():
    env, docs = _unpack(_request(_sor(replaces="2.25.999")))
    pnr = env.find("s:Body/xdsb:ProvideAndRegisterDocumentSetRequest", iti41.NS)
    infoset = iti41.inline_xop(pnr, docs)
    assert checks.schema_errors(infoset) == []
    assert base64.b64decode(infoset.findtext("xdsb:Document", namespaces=iti41.NS)) == CDA
    # and the schema does catch a broken body
    infoset.find("lcm:SubmitObjectsRequest", iti41.NS).tag = f"{{{iti41.LCM}}}Wrong"
    assert checks.schema_errors(infoset)


def test_french_metadata_rules_accept_the_builder_output():
    sub, errors = checks.check_submission(_sor())
    assert errors == []
    assert sub.patient_id == PATIENT and sub.set_unique_id == "2.25.12345"
    (entry,) = sub.entries.values()
    assert entry.unique_id == _unique_id()
    assert checks.check_documents(sub, {entry.id: CDA}) == []
    assert checks.check_cda_header(entry, CDA) == []


@pytest.mark.parametrize(
    "scheme,label",
    [
        (xds.DE_FORMAT, "formatCode"),
        (xds.DE_CLASS, "classCode"),
        (xds.DE_PRACTICE, "practiceSettingCode"),
        (xds.DE_FACILITY, "healthcareFacilityTypeCode"),
        (xds.DE_AUTHOR, "auteur"),
    ],
)
def test_missing_classification_is_reported(scheme, label):
    sor = _sor()
    for c in sor.xpath(f"//rim:Classification[@classificationScheme='{scheme}']", namespaces=iti41.NS):
        c.getparent().remove(c)
    _, errors = checks.check_submission(sor)
    assert [e.code for e in errors] == ["XDSMissingDocumentMetadata"]
    assert label in errors[0].context


def test_wrong_codes_and_patient_are_reported():
    sor = _sor()
    fmt = sor.xpath(f"//rim:Classification[@classificationScheme='{xds.DE_FORMAT}']", namespaces=iti41.NS)[0]
    fmt.set("nodeRepresentation", "urn:ihe:iti:xds-sd:pdf:2008")
    pid = sor.xpath(
        f"//rim:ExternalIdentifier[@identificationScheme='{xds.SS_PATIENT_ID}']", namespaces=iti41.NS
    )[0]
    pid.set("value", "279035121518988^^^&1.2.250.1.213.1.4.10&ISO^NH")  # wrong key
    _, errors = checks.check_submission(sor)
    codes = [e.code for e in errors]
    assert "XDSRegistryMetadataError" in codes and "XDSPatientIdDoesNotMatch" in codes
    assert any("clé" in e.context for e in errors)


def test_masks_become_confidentiality_codes():
    c = _content()
    c.confidentiality.invisible_to_patient = True
    c.confidentiality.masked_from_professionals = True
    sor = xds.submit_objects_request(c, xds.DocumentIds(_unique_id(), "2.25.1", "2.25.2"), CDA)
    sub, errors = checks.check_submission(sor)
    assert errors == []
    (entry,) = sub.entries.values()
    assert [code for code, _ in entry.confidentiality] == ["N", "MASQUE_PS", "INVISIBLE_PATIENT"]


def test_size_and_hash_are_checked():
    sub, _ = checks.check_submission(_sor())
    (entry,) = sub.entries.values()
    errors = checks.check_documents(sub, {entry.id: CDA + b" "})
    assert {e.code for e in errors} == {"XDSRepositoryMetadataError"}


def test_mtom_framing_errors_are_french():
    req = _request()
    with pytest.raises(iti41.FramingError, match="tronqué"):
        iti41.parse_multipart(req.content_type, req.body[:-20])
    with pytest.raises(iti41.FramingError, match="multipart/related"):
        iti41.parse_multipart("application/octet-stream", req.body)


# --- VIHF -------------------------------------------------------------------------------------


def test_vihf_tampered_untrusted_or_expired_is_refused():
    token = vihf.signed_vihf(_context())
    text = etree.tostring(token)
    trusted = [vihf.demo_authority().read_bytes()]
    with pytest.raises(vihf.VihfError, match="signature"):
        vihf.verify(etree.fromstring(text.replace(b"INDIRECTE", b"DIRECTE")), trusted)
    other = vihf.generate_self_signed("Autre établissement")
    with pytest.raises(vihf.VihfError, match="pas reconnu"):
        vihf.verify(etree.fromstring(text), trusted=[other.cert_pem])
    assert vihf.verify(etree.fromstring(text), trusted=[vihf.load_credentials().cert_pem])  # pinned
    assert vihf.verify(etree.fromstring(text), trusted)  # issued by the trusted authority
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with pytest.raises(vihf.VihfError, match="expiré"):
        vihf.verify(etree.fromstring(text), trusted, now=later)


def test_vihf_signature_is_exclusive_c14n_rsa_sha256_after_issuer():
    token = vihf.signed_vihf(_context())
    assert etree.QName(token[0]).localname == "Issuer" and etree.QName(token[1]).localname == "Signature"
    ns = {"ds": vihf.DS}
    assert token.xpath("ds:Signature/ds:SignedInfo/ds:CanonicalizationMethod/@Algorithm", namespaces=ns) == [
        "http://www.w3.org/2001/10/xml-exc-c14n#"
    ]
    assert token.xpath("ds:Signature/ds:SignedInfo/ds:SignatureMethod/@Algorithm", namespaces=ns) == [
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    ]
    assert token.find(f"{{{vihf.SAML}}}Conditions/{{{vihf.SAML}}}AudienceRestriction") is None


# --- answers ----------------------------------------------------------------------------------


def _answer(*errors: iti41.RegistryError) -> iti41.Answer:
    ctype, body = iti41.mtom(
        iti41.registry_response(errors, relates_to="urn:uuid:x"), [], iti41.RESPONSE_ACTION
    )
    return iti41.parse_answer(ctype, body)


@pytest.mark.parametrize(
    "code,ok,retry,words",
    [
        (None, True, False, "enregistré"),
        ("XDSDuplicateUniqueIdInRegistry", True, False, "déjà présent"),
        ("XDSMissingDocumentMetadata", False, False, "Métadonnées XDS manquantes"),
        ("InvalidDocumentContent", False, False, "CDA est refusé"),
        ("XDSUnknownPatientId", False, False, "Patient inconnu du DMP"),
        ("XDSNonIdenticalHash", False, False, "contenu différent"),
        ("UnresolvedReferenceException", False, True, "version remplacée"),
        ("XDSRegistryBusy", False, True, "surchargé"),
        ("XDSSomethingNew", False, False, "XDSSomethingNew"),
    ],
)
def test_registry_answers_map_to_french_outcomes(code, ok, retry, words):
    answer = _answer(iti41.RegistryError(code, "détail")) if code else _answer()
    result = iti41.outcome(answer)
    assert (result.ok, result.retry) == (ok, retry)
    assert words in result.detail


def test_warning_only_is_success():
    result = iti41.outcome(
        _answer(iti41.RegistryError("XDSExtraMetadataNotSaved", "x", iti41.SEVERITY_WARNING))
    )
    assert result.ok and "Avertissements" in result.detail


def test_soap_faults_map_to_french_outcomes():
    fault = iti41.parse_answer(
        "application/soap+xml", iti41.soap_fault("Sender", "wsse:FailedAuthentication", "signature invalide")
    )
    result = iti41.outcome(fault, 400)
    assert not result.ok and not result.retry and "certificat de cachet" in result.detail
    busy = iti41.parse_answer("application/soap+xml", iti41.soap_fault("Receiver", "", "panne"))
    assert iti41.outcome(busy, 500).retry
