"""Control characters in text read from outside (API, form, HL7): found and named in French.

Pure Python, no Django. A name, an address or an identifier is one line: any control character
(C0, DEL, C1) or Unicode line/paragraph separator in it is refused, because it ends up in a mail
header, an HL7 field or a CDA attribute where it breaks the message (a CR/LF in a recipient's
name signed fine, then the MSSanté delivery failed at every attempt). Free text (the medical
summary, a detail) may hold line breaks and tabs, nothing else of the kind.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators.
ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The same, less what a multi-line text legitimately holds (tab, line feed, carriage return).
MULTI_LINE = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")

_NAMES = {
    "\x00": "caractère nul",
    "\t": "tabulation",
    "\n": "saut de ligne",
    "\r": "retour chariot",
    "\x0b": "tabulation verticale",
    "\x0c": "saut de page",
    "\x1b": "échappement",
    "\x7f": "suppression",
    "\x85": "saut de ligne Unicode",
    "\u2028": "séparateur de ligne",
    "\u2029": "séparateur de paragraphe",
}


def describe(char: str) -> str:
    """« U+000D, retour chariot »: how a refusal names the character."""
    name = _NAMES.get(char) or unicodedata.name(char, "caractère de contrôle").lower()
    return f"U+{ord(char):04X}, {name}"


def first_control(value: str, multiline: bool = False) -> str | None:
    """The first forbidden control character of `value`, or None."""
    found = (MULTI_LINE if multiline else ONE_LINE).search(value)
    return found.group() if found else None


def control_error(value: str, multiline: bool = False) -> str | None:
    """The French reason to refuse `value` (without the field's name), or None when it is clean."""
    char = first_control(value, multiline)
    if char is None:
        return None
    return f"caractère de contrôle interdit ({describe(char)})"
