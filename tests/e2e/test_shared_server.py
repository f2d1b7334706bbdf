"""Safe defaults for a shared server, checked against the real `streamlit run app.py`:
XSRF protection is on (an upload without the session's token is refused), other sites
get no CORS pass, and the Data page states the upload cap and the table limits."""

from __future__ import annotations

import http.cookiejar
import secrets
import urllib.error
import urllib.request

import pytest

from sattn_dash.tabular import ReadLimits
from tests.e2e.server import wait_for_app

pytestmark = pytest.mark.e2e

XSRF_COOKIE = "_streamlit_xsrf"


def _put_upload(url: str, cookies: http.cookiejar.CookieJar, token: str | None) -> int:
    """PUT a file to the upload endpoint as a browser would; returns the status code."""
    boundary = secrets.token_hex(8)
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\na,b\n1,2\n\r\n--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        f"{url}/_stcore/upload_file/no-such-session/file-1",
        data=body,
        method="PUT",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    if token is not None:
        request.add_header("X-Xsrftoken", token)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_uploads_need_the_sessions_xsrf_token(app_server):
    cookies = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
    with opener.open(f"{app_server}/_stcore/health", timeout=10) as health:
        assert health.status == 200
    token = next(c.value for c in cookies if c.name == XSRF_COOKIE)

    assert _put_upload(app_server, http.cookiejar.CookieJar(), None) == 403  # no cookie
    assert _put_upload(app_server, cookies, None) == 403  # cookie, no header
    forged = "2|" + "|".join([secrets.token_hex(4), secrets.token_hex(32), "1700000000"])
    assert _put_upload(app_server, cookies, forged) == 403
    # With the token, XSRF passes and only the made-up session is refused.
    assert _put_upload(app_server, cookies, token) == 400


def test_other_sites_get_no_cors_pass(app_server):
    request = urllib.request.Request(
        f"{app_server}/_stcore/health", headers={"Origin": "https://attacker.example"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        allowed = response.headers.get("Access-Control-Allow-Origin")
    assert allowed not in ("*", "https://attacker.example")


def test_the_data_page_states_the_limits_and_a_real_upload_passes_xsrf(
    page, app_server, artifacts, tmp_path
):
    page.goto(f"{app_server}/data")
    wait_for_app(page)
    stated = page.get_by_text("Limits on this server")
    stated.wait_for()
    text = stated.inner_text()
    assert "200 MB per file" in text
    assert (
        f"{ReadLimits().max_rows:,} rows" in text
        and f"{ReadLimits().max_columns:,} columns" in text
    )
    table = tmp_path / "small.csv"
    table.write_text("x,y\n1,a\n2,b\n3,a\n4,b\n")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(table))
    wait_for_app(page)
    page.get_by_text("What to predict").wait_for()  # the browser's upload carried the token
    page.screenshot(path=artifacts / "22-data-limits.png", full_page=True)
