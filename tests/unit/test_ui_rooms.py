"""ui/ has one package per page and shared/ for what several pages use: a page's package
imports only itself and shared/, and shared/ imports no page's package, so a part that
a second page needs is moved to shared/ instead of reached for across pages."""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "sattn_dash" / "ui"
PAGES = sorted(
    p.name for p in UI.iterdir() if p.is_dir() and p.name not in ("shared", "__pycache__")
)


def _ui_imports(path: Path) -> set[str]:
    """The ui subpackages a module imports (``sattn_dash.ui.<room>...``)."""
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["sattn_dash", "ui"] and len(parts) > 2:
                rooms.add(parts[2])
    return rooms


def test_there_is_a_package_per_page():
    pages = {p.stem for p in (UI.parent / "dashboard" / "app_pages").glob("*.py")}
    assert set(PAGES) == pages


def test_pages_import_only_themselves_and_shared():
    crossing = [
        f"{path.relative_to(UI)} imports ui.{room}"
        for room in [*PAGES, "shared"]
        for path in sorted((UI / room).glob("*.py"))
        for imported in _ui_imports(path)
        if imported not in (room, "shared")
    ]
    assert crossing == []
