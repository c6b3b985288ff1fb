"""The follow-up calendar of a campaign's action plan: a follow-up meeting one year after the
visit, and the evaluation on the QLS campaign two years after the reference measure (QLS is
measured every two years). Pure Python; the two delays are the campaign's rule, kept here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MEETING_AFTER_YEARS = 1
EVALUATION_AFTER_YEARS = 2
SOURCE_FR = (
    "Calendrier de la campagne : réunion de suivi un an après la visite, évaluation sur la "
    "campagne QLS deux ans après la mesure de référence."
)


def add_years(day: dt.date, years: int) -> dt.date:
    """Same day `years` later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Calendar:
    start: dt.date  # the visit, else the plan's creation
    start_is_visit: bool
    meeting_due: dt.date
    meeting_done: dt.date | None  # the first follow-up meeting on or after the due date
    evaluation_year: int
    evaluation_available: bool  # results of that measure imported

    def meeting_state(self, today: dt.date) -> str:
        if self.meeting_done is not None:
            return f"faite le {self.meeting_done:%d/%m/%Y}"
        if today > self.meeting_due:
            return f"en retard (prévue à partir du {self.meeting_due:%d/%m/%Y})"
        return f"prévue à partir du {self.meeting_due:%d/%m/%Y}"

    def evaluation_state(self) -> str:
        if self.evaluation_available:
            return f"sur la mesure {self.evaluation_year} : résultats importés"
        return f"sur la mesure {self.evaluation_year} : résultats pas encore importés"


def calendar(
    reference_year: int,
    plan_created: dt.date,
    visits: list[dt.date],
    follow_ups: list[dt.date],
    years_available: list[int],
) -> Calendar:
    """The calendar from the reference year, the plan's creation, its meetings and the imported years."""
    start = min(visits) if visits else plan_created
    due = add_years(start, MEETING_AFTER_YEARS)
    done = min((d for d in follow_ups if d >= due), default=None)
    year = reference_year + EVALUATION_AFTER_YEARS
    return Calendar(start, bool(visits), due, done, year, year in years_available)
