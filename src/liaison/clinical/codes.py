"""A small curated list of real codes for the synthetic clinical feeds (demo, tests, benchmarks).

Pure Python, no Django. Sources (public, consulted for each code; labels shortened):
- LOINC: loinc.org (Regenstrief), French display names as in the ANS terminology server
  (smt.esante.gouv.fr, « LOINC » en français);
- CIM-10: CIM-10 FR à usage PMSI, ATIH;
- CCAM: Classification commune des actes médicaux, Assurance Maladie (ameli.fr, CCAM en ligne);
- medicines: ANSM BDPM (`shared/reference/bdpm/`, CIS codes checked by the tests against it).

Each lab test carries its unit, its reference range and the plausible values a generator draws
from (normal range, abnormal low, abnormal high).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabTest:
    loinc: str
    label: str
    unit: str
    low: float
    high: float
    decimals: int = 1

    @property
    def reference_range(self) -> str:
        return f"{self.low:g}-{self.high:g}"


LAB_TESTS: tuple[LabTest, ...] = (
    LabTest("718-7", "Hémoglobine", "g/dL", 12.0, 16.0),
    LabTest("6690-2", "Leucocytes", "G/L", 4.0, 10.0),
    LabTest("777-3", "Plaquettes", "G/L", 150, 400, 0),
    LabTest("2951-2", "Sodium", "mmol/L", 135, 145, 0),
    LabTest("2823-3", "Potassium", "mmol/L", 3.5, 5.0),
    LabTest("14682-9", "Créatinine", "µmol/L", 45, 104, 0),
    LabTest("1988-5", "Protéine C réactive", "mg/L", 0, 5, 0),
    LabTest("2345-7", "Glucose", "mmol/L", 3.9, 5.8),
    LabTest("4548-4", "Hémoglobine glyquée (HbA1c)", "%", 4.0, 6.0),
    LabTest("1742-6", "ALAT", "UI/L", 5, 40, 0),
    LabTest("1920-8", "ASAT", "UI/L", 5, 40, 0),
    LabTest("3016-3", "TSH", "mUI/L", 0.4, 4.0, 2),
    LabTest("6301-6", "INR", "", 0.8, 1.2),
    LabTest("33762-6", "NT-proBNP", "ng/L", 0, 125, 0),
    LabTest("10839-9", "Troponine I", "ng/L", 0, 34, 0),
    LabTest("2093-3", "Cholestérol total", "mmol/L", 3.0, 5.2),
)

# Tests whose result usually arrives after discharge (cultures, specialised assays).
PENDING_TESTS: tuple[tuple[str, str], ...] = (
    ("600-7", "Hémoculture"),
    ("630-4", "Examen cytobactériologique des urines (ECBU), culture"),
    ("5193-8", "Sérologie hépatite B (anticorps anti-HBs)"),
)

DIAGNOSES: tuple[tuple[str, str], ...] = (  # CIM-10 FR
    ("I50.0", "Insuffisance cardiaque congestive"),
    ("J18.9", "Pneumopathie, sans précision"),
    ("N17.9", "Insuffisance rénale aiguë, sans précision"),
    ("I48.9", "Fibrillation et flutter auriculaires, sans précision"),
    ("J44.1", "Maladie pulmonaire obstructive chronique avec épisodes aigus"),
    ("E87.6", "Hypokaliémie"),
    ("I10", "Hypertension essentielle (primitive)"),
    ("E11.9", "Diabète sucré de type 2, sans complication"),
    ("D64.9", "Anémie, sans précision"),
)

PROCEDURES: tuple[tuple[str, str], ...] = (  # CCAM
    ("DEQP003", "Électrocardiographie sur au moins 12 dérivations"),
    ("DZQM006", "Échographie-doppler transthoracique du cœur et des vaisseaux intrathoraciques"),
    ("ZBQK002", "Radiographie du thorax"),
    ("ACQK001", "Scanographie du crâne et de son contenu, sans injection de produit de contraste"),
    ("HEQE002", "Endoscopie œso-gastro-duodénale"),
)

ALLERGENS: tuple[tuple[str, str, str], ...] = (  # (ATC or local code, label, AL1-2 type)
    ("J01CA04", "Amoxicilline", "DA"),
    ("N02BA01", "Acide acétylsalicylique", "DA"),
    ("ARACHIDE", "Arachide", "FA"),
    ("LATEX", "Latex", "EA"),
)


@dataclass(frozen=True)
class Drug:
    cis: str
    label: str
    unit: str  # the unit of one dose
    doses: tuple[str, ...]  # amounts a prescriber writes
    route: str  # HL7 table 0162


DRUGS: tuple[Drug, ...] = (  # BDPM CIS, marketed with an active authorisation
    Drug("66340498", "AMLODIPINE ARROW 5 mg, gélule", "gélule", ("1", "2"), "PO"),
    Drug("60192594", "FUROSEMIDE ARROW 40 mg, comprimé sécable", "comprimé", ("1", "0.5", "2"), "PO"),
    Drug("68009803", "FUROSEMIDE ARROW 20 mg, comprimé sécable", "comprimé", ("1", "2"), "PO"),
    Drug("61902218", "ELIQUIS 5 mg, comprimé pelliculé", "comprimé", ("1",), "PO"),
    Drug("60234100", "DOLIPRANE 1000 mg, comprimé", "comprimé", ("1",), "PO"),
    Drug("64755969", "KARDEGIC 75 mg, poudre pour solution buvable en sachet-dose", "sachet", ("1",), "PO"),
    Drug("61663953", "LANSOPRAZOLE ARROW 15 mg, comprimé orodispersible", "comprimé", ("1",), "PO"),
    Drug("62080626", "LEVOTHYROX 75 microgrammes, comprimé sécable", "comprimé", ("1",), "PO"),
    Drug("63145849", "SPIRONOLACTONE ARROW 25 mg, comprimé pelliculé sécable", "comprimé", ("1", "2"), "PO"),
    Drug("61271518", "ZOPICLONE ARROW LAB 3,75 mg, comprimé pelliculé", "comprimé", ("1",), "PO"),
    Drug("69767594", "PARACETAMOL ARROW 1 g, comprimé", "comprimé", ("1",), "PO"),
    Drug("64745003", "LANTUS 100 Unités/ml, solution injectable en flacon", "UI", ("10", "14", "20"), "SC"),
    Drug(
        "60782303",
        "LOVENOX 4 000 UI (40 mg)/0,4 ml, solution injectable en seringue préremplie",
        "seringue",
        ("1",),
        "SC",
    ),
)
FREQUENCIES: tuple[str, ...] = ("QD", "BID", "TID", "QAM", "QHS")
