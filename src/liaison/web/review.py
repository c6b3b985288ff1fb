"""The intern's hand-off on screen: submit the draft to a senior, the senior returns it with a
comment (the signature is the ordinary one). Rules live in `liaison.letters.review`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from liaison import signing
from liaison.letters import lifecycle, review
from liaison.letters.models import Letter, LetterReview
from liaison.letters.permissions import PermissionDeniedFr, check_review, check_submit
from liaison.web.letter_form import field_label, parse_form

ANY_SENIOR = "tout"


def _allowed(check, user, stay) -> bool:  # type: ignore[no-untyped-def]
    try:
        check(user, stay)
    except PermissionDeniedFr:
        return False
    return True


def letter_context(letter: Letter, user) -> dict:  # type: ignore[no-untyped-def]
    """What the letter page shows of the hand-off, for this user."""
    if letter.status != Letter.Status.DRAFT:
        last = review.latest(letter)
        return {"review": last if last and last.outcome == LetterReview.Outcome.SIGNED else None}
    last = review.latest(letter)
    can_submit = _allowed(check_submit, user, letter.stay)
    waiting = last is not None and last.outcome == LetterReview.Outcome.PENDING
    return {
        "review": last,
        "can_submit": can_submit and not waiting,
        "seniors": list(review.seniors(letter.stay)) if can_submit and not waiting else [],
        "can_return": waiting and _allowed(check_review, user, letter.stay),
        "any_senior": ANY_SENIOR,
    }


def _get(request: HttpRequest, letter_id: int) -> Letter:
    from liaison.web.views import _get_letter  # the page's own access check

    return _get_letter(request, letter_id)


@login_required
@require_POST
def letter_submit(request: HttpRequest, letter_id: int) -> HttpResponse:
    """The intern submits the draft (the form as typed is saved first) to a senior."""
    letter = _get(request, letter_id)
    target = request.POST.get("senior", "")
    to = None if target in ("", ANY_SENIOR) else int(target) if target.isdigit() else -1
    try:
        check_submit(request.user, letter.stay)
        if "revision" in request.POST:  # the letter form's own fields: save them first
            parsed = parse_form(letter.parsed(), request.POST)
            if parsed.errors:
                invalid = [f"{field_label(p)} : {m}" for p, m in parsed.errors.items()]
                raise lifecycle.LifecycleError("Brouillon non enregistré : " + " ".join(invalid))
            expected = int(request.POST.get("revision") or 0)
            lifecycle.save_draft(letter.pk, parsed.content, expected, request.user)
        done = signing.submit(letter.pk, request.user, to, request.POST.get("note", ""))
    except (lifecycle.LifecycleError, PermissionDeniedFr) as exc:
        messages.error(request, str(exc))
        return redirect("letter", letter_id=letter.pk)
    who = str(done.to) if done.to else "tout senior du service"
    messages.success(request, f"Lettre soumise pour validation à {who}.")
    return redirect("letter", letter_id=letter.pk)


@login_required
@require_POST
def letter_return(request: HttpRequest, letter_id: int) -> HttpResponse:
    """The senior returns the submitted draft to the intern with a comment."""
    letter = _get(request, letter_id)
    try:
        review.return_to_intern(letter.pk, request.user, request.POST.get("comment", ""))
    except (lifecycle.LifecycleError, PermissionDeniedFr) as exc:
        messages.error(request, str(exc))
        return redirect("letter", letter_id=letter.pk)
    messages.success(request, "Lettre renvoyée à l'interne avec votre commentaire.")
    return redirect("stays")
