"""What the CDA carries besides the content (`DocumentMeta`, `DocumentId`) and the build error."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from liaison.core.content import Professional


class CdaBuildError(ValueError):
    """The content lacks data the document requires. `problems` lists (form field, French message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("Lettre incomplète : " + " ; ".join(m for _, m in problems))

    @property
    def fields(self) -> list[str]:
        return [f for f, _ in self.problems]


@dataclass(frozen=True)
class DocumentId:
    """An instance identifier (II): OID root and optional extension."""

    root: str
    extension: str | None = None


@dataclass(frozen=True)
class DocumentMeta:
    """What the document carries besides the letter content."""

    id: DocumentId  # the document uniqueId (XDS uniqueId = root^extension)
    set_id: DocumentId  # common to every version of the letter
    version_number: int
    effective_time: dt.datetime  # aware; creation of this version
    author: Professional  # author and legal authenticator, with an RPPS
    signed_at: dt.datetime  # aware; legalAuthenticator/time
    confidentiality_code: str = "N"  # N / R / V
    replaces: DocumentId | None = None  # the replaced version → relatedDocument RPLC
    status_code: str = "398166005"  # JDV_StatutDoc_CISIS; default "réalisé"
