"""The day's discharge worklist: the stays whose discharge (ADT A03) falls on a given day.

The discharge message starts the clock of the same-day obligations (letter signed and handed
over on the day of discharge); a cancelled discharge (A13) takes the stay off the list.
"The day" is the calendar day in Europe/Paris.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from liaison.core.paris import paris_days
from liaison.letters.models import PARIS, Establishment, Stay


def discharges_of_day(
    day: dt.date | None = None, establishment: Establishment | None = None
) -> QuerySet[Stay]:
    """Stays discharged on `day` (today by default), not cancelled, earliest discharge first."""
    day = day or timezone.localtime(timezone.now(), PARIS).date()
    start, end = paris_days(day)
    qs = Stay.objects.filter(discharge_at__gte=start, discharge_at__lt=end, cancelled=False)
    if establishment is not None:
        qs = qs.filter(establishment=establishment)
    return qs.select_related("patient", "unit").order_by("discharge_at")
