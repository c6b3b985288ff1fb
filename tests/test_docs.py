"""The README and the docs it points to live in the repository: no link leads outside it."""

from __future__ import annotations

import re

from liaison.paths import REPO_ROOT

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_no_doc_points_outside_the_repository():
    assert (REPO_ROOT / "docs" / "DESIGN.md").is_file()
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        assert "../shared" not in text, f"{doc.name} renvoie hors du dépôt (../shared)"
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):  # http(s), mailto: not a file of ours
                continue
            path = (doc.parent / target).resolve()
            assert path.is_relative_to(REPO_ROOT), f"{doc.name} : le lien {target} sort du dépôt"
            assert path.exists(), f"{doc.name} : le lien {target} ne mène à rien"
