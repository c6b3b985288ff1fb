"""Paris time: the zone every « same day » rule of the decree is measured in.

The day of discharge, the day a letter is signed or handed over, a period of whole days: all are
calendar days in Europe/Paris, whatever the server's zone. Pure Python, no Django.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def paris_day(moment: dt.datetime | None) -> dt.date | None:
    """Calendar day of `moment` in Europe/Paris. A naive datetime is read as Paris wall time."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(PARIS).date()


def paris_days(first: dt.date, last: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[midnight of `first`, midnight after `last`) in Europe/Paris, `last` being `first` by
    default: "the day of discharge", or a period of whole days, as aware datetimes."""
    after = (last or first) + dt.timedelta(days=1)
    return dt.datetime.combine(first, dt.time(), PARIS), dt.datetime.combine(after, dt.time(), PARIS)
