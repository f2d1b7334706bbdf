"""Every document of the project points only inside the repository: each relative link
in a Markdown file (README.md, docs/, the others git tracks) resolves to a file or
folder of the checkout, an anchor to a heading of its target, and no text names a
path that climbs out of the repository (users do not have what lies beside it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
CODE_PATH = re.compile(r"`(\.\./[^`\s]*)`")
EXTERNAL = ("http://", "https://", "mailto:")


def _documents() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def _anchors(document: Path) -> set[str]:
    lines = document.read_text(encoding="utf-8").splitlines()
    return {_slug(line.lstrip("#")) for line in lines if re.match(r"#{1,6}\s", line)}


DOCUMENTS = _documents()


def test_the_documents_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in DOCUMENTS}
    assert {"README.md", "docs/ARCHITECTURE.md", "docs/INTERFACES.md"} <= names


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve_inside_the_repository(document: Path):
    text = document.read_text(encoding="utf-8")
    for target in LINK.findall(text) + IMAGE.findall(text):
        if target.startswith(EXTERNAL):
            continue
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        assert resolved.is_relative_to(ROOT), f"{target} leaves the repository"
        assert resolved.exists(), f"{target} does not exist"
        if anchor:
            assert resolved.suffix == ".md", f"{target}: an anchor into a non-Markdown file"
            assert anchor in _anchors(resolved), f"{target}: no such heading"
    for named in CODE_PATH.findall(text):
        resolved = (document.parent / named).resolve()
        assert resolved.is_relative_to(ROOT), f"`{named}` names a path outside the repository"
        assert resolved.exists(), f"`{named}` names a path that does not exist"
