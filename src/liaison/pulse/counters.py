"""The worker's own Prometheus metrics (prometheus_client), counted in its process and served by
`liaison worker --metrics HOST:PORT`; under gunicorn with several processes the web app's are
gathered through `PROMETHEUS_MULTIPROC_DIR` (README « Exploitation »)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERY_ATTEMPTS = Counter(
    "liaison_delivery_attempts",
    "Essais d'envoi traités par ce processus, par canal et résultat (sent, failed, given_up).",
    ["channel", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "liaison_delivery_send_seconds",
    "Durée d'un envoi (appel au DMP ou au serveur MSSanté), par canal.",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
