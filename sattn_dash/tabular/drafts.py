"""Work in progress kept in the workspace, so a refresh, a link or a second tab finds it.

A *draft* is what a user is preparing before (and between) runs: which table, the schema
edits on it, the architecture being edited. It lives in ``<workspace>/drafts/<id>.json``
and names its table by content: an upload is stored once under
``<workspace>/tables/<sha256>/<file name>`` however many drafts use it (the folders are
named by ``sattn_dash.workspace``). Nothing here imports Streamlit or TensorFlow;
``sattn_dash.ui.shared.work`` ties drafts to a browser.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sattn_dash import files
from sattn_dash import workspace as layout
from sattn_dash.errors import DataError
from sattn_dash.tabular.read import read_table
from sattn_dash.tabular.samples import load_sample
from sattn_dash.tabular.stream import LoadedTable

DRAFT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class TableRef:
    """Where a draft's table comes from: an upload (by content hash), a sample, or a
    server path (read again below the data root, which is checked again then)."""

    name: str
    digest: str | None = None
    file_name: str | None = None
    sheet: str | None = None
    sample: str | None = None
    path: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict) -> TableRef:
        return cls(
            **{k: data.get(k) for k in ("name", "digest", "file_name", "sheet", "sample", "path")}
        )


@dataclass
class Draft:
    """A user's table, schema (``Schema.to_dict``) and spec (``ModelSpec.to_dict``)."""

    draft_id: str
    table: TableRef | None = None
    schema: dict | None = None
    spec: dict | None = None
    preset: str | None = None
    updated: float = field(default_factory=time.time)

    def to_dict(self) -> dict:
        return {
            "draft_id": self.draft_id,
            "table": self.table.to_dict() if self.table else None,
            "schema": self.schema,
            "spec": self.spec,
            "preset": self.preset,
            "updated": self.updated,
        }


def new_draft_id() -> str:
    return secrets.token_urlsafe(9)


def valid_draft_id(draft_id: str | None) -> bool:
    return bool(draft_id) and bool(DRAFT_ID_PATTERN.match(draft_id))


class DraftStore:
    """Drafts and uploaded tables of one workspace folder."""

    def __init__(self, workspace: str | Path):
        self.root = Path(workspace)

    def _draft_path(self, draft_id: str) -> Path:
        if not valid_draft_id(draft_id):
            raise DataError(f"{draft_id!r} is not a saved-work id (letters, digits, - and _).")
        return layout.drafts_dir(self.root) / f"{draft_id}.json"

    def save(self, draft: Draft) -> None:
        draft.updated = time.time()
        path = self._draft_path(draft.draft_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_json(path, draft.to_dict())

    def load(self, draft_id: str) -> Draft | None:
        """The saved draft, or None when there is none under that id."""
        try:
            path = self._draft_path(draft_id)
        except DataError:
            return None
        if not path.is_file():
            return None
        data = files.read_json(path)
        table = TableRef.from_dict(data["table"]) if data.get("table") else None
        return Draft(
            draft_id=draft_id,
            table=table,
            schema=data.get("schema"),
            spec=data.get("spec"),
            preset=data.get("preset"),
            updated=float(data.get("updated") or 0.0),
        )

    def put_table(self, content: bytes, file_name: str) -> str:
        """Keep an upload's bytes once, by content; returns the digest that names them."""
        digest = hashlib.sha256(content).hexdigest()
        folder = layout.tables_dir(self.root) / digest
        target = folder / _safe_file_name(file_name)
        if not target.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            files.write_with(target, lambda tmp: tmp.write_bytes(content))
        return digest

    def read(self, ref: TableRef) -> LoadedTable:
        """The table a reference names, read the way it was read first (a server path
        streams again when it is too large to hold)."""
        if ref.path:
            from sattn_dash.tabular.paths import data_root
            from sattn_dash.tabular.stream import read_path_table

            return read_path_table(ref.path, data_root())
        return LoadedTable(self._read_file(ref), None, "")

    def _read_file(self, ref: TableRef) -> pd.DataFrame:
        if ref.sample:
            return load_sample(ref.sample)
        if not ref.digest or not _HASH_PATTERN.match(ref.digest):
            raise DataError("The saved work names no table; load one on the Data page.")
        path = layout.tables_dir(self.root) / ref.digest / _safe_file_name(ref.file_name or "")
        if not path.is_file():
            raise DataError(
                f"The table '{ref.name}' of the saved work is no longer in the workspace; "
                "upload it again on the Data page."
            )
        return read_table(path, ref.file_name, sheet=ref.sheet)


def _safe_file_name(name: str) -> str:
    """The upload's own name without any folder part (a name is never a path)."""
    base = Path(str(name).replace("\\", "/")).name.strip()
    return base if base and base not in (".", "..") else "table"
