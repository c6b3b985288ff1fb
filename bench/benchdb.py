"""A fresh PostgreSQL database for a benchmark: dropped, created, migrated, Django set up.

Shared by the benchmarks that need PostgreSQL (`BENCH_PG` names the server, default the local one).
"""

from __future__ import annotations

import os

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def recreate(name: str) -> str:
    """Drop and create the database `name`; return its URL."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def fresh_django_database(name: str) -> str:
    """Recreate `name`, point Django at it and migrate; return its URL."""
    url = recreate(name)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liaison.web.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url
