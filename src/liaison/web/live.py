"""The live check beside the letter form: the establishment's QLS grid, the decree's other
requirements and the ANS masking rules, each item linked to the field to fix.

Pure apart from reading the stay: the same function serves the page, the htmx fragment and the
worklist. A draft is graded as if it were signed by a physician and handed over on the day of
discharge, so the content criteria say what the text still lacks; the signature and the
hand-over are shown as steps, with their real state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from liaison.clinical.draft import section_states
from liaison.core.content import PREFILL_SECTIONS, LetterContent, LetterFacts, Sector
from liaison.delivery.routing import delivery_plan
from liaison.indicators.qls import DEFAULT_GRIDS, letter_facts
from liaison.letters.models import Letter, Practitioner, Stay
from liaison.letters.prefill import practitioner_snapshot
from liaison.quality.evaluate import evaluate
from liaison.quality.grid import Grid, load_grid
from liaison.quality.rules import Result
from liaison.signing import signature_blockers
from liaison.web.letter_form import ParsedForm, field_id

PREFILL_STATE_LABELS = {
    "a_verifier": "pré-rempli, à vérifier",
    "verifie": "vérifié",
    "mise_a_jour": "nouvelles données du dossier à examiner",
}
STEP_FIELDS = {"letter", "handover"}
STEP_RULES = {"signed_by_physician", "letter_found", "signed_on_discharge_day", "handed_over"}


@dataclass(frozen=True, slots=True)
class PanelItem:
    label: str
    state: str  # met / not_met / na / todo
    explanation: str = ""
    target: str = ""  # HTML id of the field to fix
    blocks_signature: bool = False


@dataclass
class Panel:
    grid: Grid | None
    criteria: list[PanelItem] = field(default_factory=list)
    steps: list[PanelItem] = field(default_factory=list)
    decree: list[PanelItem] = field(default_factory=list)
    masking: list[PanelItem] = field(default_factory=list)  # the delivery plan's blockers
    form_errors: list[PanelItem] = field(default_factory=list)
    blockers: list[PanelItem] = field(default_factory=list)  # exactly what `signing.sign` refuses
    # sections drafted from the record: « pré-rempli, à vérifier » or « vérifié »
    prefilled: list[PanelItem] = field(default_factory=list)

    @property
    def to_verify(self) -> int:
        return sum(1 for i in self.prefilled if i.state != "verifie")

    @property
    def met(self) -> int:
        return sum(1 for i in self.criteria if i.state in ("met", "na"))

    @property
    def missing(self) -> list[PanelItem]:
        """Everything still to fix in the content, QLS first."""
        return [
            *(i for i in self.criteria if i.state == "not_met"),
            *self.decree,
            *self.masking,
            *self.form_errors,
        ]

    @property
    def ready(self) -> bool:
        """All QLS content criteria met, nothing the decree requires missing, masks consistent."""
        return (
            not self.missing
            and not any(s.state == "not_met" for s in self.steps)
            and not self.to_verify  # a pre-filled section is the physician's only once checked
        )

    @property
    def signable(self) -> bool:
        """No signature blocker (the QLS criteria may still be unmet: that does not block)."""
        return not self.blockers


def grid_for(sector: str) -> Grid | None:
    try:
        return load_grid(DEFAULT_GRIDS[Sector(sector)])
    except (KeyError, ValueError):
        return None


def _draft_facts(stay: Stay, content: LetterContent) -> LetterFacts:
    """A draft graded as the letter it would become: signed by a physician, handed over on time."""
    day = content.discharge_at or stay.discharge_at or timezone.now()
    return LetterFacts(
        exists=True,
        signed_at=day - dt.timedelta(minutes=1),
        signer_profession="medecin",
        handed_over_at=day,
        stay_id=str(stay.pk),
    )


def build_panel(
    stay: Stay,
    letter: Letter | None,
    content: LetterContent,
    parsed: ParsedForm | None = None,
    signer: Practitioner | None = None,
) -> Panel:
    """`signer`: who would sign (the viewing physician); the signature names them as the
    responsible physician when the stay has none, so that is then no blocker."""
    if content.responsible_physician is None and signer is not None:
        content = content.model_copy(update={"responsible_physician": practitioner_snapshot(signer)})
    grid = grid_for(stay.sector)
    panel = Panel(grid=grid)
    draft = letter is None or letter.status == Letter.Status.DRAFT
    screen = parsed.screen_path if parsed else (lambda p: p)
    qls_fields: set[str] = set()
    if grid is not None:
        facts = _draft_facts(stay, content) if draft else letter_facts(stay, letter)
        evaluation = evaluate(content, facts, grid)
        for r in evaluation.items:
            item = grid.item(r.id)
            is_step = item.field in STEP_FIELDS or item.rule in STEP_RULES
            state = {Result.MET: "met", Result.NOT_MET: "not_met"}.get(r.result, "na")
            if r.field:
                qls_fields.add(r.field)
            if is_step:
                if draft and state == "met":
                    state = "todo"
                elif not draft and item.field == "handover" and letter.handed_over_at is None:
                    state = "todo" if state == "not_met" else state
                panel.steps.append(
                    PanelItem(item.label_fr, state, r.explanation, field_id(screen(r.field or item.field)))
                )
            else:
                panel.criteria.append(
                    PanelItem(item.label_fr, state, r.explanation, field_id(screen(r.field or item.field)))
                )
    for p in content.problems():
        if p.field in qls_fields:
            continue
        panel.decree.append(
            PanelItem(p.field, "not_met", p.message, field_id(screen(p.field)), p.blocks_signature)
        )
    plan = delivery_plan(content)
    for path, message in plan.blockers:
        panel.masking.append(PanelItem(path, "not_met", message, field_id(screen(path)), True))
    if parsed is not None:
        for path, message in parsed.errors.items():
            panel.form_errors.append(PanelItem(path, "not_met", message, field_id(path)))
    if draft:
        panel.blockers = [
            PanelItem(p.field, "not_met", p.message, field_id(screen(p.field)), True)
            for p in signature_blockers(content, plan)
        ]
    for name, state in section_states(content).items():
        label = PREFILL_SECTIONS.get(name, name)
        panel.prefilled.append(PanelItem(label, state, PREFILL_STATE_LABELS[state], f"prefill-{name}"))
    return panel
