"""The `liaison` command: Django's management commands plus Liaison's own.

`liaison migrate`, `liaison createsuperuser`, `liaison demo-data --stays 500 --seed 1`,
`liaison serve` (production web server)…
Hyphenated names map to the underscored command modules (`demo-data` → `demo_data`).
Every command reads `DATABASE_URL`.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liaison.web.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    if len(argv) > 1 and argv[1] == "demo":
        os.environ.setdefault("LIAISON_DEBUG", "1")  # the demo only: error pages with details
    argv[0] = "liaison"
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
