"""WSGI entry point (runserver and production servers load it).

The medicine search index (the whole BDPM, ~1 s to build, several under load) is built in the
background as the server starts, so that the first physician who types a medicine is not the
one who waits for it.
"""

import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liaison.web.settings")
application = get_wsgi_application()


def _warm_medicine_index() -> None:
    from liaison.letters import medicine_search

    medicine_search.index()


threading.Thread(target=_warm_medicine_index, name="bdpm-index", daemon=True).start()
