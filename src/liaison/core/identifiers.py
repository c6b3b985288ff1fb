"""French health identifiers: INS (NIR/NIA matricule + key), RPPS, FINESS, MSSanté addresses.

Pure Python, no Django. Each validator raises `IdentifierError` with a French message a
secretary can act on, or returns the normalised value.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

# OIDs of the INS matricule (ANS référentiel INS).
OID_INS_NIR = "1.2.250.1.213.1.4.8"
OID_INS_NIA = "1.2.250.1.213.1.4.9"
OID_INS_NIR_TEST = "1.2.250.1.213.1.4.10"
OID_INS_NIR_DEMO = "1.2.250.1.213.1.4.11"
INS_OIDS = {
    OID_INS_NIR: "NIR",
    OID_INS_NIA: "NIA",
    OID_INS_NIR_TEST: "NIR de test",
    OID_INS_NIR_DEMO: "NIR de démonstration",
}
OID_RPPS = "1.2.250.1.71.4.2.1"  # IdNat_PS = "8" + RPPS
OID_FINESS = "1.2.250.1.71.4.2.2"  # IdNat_Struct = "1" + FINESS


class IdentifierError(ValueError):
    """An identifier that fails its format or key check; the message is in French."""


_NIR_RE = re.compile(r"^[12378][0-9]{2}(0[1-9]|1[0-2]|[2-9][0-9])(2[AB]|[0-9]{2})[0-9]{6}$")


def _nir_number(matricule13: str) -> int:
    # Corsica: 2A and 2B count as 19 and 18 in the key computation.
    if matricule13[5:7] == "2A":
        return int(matricule13[:5] + "19" + matricule13[7:])
    if matricule13[5:7] == "2B":
        return int(matricule13[:5] + "18" + matricule13[7:])
    return int(matricule13)


def nir_key(matricule13: str) -> str:
    """Two-digit key of a 13-character NIR: 97 - (number mod 97)."""
    return f"{97 - _nir_number(matricule13) % 97:02d}"


def validate_ins(value: str) -> str:
    """Check a 15-character INS matricule (13 characters + 2-digit key); return it normalised."""
    v = re.sub(r"\s", "", value or "").upper()
    if len(v) != 15:
        raise IdentifierError(
            f"Le matricule INS doit comporter 15 caractères (13 + clé de 2 chiffres) ; {len(v)} reçus."
        )
    body, key = v[:13], v[13:]
    if not key.isdigit() or not _NIR_RE.match(body):
        raise IdentifierError(
            "Le matricule INS n'a pas le format d'un NIR/NIA "
            "(sexe, année, mois, département, commune, rang, clé)."
        )
    expected = nir_key(body)
    if key != expected:
        raise IdentifierError(
            f"La clé du matricule INS est incorrecte : {key} lue, {expected} attendue. "
            "Vérifiez la saisie ou interrogez le téléservice INSi."
        )
    return v


def validate_ins_oid(oid: str) -> str:
    if oid not in INS_OIDS:
        raise IdentifierError(
            f"OID d'INS inconnu : {oid!r}. Valeurs admises : " + ", ".join(sorted(INS_OIDS)) + "."
        )
    return oid


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_key(digits: str) -> str:
    """The check digit that makes `digits + key` pass the Luhn test."""
    for k in "0123456789":
        if luhn_ok(digits + k):
            return k
    raise AssertionError("unreachable")


def validate_rpps(value: str) -> str:
    """An RPPS number: 11 digits, the last one a Luhn key."""
    v = re.sub(r"\s", "", value or "")
    if v.startswith("8") and len(v) == 12:  # IdNat_PS given instead of the bare RPPS
        v = v[1:]
    if not re.fullmatch(r"[0-9]{11}", v):
        raise IdentifierError(f"Le numéro RPPS doit comporter 11 chiffres ; reçu {value!r}.")
    if not luhn_ok(v):
        raise IdentifierError(f"La clé du numéro RPPS {v} est incorrecte (contrôle de Luhn).")
    return v


def validate_finess(value: str) -> str:
    """A FINESS number: 9 characters, department first (2A/2B in Corsica), Luhn key last.

    Corsican numbers carry letters; the Luhn key is then checked with 2A→21 and 2B→22
    (A=1, B=2): the 86 Corsican FINESS of the HAS certification list in `shared/opendata/` all
    pass that way and none with 2A/2B→20.
    """
    v = re.sub(r"\s", "", value or "").upper()
    if len(v) == 10 and v.startswith("1"):  # IdNat_Struct given instead of the bare FINESS
        v = v[1:]
    if not re.fullmatch(r"(2[AB]|[0-9]{2})[0-9]{7}", v):
        raise IdentifierError(f"Le numéro FINESS doit comporter 9 caractères ; reçu {value!r}.")
    digits = {"2A": "21", "2B": "22"}.get(v[:2], v[:2]) + v[2:]
    if not luhn_ok(digits):
        raise IdentifierError(f"La clé du numéro FINESS {v} est incorrecte (contrôle de Luhn).")
    return v


def validate_mssante(value: str) -> str:
    """An MSSanté address: a valid e-mail address (email-validator) in the MSSanté domain."""
    v = (value or "").strip()
    try:
        v = validate_email(v, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise IdentifierError(
            f"Adresse MSSanté invalide : « {value} » (exemple : nom@domaine.mssante.fr)."
        ) from exc
    domain = v.rsplit("@", 1)[1].lower()
    if domain != "mssante.fr" and not domain.endswith(".mssante.fr"):
        raise IdentifierError(
            f"« {value} » n'est pas une boîte MSSanté (domaine …mssante.fr) : la lettre ne peut être "
            "envoyée que par messagerie sécurisée de santé."
        )
    return v


def idnat_ps(rpps: str) -> str:
    return "8" + rpps


def idnat_struct(finess: str) -> str:
    return "1" + finess


def patient_mssante_address(ins_matricule: str) -> str:
    """The patient's Mon espace santé mailbox: `<matricule INS>@patient.mssante.fr`."""
    return f"{ins_matricule}@patient.mssante.fr"
