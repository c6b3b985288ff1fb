"""Codes, OIDs and value sets of the LDL-SES CDA (ldl-ses-cda.md §0–3), shared by header and sections.

Section templateIds and LOINC codes live in their section's module (`sections/`).
"""

from __future__ import annotations

from liaison.core import catalogue
from liaison.core.codes import HL7_V3, XSI
from liaison.core.content import Sex

V3 = HL7_V3
NSMAP = {None: V3, "xsi": XSI}
XSI_TYPE = f"{{{XSI}}}type"

# Code systems (ldl-ses-cda.md §0–3).
SNOMED = "2.16.840.1.113883.6.96"
TA_ASIP = "1.2.250.1.213.1.1.4.322"
ACT_CODE = "2.16.840.1.113883.5.4"
CIS = "1.2.250.1.213.2.3.1"
ATC = "2.16.840.1.113883.6.73"
GENDER = "2.16.840.1.113883.5.1"
CONFIDENTIALITY = "2.16.840.1.113883.5.25"
PARTICIPATION_FUNCTION = "2.16.840.1.113883.5.88"
PROFESSION = "1.2.250.1.213.1.1.4.5"  # JDV_J01_XdsAuthorSpecialty_CISIS codes
PRACTICE_SETTING = "1.2.250.1.213.1.1.4.9"
FACILITY_TYPE = "1.2.250.1.71.4.2.4"  # TRE_R02-SecteurActivite
# healthCareFacility/code: StrucMin (CI-SISComponentOf) checks @code against value set
# 1.2.250.1.213.1.1.5.466 JDV_J02_XdsHealthcareFacilityTypeCode_CISIS, file
# schematrons/profils/structurationMinimale/include/voc-1.2.250.1.213.1.1.5.466-DYNAMIC.xml
# (versionLabel 20241213000000; jeuxDeValeurs/JDV_J02_XdsHealthcareFacilityTypeCode_CISIS.xml has
# the same 69 codes). It holds SA01 to SA69 except SA11 and SA62, codeSystem 1.2.250.1.71.4.2.4,
# plus EXP_PATIENT and SNR (codeSystem 1.2.250.1.213.1.1.4.6: patient expression, referenced digital
# service), which are not establishments and are left out here. For a discharge letter:
# SA01 Etablissement public de santé · SA02 Hôpital militaire du Service de santé des armées ·
# SA03 Etablissement privé PSPH · SA04 Etablissement privé non PSPH · SA05 Centre de santé ·
# SA30 Autre établissement sanitaire · SA34 Centre de dialyse · SA36 Centre anti-cancer ·
# SA51 Structure de coopération avec autorisation de soins · SA69 Maisons de naissance.
# tests/documents/test_cda.py compares this set with the voc file.
FACILITY_TYPE_CODES = frozenset(f"SA{n:02d}" for n in range(1, 70)) - {"SA11", "SA62"}
ABSENT_UNKNOWN = "2.16.840.1.113883.5.1150.1"  # JDV_AbsentOrUnknownMedication_CISIS

LDL_SES_TEMPLATE_ID = "1.2.250.1.213.1.1.1.29"  # the templateId that makes a CDA an LDL-SES
DOCUMENT_TEMPLATE_IDS = (
    ("2.16.840.1.113883.2.8.2.1", None),
    ("1.2.250.1.213.1.1.1.1", None),
    (LDL_SES_TEMPLATE_ID, "2022.01"),
)
DOCUMENT_TITLE = "Lettre de liaison à la sortie d'un établissement de santé"

# JDV_StatutDoc_CISIS (1.2.250.1.213.1.1.5.93).
DOCUMENT_STATUS = {
    "385651009": ("en cours d'exécution", "Document en cours"),
    "398166005": ("réalisé", "Document finalisé"),
    "9571008": ("approuvé", "Document validé"),
    "29179001": ("clôturé", "Document clôturé"),
}
CONFIDENTIALITY_LABELS = {"N": "Normal", "R": "Restreint", "V": "Très restreint"}
GENDER_LABELS = {Sex.M: "Masculin", Sex.F: "Féminin", Sex.U: "Inconnu"}
TITLE_CODES = {"dr": "DR", "docteur": "DR", "pr": "PR", "professeur": "PR"}
PROFESSION_CODES = {"medecin": ("G15_10", "Médecin"), "sage_femme": ("G15_50", "Sage-Femme")}


SIMPLE_OBS = ("1.3.6.1.4.1.19376.1.5.3.1.4.13", "1.2.250.1.213.1.1.3.48")
# Section-3 entries: code → (specific templateId, displayName), from the catalogue.
SUMMARY_ENTRIES = {e.code: (e.template_id, e.display) for e in catalogue.ENTRIES}
MEDICATION_TEMPLATES = (
    "1.2.250.1.213.1.1.3.42",
    "2.16.840.1.113883.10.20.1.24",
    "1.3.6.1.4.1.19376.1.5.3.1.4.7",
    "1.3.6.1.4.1.19376.1.5.3.1.4.7.1",
)
PRODUCT_TEMPLATES = (
    "1.2.250.1.213.1.1.3.43",
    "2.16.840.1.113883.10.20.1.53",
    "1.3.6.1.4.1.19376.1.5.3.1.4.7.2",
)
FOLLOW_UP_TEMPLATES = (
    "2.16.840.1.113883.10.20.1.25",
    "1.3.6.1.4.1.19376.1.5.3.1.1.20.3.1",
    "1.2.250.1.213.1.1.3.27",
)
DEVICE_TEMPLATES = ("2.16.840.1.113883.10.20.1.34", "1.2.250.1.213.1.1.3.20")
ALLERGY_LIST_TEMPLATES = (
    "2.16.840.1.113883.10.20.1.27",
    "1.3.6.1.4.1.19376.1.5.3.1.4.5.1",
    "1.3.6.1.4.1.19376.1.5.3.1.4.5.3",
    "1.2.250.1.213.1.1.3.40",
)
ALLERGY_TEMPLATES = (
    "2.16.840.1.113883.10.20.1.28",
    "2.16.840.1.113883.10.20.1.18",
    "1.3.6.1.4.1.19376.1.5.3.1.4.5",
    "1.3.6.1.4.1.19376.1.5.3.1.4.6",
    "1.2.250.1.213.1.1.3.41",
)
# JDV_TypeEvenementIndesirablePrevisible_CISIS: "propension aux réactions indésirables" (type unknown).
ALLERGY_TYPE = ("420134006", SNOMED, "propension aux réactions indésirables")

NO_PROCEDURES_TEXT = "Aucun acte ni examen complémentaire."

MEDICATION_TABLE_HEADERS = (
    "Médicament",
    "Statut",
    "Posologie",
    "Voie",
    "Durée",
    "Traitement habituel",
    "Commentaire",
)
