"""Medicine search as physicians type: by substance (DCI), brand, ATC, strength and form.

Pure Python over the ANSM BDPM files (`CIS_bdpm.txt`, `CIS_COMPO_bdpm.txt`) and the CIS→ATC
table: accents and case are ignored; « amoxicilline 1 g », « apixaban 5 », « paracétamol »,
« B01AF02 » all find their lines. Words match as prefixes (« amox »), numbers exactly (« 5 »
is not « 2,5 » nor « 50 »), and a number followed by a unit must be that strength (« 1 g »).

An inverted index (token → medicine numbers) is built once per process (~1 s); a query is a few
dictionary look-ups, a prefix range of the sorted vocabulary and set intersections. Ranking:
marketed first, then a product of the exact substance alone (« paracétamol » before the
associations), then a name that starts with what was typed, then the shorter name.

`dci_suggestions` offers the line written in DCI without a brand (« apixaban 5 mg, comprimé
pelliculé ») and `substance_of` gives back its BDPM substance code when the form is saved.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from liaison.letters.medicines import cis_to_atc
from liaison.paths import reference_dir

_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[A-Z]+")
_ATC = re.compile(r"[A-Z]\d{2}(?:[A-Z](?:[A-Z](?:\d{2})?)?)?")
UNITS = {"MG", "G", "ML", "L", "UI", "U", "MICROGRAMMES", "MCG", "UG", "POUR", "MMOL", "MEQ", "MUI"}


def normalise(text: str) -> str:
    """Upper case without accents (« Furosémide » → « FUROSEMIDE »); µ is spelt out."""
    text = text.replace("µ", "micro").replace("μ", "micro")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def tokens(text: str) -> list[str]:
    """Words and numbers (decimal comma kept: « 2,5 »), plus « 1G » for a number and its unit."""
    raw = [t.replace(".", ",") for t in _TOKEN.findall(normalise(text))]
    out = list(raw)
    for number, unit in itertools.pairwise(raw):
        if number[0].isdigit() and unit in UNITS:
            out.append(number + unit)
    return out


@dataclass(frozen=True, slots=True)
class Substance:
    code: str  # BDPM substance code (CIS_COMPO column 3), kept with its leading zeros
    name: str  # as the BDPM writes it (upper case)
    dosage: str  # "5 mg"


@dataclass(frozen=True, slots=True)
class Product:
    cis: str
    name: str
    form: str
    routes: str  # "orale;sublinguale"
    atc: str | None
    marketed: bool
    substances: tuple[Substance, ...]

    @property
    def label(self) -> str:
        dci = " + ".join(s.name.lower() for s in self.substances[:3])
        parts = [self.form, dci, self.atc or "", "" if self.marketed else "non commercialisé"]
        return " · ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class DciLine:
    """A line written in DCI without a brand: `name` goes in the form, `code` is kept."""

    name: str
    code: str
    atc: str | None


def _read(name: str) -> list[list[str]]:
    # cp1252, not latin-1: the files hold byte 0x92 (’), see reference/bdpm/MANIFEST.md.
    with (reference_dir() / "bdpm" / name).open(encoding="cp1252", newline="") as fh:
        return list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


@cache
def _compositions() -> dict[str, tuple[Substance, ...]]:
    """CIS → its active substances; the therapeutic fraction (FT) named rather than the salt."""
    by_cis: dict[str, dict[str, Substance]] = defaultdict(dict)
    for cols in _read("CIS_COMPO_bdpm.txt"):
        if len(cols) < 8:
            continue
        cis, code, name, dosage, nature, link = (
            cols[0],
            cols[2],
            cols[3].strip(),
            cols[4].strip(),
            cols[6],
            cols[7],
        )
        current = by_cis[cis].get(link)
        if current is None or nature == "FT":  # "AMOXICILLINE" (FT) rather than its trihydrate (SA)
            by_cis[cis][link] = Substance(code, name, dosage)
    return {cis: tuple(subs.values()) for cis, subs in by_cis.items()}


@dataclass
class Index:
    products: list[Product]
    postings: dict[str, set[int]]
    vocabulary: list[str]  # sorted words, for prefix ranges
    product_tokens: list[frozenset[str]]
    substance_names: list[frozenset[str]]  # normalised substance names of each product
    name_norm: list[str]


@cache
def index() -> Index:
    atc = cis_to_atc()
    compo = _compositions()
    products: list[Product] = []
    for cols in _read("CIS_bdpm.txt"):
        if len(cols) < 7 or cols[4] != "Autorisation active":
            continue
        cis = cols[0]
        products.append(
            Product(
                cis,
                cols[1].strip(),
                cols[2].strip(),
                cols[3],
                atc.get(cis),
                cols[6] == "Commercialisée",
                compo.get(cis, ()),
            )
        )
    postings: dict[str, set[int]] = defaultdict(set)
    product_tokens, substance_names, name_norm = [], [], []
    for i, p in enumerate(products):
        toks = set(tokens(p.name)) | set(tokens(p.form))
        for s in p.substances:
            toks |= set(tokens(s.name)) | set(tokens(s.dosage))
        if p.atc:
            toks.add(normalise(p.atc))
        for t in toks:
            postings[t].add(i)
        product_tokens.append(frozenset(toks))
        substance_names.append(frozenset(" ".join(tokens(s.name)) for s in p.substances))
        name_norm.append(" ".join(tokens(p.name)))
    vocabulary = sorted(t for t in postings if not t[0].isdigit())
    return Index(products, dict(postings), vocabulary, product_tokens, substance_names, name_norm)


def _matches(ix: Index, token: str) -> set[int]:
    if token[0].isdigit():  # a number, or a strength such as "1G": exact
        return ix.postings.get(token, set())
    found: set[int] = set()
    lo = bisect.bisect_left(ix.vocabulary, token)
    for word in ix.vocabulary[lo:]:
        if not word.startswith(token):
            break
        found |= ix.postings[word]
    return found


def _query(term: str) -> tuple[list[str], str]:
    toks = tokens(term)
    # A unit alone after its number is already in the composite token ("1 G" → "1G").
    needed = [t for i, t in enumerate(toks) if not (t in UNITS and i and toks[i - 1][0].isdigit())]
    words = " ".join(t for t in toks if not t[0].isdigit() and t not in UNITS)
    return needed, words


def search(term: str, limit: int = 20) -> list[Product]:
    """BDPM products matching every token typed, best first (see the module's docstring)."""
    ix = index()
    code = normalise(term).strip()
    if _ATC.fullmatch(code):  # an ATC code or one of its levels: "B01AF02", "B01AF", "C03"
        found = [p for p in ix.products if p.atc and p.atc.startswith(code)]
        return sorted(found, key=lambda p: (not p.marketed, p.atc, p.name))[:limit]
    needed, words = _query(term)
    if not needed:
        return []
    hits: set[int] | None = None
    for t in sorted(needed, key=lambda t: len(ix.postings.get(t, ())) if t[0].isdigit() else 0, reverse=True):
        found = _matches(ix, t)
        hits = found if hits is None else hits & found
        if not hits:
            return []
    assert hits is not None

    def rank(i: int) -> tuple:
        p = ix.products[i]
        exact = bool(words) and len(p.substances) == 1 and words in ix.substance_names[i]
        return (not p.marketed, not exact, not ix.name_norm[i].startswith(words), len(p.name), p.name)

    return [ix.products[i] for i in sorted(hits, key=rank)[:limit]]


def dci_suggestions(found: list[Product], term: str, limit: int = 5) -> list[DciLine]:
    """Lines in DCI for the single-substance products found whose substance was typed."""
    _, words = _query(term)
    if not words:
        return []
    out: dict[str, DciLine] = {}
    for p in found:
        if len(p.substances) != 1:
            continue
        s = p.substances[0]
        if not " ".join(tokens(s.name)).startswith(words):
            continue
        name = f"{s.name.lower()} {s.dosage}, {p.form}".strip()
        out.setdefault(name, DciLine(name, s.code, p.atc))
        if len(out) >= limit:
            break
    return list(out.values())


@cache
def _substances_by_name() -> dict[str, tuple[str, str | None]]:
    """Normalised substance name → (code, ATC when all its single-substance products agree)."""
    codes: dict[str, str] = {}
    atcs: dict[str, set[str | None]] = defaultdict(set)
    for p in index().products:
        if len(p.substances) == 1:
            s = p.substances[0]
            key = " ".join(tokens(s.name))
            codes.setdefault(key, s.code)
            if p.atc:
                atcs[key].add(p.atc)
    return {k: (code, next(iter(atcs[k])) if len(atcs[k]) == 1 else None) for k, code in codes.items()}


def substance_of(line: str) -> tuple[str, str | None] | None:
    """(substance code, ATC) of a line written in DCI (« apixaban 5 mg, comprimé »), else None."""
    words = [t for t in tokens(line) if not t[0].isdigit()]
    known = _substances_by_name()
    for n in range(min(len(words), 6), 0, -1):  # the longest substance name the line starts with
        found = known.get(" ".join(words[:n]))
        if found:
            return found
    return None
