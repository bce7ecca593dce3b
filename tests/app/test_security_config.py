"""The hardened Streamlit settings SECURITY.md documents are the ones in .streamlit/config.toml."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from facecore import settings as S

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

PROJECT = Path(__file__).resolve().parents[2]


def test_streamlit_config_is_hardened() -> None:
    config = tomllib.loads((PROJECT / ".streamlit" / "config.toml").read_text())
    server, browser, client = config["server"], config.get("browser", {}), config.get("client", {})
    assert server["enableXsrfProtection"] is True
    assert server.get("enableCORS", True) is True  # false would send Access-Control-Allow-Origin: *
    assert server.get("enableStaticServing", False) is False
    assert browser["gatherUsageStats"] is False
    assert client.get("showErrorDetails") in ("type", "none")  # no tracebacks in the browser
    assert client.get("toolbarMode") in ("minimal", "viewer")
    # an upload at the limit must fit what a zip may unpack to
    assert 0 < server["maxUploadSize"] * 2**20 <= S.ZIP_MAX_TOTAL_BYTES


def test_login_secrets_can_never_be_committed() -> None:
    out = subprocess.run(["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=PROJECT)
    assert out.returncode == 0, ".streamlit/secrets.toml (st.login client secret) must be in .gitignore"
