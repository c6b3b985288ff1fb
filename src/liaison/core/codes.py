"""Codes and namespaces the letter is written with: the HL7 v3 namespace, LOINC and the code of
the discharge letter (LDL-SES), shared by the CDA, the XDS metadata, the VIHF and the indicators.

Pure Python, no Django.
"""

from __future__ import annotations

from typing import Final

HL7_V3: Final = "urn:hl7-org:v3"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"

LOINC: Final = "2.16.840.1.113883.6.1"  # OID of the LOINC code system
LDL_SES_LOINC: Final = "11490-0"  # LOINC of the « Lettre de liaison à la sortie »
LDL_SES_TITLE: Final = "Lettre de liaison à la sortie d'un établissement de soins"
# The document's (code, code system, display name), in the CDA header and the XDS typeCode.
LDL_SES_DOCUMENT_CODE: Final = (LDL_SES_LOINC, LOINC, LDL_SES_TITLE)
