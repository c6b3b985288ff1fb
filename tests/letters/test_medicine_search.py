"""Medicine search as physicians type, over the real BDPM files (no database)."""

from __future__ import annotations

import pytest

from liaison.letters.medicine_search import dci_suggestions, search, substance_of


def names(term: str, n: int = 10) -> list[str]:
    return [p.name for p in search(term, n)]


@pytest.mark.parametrize("term", ["paracétamol", "PARACETAMOL", "Paracetamol"])
def test_accents_and_case_do_not_matter(term):
    found = search(term, 10)
    assert found and all(p.name.startswith("PARACETAMOL") for p in found)
    # marketed products of the substance alone come first (not the associations)
    assert all(p.marketed and [s.name for s in p.substances] == ["PARACÉTAMOL"] for p in found)


def test_substance_finds_the_brand_and_strength_is_exact():
    found = search("apixaban 5", 10)
    assert "ELIQUIS 5 mg, comprimé pelliculé" in [p.name for p in found]
    assert all("2,5 mg" not in p.name and "0,5 mg" not in p.name for p in found)
    assert found[0].cis == "61902218" and found[0].atc == "B01AF02"


def test_strength_with_its_unit():
    found = names("amoxicilline 1 g", 20)
    assert found and all("AMOXICILLINE" in n and "1 g" in n for n in found)
    assert not any("500 mg" in n and "1 g" not in n for n in found)


def test_furosemide_typed_with_its_accent_and_prefixes():
    assert all(n.startswith("FUROSEMIDE") for n in names("furosémide 40", 5))
    assert "FUROSEMIDE" in names("furo", 1)[0]


def test_atc_code_and_level():
    assert {p.atc for p in search("B01AF02", 20)} == {"B01AF02"}
    assert all(p.atc.startswith("C03CA") for p in search("c03ca", 20))


def test_non_marketed_come_after_marketed():
    found = search("amoxicilline", 400)
    flags = [p.marketed for p in found]
    assert True in flags and flags == sorted(flags, reverse=True)


def test_nothing_typed_or_nothing_found():
    assert search("", 5) == [] and search("  ", 5) == [] and search("zzzqqq", 5) == []


def test_a_line_in_dci_keeps_the_substance_code():
    lines = dci_suggestions(search("apixaban 5", 40), "apixaban 5")
    assert lines[0].name == "apixaban 5 mg, comprimé pelliculé" and lines[0].code == "61321"
    assert substance_of("apixaban 5 mg, comprimé pelliculé") == ("61321", "B01AF02")
    assert substance_of("Paracétamol 1 g") == ("02202", "N02BE01")
    assert substance_of("un texte libre") is None
