"""`liaison.rowsql` reads and writes exactly what the ORM would, on the test database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from liaison import rowsql
from liaison.letters.models import PARIS, Correspondent, Letter, Patient, Stay

pytestmark = pytest.mark.django_db


def _fields(obj: object) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_fetch_matches_the_orm_with_related_rows(hospital):
    stay = hospital["stay"]
    letter = Letter.objects.create(stay=stay, content={"motif": "Douleur thoracique", "n": [1, 2]})
    got = rowsql.fetch(
        Stay,
        "t.establishment_id = %s AND t.visit_number = %s",
        [stay.establishment_id, stay.visit_number],
        related=("unit", "adresseur", "responsible_physician"),
        lock=True,
    )
    orm = Stay.objects.select_related("unit", "adresseur", "responsible_physician").get(pk=stay.pk)
    assert _fields(got) == _fields(orm)
    assert _fields(got.unit) == _fields(orm.unit)
    assert got.adresseur is None and got.adresseur_id is None
    assert got.admission_at.tzinfo is not None
    assert not got._state.adding

    row = rowsql.fetch(Letter, "t.stay_id = %s", [stay.pk], order_by="t.version DESC")
    assert row.content == {"motif": "Douleur thoracique", "n": [1, 2]}
    assert _fields(row) == _fields(Letter.objects.get(pk=letter.pk))
    assert rowsql.fetch(Letter, "t.stay_id = %s", [-1]) is None


def test_insert_and_update_write_what_save_would(hospital):
    stay = hospital["stay"]
    gp = Correspondent(kind=Correspondent.Kind.PERSON, family_name="DUPONT", given_name="Luc")
    rowsql.insert([gp])
    assert gp.pk is not None and Correspondent.objects.get(pk=gp.pk).family_name == "DUPONT"

    letter = Letter(stay=stay, content={"suivi": "consultation à 1 mois"})
    rowsql.insert([letter])
    saved = Letter.objects.get(pk=letter.pk)
    assert saved.document_oid == letter.document_oid and saved.created_at is not None
    assert saved.content == {"suivi": "consultation à 1 mois"}

    before = saved.updated_at
    letter.revision = 5
    letter.content = {"suivi": "aucun"}
    rowsql.update(letter, ["content", "revision", "updated_at"])
    saved = Letter.objects.get(pk=letter.pk)
    assert (saved.revision, saved.content) == (5, {"suivi": "aucun"})
    assert saved.updated_at > before  # auto_now, as save() would

    stay.discharge_at = dt.datetime(2026, 11, 20, 15, 0, tzinfo=PARIS)
    rowsql.update(stay, ["discharge_at"])
    assert Stay.objects.get(pk=stay.pk).discharge_at == stay.discharge_at


def test_insert_many_and_integrity_errors(hospital):
    stay = hospital["stay"]
    people = [Correspondent(kind=Correspondent.Kind.PERSON, family_name=f"P{i}") for i in range(3)]
    rowsql.insert(people)
    assert Correspondent.objects.filter(family_name__in=["P0", "P1", "P2"]).count() == 3

    twin = Patient(
        establishment=stay.patient.establishment,
        ipp=stay.patient.ipp,
        **{
            f: getattr(stay.patient, f)
            for f in ("birth_family_name", "first_given_name", "birth_date", "sex")
        },
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        rowsql.insert([twin])


def test_insert_can_skip_a_conflicting_row(hospital):
    patient = hospital["stay"].patient
    twin = Patient(
        establishment=patient.establishment,
        ipp=patient.ipp,
        birth_family_name="AUTRE",
        first_given_name="Nom",
        birth_date=dt.date(1990, 1, 1),
        sex="M",
    )
    assert rowsql.insert([twin], skip_conflicting=True) is False
    assert twin.pk is None and twin._state.adding
    assert Patient.objects.get(pk=patient.pk).birth_family_name == patient.birth_family_name
    other = Patient(
        **{
            **{f: getattr(twin, f) for f in ("birth_family_name", "first_given_name")},
            "establishment": patient.establishment,
            "ipp": "NOUVEAU",
            "birth_date": twin.birth_date,
            "sex": "M",
        }
    )
    assert rowsql.insert([other], skip_conflicting=True) is True
    assert Patient.objects.get(ipp="NOUVEAU").pk == other.pk
