"""LDL-SES 2022.01 CDA R2 N3 builder: `build_cda(content, meta) -> bytes`.

Layout: `header` (the header), `sections/` (one module per section, registered in order in
`sections.REGISTRY`), `writer` (the build state), `checks` (what the CDA requires), `codes`,
`model` (`DocumentMeta`, `DocumentId`, `CdaBuildError`), `xml` (helpers), `build`.

Pure Python (lxml), no Django. The document model, codes and OIDs come from
`shared/domain/ldl-ses-cda.md` (§0–3); nothing is copied from the ANS example beyond them.
The builder also enforces what the ANS schematrons do not check (§4): the section-3 entries
and their consistency, the exit-mode value set, narrative ↔ entry references, section order,
the meaning of the dates and the ±zzzz offsets (Europe/Paris). Missing required data raises
`CdaBuildError` with French messages naming the form fields.
"""

from liaison.documents.cda.build import build_cda, build_cda_tree
from liaison.documents.cda.codes import FACILITY_TYPE, FACILITY_TYPE_CODES, NO_PROCEDURES_TEXT
from liaison.documents.cda.model import CdaBuildError, DocumentId, DocumentMeta

__all__ = [
    "FACILITY_TYPE",
    "FACILITY_TYPE_CODES",
    "NO_PROCEDURES_TEXT",
    "CdaBuildError",
    "DocumentId",
    "DocumentMeta",
    "build_cda",
    "build_cda_tree",
]
