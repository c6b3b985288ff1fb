"""The demo's MSSanté mailboxes (the loopback mail sandbox's Maildir tree), shown in the UI so a
new user can follow a letter to the médecin traitant's mailbox.

- They exist only when the demo turns them on (`LIAISON_DEMO_MAILBOXES=1`, set by `liaison demo`,
  and `LIAISON_MSS_MAILDIR` naming the sandbox tree; `settings.LIAISON_DEMO`); otherwise every
  page is a 404.
- A mail is shown only to a user who may see the stay of the letter it carries (or that its
  DSN / MDN reports on), found through the delivery's fixed Message-ID; a mailbox with nothing
  the user may see does not exist for them (404, its address is not disclosed).
- Every page and attachment writes an audit row; an address that is not a mailbox name or a key
  that is not a Maildir key is a 404 (no path leaves the sandbox tree).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from liaison.delivery.models import Delivery
from liaison.demo.sandboxes.mail import (
    MailSummary,
    is_mailbox_name,
    is_maildir_key,
    list_mailbox,
    mailbox_dir,
    read_message,
)
from liaison.letters import audit
from liaison.letters.models import Letter
from liaison.letters.permissions import User, stays_visible_to
from liaison.web.config import DemoConfig


def enabled() -> bool:
    """True when the demo has turned the mailboxes on (what `liaison demo` does)."""
    demo: DemoConfig = settings.LIAISON_DEMO
    return demo.mailboxes and bool(demo.maildir) and Path(demo.maildir).is_dir()


def _root() -> Path:
    if not enabled():
        raise Http404("Pas de messagerie de démonstration.")
    return Path(settings.LIAISON_DEMO.maildir)


def _box(root: Path, address: str) -> Path:
    if not is_mailbox_name(address):
        raise Http404("Boîte inconnue.")
    path = mailbox_dir(root, address)
    if path.parent != root or not (path / "cur").is_dir():
        raise Http404("Boîte inconnue.")
    return path


def visible_mails(user: User, mails: list[MailSummary]) -> list[tuple[MailSummary, Letter]]:
    """The mails of a box the user may see, each with the letter it carries or reports on."""
    ids = {m.about for m in mails if m.about}
    letters = {
        d.message_id: d.letter
        for d in Delivery.objects.filter(
            message_id__in=ids, letter__stay__in=stays_visible_to(user)
        ).select_related("letter")
    }
    return [(m, letters[m.about]) for m in mails if m.about in letters]


def _stay_ids(shown: list[tuple[MailSummary, Letter]]) -> list[int]:
    return sorted({letter.stay_id for _, letter in shown})


@login_required
def mailboxes(request: HttpRequest) -> HttpResponse:
    root = _root()
    boxes, stays = [], set()
    for path in sorted(root.iterdir()):
        if (path / "cur").is_dir() and is_mailbox_name(path.name):
            shown = visible_mails(request.user, list_mailbox(root, path.name))
            if shown:
                boxes.append((path.name, len(shown)))
                stays.update(_stay_ids(shown))
    if stays:
        audit.record_list(request.user, "stay", sorted(stays), why="messagerie de démonstration : boîtes")
    return render(request, "web/mailboxes.html", {"boxes": boxes})


@login_required
def mailbox(request: HttpRequest, address: str) -> HttpResponse:
    root = _root()
    _box(root, address)
    shown = visible_mails(request.user, list_mailbox(root, address))
    if not shown:
        raise Http404("Boîte inconnue.")
    audit.record_list(request.user, "stay", _stay_ids(shown), why=f"messagerie de démonstration : {address}")
    return render(request, "web/mailbox.html", {"address": address, "mails": [m for m, _ in shown]})


@login_required
def mail_attachment(request: HttpRequest, address: str, key: str, index: int) -> HttpResponse:
    root = _root()
    _box(root, address)
    if not is_maildir_key(key):
        raise Http404("Message inconnu.")
    found = [
        (m, letter) for m, letter in visible_mails(request.user, list_mailbox(root, address)) if m.key == key
    ]
    if not found:
        raise Http404("Message inconnu.")
    msg = read_message(root, address, key)
    parts = list(msg.iter_attachments())
    if index >= len(parts):
        raise Http404("Pièce jointe inconnue.")
    part = parts[index]
    name = part.get_filename() or "piece-jointe"
    audit.record(
        request.user, "download", found[0][1], why=f"messagerie de démonstration : {address}, {name}"
    )
    resp = HttpResponse(part.get_content(), content_type=part.get_content_type())
    resp["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp
