"""Refused accesses leave a trace (review finding 9): a 403 from a page, the API, the admin or
CSRF writes an `AuditEvent` « refused » with the URL, the reason and, if known, the patient."""

from __future__ import annotations

import pytest

from liaison.letters import lifecycle
from liaison.letters.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_refused_letter_page_is_traced_with_its_patient(client, hospital):
    letter = lifecycle.open_letter(hospital["stay"])
    client.force_login(hospital["users"]["campagne"])
    assert client.get(f"/lettres/{letter.pk}/").status_code == 403
    trace = AuditEvent.objects.get(action="refused")
    assert trace.username == "u_campagne" and trace.role == "campagne"
    assert trace.object_id == f"/lettres/{letter.pk}/" and trace.patient_id == hospital["patient"].pk
    assert "accès" in trace.why and trace.details["method"] == "GET"


def test_a_refused_api_call_is_traced_with_the_reason(client, hospital):
    client.force_login(hospital["users"]["medecin"])
    resp = client.post(
        "/api/quality/audits", {"start": "2026-10-01", "end": "2026-10-31"}, "application/json"
    )
    assert resp.status_code == 403
    trace = AuditEvent.objects.get(action="refused")
    assert trace.why == "Réservé au service qualité / DIM." and trace.details["method"] == "POST"


def test_a_csrf_failure_is_traced(hospital):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(hospital["users"]["medecin"])
    assert csrf_client.post(f"/sejours/{hospital['stay'].pk}/lettre/").status_code == 403
    assert AuditEvent.objects.filter(action="refused", patient=hospital["patient"]).exists()


def test_an_allowed_access_writes_no_refusal(client, hospital):
    letter = lifecycle.open_letter(hospital["stay"])
    client.force_login(hospital["users"]["medecin"])
    assert client.get(f"/lettres/{letter.pk}/").status_code == 200
    assert not AuditEvent.objects.filter(action="refused").exists()
