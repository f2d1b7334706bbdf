"""What a ``st.data_editor`` shows after the user's edits, from the edit record Streamlit
keeps under the editor's key. Pure pandas, so the edit logic is testable without a
browser (AppTest cannot type into a data editor)."""

from __future__ import annotations

import pandas as pd


def apply_editor_changes(frame: pd.DataFrame, changes: dict) -> pd.DataFrame:
    """``frame`` with the recorded ``edited_rows``, ``deleted_rows`` and ``added_rows``
    applied, in the order the editor applies them; the index is renumbered 0..n-1."""
    frame = frame.reset_index(drop=True).copy()
    for row, values in (changes.get("edited_rows") or {}).items():
        for column, value in values.items():
            frame.at[int(row), column] = value
    deleted = [int(i) for i in changes.get("deleted_rows") or []]
    frame = frame.drop(index=deleted)
    added = [{c: row.get(c) for c in frame.columns} for row in changes.get("added_rows") or []]
    if added:
        frame = pd.concat([frame, pd.DataFrame(added, columns=frame.columns)], ignore_index=True)
    return frame.reset_index(drop=True)


def role_edits(frame: pd.DataFrame, changes: dict) -> list[tuple[str, str | None]]:
    """``(column, role)`` for every role the user changed in the schema table (an
    emptied cell means "back to the detected role": None)."""
    return [
        (str(frame.at[int(row), "name"]), values["role"] or None)
        for row, values in (changes.get("edited_rows") or {}).items()
        if "role" in values
    ]
