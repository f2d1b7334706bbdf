"""The dashboard's Streamlit settings are the same however it is started."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKOUT = ROOT / ".streamlit" / "config.toml"  # read by `streamlit run app.py`
PACKAGED = ROOT / "sattn_dash" / "dashboard" / ".streamlit" / "config.toml"  # sattn-dash app


def test_checkout_and_package_use_the_same_streamlit_settings():
    assert tomllib.loads(CHECKOUT.read_text()) == tomllib.loads(PACKAGED.read_text())


def test_shared_server_defaults_are_safe():
    server = tomllib.loads(PACKAGED.read_text())["server"]
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert 0 < server["maxUploadSize"] <= 200
