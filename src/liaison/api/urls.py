"""REST API (django-ninja, OpenAPI at /api/docs): stays and the letter lifecycle.

Authentication is the web session (with CSRF); the same permission rules and audit trail as
the web screens apply, since every call goes through `letters.lifecycle` and `permissions`.
"""

from __future__ import annotations

import dataclasses

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import ValidationError
from ninja.security import SessionAuth

from liaison import signing
from liaison.api.quality import router as quality_router
from liaison.api.schemas import CorrectionIn, DraftIn, ErrorOut, HandOverIn, LetterOut, ReviewOut, StayOut
from liaison.delivery.routing import delivery_plan
from liaison.indicators.qls import AuditConflict, AuditError
from liaison.letters import audit, lifecycle, review
from liaison.letters.models import Letter
from liaison.letters.permissions import PermissionDeniedFr, check_view, stays_visible_to
from liaison.letters.reconcile import stay_consistency
from liaison.web import authentication

api = NinjaAPI(title="Liaison", version="1", auth=SessionAuth(), urls_namespace="api")
api.add_router("/quality", quality_router)


# pydantic's error types → what a French API user reads (its own messages are English).
_PYDANTIC_FR = {
    "missing": "champ obligatoire absent",
    "extra_forbidden": "champ inconnu",
    "string_type": "texte attendu",
    "string_too_long": "texte trop long",
    "int_type": "nombre entier attendu",
    "int_parsing": "nombre entier attendu",
    "float_type": "nombre attendu",
    "float_parsing": "nombre attendu",
    "bool_type": "true ou false attendu",
    "bool_parsing": "true ou false attendu",
    "date_type": "date AAAA-MM-JJ attendue",
    "date_parsing": "date AAAA-MM-JJ attendue",
    "date_from_datetime_parsing": "date AAAA-MM-JJ attendue",
    "datetime_type": "date et heure ISO 8601 attendues",
    "datetime_parsing": "date et heure ISO 8601 attendues",
    "datetime_from_date_parsing": "date et heure ISO 8601 attendues",
    "list_type": "liste attendue",
    "dict_type": "objet JSON attendu",
    "model_type": "objet JSON attendu",
    "model_attributes_type": "objet JSON attendu",
    "literal_error": "valeur non permise",
    "enum": "valeur non permise",
    "too_long": "trop d'éléments",
    "too_short": "pas assez d'éléments",
}


def _french(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "missing" and list(error.get("loc", []))[:1] == ["body"] and len(error.get("loc", [])) == 2:
        return "corps de requête JSON absent"
    if kind in ("value_error", "assertion_error"):  # our validators' messages are French already
        return str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return _PYDANTIC_FR.get(kind) or f"valeur refusée ({error.get('msg', '')})"


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError):  # type: ignore[no-untyped-def]
    detail = [{"loc": e.get("loc", []), "msg": _french(e), "type": e.get("type", "")} for e in exc.errors]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(PermissionDeniedFr)
def _forbidden(request: HttpRequest, exc: PermissionDeniedFr):  # type: ignore[no-untyped-def]
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(lifecycle.StaleEditError)
def _stale(request: HttpRequest, exc: lifecycle.StaleEditError):  # type: ignore[no-untyped-def]
    return api.create_response(
        request, {"detail": str(exc), "current_revision": exc.current_revision}, status=409
    )


@api.exception_handler(lifecycle.LifecycleError)
def _refused(request: HttpRequest, exc: lifecycle.LifecycleError):  # type: ignore[no-untyped-def]
    return api.create_response(request, {"detail": str(exc)}, status=422)


@api.exception_handler(AuditConflict)
def _drawn_already(request: HttpRequest, exc: AuditConflict):  # type: ignore[no-untyped-def]
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(AuditError)
def _bad_audit(request: HttpRequest, exc: AuditError):  # type: ignore[no-untyped-def]
    return api.create_response(request, {"detail": str(exc)}, status=422)


@api.exception_handler(ObjectDoesNotExist)
def _missing(request: HttpRequest, exc: ObjectDoesNotExist):  # type: ignore[no-untyped-def]
    return api.create_response(request, {"detail": "Objet introuvable."}, status=404)


def _letter_out(letter: Letter) -> LetterOut:
    content = letter.parsed()
    draft = letter.status == Letter.Status.DRAFT
    to_sign = lifecycle.content_to_sign(letter, None) if draft else content
    return LetterOut(
        id=letter.pk,
        stay_id=letter.stay_id,
        version=letter.version,
        status=letter.status,
        state=letter.state_label,
        revision=letter.revision,
        document_oid=letter.document_oid,
        signed_at=letter.signed_at,
        handed_over_at=letter.handed_over_at,
        content=content,
        problems=[p.model_dump() for p in content.problems()],
        blockers=[p.model_dump() for p in signing.signature_blockers(to_sign)] if draft else [],
        delivery_plan=[dataclasses.asdict(line) for line in delivery_plan(content).lines],
        medecin_traitant_difference=letter.medecin_traitant_difference,
        review=_review_out(letter),
    )


def _review_out(letter: Letter) -> ReviewOut | None:
    r = review.latest(letter)
    if r is None:
        return None
    return ReviewOut(
        state=r.outcome,
        submitted_by=r.submitted_by.get_username(),
        submitted_at=r.submitted_at,
        to=str(r.to) if r.to else "",
        note=r.note,
        answered_by=r.answered_by.get_username() if r.answered_by else "",
        answered_at=r.answered_at,
        comment=r.comment,
    )


def _visible_letter(request: HttpRequest, letter_id: int) -> Letter:
    letter = Letter.objects.select_related("stay__unit", "stay__patient").get(pk=letter_id)
    check_view(request.user, letter.stay)
    return letter


@api.get("/stays", response=list[StayOut], summary="Séjours des services de l'utilisateur")
def list_stays(request: HttpRequest):  # type: ignore[no-untyped-def]
    stays = (
        stays_visible_to(request.user)
        .select_related("unit", "patient")
        .prefetch_related(Prefetch("letters", to_attr="prefetched_letters"))
        .order_by("-admission_at")[:500]
    )
    out = []
    for s in stays:
        current = [x for x in s.prefetched_letters if x.status != Letter.Status.SUPERSEDED]
        letter = max(current, key=lambda x: x.version, default=None)
        consistency, differences = stay_consistency(s.prefetched_letters)
        out.append(
            StayOut(
                id=s.pk,
                visit_number=s.visit_number,
                unit=s.unit.name,
                sector=s.sector,
                patient=f"{s.patient.display_family_name} {s.patient.first_given_name}",
                admission_at=s.admission_at,
                discharge_at=s.discharge_at,
                planned_discharge_at=s.planned_discharge_at,
                letter_id=letter.pk if letter else None,
                letter_state="À corriger"
                if consistency == "a_corriger"
                else (letter.state_label if letter else "Aucune lettre"),
                discharge_consistency=consistency,
                discharge_differences=differences,
            )
        )
    if out:
        audit.record_list(request.user, "stay", [s.id for s in out], why="API : liste des séjours")
    return out


@api.post(
    "/stays/{stay_id}/letter",
    response={200: LetterOut, 403: ErrorOut},
    summary="Ouvrir (ou retrouver) la lettre du séjour",
)
def open_letter(request: HttpRequest, stay_id: int):  # type: ignore[no-untyped-def]
    from liaison.letters.models import Stay

    stay = Stay.objects.get(pk=stay_id)
    check_view(request.user, stay)
    return _letter_out(lifecycle.open_letter(stay, request.user))


@api.get(
    "/letters/{letter_id}", response={200: LetterOut, 403: ErrorOut, 404: ErrorOut}, summary="Lire une lettre"
)
def get_letter(request: HttpRequest, letter_id: int):  # type: ignore[no-untyped-def]
    letter = _visible_letter(request, letter_id)
    audit.record(request.user, "read", letter, why="API : lecture de la lettre")
    return _letter_out(letter)


@api.put(
    "/letters/{letter_id}",
    response={200: LetterOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Enregistrer le brouillon (verrou optimiste sur `revision`)",
)
def save_letter(request: HttpRequest, letter_id: int, payload: DraftIn):  # type: ignore[no-untyped-def]
    _visible_letter(request, letter_id)
    return _letter_out(lifecycle.save_draft(letter_id, payload.content, payload.revision, request.user))


@api.post(
    "/letters/{letter_id}/sign",
    response={200: LetterOut, 403: ErrorOut, 422: ErrorOut},
    summary="Signer la lettre",
)
def sign_letter(request: HttpRequest, letter_id: int):  # type: ignore[no-untyped-def]
    _visible_letter(request, letter_id)
    if not authentication.recent_enough(request):  # the same rule as the sign page
        detail = authentication.too_old_message() + " (page de signature de la lettre)"
        return api.create_response(request, {"detail": detail}, status=403)
    return _letter_out(signing.sign(letter_id, request.user))


@api.post(
    "/letters/{letter_id}/hand-over",
    response={200: LetterOut, 403: ErrorOut, 422: ErrorOut},
    summary="Enregistrer la remise au patient",
)
def hand_over_letter(request: HttpRequest, letter_id: int, payload: HandOverIn):  # type: ignore[no-untyped-def]
    _visible_letter(request, letter_id)
    return _letter_out(
        lifecycle.hand_over(
            letter_id,
            request.user,
            at=payload.at,
            to=payload.to,
            understanding_checked=payload.understanding_checked,
        )
    )


@api.post(
    "/letters/{letter_id}/correction",
    response={200: LetterOut, 403: ErrorOut, 422: ErrorOut},
    summary="Ouvrir une correction (nouvelle version)",
)
def correct_letter(request: HttpRequest, letter_id: int, payload: CorrectionIn):  # type: ignore[no-untyped-def]
    _visible_letter(request, letter_id)
    return _letter_out(lifecycle.start_correction(letter_id, request.user, payload.why))
