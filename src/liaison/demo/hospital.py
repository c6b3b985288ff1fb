"""A realistic synthetic hospital for the demo and the tests (`liaison demo-data`).

Same seed, same data (relative to `today`). Patients are synthetic (`synthetic.identities`):
Faker fr_FR names and test INS (OID 1.2.250.1.213.1.4.10) with valid keys. Letters come in every
state and of every quality, in proportions close to the national picture (few letters handed over
the same day, discharge treatment and care planning often missing).

`generate` tells the story in steps, each a function named after what it makes: the
establishment and its units, the accounts, the seniors of each unit, the correspondents, the
stays (`_stays`), the letters as drafted (`_drafts`, with each letter's `_timeline`), then what
the ward does with them, through the same services as the web pages: the signatures
(`signing.sign` at the story's time builds and freezes the CDA and PDF, queues the deliveries,
writes the audit row), the hand-overs (`lifecycle.hand_over`) and the corrections
(`lifecycle.start_correction`, `lifecycle.save_draft`, `signing.sign`). The deliveries' story
(`history.story`) then places the queued rows on their signature's day and, for the past,
writes the peers' answers (`history.as_if_sent`) or sends them for real to the sandboxes
(`history.send`). The seniors without a demo account get one without a password (not listed,
nobody logs in as them) so that they sign their own letters. Today's discharges in cardiology
come from `discharge_day`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import Group, User
from django.db import transaction

from liaison import signing
from liaison.core.content import (
    FollowUpItem,
    FollowUpKind,
    LetterContent,
    MedicationLine,
    MedicationStatus,
    Orientation,
    PendingResult,
    Presence,
)
from liaison.demo import history as demo_history
from liaison.demo.discharge_day import PATIENTS as DISCHARGE_DAY
from liaison.demo.discharge_day import discharge_day
from liaison.demo.synthetic.identities import OID_INS_NIR_TEST, People, faker, mssante_address, slug
from liaison.letters import lifecycle
from liaison.letters.medicine_search import search as search_medicines
from liaison.letters.models import (
    PARIS,
    Correspondent,
    Establishment,
    Letter,
    Patient,
    Practitioner,
    Profession,
    Stay,
    Unit,
    UserProfile,
)
from liaison.letters.permissions import ROLE_LABELS, Role, ensure_groups
from liaison.letters.prefill import initial_content

DEMO_PASSWORD = "liaison-demo"

# (code, name, sector, obstetric, reasons [(reason, summary)])
UNITS = [
    (
        "CARDIO",
        "Cardiologie",
        "MCO",
        False,
        [
            (
                "Décompensation cardiaque globale",
                "Insuffisance cardiaque à FEVG altérée décompensée sur écart de "
                "régime ; amélioration sous diurétiques IV, perte de 4 kg. Échographie : FEVG 35 %.",
            ),
            (
                "Fibrillation atriale rapide",
                "FA rapide inaugurale bien tolérée, ralentie sous bêtabloquant ; "
                "anticoagulation introduite (CHA2DS2-VASc 4). ETT sans valvulopathie.",
            ),
            (
                "Syndrome coronarien aigu sans sus-décalage",
                "SCA ST- ; coronarographie : sténose IVA proximale "
                "traitée par angioplastie et stent actif. Suites simples.",
            ),
        ],
    ),
    (
        "MEDINT",
        "Médecine interne et gériatrie",
        "MCO",
        False,
        [
            (
                "Chute à domicile avec altération de l'état général",
                "Chutes répétées dans un contexte de déshydratation et d'hyponatrémie iatrogène ; "
                "correction progressive, bilan de chute réalisé.",
            ),
            (
                "Pneumopathie d'inhalation",
                "Pneumopathie basale droite traitée par amoxicilline-acide "
                "clavulanique 7 jours ; évaluation de la déglutition par l'orthophoniste.",
            ),
            (
                "Pyélonéphrite aiguë",
                "PNA à E. coli sensible ; relais oral adapté à l'antibiogramme, apyrexie à J2.",
            ),
        ],
    ),
    (
        "ORTHO",
        "Chirurgie orthopédique",
        "MCO",
        False,
        [
            (
                "Fracture du col du fémur droit",
                "Prothèse intermédiaire de hanche droite ; verticalisation à J1, "
                "anémie post-opératoire à 8,9 g/dl.",
            ),
            (
                "Coxarthrose gauche",
                "Prothèse totale de hanche gauche programmée ; suites simples, appui complet autorisé.",
            ),
        ],
    ),
    (
        "PNEUMO",
        "Pneumologie",
        "MCO",
        False,
        [
            (
                "Exacerbation de BPCO",
                "Exacerbation de BPCO stade 3 sans recours à la VNI ; corticothérapie courte "
                "et antibiothérapie ; réhabilitation respiratoire proposée.",
            ),
            (
                "Embolie pulmonaire",
                "EP segmentaire bilatérale sans signe de gravité ; anticoagulation par "
                "apixaban, recherche de cause en cours.",
            ),
        ],
    ),
    (
        "MATER",
        "Maternité",
        "MCO",
        True,
        [
            (
                "Accouchement par voie basse",
                "Accouchement eutocique à 39 SA, nouveau-né en bonne santé ; "
                "suites de couches simples, allaitement maternel.",
            ),
            ("Césarienne programmée", "Césarienne programmée pour présentation du siège ; suites simples."),
        ],
    ),
    (
        "AMBU",
        "Unité de chirurgie ambulatoire",
        "CA",
        False,
        [
            (
                "Cholécystectomie programmée",
                "Cholécystectomie sous cœlioscopie pour lithiase symptomatique ; "
                "sortie le jour même après contrôle de la douleur.",
            ),
            (
                "Cure de hernie inguinale",
                "Cure de hernie inguinale droite par voie ouverte (Lichtenstein) avec "
                "plaque ; sortie le jour même.",
            ),
            ("Arthroscopie du genou", "Méniscectomie partielle interne du genou gauche sous arthroscopie."),
            (
                "Chirurgie de la cataracte",
                "Phacoémulsification de l'œil droit avec implant ; suites simples.",
            ),
        ],
    ),
]

UNIT_REASONS = {code: reasons for code, _, _, _, reasons in UNITS}

DRUGS = [  # (search term, dosage, duration)
    ("BISOPROLOL TEVA 2,5", "1 comprimé le matin", "au long cours"),
    ("RAMIPRIL ALMUS 5", "1 comprimé le matin", "au long cours"),
    ("ELIQUIS 5 mg", "1 comprimé matin et soir", "au long cours"),
    ("FUROSEMIDE ARROW 40", "1 comprimé le matin", "au long cours"),
    ("KARDEGIC 75", "1 sachet à midi", "au long cours"),
    ("ATORVASTATINE ZYDUS 40", "1 comprimé le soir", "au long cours"),
    ("METFORMINE BGR 850", "1 comprimé matin et soir", "au long cours"),
    ("LEVOTHYROX 75", "1 comprimé le matin à jeun", "au long cours"),
    ("DOLIPRANE 1000 mg, comprimé", "1 comprimé jusqu'à 3 fois par jour si douleur", "7 jours"),
    ("AMOXICILLINE/ACIDE CLAVULANIQUE ALMUS 1", "1 g matin, midi et soir", "5 jours"),
    ("LOVENOX 4 000", "1 injection sous-cutanée le soir", "35 jours"),
    ("INEXIUM 20", "1 comprimé le soir", "1 mois"),
    ("TRAMADOL", "50 mg si douleur, maximum 4 prises par jour", "5 jours"),
    ("PREDNISOLONE ARROW 20", "40 mg le matin", "5 jours"),
]

PROFILES = [  # (profile, weight)
    ("complete", 34),
    ("missing_treatment", 9),
    ("missing_follow_up", 9),
    ("incomplete_lines", 6),
    ("unanswered_questions", 5),
    ("not_handed_over", 10),
    ("signed_next_day", 8),
    ("draft", 8),
    ("no_letter", 4),
    ("corrected", 4),
    ("no_medication_explicit", 3),
]


@dataclass
class DemoSummary:
    establishment: Establishment
    stays: int
    letters: int
    history: Counter | None = None  # the past's deliveries by final state, when sent for real


def _aware(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def _accounts(est: Establishment, units: dict[str, Unit], ids: People) -> None:
    """The demo accounts, one per role, with their units (and practitioners for clinicians)."""
    ensure_groups()
    groups = {r: Group.objects.get(name=r.value) for r in Role}
    specs = [
        ("dr.martin", Role.MEDECIN, "Claire", "Martin", ["CARDIO", "MEDINT", "PNEUMO"], "Cardiologie"),
        ("dr.bernard", Role.MEDECIN, "Hugo", "Bernard", ["ORTHO", "AMBU"], "Chirurgie orthopédique"),
        ("interne.petit", Role.INTERNE, "Lina", "Petit", ["CARDIO", "MEDINT"], ""),
        ("sf.robin", Role.SAGE_FEMME, "Emma", "Robin", ["MATER"], ""),
        ("sec.durand", Role.SECRETAIRE, "Sophie", "Durand", list(units), ""),
        ("ide.moreau", Role.INFIRMIER, "Julien", "Moreau", ["CARDIO", "MEDINT", "PNEUMO", "AMBU"], ""),
        ("qualite", Role.QUALITE, "Nadia", "Lefebvre", [], ""),
        ("admin.etab", Role.ADMIN_ETABLISSEMENT, "Marc", "Garnier", [], ""),
        ("campagne.ars", Role.CAMPAGNE, "Paul", "Rousseau", [], ""),
        ("dpo", Role.DPO, "Claire", "Dubois", [], ""),
    ]
    for username, role, given, family, unit_codes, specialty in specs:
        user = User.objects.create_user(username, password=DEMO_PASSWORD, first_name=given, last_name=family)
        user.groups.add(groups[role])
        if role == Role.ADMIN_ETABLISSEMENT:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        profile = UserProfile.objects.create(user=user, establishment=est)
        profile.units.set([units[c] for c in unit_codes])
        if role in (Role.MEDECIN, Role.INTERNE, Role.SAGE_FEMME):
            pr = Practitioner.objects.create(
                establishment=est,
                rpps=ids.rpps(),
                title="Dr" if role == Role.MEDECIN else "",
                family_name=family,
                given_name=given,
                profession={
                    Role.MEDECIN: Profession.MEDECIN,
                    Role.INTERNE: Profession.INTERNE,
                    Role.SAGE_FEMME: Profession.SAGE_FEMME,
                }[role],
                specialty=specialty,
                mssante=mssante_address(given, family, "ch-liaison.mssante.fr"),
                user=user,
            )
            pr.units.set([units[c] for c in unit_codes])


def _qls_campaign(est: Establishment, today: dt.date) -> None:
    """The QLS campaign the administrator declared (last month's MCO discharges): the quality
    account draws its HAS sample on « Audits QLS »."""
    from liaison.indicators.definitions import previous_month
    from liaison.indicators.models import QlsCampaign

    start, end = previous_month(today)
    QlsCampaign.objects.create(
        establishment=est,
        sector="MCO",
        label=f"Campagne QLS MCO {start:%m/%Y}",
        period_from=start,
        period_to=end,
        declared_by=User.objects.get(username="admin.etab"),
    )


def account_lines() -> list[str]:
    """What the demo commands print: the password, then one line per demo account."""
    lines = [f"Comptes de démonstration (mot de passe « {DEMO_PASSWORD} ») :"]
    lines += [f"  {username:<14} {role:<30} {units}" for username, role, units in demo_accounts()]
    return lines


def demo_accounts() -> list[tuple[str, str, str]]:
    """The demo accounts present in the database that one can log in to: username, role label,
    units."""
    out = []
    for profile in UserProfile.objects.select_related("user").prefetch_related("units", "user__groups"):
        if not profile.user.has_usable_password():  # the seniors of the story (`_seniors`)
            continue
        group = profile.user.groups.first()
        role = ROLE_LABELS.get(Role(group.name), group.name) if group else "—"
        units = ", ".join(u.name for u in profile.units.all()) or "—"
        out.append((profile.user.username, role, units))
    return out


def _medications(rng: random.Random, profile: str, drugs: list[tuple]) -> list[MedicationLine]:
    lines = []
    for med, dosage, duration in rng.sample(drugs, rng.randint(2, 5)):
        status = rng.choices(
            [
                MedicationStatus.POURSUIVI,
                MedicationStatus.MODIFIE,
                MedicationStatus.NOUVEAU,
                MedicationStatus.ARRETE,
            ],
            weights=[5, 2, 3, 1],
        )[0]
        line = MedicationLine(
            medicine=med.name if med else "",
            cis=med.cis if med else None,
            atc=med.atc if med else None,
            status=status,
            dosage=dosage,
            route="orale" if med and "orale" in med.routes else "",
            duration=duration,
            usual_treatment="" if status == MedicationStatus.NOUVEAU else (med.name if med else ""),
        )
        if status == MedicationStatus.MODIFIE:
            line = line.model_copy(
                update={
                    "reason": "Adaptation à la fonction rénale",
                    "usual_treatment": f"{med.name} (posologie antérieure double)",
                }
            )
        if status == MedicationStatus.ARRETE:
            line = line.model_copy(
                update={"dosage": "", "duration": "", "reason": "Hypotension orthostatique pendant le séjour"}
            )
        lines.append(line)
    if profile == "incomplete_lines":  # a line the prescriber left without dosage or duration
        victim = rng.choice([i for i, x in enumerate(lines) if x.taken_at_home] or [0])
        lines[victim] = lines[victim].model_copy(update={rng.choice(["duration", "dosage"]): ""})
    if profile == "missing_treatment":  # lines named, but neither dosage nor duration written
        lines = [x.model_copy(update={"dosage": "", "duration": ""}) for x in lines]
    return lines


def _follow_up(rng: random.Random, stay_end: dt.date, sector: str) -> list[FollowUpItem]:
    items = [
        FollowUpItem(
            kind=FollowUpKind.RDV_PRIS,
            description="Consultation de contrôle avec le chirurgien"
            if sector == "CA"
            else "Consultation de suivi dans le service",
            date=stay_end + dt.timedelta(days=rng.choice([15, 21, 30, 42])),
            with_whom="Service",
        )
    ]
    if rng.random() < 0.6:
        items.append(
            FollowUpItem(
                kind=FollowUpKind.RDV_A_PRENDRE,
                description="Consultation chez le médecin traitant sous 8 jours",
            )
        )
    if rng.random() < 0.35:
        items.append(
            FollowUpItem(
                kind=FollowUpKind.SURVEILLANCE,
                description="Bilan biologique (NFS, ionogramme, créatinine) à J7",
            )
        )
    if rng.random() < 0.2:
        items.append(
            FollowUpItem(
                kind=FollowUpKind.SOINS_INFIRMIERS,
                description="Soins de plaie par IDE à domicile tous les 2 jours",
            )
        )
    if sector != "CA" and rng.random() < 0.15:
        items.append(
            FollowUpItem(
                kind=FollowUpKind.ORIENTATION,
                description="Retour à domicile accompagné",
                orientation=rng.choice([Orientation.PRADO, Orientation.SSIAD]),
            )
        )
    return items


@dataclass
class _Planned:
    """One stay of the demo and what its letter will go through (`PROFILES`)."""

    stay: Stay
    code: str  # the unit's code
    profile: str


@dataclass
class _Story:
    """One letter of the demo and its story: drafted by its physician, then (when `signed_at`)
    signed, handed over at `handed_at`, and corrected a day later when `corrected`."""

    letter: Letter
    physician: User  # the responsible physician's account: who drafts, signs, corrects
    signed_at: dt.datetime | None = None
    handed_at: dt.datetime | None = None
    understanding_checked: bool = False
    corrected: bool = False
    correction: Letter | None = None  # the signed version 2


def generate(
    stays: int, seed: int, today: dt.date | None = None, sandboxes: Path | None = None
) -> DemoSummary:
    """Create the demo hospital; the database must hold no establishment yet. With `sandboxes`
    (the folder where `liaison demo` keeps its DMP and MSSanté sandboxes), the versions signed
    before today are sent there for real (`demo_history`); without, their deliveries only carry
    the states the peers would have answered (the tests' quick demo)."""
    rng = random.Random(seed)
    ids = People(rng, faker(seed))
    today = today or dt.datetime.now(PARIS).date()
    # Nothing happens after "now": today's later discharges are still planned, letters not signed.
    now = min(dt.datetime.now(PARIS), _aware(today, 23, 59))
    drugs = _medicines()
    with transaction.atomic():
        est, units = _establishment(ids)
        _accounts(est, units, ids)
        _qls_campaign(est, today)
        seniors = _seniors(est, units, ids)
        gps, structures = _correspondents(ids, max(10, stays // 8))
        planned = _stays(
            est, units, seniors, gps, structures, ids, today, now, max(stays - len(DISCHARGE_DAY), 0)
        )
        stories = _drafts(rng, planned, drugs, now)
        _signatures(stories)
        _hand_overs(stories, _nurses(units))
        _corrections(stories)
        signed = [s.letter for s in stories if s.signed_at] + [s.correction for s in stories if s.correction]
        past, todays = demo_history.story(rng, signed, today)
        if sandboxes is None:
            demo_history.as_if_sent(past)
        else:  # the past is sent once committed; today's wait until it is (`release`)
            demo_history.hold(todays)
        Unit.objects.filter(establishment=est).update(usual_exit_mode="domicile")
        day = _discharge_day(est, units["CARDIO"], ids, now, today)
    history = None
    if sandboxes is not None:
        history = demo_history.send(sandboxes, past)
        demo_history.release(todays)
    letters = len(stories) + sum(1 for s in stories if s.correction)
    return DemoSummary(est, len(planned) + len(day), letters + len(day), history)


def _medicines() -> list[tuple]:
    """`DRUGS` found in the BDPM: (medicine, dosage, duration)."""
    drugs = []
    for term, dosage, duration in DRUGS:
        found = search_medicines(term, 1)
        if found:
            drugs.append((found[0], dosage, duration))
    return drugs


def _establishment(ids: People) -> tuple[Establishment, dict[str, Unit]]:
    """The hospital and its units (`UNITS`)."""
    est = Establishment.objects.create(
        name="Centre hospitalier de Liaison-sur-Loire",
        finess_ej=ids.finess("45"),
        finess_eg=ids.finess("45"),
        sector="MCO",
        address="1 avenue de l'Hôpital, 45000 Orléans",
        phone="02 38 00 00 00",
        emergency_phone="02 38 00 00 15",
        mssante="secretariat@ch-liaison.mssante.fr",
        ipp_oid="1.2.250.1.999.1.1.1",
    )
    units = {
        code: Unit.objects.create(
            establishment=est,
            code=code,
            name=name,
            sector=sector,
            is_obstetric=obst,
            phone=f"02 38 00 1{i} 00",
        )
        for i, (code, name, sector, obst, _) in enumerate(UNITS)
    }
    return est, units


def _seniors(est: Establishment, units: dict[str, Unit], ids: People) -> dict[str, list[Practitioner]]:
    """The seniors of each unit (physicians, and the sage-femme in maternity): the demo accounts'
    and, so that every unit has two, colleagues whose accounts have no password (they sign their
    letters in the story, nobody logs in as them)."""
    seniors: dict[str, list[Practitioner]] = {code: [] for code in units}
    for pr in Practitioner.objects.filter(profession__in=[Profession.MEDECIN, Profession.SAGE_FEMME]):
        for u in pr.units.all():
            seniors[u.code].append(pr)
    medecins = Group.objects.get(name=Role.MEDECIN.value)
    taken = set(User.objects.values_list("username", flat=True))
    for code, unit in units.items():
        while len(seniors[code]) < 2:
            given, family = ids.given_name(), ids.family_name()
            username = _username(f"dr.{slug(family)}", taken)
            user = User.objects.create_user(username, first_name=given, last_name=family)  # no password
            user.groups.add(medecins)
            UserProfile.objects.create(user=user, establishment=est).units.set([unit])
            pr = Practitioner.objects.create(
                establishment=est,
                rpps=ids.rpps(),
                title="Dr",
                family_name=family,
                given_name=given,
                profession=Profession.MEDECIN,
                specialty=unit.name,
                mssante=mssante_address(given, family, "ch-liaison.mssante.fr"),
                user=user,
            )
            pr.units.set([unit])
            seniors[code].append(pr)
    return seniors


def _username(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def _nurses(units: dict[str, Unit]) -> dict[int, User]:
    """The nurse's account of each unit that has one (unit id → user): who hands letters over."""
    out: dict[int, User] = {}
    for profile in UserProfile.objects.filter(user__groups__name=Role.INFIRMIER.value).select_related("user"):
        for unit in profile.units.all():
            out.setdefault(unit.pk, profile.user)
    return out


def _correspondents(ids: People, count: int) -> tuple[list[Correspondent], list[Correspondent]]:
    """`count` médecins traitants (most with an MSSanté address) and the downstream structures
    (SMR, HAD, EHPAD)."""
    gps = []
    for _ in range(count):
        g, f = ids.given_name(), ids.family_name()
        gps.append(
            Correspondent(
                kind=Correspondent.Kind.PERSON,
                rpps=ids.rpps(),
                title="Dr",
                family_name=f,
                given_name=g,
                specialty="Médecine générale",
                address=ids.address_line(),
                phone=ids.phone(),
                mssante=(mssante_address(g, f, "medecin.mssante.fr") if ids.rng.random() < 0.85 else ""),
            )
        )
    Correspondent.objects.bulk_create(gps)
    gps = list(Correspondent.objects.filter(kind=Correspondent.Kind.PERSON))
    structures = Correspondent.objects.bulk_create(
        [
            Correspondent(
                kind=Correspondent.Kind.STRUCTURE,
                organisation=name,
                finess=ids.finess("45"),
                mssante=mss,
                phone="02 38 55 00 00",
            )
            for name, mss in [
                ("SMR Les Tilleuls", "admissions@smr-tilleuls.mssante.fr"),
                ("HAD du Loiret", "coordination@had45.mssante.fr"),
                ("EHPAD Les Glycines", ""),
            ]
        ]
    )
    return gps, structures


def _stays(
    est: Establishment,
    units: dict[str, Unit],
    seniors: dict[str, list[Practitioner]],
    gps: list[Correspondent],
    structures: list[Correspondent],
    ids: People,
    today: dt.date,
    now: dt.datetime,
    count: int,
) -> list[_Planned]:
    """`count` stays of the last eight weeks and their patients (the discharge day's come last):
    most discharged, some still in, each with the profile its letter will follow."""
    rng = ids.rng
    patients, planned = [], []
    for i in range(count):
        code = rng.choices(list(units), weights=[18, 20, 14, 10, 10, 28])[0]
        patients.append(_patient(est, ids, code, gps, i))
        stay = _stay(rng, units[code], seniors[code], gps, structures, today, now, i)
        profile = rng.choices([p for p, _ in PROFILES], weights=[w for _, w in PROFILES])[0]
        if stay.discharge_at is None:  # still in: no letter yet, or a draft
            profile = rng.choice(["draft", "no_letter"])
        planned.append(_Planned(stay, code, profile))
    Patient.objects.bulk_create(patients)
    for patient, p in zip(patients, planned, strict=True):
        p.stay.patient = patient
    Stay.objects.bulk_create([p.stay for p in planned])
    return planned


def _patient(est: Establishment, ids: People, code: str, gps: list[Correspondent], i: int) -> Patient:
    """The `i`-th patient (IPP 900000 + i), a woman of childbearing age in maternity; most have a
    médecin traitant."""
    sex = "F" if code == "MATER" else ids.rng.choice("MF")
    person = ids.patient(sex, *((20, 42) if code == "MATER" else (18, 95)))
    return Patient(
        establishment=est,
        ipp=f"{900000 + i}",
        ins_matricule=person.nir or None,
        ins_oid=person.ins_oid,
        identity_status=person.status,
        birth_family_name=person.family,
        first_given_name=person.given,
        given_names=person.given_names,
        birth_date=person.birth,
        birth_place_cog=person.birth_cog,
        sex=sex,
        address=person.address,
        phone=person.phone,
        medecin_traitant=ids.rng.choice(gps) if ids.rng.random() < 0.92 else None,
    )


def _stay(
    rng: random.Random,
    unit: Unit,
    seniors: list[Practitioner],
    gps: list[Correspondent],
    structures: list[Correspondent],
    today: dt.date,
    now: dt.datetime,
    i: int,
) -> Stay:
    """The `i`-th stay: discharged in the last eight weeks (the same day in ambulatory surgery),
    or still in with a planned discharge; nothing after `now`."""
    ambulatory = unit.sector == "CA"
    days_ago = rng.randrange(0, 56)
    los = 0 if ambulatory else rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 13])
    discharge_day = today - dt.timedelta(days=days_ago)
    admission_day = discharge_day - dt.timedelta(days=los)
    in_house = not ambulatory and days_ago < 3 and rng.random() < 0.5
    admission_at = _aware(admission_day, 7 if ambulatory else rng.randrange(8, 22), rng.choice([0, 15, 30]))
    discharge_at = (
        None
        if in_house
        else _aware(
            discharge_day,
            rng.randrange(15, 19) if ambulatory else rng.randrange(10, 18),
            rng.choice([0, 20, 40]),
        )
    )
    if admission_at > now:  # an admission later today: the stay started a day earlier
        admission_at -= dt.timedelta(days=1)
    planned = None
    if discharge_at is not None and discharge_at > now:  # leaves later today: not out yet
        in_house, planned, discharge_at = True, discharge_at, None
    exit_mode = rng.choices(["domicile", "smr", "had", "ehpad", "deces"], weights=[82, 7, 4, 5, 2])[0]
    if ambulatory:
        exit_mode = "domicile"
    receiving = {"smr": structures[0], "had": structures[1], "ehpad": structures[2]}.get(exit_mode)
    return Stay(
        establishment=unit.establishment,
        unit=unit,
        visit_number=f"{today:%y}{500000 + i}",
        sector=unit.sector,
        admission_at=admission_at,
        discharge_at=discharge_at,
        planned_discharge_at=planned
        or (_aware(today + dt.timedelta(days=rng.randrange(0, 3)), 14) if in_house else None),
        entry_mode="programmee"
        if ambulatory
        else rng.choices(["urgence", "programmee", "transfert"], weights=[60, 35, 5])[0],
        exit_mode="" if in_house else exit_mode,
        destination="",
        responsible_physician=rng.choice(seniors),
        adresseur=rng.choice(gps) if rng.random() < 0.3 else None,
        receiving_structure=receiving,
    )


def _letter_content(
    rng: random.Random, stay: Stay, code: str, profile: str, drugs: list[tuple]
) -> LetterContent:
    """What the physician wrote: the pre-filled letter, the stay's reason and summary, the
    treatment and follow-up, with the omissions of `profile`."""
    reason, summary = rng.choice(UNIT_REASONS[code])
    content = initial_content(stay)
    meds = _medications(rng, profile, drugs)
    bmr, screened = rng.random() < 0.05, rng.random() < 0.6
    updates = dict(
        reason=reason,
        medical_summary=summary,
        procedures_and_exams="Biologie, ECG, imagerie selon le motif.",
        adverse_events=Presence(present=False),
        resistant_organisms=(
            Presence(present=True, details="Portage digestif d'E. coli BLSE")
            if bmr
            else Presence(present=False)
        ),
        resistant_organisms_screened=bmr or screened,
        transfusion=(
            Presence(present=True, details="2 culots globulaires à J2")
            if code == "ORTHO" and rng.random() < 0.4
            else Presence(present=False)
        ),
        blood_derivatives=Presence(present=False),
        implanted_devices=(
            Presence(present=True, details="Prothèse de hanche (carte remise au patient)")
            if code == "ORTHO"
            else Presence(present=False)
        ),
        medications=meds,
        follow_up=_follow_up(rng, (stay.discharge_at or stay.planned_discharge_at).date(), stay.sector),
        pending_results=(
            [PendingResult(description="Résultat anatomopathologique attendu sous 15 jours")]
            if code in ("AMBU", "ORTHO") and rng.random() < 0.4
            else []
        ),
        no_pending_results=False,
    )
    if profile == "no_medication_explicit":
        updates.update(medications=[], no_discharge_medication=True)
    if profile == "missing_follow_up":
        updates["follow_up"] = []
    if profile == "unanswered_questions":
        updates.update(adverse_events=Presence(), implanted_devices=Presence())
    if stay.sector == "CA" and rng.random() < 0.15:
        updates["emergency_contact"] = ""
    if profile == "draft" and rng.random() < 0.5:
        updates.update(medications=[], follow_up=[])
    return content.model_copy(update=updates)


def _drafts(
    rng: random.Random, planned: list[_Planned], drugs: list[tuple], now: dt.datetime
) -> list[_Story]:
    """Each stay's letter as its physician drafted it (version 1, saved as drafts), and its story."""
    stories = []
    for p in planned:
        if p.profile == "no_letter":
            continue
        content = _letter_content(rng, p.stay, p.code, p.profile, drugs)
        physician = p.stay.responsible_physician.user
        letter = Letter(stay=p.stay, version=1, content=content.model_dump(mode="json"), created_by=physician)
        stories.append(_timeline(rng, _Story(letter, physician), p.profile, now))
    Letter.objects.bulk_create([s.letter for s in stories])
    return stories


def _timeline(rng: random.Random, story: _Story, profile: str, now: dt.datetime) -> _Story:
    """When the letter is signed (the discharge day, or the next for `signed_next_day`; never
    after `now`), handed over (most letters, before the patient leaves) and corrected."""
    stay = story.letter.stay
    if profile == "draft" or stay.discharge_at is None:
        return story
    if profile == "signed_next_day":
        next_day = stay.discharge_at.astimezone(PARIS).date() + dt.timedelta(days=1)
        signed_at = _aware(next_day, rng.randrange(9, 17))
        if signed_at > now:  # tomorrow's signature has not happened yet
            return story
    else:
        signed_at = max(stay.admission_at, stay.discharge_at - dt.timedelta(minutes=rng.randrange(20, 180)))
    story.signed_at = signed_at
    if profile not in ("not_handed_over", "signed_next_day") and stay.exit_mode != "deces":
        story.handed_at = max(signed_at, stay.discharge_at - dt.timedelta(minutes=rng.choice([5, 15, 30])))
        story.understanding_checked = rng.random() < 0.7
    story.corrected = profile == "corrected" and signed_at + dt.timedelta(days=1) <= now
    return story


def _signatures(stories: list[_Story]) -> None:
    """Each physician signs at the story's time, through the signing service as on the sign
    page: the CDA and PDF built and frozen, the deliveries queued, the audit row written."""
    for s in stories:
        if s.signed_at is not None:
            s.letter = signing.sign(s.letter.pk, s.physician, at=s.signed_at)


def _hand_overs(stories: list[_Story], nurses: dict[int, User]) -> None:
    """The letter handed to the patient on leaving: by the unit's nurse, else by its physician."""
    for s in stories:
        if s.handed_at is not None:
            who = nurses.get(s.letter.stay.unit_id, s.physician)
            s.letter = lifecycle.hand_over(
                s.letter.pk, who, at=s.handed_at, understanding_checked=s.understanding_checked
            )


def _corrections(stories: list[_Story]) -> None:
    """A day after signing, the physician corrects a few letters (a result came back): a new
    version, signed, that supersedes the first."""
    for s in stories:
        if not s.corrected:
            continue
        draft = lifecycle.start_correction(s.letter.pk, s.physician, why="Résultat de biologie ajouté")
        content = draft.parsed()
        fixed = content.model_copy(
            update={"medical_summary": content.medical_summary + " Correction : résultat de biologie ajouté."}
        )
        draft = lifecycle.save_draft(draft.pk, fixed, draft.revision, s.physician, why="correction")
        s.correction = signing.sign(draft.pk, s.physician, at=s.signed_at + dt.timedelta(days=1))


def _discharge_day(
    est: Establishment, unit: Unit, ids: People, now: dt.datetime, today: dt.date
) -> list[Stay]:
    """Today's discharges of dr.martin in every state of the planned discharge (issue 13)."""
    physician = Practitioner.objects.get(user__username="dr.martin")

    def make_patient(family: str, given: str, sex: str, n: int) -> Patient:
        birth = ids.birth_date(60, 90)
        nir, cog = ids.nir(sex, birth)
        return Patient.objects.create(
            establishment=est,
            ipp=f"{800000 + n}",
            ins_matricule=nir,
            ins_oid=OID_INS_NIR_TEST,
            identity_status="qualifiee",
            birth_family_name=family,
            first_given_name=given,
            given_names=given,
            birth_date=birth,
            birth_place_cog=cog,
            sex=sex,
            address=ids.address_line(),
        )

    return discharge_day(unit, physician, make_patient, now, f"{today:%y}49000")
