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


def _listening(port: int) -> set[str]:
    """The local addresses (hex, as /proc shows them) of the sockets listening on port."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_sattn_dash_app_listens_on_localhost_unless_an_address_is_given(tmp_path):
    """A real `sattn-dash app` is reachable from this machine only; with
    `--server.address 0.0.0.0` (serving others, with sign-in) from anywhere."""
    import os
    import subprocess
    import sys

    from tests.e2e.server import free_port, stop_server, wait_healthy

    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    for extra, expected in (([], "loopback"), (["--server.address", "0.0.0.0"], "any")):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "sattn_dash", "app", "--server.port", str(port), *extra]
            + ["--server.fileWatcherType", "none", "--workspace", str(tmp_path / "ws")],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}", process)
            addresses = _listening(port)
        finally:
            stop_server(process)
        if expected == "loopback":
            assert addresses and addresses <= loopback, addresses
        else:
            assert addresses & {"00000000", "00000000000000000000000000000000"}, addresses
