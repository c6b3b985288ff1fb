"""Synthetic people: the one source of the identities the demo, `adt-replay` and the tests use.

Never a real person: names, birth dates and addresses come from Faker (fr_FR), the INS is a
NIR-shaped number with a valid key under the test OID (`OID_INS_NIR_TEST`, 1.2.250.1.213.1.4.10),
RPPS and FINESS numbers carry valid Luhn keys. Seeded: `People(rng, fake)` draws from the
caller's `random.Random` and Faker instance, so the same seed gives the same people.

The identifier helpers (`nir`, `rpps`, `finess`, `mssante_address`) are pure and need no Faker;
Faker is the optional extra `demo` (`pip install 'liaison[demo]'`), loaded by `faker(seed)` only.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from liaison.core.identifiers import OID_INS_NIR_TEST, luhn_key, nir_key
from liaison.core.text import strip_accents

if TYPE_CHECKING:
    from faker import Faker

__all__ = [
    "OID_INS_NIR_TEST",
    "People",
    "SyntheticPatient",
    "faker",
    "finess",
    "mssante_address",
    "nir",
    "rpps",
    "slug",
]

# Départements the demo's patients are born in (Centre-Val de Loire and a few large cities).
BIRTH_DEPARTMENTS = ("45", "75", "41", "18", "37", "28", "69", "13")
# Identity status of a hospital's patients (RNIV): mostly qualified, a few validated or provisional.
IDENTITY_STATUSES = {"qualifiee": 85, "validee": 10, "provisoire": 5}


def faker(seed: int) -> Faker:
    """A fr_FR Faker seeded with `seed`; a French message when the `demo` extra is missing."""
    try:
        from faker import Faker
    except ModuleNotFoundError as exc:  # the optional extra: production installs no Faker
        raise ModuleNotFoundError(
            "Faker manque : la démonstration demande ses dépendances, pip install 'liaison[demo]'."
        ) from exc
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    return fake


def nir(sex: str, yymm: str, place: str, order: str) -> str:
    """A NIR with its key (15 digits): sex (`1`/`2`, or `M`/`F`), year and month of birth,
    place of birth (département and commune, 5 characters), order number (3 digits)."""
    digit = {"M": "1", "F": "2"}.get(sex, sex)
    body = f"{digit}{yymm}{place}{order}"
    return body + nir_key(body)


def rpps(n: int) -> str:
    """The `n`-th synthetic RPPS number (11 digits, `10` then `n`, Luhn key)."""
    body = f"10{n:08d}"
    return body + luhn_key(body)


def finess(n: int, dept: str = "45") -> str:
    """The `n`-th synthetic FINESS number of a département (9 characters, Luhn key)."""
    body = f"{dept}{n:06d}"
    return body + luhn_key(body)


def slug(text: str) -> str:
    """`text` in lower-case ASCII, accents dropped, other characters turned into hyphens."""
    ascii_text = strip_accents(text)
    return re.sub(r"[^a-z0-9.-]+", "-", ascii_text.lower())


def mssante_address(given: str, family: str, domain: str) -> str:
    """An MSSanté address as operators issue them: lower-case ASCII, accents dropped."""
    return slug(f"{given}.{family}") + "@" + domain


@dataclass(frozen=True, slots=True)
class SyntheticPatient:
    """One synthetic patient's identity, as the hospital's identity server (GAM) holds it."""

    family: str  # birth family name, upper case
    given: str  # first given name
    given_names: str  # every given name, the first one first
    birth: dt.date
    sex: str  # M or F
    status: str  # qualifiee, validee or provisoire (`core.content.IdentityStatus`)
    nir: str  # the INS (under `OID_INS_NIR_TEST`), empty for a provisional identity
    birth_cog: str  # the place of birth (INSEE code of the commune)
    street: str
    postcode: str
    city: str
    phone: str

    @property
    def ins_oid(self) -> str:
        return OID_INS_NIR_TEST if self.nir else ""

    @property
    def address(self) -> str:
        """The address on one line: « street, postcode city »."""
        return f"{self.street}, {self.postcode} {self.city}"


class People:
    """Seeded synthetic people and identifiers, drawn from the caller's `rng` and `fake`."""

    def __init__(self, rng: random.Random, fake: Faker) -> None:
        self.rng = rng
        self.fake = fake
        self.used_rpps: set[str] = set()

    # --- identifiers --------------------------------------------------------------------------

    def rpps(self) -> str:
        """A new RPPS number, never the same twice."""
        while True:
            value = rpps(self.rng.randrange(10**8))
            if value not in self.used_rpps:
                self.used_rpps.add(value)
                return value

    def finess(self, dept: str) -> str:
        return finess(self.rng.randrange(10**6), dept)

    def nir(self, sex: str, birth: dt.date) -> tuple[str, str]:
        """A NIR for someone of this sex born that month, and the place of birth it names."""
        dept = self.rng.choice(BIRTH_DEPARTMENTS)
        commune = f"{self.rng.randrange(1, 400):03d}"
        order = f"{self.rng.randrange(1, 1000):03d}"
        return nir(sex, f"{birth.year % 100:02d}{birth.month:02d}", dept + commune, order), dept + commune

    # --- names and contact details ------------------------------------------------------------

    def given_name(self, sex: str | None = None) -> str:
        if sex == "F":
            return str(self.fake.first_name_female())
        if sex == "M":
            return str(self.fake.first_name_male())
        return str(self.fake.first_name())

    def family_name(self) -> str:
        return str(self.fake.last_name())

    def birth_date(self, min_age: int, max_age: int) -> dt.date:
        return self.fake.date_of_birth(minimum_age=min_age, maximum_age=max_age)

    def address(self) -> tuple[str, str, str]:
        """(street, postcode, city) of a French postal address."""
        street, _, town = str(self.fake.address()).partition("\n")
        postcode, _, city = town.partition(" ")
        return street, postcode, city

    def address_line(self) -> str:
        """An address on one line: « street, postcode city »."""
        street, postcode, city = self.address()
        return f"{street}, {postcode} {city}"

    def phone(self) -> str:
        return str(self.fake.phone_number())

    # --- patients -----------------------------------------------------------------------------

    def patient(
        self,
        sex: str,
        min_age: int = 18,
        max_age: int = 95,
        statuses: dict[str, int] | None = None,
    ) -> SyntheticPatient:
        """A patient of this sex and age, with an identity status drawn from `statuses`
        (weights, `IDENTITY_STATUSES` by default): an INS unless the identity is provisional."""
        birth = self.birth_date(min_age, max_age)
        given = self.given_name(sex)
        family = self.family_name()
        weights = statuses or IDENTITY_STATUSES
        status = self.rng.choices(list(weights), weights=list(weights.values()))[0]
        number, cog = self.nir(sex, birth)
        given_names = given + (" " + self.given_name() if self.rng.random() < 0.4 else "")
        street, postcode, city = self.address()
        return SyntheticPatient(
            family=family.upper(),
            given=given,
            given_names=given_names,
            birth=birth,
            sex=sex,
            status=status,
            nir=number if status != "provisoire" else "",
            birth_cog=cog,
            street=street,
            postcode=postcode,
            city=city,
            phone=self.phone(),
        )
