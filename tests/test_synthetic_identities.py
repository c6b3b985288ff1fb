"""The one source of synthetic people (`liaison.demo.synthetic.identities`): valid, seeded."""

from __future__ import annotations

import random

from liaison.core.identifiers import OID_INS_NIR_TEST, validate_finess, validate_ins, validate_rpps
from liaison.demo.synthetic import identities
from liaison.demo.synthetic.identities import People, faker


def _people(seed: int) -> People:
    return People(random.Random(seed), faker(seed))


def test_identifiers_carry_valid_keys():
    validate_ins(identities.nir("2", "8504", "45234", "017"))
    assert identities.nir("F", "8504", "45234", "017") == identities.nir("2", "8504", "45234", "017")
    validate_rpps(identities.rpps(42))
    validate_finess(identities.finess(7, "45"))
    assert identities.mssante_address("Hélène", "Le Bœuf", "medecin.mssante.fr").isascii()


def test_same_seed_same_people():
    first = [_people(4).patient(sex) for sex in "MFFM"]
    again = [_people(4).patient(sex) for sex in "MFFM"]
    other = [_people(5).patient(sex) for sex in "MFFM"]
    assert first == again and first != other


def test_patients_are_synthetic_and_consistent():
    people = _people(1)
    for sex in "MF" * 40:
        p = people.patient(sex, 20, 42)
        assert p.sex == sex and p.family == p.family.upper() and p.given_names.startswith(p.given)
        if p.status == "provisoire":
            assert p.nir == "" and p.ins_oid == ""
        else:
            validate_ins(p.nir)
            assert p.ins_oid == OID_INS_NIR_TEST
            assert p.nir[0] == ("1" if sex == "M" else "2") and p.nir[5:10] == p.birth_cog
            assert p.nir[1:5] == f"{p.birth:%y%m}"
        assert p.street and p.postcode and p.city and p.address.endswith(f"{p.postcode} {p.city}")
    rpps = [people.rpps() for _ in range(200)]
    assert len(set(rpps)) == 200
