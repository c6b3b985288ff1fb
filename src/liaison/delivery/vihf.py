"""The VIHF token of a DMP request: a SAML 2.0 assertion signed with XML-DSig (pure, no Django).

dmp-and-mssante.md §2.3: issued by the structure's seal certificate (exclusive c14n, RSA-SHA256,
enveloped signature), for an automated sender (`AUTOMATE`, `INDIRECTE`), about one patient (the
INS in CX form as `resource-id`). `Conditions` carries a validity window but no audience.

Credentials come from `LIAISON_DMP_CERT` / `LIAISON_DMP_KEY` (PEM files). Without them a
throw-away self-signed pair is generated once and kept in the cache directory, for the demo and
the tests; the DMP sandbox accepts it, a real DMP would not.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature as BadCertificateSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner, XMLVerifier
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration

from liaison.core.codes import HL7_V3 as V3
from liaison.core.codes import XSI
from liaison.paths import default_cache_dir

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
X509_SUBJECT = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
SUBJECT_ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
PURPOSE_OF_USE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
VIHF_VERSION = "3.0"  # the ANS table says 4.0, its example 3.0: to check with the DMP (§2.3)
VALIDITY = dt.timedelta(minutes=5)
# Attributes the DMP requires of an automated sender (§2.3).
REQUIRED_ATTRIBUTES = (
    "VIHF_Version",
    "Authentification_Mode",
    "Identifiant_Structure",
    "Secteur_Activite",
    RESOURCE_ID,
    "Ressource_URN",
    SUBJECT_ID,
    SUBJECT_ROLE,
    PURPOSE_OF_USE,
    "LPS_Nom",
    "LPS_Version",
)


class VihfError(ValueError):
    """A missing or invalid VIHF token; the message is French."""


@dataclass(frozen=True)
class Credentials:
    key_pem: bytes
    cert_pem: bytes

    @cached_property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @cached_property
    def private_key(self) -> rsa.RSAPrivateKey:
        # Loading checks the RSA key (~50 ms): do it once, not per signature.
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise VihfError("La clé du certificat de cachet doit être une clé RSA (signature RSA-SHA256).")
        return key

    @property
    def subject_dn(self) -> str:
        return self.certificate.subject.rfc4514_string()


@dataclass(frozen=True, slots=True)
class VihfContext:
    """Who files what about whom."""

    structure_id: str  # Struct_IdNat: "1" + FINESS
    sector: str  # Secteur_Activite, e.g. "SA01^1.2.250.1.71.4.2.4"
    patient_cx: str  # the INS in CX form, e.g. 279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH
    responsible_id: str  # national id of the person responsible for the automated processing
    subject_name: str = "Liaison, alimentation automatique du DMP"
    software_name: str = "Liaison"
    software_version: str = "0.1.0"
    homologation: str = "NON-HOMOLOGUE"  # LPS_ID_HOMOLOGATION_DMP


# --- credentials ------------------------------------------------------------------------------

_lock = threading.Lock()
_cached: dict[tuple[str, str], Credentials] = {}


def generate_self_signed(
    common_name: str = "Liaison DMP (certificat de démonstration)",
    issuer: Credentials | None = None,
    authority: bool = False,
) -> Credentials:
    """A key and its certificate: self-signed, or issued by `issuer`; `authority` for a CA."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Liaison (démonstration)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    constraints = x509.BasicConstraints(ca=authority, path_length=0 if authority else None)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.certificate.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(constraints, critical=True)
        .sign(issuer.private_key if issuer else key, hashes.SHA256())
    )
    return Credentials(
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
    )


DEMO_AUTHORITY = "vihf-demo-ca.cert.pem"


def _demo_credentials(folder: Path) -> Credentials:
    """The demo's seal, issued by the demo's own authority (whose certificate the DMP sandbox
    trusts: `demo_authority()`), kept in `folder` across runs."""
    key_file, cert_file = folder / "vihf-demo.key.pem", folder / "vihf-demo.cert.pem"
    ca_file = folder / DEMO_AUTHORITY
    if key_file.is_file() and cert_file.is_file() and ca_file.is_file():
        return Credentials(key_file.read_bytes(), cert_file.read_bytes())
    authority = generate_self_signed("Liaison, autorité de certification de démonstration", authority=True)
    creds = generate_self_signed(issuer=authority)
    folder.mkdir(parents=True, exist_ok=True)
    for path, data in ((key_file, creds.key_pem), (cert_file, creds.cert_pem), (ca_file, authority.cert_pem)):
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o600)
        tmp.replace(path)
    # Two processes may have raced: read back what is on disk so both use the same pair.
    return Credentials(key_file.read_bytes(), cert_file.read_bytes())


def demo_authority() -> Path:
    """The certificate of the authority that issued the demo seal (created if needed): the
    trust store the demo gives the DMP sandbox."""
    folder = default_cache_dir() / "dmp"
    _demo_credentials(folder)
    return folder / DEMO_AUTHORITY


def load_credentials(cert: str | None = None, key: str | None = None) -> Credentials:
    """The seal certificate and key: the given PEM files (LIAISON_DMP_CERT/KEY, read into
    `DmpConfig`), else a demo pair."""
    cert = cert or ""
    key = key or ""
    with _lock:
        if (cert, key) not in _cached:
            if bool(cert) != bool(key):
                raise VihfError("LIAISON_DMP_CERT et LIAISON_DMP_KEY doivent être donnés ensemble.")
            if cert:
                try:
                    creds = Credentials(Path(key).read_bytes(), Path(cert).read_bytes())
                    creds.certificate  # noqa: B018 — fail now on an unreadable certificate or key
                    creds.private_key  # noqa: B018
                except (OSError, ValueError) as exc:
                    raise VihfError(f"Certificat de cachet illisible ({cert}, {key}) : {exc}") from exc
            else:
                creds = _demo_credentials(default_cache_dir() / "dmp")
            _cached[(cert, key)] = creds
        return _cached[(cert, key)]


# --- building and signing ---------------------------------------------------------------------


def _s(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{SAML}}}{tag}", attrib)
    if text is not None:
        el.text = text
    return el


def _attribute(parent: etree._Element, name: str, value: str | etree._Element) -> None:
    attr = _s(parent, "Attribute", Name=name)
    av = _s(attr, "AttributeValue")
    if isinstance(value, str):
        av.text = value
    else:
        av.append(value)


def _ce(tag: str, code: str, system: str, display: str) -> etree._Element:
    el = etree.Element(f"{{{V3}}}{tag}", nsmap={None: V3, "xsi": XSI})
    el.set(f"{{{XSI}}}type", "CE")
    el.set("code", code)
    el.set("codeSystem", system)
    el.set("displayName", display)
    return el


def _xs_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_assertion(ctx: VihfContext, issuer_dn: str, now: dt.datetime | None = None) -> etree._Element:
    """The unsigned assertion (with a signature placeholder after `Issuer`, where SAML wants it)."""
    now = now or dt.datetime.now(dt.UTC)
    a = etree.Element(
        f"{{{SAML}}}Assertion",
        nsmap={"saml2": SAML},
        ID=f"_{uuid.uuid4()}",
        IssueInstant=_xs_time(now),
        Version="2.0",
    )
    _s(a, "Issuer", issuer_dn, Format=X509_SUBJECT)
    etree.SubElement(a, f"{{{DS}}}Signature", Id="placeholder", nsmap={"ds": DS})
    subject = _s(a, "Subject")
    _s(subject, "NameID", ctx.responsible_id, Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
    _s(
        a,
        "Conditions",
        NotBefore=_xs_time(now - dt.timedelta(seconds=30)),
        NotOnOrAfter=_xs_time(now + VALIDITY),
    )
    authn = _s(a, "AuthnStatement", AuthnInstant=_xs_time(now))
    _s(
        _s(authn, "AuthnContext"),
        "AuthnContextClassRef",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified",
    )
    st = _s(a, "AttributeStatement")
    _attribute(st, "VIHF_Version", VIHF_VERSION)
    _attribute(st, "Authentification_Mode", "INDIRECTE")
    _attribute(st, "Identifiant_Structure", ctx.structure_id)
    _attribute(st, "Secteur_Activite", ctx.sector)
    _attribute(st, RESOURCE_ID, ctx.patient_cx)
    _attribute(st, "Ressource_URN", "urn:dmp")
    _attribute(st, SUBJECT_ID, ctx.subject_name)
    _attribute(st, SUBJECT_ROLE, _ce("Role", "AUTOMATE", "1.2.250.1.213.1.1.4.6", "Automate"))
    _attribute(st, PURPOSE_OF_USE, _ce("PurposeOfUse", "normal", "1.2.250.1.213.1.1.4.248", "Accès normal"))
    _attribute(st, "LPS_Nom", ctx.software_name)
    _attribute(st, "LPS_Version", ctx.software_version)
    _attribute(st, "LPS_ID_HOMOLOGATION_DMP", ctx.homologation)
    return a


_SIGNER = XMLSigner(
    signature_algorithm=SignatureMethod.RSA_SHA256,
    digest_algorithm=DigestAlgorithm.SHA256,
    c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
)


def sign_assertion(assertion: etree._Element, creds: Credentials) -> etree._Element:
    return _SIGNER.sign(
        assertion,
        key=creds.private_key,
        cert=[creds.certificate],
        reference_uri=f"#{assertion.get('ID')}",
        id_attribute="ID",
    )


def signed_vihf(ctx: VihfContext, creds: Credentials | None = None) -> etree._Element:
    creds = creds or load_credentials()
    return sign_assertion(build_assertion(ctx, creds.subject_dn), creds)


# --- reading (the sandbox's side) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedVihf:
    issuer: str
    subject: str
    attributes: dict[str, str]  # plain text, or "code^codeSystem" for a CE
    certificate_pem: str


def _attribute_values(assertion: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for attr in assertion.iter(f"{{{SAML}}}Attribute"):
        value = attr.find(f"{{{SAML}}}AttributeValue")
        if value is None:
            continue
        coded = next(iter(value), None)
        if coded is not None:
            out[attr.get("Name", "")] = f"{coded.get('code', '')}^{coded.get('codeSystem', '')}"
        else:
            out[attr.get("Name", "")] = (value.text or "").strip()
    return out


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


_EXPECT = SignatureConfiguration(
    signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
)


def _is_authority(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _trusted(cert: x509.Certificate, trusted: list[bytes]) -> bool:
    """The seal certificate is in the trust store, or was issued by an authority that is."""
    for pem in trusted:
        anchor = x509.load_pem_x509_certificate(pem)
        if anchor == cert:
            return True
        if not _is_authority(anchor):
            continue
        try:
            cert.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, BadCertificateSignature):
            continue
        now = dt.datetime.now(dt.UTC)
        if anchor.not_valid_before_utc <= now <= anchor.not_valid_after_utc:
            return True
    return False


def verify(assertion: etree._Element, trusted: list[bytes], now: dt.datetime | None = None) -> VerifiedVihf:
    """Check the signature (with the embedded certificate, which must be in the `trusted` store
    or issued by an authority in it), the validity window and the required attributes; read
    only what the signature covers."""
    cert_el = assertion.find(f".//{{{DS}}}X509Certificate")
    if cert_el is None or not (cert_el.text or "").strip():
        raise VihfError("Jeton VIHF sans certificat de signature (ds:X509Certificate absent).")
    b64 = "".join((cert_el.text or "").split())
    cert_pem = "-----BEGIN CERTIFICATE-----\n" + b64 + "\n-----END CERTIFICATE-----\n"
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode("ascii"))
    except ValueError as exc:
        raise VihfError("Le certificat du jeton VIHF est illisible.") from exc
    if not _trusted(cert, trusted):
        raise VihfError(
            f"Le certificat de cachet du jeton VIHF ({cert.subject.rfc4514_string()}) n'est pas reconnu : "
            "ni lui ni son autorité ne sont dans le magasin de confiance."
        )
    try:
        result = XMLVerifier().verify(
            etree.tostring(assertion), x509_cert=cert_pem, id_attribute="ID", expect_config=_EXPECT
        )
    except (InvalidSignature, InvalidInput) as exc:
        raise VihfError(f"La signature du jeton VIHF est invalide : {exc}.") from exc
    signed = result.signed_xml  # type: ignore[union-attr]
    if signed is None or signed.tag != f"{{{SAML}}}Assertion":
        raise VihfError("La signature du jeton VIHF ne couvre pas l'assertion.")
    now = now or dt.datetime.now(dt.UTC)
    cond = signed.find(f"{{{SAML}}}Conditions")
    not_before = _parse_time(cond.get("NotBefore")) if cond is not None else None
    not_after = _parse_time(cond.get("NotOnOrAfter")) if cond is not None else None
    if not_before is None or not_after is None:
        raise VihfError("Jeton VIHF sans période de validité (Conditions NotBefore / NotOnOrAfter).")
    if not (not_before - dt.timedelta(minutes=2) <= now < not_after + dt.timedelta(minutes=2)):
        raise VihfError("Le jeton VIHF est expiré ou pas encore valide : vérifiez l'horloge du serveur.")
    if cond is not None and cond.find(f"{{{SAML}}}AudienceRestriction") is not None:
        raise VihfError("Le jeton VIHF ne doit pas contenir de restriction d'audience (AudienceRestriction).")
    attrs = _attribute_values(signed)
    missing = [name for name in REQUIRED_ATTRIBUTES if not attrs.get(name)]
    if missing:
        raise VihfError("Attribut(s) obligatoire(s) absent(s) du jeton VIHF : " + ", ".join(missing) + ".")
    issuer = (signed.findtext(f"{{{SAML}}}Issuer") or "").strip()
    subject = (signed.findtext(f"{{{SAML}}}Subject/{{{SAML}}}NameID") or "").strip()
    return VerifiedVihf(issuer=issuer, subject=subject, attributes=attrs, certificate_pem=cert_pem)
