"""Plain-text helpers shared by the floors above: `strip_accents` (NFKD, then ASCII only), how
names are compared, slugged, and written where only ASCII is allowed (XDM labels, addresses)."""

from __future__ import annotations

import unicodedata


def strip_accents(text: str) -> str:
    """`text` without accents nor any other non-ASCII character (« Élodie » → « Elodie »)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
