"""The médecin traitant of a letter: the GAM's, or the one the physician names when the GAM has none.

Pure Python, no Django. The physician names the médecin traitant as a recipient « Médecin
traitant » (name, RPPS, MSSanté address): while the GAM knows none, the first such recipient is
the letter's médecin traitant, with `source` « medecin », so the QLS criterion is met and the
letter is mailed to him like to the GAM's. When the GAM's value arrives later (ADT, ROL), it
wins in a draft: the physician's choice is kept in `medecin_traitant_replaced` (shown beside
it) and his recipient row is replaced by the GAM's; a signed letter is only flagged
(`difference`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from liaison.core.content import (
    Channel,
    LetterContent,
    Professional,
    ProfessionalSource,
    Recipient,
    RecipientRole,
)
from liaison.core.text import strip_accents

# The professionals Liaison knows, by RPPS (the directory of correspondents), or None.
Directory = Callable[[str], Professional | None]

_TITLE = re.compile(r"^(dr\.?|docteur|pr\.?|professeur)\s+", re.IGNORECASE)


def _norm(text: str) -> str:
    plain = strip_accents(text)
    return " ".join(_TITLE.sub("", plain.strip()).casefold().split())


def same_professional(a: Professional, b: Professional) -> bool:
    """The same person: same RPPS when both have one, else the same name (title and accents aside)."""
    if a.rpps and b.rpps:
        return a.rpps == b.rpps
    return _norm(a.display_name) == _norm(b.display_name)


def _recipient_is(r: Recipient, p: Professional) -> bool:
    if r.rpps and p.rpps:
        return r.rpps == p.rpps
    return _norm(r.name) == _norm(p.display_name)


def from_recipient(r: Recipient, directory: Directory | None = None) -> Professional:
    """The professional a recipient row names: the directory's record when it knows the RPPS
    (names, address, phone), else the row as typed (« Dr » kept as the title)."""
    known = directory(r.rpps) if directory and r.rpps else None
    if known is not None:
        return known.model_copy(
            update={"source": ProfessionalSource.MEDECIN, "mssante": r.mssante or known.mssante}
        )
    name = r.name.strip()
    title = ""
    m = _TITLE.match(name)
    if m:
        title = "Pr" if m.group(1).lower().startswith("p") else "Dr"
        name = name[m.end() :].strip()
    return Professional(
        title=title,
        family_name=name,
        profession="medecin",
        rpps=r.rpps,
        mssante=r.mssante,
        source=ProfessionalSource.MEDECIN,
    )


def named_by_physician(content: LetterContent, directory: Directory | None = None) -> Professional | None:
    """The first recipient « Médecin traitant » with a name, as the physician's médecin traitant."""
    for r in content.recipients:
        if r.role == RecipientRole.MEDECIN_TRAITANT and r.name.strip():
            return from_recipient(r, directory)
    return None


def physician_may_name(content: LetterContent) -> bool:
    """Whether the letter's médecin traitant is the physician's to name (the GAM sent none)."""
    mt = content.medecin_traitant
    return mt is None or mt.source == ProfessionalSource.MEDECIN


def recipient_of(p: Professional) -> Recipient:
    return Recipient(
        role=RecipientRole.MEDECIN_TRAITANT,
        name=p.display_name,
        rpps=p.rpps,
        mssante=p.mssante,
        channel=Channel.MSSANTE if p.mssante else Channel.COURRIER,
    )


def merge(content: LetterContent, gam: Professional | None, directory: Directory | None = None) -> dict:
    """The médecin traitant fields of a draft given the GAM's (None: it knows none), as updates.

    The GAM's wins. At the moment it replaces a different physician's choice, that choice is kept
    in `medecin_traitant_replaced` and the physician's recipient row becomes the GAM's; where the
    letter had none, the GAM's becomes a recipient."""
    before = content.medecin_traitant
    if gam is None:
        if before is not None and before.source != ProfessionalSource.MEDECIN:
            return {"medecin_traitant": None}  # the GAM withdrew its médecin traitant
        named = named_by_physician(content, directory)
        return {"medecin_traitant": named, **({"no_medecin_traitant": False} if named else {})}
    gam = gam.model_copy(update={"source": ProfessionalSource.GAM})
    out: dict = {"medecin_traitant": gam, "no_medecin_traitant": False}
    named = before is not None and before.source == ProfessionalSource.MEDECIN
    if named and not same_professional(before, gam):
        out["medecin_traitant_replaced"] = before
        rows, replaced = [], False
        for r in content.recipients:
            if not replaced and r.role == RecipientRole.MEDECIN_TRAITANT and _recipient_is(r, before):
                rows.append(recipient_of(gam))
                replaced = True
            else:
                rows.append(r)
        if not replaced:
            rows.insert(0, recipient_of(gam))
        out["recipients"] = rows
    elif before is None and not any(
        r.role == RecipientRole.MEDECIN_TRAITANT and _recipient_is(r, gam) for r in content.recipients
    ):  # the GAM sends one where the letter had none: he receives it, as one known at admission
        out["recipients"] = [recipient_of(gam), *content.recipients]
    return out


def replaced_note(content: LetterContent) -> str:
    """The visible note on a draft whose physician-named médecin traitant the GAM replaced."""
    old, new = content.medecin_traitant_replaced, content.medecin_traitant
    if old is None or new is None:
        return ""
    return (
        f"Le GAM a transmis le médecin traitant {_who(new)} : il remplace {_who(old)}, "
        "désigné par le médecin. Vérifiez les destinataires."
    )


def difference(content: LetterContent, gam: Professional | None) -> str:
    """For a signed letter: what the GAM sent after signature, when it differs from the
    physician-named médecin traitant the letter carries ('' when nothing to flag)."""
    mt = content.medecin_traitant
    if gam is None or mt is None or mt.source != ProfessionalSource.MEDECIN or same_professional(mt, gam):
        return ""
    return (
        f"Le GAM a transmis après la signature le médecin traitant {_who(gam)} ; la lettre signée nomme "
        f"{_who(mt)}, désigné par le médecin. Ouvrez une correction si la lettre doit lui être adressée."
    )


def _who(p: Professional) -> str:
    return f"{p.display_name} (RPPS {p.rpps})" if p.rpps else p.display_name
