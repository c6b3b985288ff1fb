"""The HAS discharge check-list (2015, 18 items) as versioned data, loaded and validated.

Only items whose HAS wording was found are shown; the others are listed as `omitted` with the
reason, so that a nurse never reads a placeholder."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

CHECKLISTS_DIR = Path(__file__).parent / "checklists"
CURRENT = "has-2015"
ANSWER_LABELS = {"oui": "Oui", "non": "Non", "na": "NA"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Block(_Strict):
    id: str
    label_fr: str


class ChecklistItem(_Strict):
    number: int
    block: str
    label_fr: str
    status: Literal["confirmed"]  # a wording not found is omitted, never shown as a placeholder
    note: str = ""
    na_allowed: bool = True  # items 1-2 apply to every patient: NA is not an answer
    low_risk_optional: bool = False  # items 10 and 15 need not be considered for low-risk patients
    prefill: Literal["handover"] | None = None


class OmittedItem(_Strict):
    number: int
    reason: str


class Source(_Strict):
    title: str
    url: str
    status: str
    note: str = ""


class Checklist(_Strict):
    id: str
    title_fr: str
    source: Source
    answers: list[str]
    blocks: list[Block]
    items: list[ChecklistItem] = Field(min_length=1, max_length=18)
    omitted: list[OmittedItem] = []

    def item(self, number: int) -> ChecklistItem:
        return next(i for i in self.items if i.number == number)

    def grouped(self) -> list[tuple[Block, list[ChecklistItem]]]:
        return [(b, [i for i in self.items if i.block == b.id]) for b in self.blocks]

    def clean_answers(self, raw: dict[str, str]) -> tuple[dict[str, str], dict[int, str]]:
        """Keep the valid answers; French errors keyed by item number for the refused ones."""
        answers: dict[str, str] = {}
        errors: dict[int, str] = {}
        for item in self.items:
            value = (raw.get(str(item.number)) or "").strip()
            if not value:
                continue
            if value not in self.answers:
                errors[item.number] = "Réponse inconnue : choisissez Oui, Non ou NA."
            elif value == "na" and not item.na_allowed:
                errors[item.number] = "Cet item concerne tout patient : « NA » n'est pas possible."
            else:
                answers[str(item.number)] = value
        return answers, errors


@cache
def load_checklist(checklist_id: str = CURRENT) -> Checklist:
    path = CHECKLISTS_DIR / f"{checklist_id}.yaml"
    checklist = Checklist.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    numbers = [i.number for i in checklist.items]
    omitted = [o.number for o in checklist.omitted]
    if sorted(numbers + omitted) != list(range(1, 19)) or numbers != sorted(numbers):
        raise ValueError(
            f"{path.name} : les items (affichés ou omis) doivent couvrir les numéros 1 à 18, dans l'ordre."
        )
    return checklist
