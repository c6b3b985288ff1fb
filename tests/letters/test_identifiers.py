"""INS, RPPS and FINESS validation: the checks a secretary relies on, with French reasons."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from liaison.core import identifiers as ids
from tests.conftest import valid_finess, valid_nir, valid_rpps


def test_known_nir_key():
    # 1 85 04 45 234 017 → key computed by hand: 97 - (1850445234017 mod 97)
    assert ids.nir_key("1850445234017") == f"{97 - 1850445234017 % 97:02d}"
    assert ids.validate_ins(valid_nir("1")) == valid_nir("1")


def test_wrong_nir_key_is_refused_with_expected_key():
    nir = valid_nir()
    wrong = nir[:13] + f"{(int(nir[13:]) + 1) % 97:02d}"
    with pytest.raises(
        ids.IdentifierError, match=f"clé du matricule INS est incorrecte.*{nir[13:]} attendue"
    ):
        ids.validate_ins(wrong)


@pytest.mark.parametrize(
    "value,reason",
    [("12345", "15 caractères"), ("585041234567890", "format"), ("1850445234017AB", "format")],
)
def test_malformed_ins(value, reason):
    with pytest.raises(ids.IdentifierError, match=reason):
        ids.validate_ins(value)


def test_corsican_nir():
    body = "185042A123017"
    key = f"{97 - int('1850419123017') % 97:02d}"
    assert ids.validate_ins(body + key) == body + key


@given(st.text(max_size=20))
def test_validate_ins_never_crashes(value):
    try:
        ids.validate_ins(value)
    except ids.IdentifierError as exc:
        assert str(exc)  # a French reason, never an empty error


def test_rpps_luhn():
    good = valid_rpps(1234)
    assert ids.validate_rpps(good) == good
    assert ids.validate_rpps("8" + good) == good  # IdNat_PS accepted
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    with pytest.raises(ids.IdentifierError, match="RPPS.*incorrecte"):
        ids.validate_rpps(bad)
    with pytest.raises(ids.IdentifierError, match="11 chiffres"):
        ids.validate_rpps("123")


def test_finess_luhn():
    good = valid_finess(42)
    assert ids.validate_finess(good) == good
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    with pytest.raises(ids.IdentifierError, match="FINESS.*incorrecte"):
        ids.validate_finess(bad)


def test_ins_oid():
    assert ids.validate_ins_oid(ids.OID_INS_NIR_TEST)
    with pytest.raises(ids.IdentifierError, match="OID d'INS inconnu"):
        ids.validate_ins_oid("1.2.3")


@pytest.mark.django_db
def test_model_refuses_invalid_identifiers_in_french(hospital):
    patient = hospital["patient"]
    patient.ins_matricule = patient.ins_matricule[:13] + "00" if patient.ins_matricule[13:] != "00" else "01"
    with pytest.raises(ValidationError) as err:
        patient.full_clean()
    assert "clé du matricule INS est incorrecte" in str(err.value)
    pr = hospital["users"]["medecin"].practitioner
    pr.rpps = "12345678901"
    with pytest.raises(ValidationError, match="RPPS"):
        pr.full_clean()


@pytest.mark.django_db
def test_qualified_identity_requires_ins(hospital):
    patient = hospital["patient"]
    patient.ins_matricule = None
    with pytest.raises(ValidationError, match="identité qualifiée exige"):
        patient.full_clean()


@pytest.mark.django_db
def test_discharge_before_admission_refused(hospital):
    from django.db import IntegrityError, transaction

    stay = hospital["stay"]
    stay.discharge_at = stay.admission_at.replace(day=stay.admission_at.day - 1)
    with pytest.raises(ValidationError, match="La date de sortie précède la date d'entrée"):
        stay.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():  # the database refuses it too
        stay.save()


def test_corsican_finess_from_the_has_list():
    import csv

    from liaison.paths import opendata_dir

    path = opendata_dir() / "ganebang-veltis" / "has_certification_etablissement_geo.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        text = fh.read()
    corsican = sorted(
        {
            tok
            for tok in csv.reader(text.splitlines())
            for tok in tok
            if tok[:2] in ("2A", "2B") and len(tok) == 9 and tok[2:].isdigit()
        }
    )
    assert len(corsican) > 20
    for finess in corsican:
        assert ids.validate_finess(finess) == finess
