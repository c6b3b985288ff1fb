"""The database's clock: one time for every process sharing the PostgreSQL database.

Workers, listeners and web processes on several hosts compare times that other hosts wrote (a
claim's age against the stale limit, a delivery's next attempt against now, a heartbeat's age on
the health page). Their own clocks drift apart — a worker whose clock runs five minutes fast
would take deliveries another worker is sending —, the database's clock is one. On SQLite (the
demo, one machine) it is the local clock.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone


def now() -> dt.datetime:
    """The current time of the database server (aware, UTC); the local time on SQLite."""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        value = cursor.fetchone()[0]
    return value.astimezone(dt.UTC)
