"""The LDL-SES sections, one module each (codes, writer, reader), registered in document order.

The order is the one of ldl-ses-cda.md §2; the builder writes them in this order and the reader
finds each by its key templateId, or its LOINC code (never its title).
"""

from __future__ import annotations

from liaison.documents.cda.sections import (
    allergies,
    devices,
    discharge,
    plan,
    reason,
    results,
    status,
    stopped,
    summary,
)
from liaison.documents.cda.writer import Section

REGISTRY: tuple[Section, ...] = (
    status.SECTION,
    reason.SECTION,
    summary.SECTION,
    stopped.SECTION,
    discharge.SECTION,
    results.SECTION,
    plan.SECTION,
    devices.SECTION,
    allergies.SECTION,
)

__all__ = ["REGISTRY", "Section"]
