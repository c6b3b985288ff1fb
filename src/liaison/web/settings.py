"""Django settings for Liaison.

One settings module for the demo, the tests and production; the environment decides:
`DATABASE_URL` (SQLite file `liaison.sqlite3` in the working directory by default),
`LIAISON_SECRET_KEY`, `LIAISON_DEBUG`, `LIAISON_ALLOWED_HOSTS`.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("LIAISON_SECRET_KEY", "liaison-demo-only-not-secret")
DEBUG = os.environ.get("LIAISON_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("LIAISON_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "liaison.letters",
    "liaison.ingest",
    "liaison.clinical",
    "liaison.indicators",
    "liaison.campaign",
    "liaison.delivery",
    "liaison.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "liaison.web.refusals.RefusalAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "liaison.web.urls"
WSGI_APPLICATION = "liaison.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "liaison.web.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{Path.cwd() / 'liaison.sqlite3'}"),
        conn_max_age=int(os.environ.get("LIAISON_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, sandboxes) share the demo file.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# --- PostgreSQL: server-side binding and prepared statements (ADT ingest) --------------------
# With LIAISON_PG_SERVER_SIDE_BINDING=1, psycopg 3 binds parameters on the server and prepares
# a statement once a connection has run it LIAISON_PG_PREPARE_THRESHOLD times (2 by default):
# PostgreSQL then parses and plans the ingest's repeated statements once per connection (about
# a third less PostgreSQL CPU per ADT message, measured with bench/bench_mllp.py). Off by
# default for the web app (Django's client-side binding); `liaison mllp` turns it on for its own
# connections unless LIAISON_PG_SERVER_SIDE_BINDING=0 (see liaison.ingest.mllp).
if (
    DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    and os.environ.get("LIAISON_PG_SERVER_SIDE_BINDING", "0") == "1"
):
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options["server_side_binding"] = True
    _pg_options["prepare_threshold"] = int(os.environ.get("LIAISON_PG_PREPARE_THRESHOLD", "2"))
# --- end of the PostgreSQL block ---------------------------------------------------------------

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "fr-fr"
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path.cwd() / "var" / "static"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "stays"
LOGOUT_REDIRECT_URL = "login"

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
