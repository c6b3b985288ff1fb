"""The demo's loopback peers the web app links to, read once from the environment by the settings
(`settings.LIAISON_DEMO`). `liaison demo` sets the variables for the pieces it starts; in
production none is set and the links and mailbox pages do not exist. No Django here: the
settings import it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoConfig:
    mailboxes: bool = False  # LIAISON_DEMO_MAILBOXES=1: the mail sandbox's boxes shown (web/mailboxes.py)
    maildir: str = ""  # LIAISON_MSS_MAILDIR: the mail sandbox's Maildir tree
    dmp_sandbox_url: str = ""  # LIAISON_DMP_SANDBOX_URL: the DMP sandbox's page, linked for clinicians

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DemoConfig:
        return cls(
            mailboxes=env.get("LIAISON_DEMO_MAILBOXES") == "1",
            maildir=env.get("LIAISON_MSS_MAILDIR") or "",
            dmp_sandbox_url=env.get("LIAISON_DMP_SANDBOX_URL", ""),
        )
