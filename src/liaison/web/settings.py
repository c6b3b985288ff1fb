"""Django settings for Liaison.

One settings module for the demo, the tests and production; the environment decides:
`DATABASE_URL` (SQLite file `liaison.sqlite3` in the working directory by default),
`LIAISON_SECRET_KEY`, `LIAISON_DEBUG`, `LIAISON_ALLOWED_HOSTS`, and the transport settings of
production (README « Mise en production »).

Safe by default: `DEBUG` is off unless `LIAISON_DEBUG=1` (which `liaison demo` sets). Production
is a secret key given and `DEBUG` off: cookies are then secure, HSTS is sent, plain HTTP is
redirected to HTTPS and the `X-Forwarded-Proto` header of the reverse proxy terminating TLS is
trusted (`liaison serve` refuses to start without the key or the allowed hosts).
"""

from __future__ import annotations

import os
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE

from liaison.health.config import HealthConfig
from liaison.indicators.config import IndicatorsConfig
from liaison.web.config import DemoConfig

BASE_DIR = Path(__file__).resolve().parent


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip() == "1"


SECRET_KEY = os.environ.get("LIAISON_SECRET_KEY") or "liaison-demo-only-not-secret"
DEBUG = _flag("LIAISON_DEBUG", False)
PRODUCTION = bool(os.environ.get("LIAISON_SECRET_KEY")) and not DEBUG
_hosts = os.environ.get("LIAISON_ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
ALLOWED_HOSTS = [h.strip() for h in _hosts.split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "axes",
    "liaison.letters",
    "liaison.ingest",
    "liaison.clinical",
    "liaison.indicators",
    "liaison.campaign",
    "liaison.delivery",
    "liaison.pulse",  # the background processes' heartbeats and counters (health reads them)
    "liaison.web",
    "liaison.demo",  # the demo's commands and sandboxes (top floor)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "liaison.api.guard.ApiBodyGuard",  # API bodies: size, UTF-8, JSON, depth, refused in French
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "liaison.web.sessions.IdleSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "liaison.web.refusals.RefusalAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # last, as django-axes asks: answers a locked-out login with the French lockout page
    "axes.middleware.AxesMiddleware",
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
            # `{{ value|label:"kind" }}` in every template: enumerations shown by their French label
            "builtins": ["liaison.web.templatetags.liaison_web"],
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
# French only: LocaleMiddleware would otherwise follow the browser (an English one got English dates).
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("LIAISON_STATIC_ROOT") or Path.cwd() / "var" / "static")
# WhiteNoise serves the static files from the web process (gunicorn has no static server). In
# production `liaison serve` collects them into STATIC_ROOT first; otherwise they are read from
# the apps (no collectstatic needed for the demo and the tests).
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:  # read from the apps: an empty STATIC_ROOT is expected, not worth a warning
    warnings.filterwarnings("ignore", message="No directory at")
WHITENOISE_MAX_AGE = 3600

# --- Content-Security-Policy (django-csp 4) ---------------------------------------------------
# No inline script and no inline event handler anywhere: htmx and the page behaviours are static
# files (htmx's own config in a <meta>, eval off). Charts are inline SVG produced on the server
# (vl-convert), no script. Inline *styles* stay allowed: bar widths computed from the data.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "script-src-attr": [NONE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF],  # the PDF preview of the sign page
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [SELF],
    }
}

# --- Transport security behind a reverse proxy terminating TLS --------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _flag("LIAISON_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("LIAISON_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("LIAISON_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _flag("LIAISON_HSTS_PRELOAD", False)
    _trusted = os.environ.get("LIAISON_CSRF_TRUSTED_ORIGINS", "")
    CSRF_TRUSTED_ORIGINS = [o.strip() for o in _trusted.split(",") if o.strip()]
# Preloading HSTS is a commitment of the whole domain; the hospital opts in (LIAISON_HSTS_PRELOAD=1).
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"


# --- Guarding the doors --------------------------------------------------------------------
def _bounded_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{name} invalide : « {raw[:20]} » (entier de {low} à {high} attendu).")
    return int(raw)


# Session expiry after inactivity (shared ward computers): every request but the worklist's
# automatic refresh pushes the expiry back (liaison.web.sessions); the page itself goes back to
# the login screen when the delay has passed without a key pressed or a click (liaison.js).
SESSION_IDLE_MINUTES = _bounded_int("LIAISON_SESSION_IDLE_MINUTES", 15, 1, 720)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Login throttling (django-axes): after LIAISON_LOGIN_FAILURE_LIMIT failures for one account, or
# from one address, the login is refused — even with the right password — for
# LIAISON_LOGIN_LOCK_MINUTES after the last failure. A success clears the account's failures.
AUTHENTICATION_BACKENDS = [
    "liaison.web.sessions.ThrottledBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = _bounded_int("LIAISON_LOGIN_FAILURE_LIMIT", 5, 1, 100)
AXES_COOLOFF_TIME = timedelta(minutes=_bounded_int("LIAISON_LOGIN_LOCK_MINUTES", 15, 1, 1440))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False  # attempts hold addresses: unlock with `liaison axes_reset_username NAME`
if PRODUCTION:  # the address is the client's as the reverse proxy saw it (X-Forwarded-For)
    AXES_IPWARE_PROXY_COUNT = _bounded_int("LIAISON_PROXY_COUNT", 1, 0, 5)
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "stays"
LOGOUT_REDIRECT_URL = "login"

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# The indicators' definitions (LIAISON_INDICATORS_CONFIG, LIAISON_DIGITAL_CONFIG), else the bundled ones.
LIAISON_INDICATORS = IndicatorsConfig.from_env()
# The demo's loopback peers (LIAISON_DEMO_MAILBOXES, LIAISON_MSS_MAILDIR, LIAISON_DMP_SANDBOX_URL,
# set by `liaison demo`): the mail sandbox's boxes and the DMP sandbox's page, for clinicians.
LIAISON_DEMO = DemoConfig.from_env()

# --- Health and metrics (liaison.health: /sante/, /metriques/, heartbeats) ---------------------
# django-prometheus counts requests and latencies around every other middleware.
INSTALLED_APPS += ["liaison.health"]
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# A probe on the host itself asks over plain HTTP: no redirect to HTTPS for the health JSON and
# the metrics (neither holds patient data; /metriques/ is loopback- or token-only).
SECURE_REDIRECT_EXEMPT = [r"^sante/$", r"^metriques/$"]
# What /sante/ expects and who reads /metriques/ (LIAISON_HEALTH_PROCESSES,
# LIAISON_HEALTH_STALE_SECONDS, LIAISON_METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR), read once here.
LIAISON_HEALTH = HealthConfig.from_env()
# --- end of the health block ---------------------------------------------------------------------

# --- Pro Santé Connect (liaison.web.psc) and the recent authentication a signature asks for ------
# Clinicians log in with Pro Santé Connect (OpenID Connect, e-CPS / CPS) when the client is
# configured; the login page shows no PSC button otherwise. Matching is by RPPS (README « Sécurité »).
PSC = {
    "CLIENT_ID": os.environ.get("LIAISON_PSC_CLIENT_ID", "").strip(),
    "CLIENT_SECRET": os.environ.get("LIAISON_PSC_CLIENT_SECRET", "").strip(),
    "DISCOVERY_URL": os.environ.get("LIAISON_PSC_DISCOVERY_URL", "").strip(),
    "SCOPE": os.environ.get("LIAISON_PSC_SCOPE", "").strip() or "openid scope_all",
    "ACR_VALUES": os.environ.get("LIAISON_PSC_ACR_VALUES", "").strip() or "eidas1",
    "TIMEOUT": _bounded_int("LIAISON_PSC_TIMEOUT", 10, 1, 120),
    # seconds of clock difference tolerated on the ID token's dates (exp, iat)
    "LEEWAY": _bounded_int("LIAISON_PSC_LEEWAY_SECONDS", 60, 0, 600),
}
# Roles that must log in with PSC outside the demo (besides any account tied to a practitioner with
# an RPPS). Secretaries, quality, DPO and campaign accounts without an RPPS keep a local password:
# PSC authenticates the professionals of the RPPS (README « Sécurité », our reading).
PSC_ROLES = [
    r.strip()
    for r in (os.environ.get("LIAISON_PSC_ROLES") or "medecin,interne,sage_femme,infirmier").split(",")
    if r.strip()
]
# A clinician's local password: accepted in the demo and the tests, refused in production.
CLINICIAN_PASSWORDS = _flag("LIAISON_CLINICIAN_PASSWORDS", not PRODUCTION)
# A signature asks for an authentication of less than this many minutes (PSC again, or the password).
SIGN_MAX_AUTH_AGE_MINUTES = _bounded_int("LIAISON_SIGN_MAX_AUTH_AGE_MINUTES", 15, 1, 720)
# --- end of the PSC block ------------------------------------------------------------------------
