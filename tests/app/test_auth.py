"""Private by default: the server binds localhost, and the optional password gate (pages/_shared/auth.py) in AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages._shared import auth as _auth

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    # The limits are per server process, and every AppTest runs in this one.
    _auth.SESSIONS.reset()
    _auth.SERVER.reset()


def gated_app(**auth: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.secrets["auth"] = auth
    return at.run()


def submit(at: AppTest, password: str) -> AppTest:
    at.text_input(key="auth_password").set_value(password)
    return at.button(key="auth_submit").click().run()


def shows_the_app(at: AppTest) -> bool:
    return any(w.key == "folder_path" for w in at.text_input)


def test_the_server_listens_on_localhost_only() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] in ("localhost", "127.0.0.1")


def test_without_a_password_there_is_no_gate() -> None:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception
    assert shows_the_app(at)
    assert not any(w.key == "auth_password" for w in at.text_input)


def test_the_gate_shows_only_the_password_box() -> None:
    at = gated_app(password=PASSWORD)
    assert not at.exception
    assert [w.key for w in at.text_input] == ["auth_password"]
    assert [b.key for b in at.button] == ["auth_submit"]
    assert len(at.sidebar.children) == 0  # no sidebar: no cache path, no dataset, no menu
    assert not at.error and not at.info and not at.metric
    assert [t.value for t in at.title] == ["Face finder"]


def test_a_wrong_password_is_refused_with_a_message_and_the_right_one_opens_the_app() -> None:
    at = submit(gated_app(password=PASSWORD), "wrong")
    assert not at.exception
    assert at.error[0].value == "Wrong password."
    assert not shows_the_app(at)
    at = submit(at, PASSWORD)
    assert not at.exception
    assert shows_the_app(at) and not any(w.key == "auth_password" for w in at.text_input)
    at.run()  # stays open for the session
    assert shows_the_app(at)


def test_a_password_hash_works_and_a_broken_one_keeps_the_gate_closed() -> None:
    at = submit(gated_app(password_hash=_auth.hash_password(PASSWORD, iterations=1_000)), PASSWORD)
    assert shows_the_app(at)
    at = submit(gated_app(password_hash="sha1$abc"), PASSWORD)
    assert not shows_the_app(at)
    assert "cannot be used" in at.error[0].value and "pbkdf2_sha256$" in at.error[0].value


def test_a_session_gets_a_few_attempts_per_minute() -> None:
    at = gated_app(password=PASSWORD)
    for _ in range(_auth.SESSION_ATTEMPTS_PER_MIN):
        at = submit(at, "wrong")
        assert at.error[0].value == "Wrong password."
    at = submit(at, PASSWORD)  # even the right password waits: it is not checked at all
    assert at.error[0].value.startswith("Too many attempts: wait")
    assert not shows_the_app(at)


def test_many_sessions_together_get_a_few_attempts_per_minute() -> None:
    sessions = -(-_auth.SERVER_ATTEMPTS_PER_MIN // _auth.SESSION_ATTEMPTS_PER_MIN)
    for _ in range(sessions):
        at = gated_app(password=PASSWORD)
        for _ in range(_auth.SESSION_ATTEMPTS_PER_MIN):
            at = submit(at, "wrong")
    at = submit(gated_app(password=PASSWORD), PASSWORD)  # a new session, right password, server budget spent
    assert at.error[0].value.startswith("Too many attempts")
    assert not shows_the_app(at)


def test_the_limit_is_a_sliding_minute() -> None:
    limiter = _auth.AttemptLimiter(3, window_s=60)
    for t in (0, 10, 20):
        assert limiter.wait_s("s", now=t) == 0
        limiter.record("s", now=t)
    assert limiter.wait_s("s", now=30) == 30  # the attempt at 0 s leaves the window at 60 s
    assert limiter.wait_s("other", now=30) == 0
    assert limiter.wait_s("s", now=60) == 0


def test_a_link_keeps_its_folder_through_the_gate(tmp_path: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.secrets["auth"] = {"password": PASSWORD}
    at.query_params["folder"] = str(tmp_path)  # outside the allowed roots: refused, but only after the password
    at.run()
    assert not at.error and not at.warning
    at = submit(at, PASSWORD)
    assert not at.exception
    said = [e.value for e in (*at.error, *at.warning)]
    assert any("The folder in the page address was not loaded" in s for s in said), said


def test_check_password_compares_exactly() -> None:
    assert _auth.check_password(PASSWORD, password=PASSWORD)
    assert not _auth.check_password(PASSWORD + " ", password=PASSWORD)
    assert not _auth.check_password("", password=PASSWORD)
    assert not _auth.check_password(PASSWORD)  # nothing configured refuses, never accepts
