"""Every analysis table can be downloaded as CSV."""

from __future__ import annotations

import pandas as pd


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV without the index, ready for ``st.download_button``."""
    return frame.to_csv(index=False).encode("utf-8")
