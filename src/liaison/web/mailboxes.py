"""The demo's MSSanté mailboxes (the loopback mail sandbox's Maildir tree), shown in the UI so a
new user can follow a letter to the médecin traitant's mailbox. Only when `LIAISON_MSS_MAILDIR`
names the sandbox tree (what `make run` sets); these are test mailboxes, never a real operator's."""

from __future__ import annotations

import os
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from liaison.delivery.mail_sandbox import list_mailbox, mailbox_dir, read_message


def _root() -> Path:
    root = os.environ.get("LIAISON_MSS_MAILDIR")
    if not root or not Path(root).is_dir():
        raise Http404("Pas de messagerie de démonstration (LIAISON_MSS_MAILDIR non défini).")
    return Path(root)


@login_required
def mailboxes(request: HttpRequest) -> HttpResponse:
    root = _root()
    boxes = sorted(
        (p.name, len(list((p / "new").iterdir())) + len(list((p / "cur").iterdir())))
        for p in root.iterdir()
        if (p / "cur").is_dir()
    )
    return render(request, "web/mailboxes.html", {"boxes": boxes})


@login_required
def mailbox(request: HttpRequest, address: str) -> HttpResponse:
    root = _root()
    if not mailbox_dir(root, address).is_dir():
        raise Http404("Boîte inconnue.")
    return render(request, "web/mailbox.html", {"address": address, "mails": list_mailbox(root, address)})


@login_required
def mail_attachment(request: HttpRequest, address: str, key: str, index: int) -> HttpResponse:
    root = _root()
    try:
        msg = read_message(root, address, key)
    except KeyError as exc:
        raise Http404("Message inconnu.") from exc
    parts = list(msg.iter_attachments())
    if index >= len(parts):
        raise Http404("Pièce jointe inconnue.")
    part = parts[index]
    resp = HttpResponse(part.get_content(), content_type=part.get_content_type())
    resp["Content-Disposition"] = f'attachment; filename="{part.get_filename() or "piece-jointe"}"'
    return resp
