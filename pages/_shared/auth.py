"""An optional password gate for shared demos: nothing of the app is drawn until the session gives the password.

The password lives in ``.streamlit/secrets.toml`` (never committed)::

    [auth]
    password = "a long passphrase"
    # or, to keep no clear text on the server, its PBKDF2 hash:
    # password_hash = "pbkdf2_sha256$600000$<salt hex>$<hash hex>"   # python -m pages._shared.auth

No password configured, no gate. Guesses are compared in constant time and
limited twice, in this process: per browser session and for the whole server
(many sessions cannot guess faster than one). The gate is a lock for a demo
shared over a trusted network, not a user system: see SECURITY.md for a login
in front of the app.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
import threading
import time
from collections import deque

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError
from streamlit.runtime.scriptrunner import get_script_run_ctx

#: Attempts allowed in any minute from one browser session, and from all sessions of this server together.
SESSION_ATTEMPTS_PER_MIN = 5
SERVER_ATTEMPTS_PER_MIN = 20
WINDOW_S = 60.0
#: PBKDF2 iterations of a new hash (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
HASH_ITERATIONS = 600_000

_OK = "auth_ok"  # this session gave the right password
_SAVED_ADDRESS = "auth_saved_address"  # the link that brought the visitor, given back after the password


class AttemptLimiter:
    """At most ``per_window`` attempts per key within any ``window_s`` seconds (a sliding window); thread-safe."""

    def __init__(self, per_window: int, window_s: float = WINDOW_S) -> None:
        self.per_window = per_window
        self.window_s = window_s
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, key: str, now: float | None = None) -> float:
        """Seconds until ``key`` may try again (0: it may)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            seen = self._prune(key, now)
            return 0.0 if len(seen) < self.per_window else seen[0] + self.window_s - now

    def record(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._prune(key, now).append(now)

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()

    def _prune(self, key: str, now: float) -> deque[float]:
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        if not seen and len(self._seen) > 10_000:  # sessions come and go: forget idle ones
            self._seen = {k: v for k, v in self._seen.items() if v}
            self._seen[key] = seen
        return seen


#: Shared by every session of this server process (pages are re-run, this module is imported once).
SESSIONS = AttemptLimiter(SESSION_ATTEMPTS_PER_MIN)
SERVER = AttemptLimiter(SERVER_ATTEMPTS_PER_MIN)


def hash_password(password: str, iterations: int = HASH_ITERATIONS) -> str:
    """A ``password_hash`` value for secrets.toml: ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def check_password(given: str, password: str | None = None, password_hash: str | None = None) -> bool:
    """True if ``given`` is ``password`` or matches ``password_hash``; compared in constant time.

    Raises ValueError for a ``password_hash`` that is not ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``.
    """
    if password_hash is not None:
        try:
            scheme, iterations, salt, expected = password_hash.split("$")
            if scheme != "pbkdf2_sha256":
                raise ValueError(scheme)
            digest = hashlib.pbkdf2_hmac("sha256", given.encode(), bytes.fromhex(salt), int(iterations))
            return hmac.compare_digest(digest, bytes.fromhex(expected))
        except ValueError as exc:
            raise ValueError(
                "password_hash must look like pbkdf2_sha256$<iterations>$<salt hex>$<hash hex> "
                "(make one with `python -m pages._shared.auth`)"
            ) from exc
    if password is None:
        return False
    # Hashing both sides first keeps the comparison's time independent of the lengths too.
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), hashlib.sha256(password.encode()).digest())


def _configured() -> dict | None:
    """The ``[auth]`` password settings, or None when no password is configured (no gate)."""
    try:
        auth = st.secrets.get("auth")
    except (FileNotFoundError, StreamlitSecretNotFoundError):
        return None  # no secrets.toml at all
    if not auth:
        return None
    password, password_hash = auth.get("password"), auth.get("password_hash")
    if not password and not password_hash:
        return None  # e.g. only st.login's settings
    return {"password": str(password) if password else None, "password_hash": password_hash or None}


def password_set() -> bool:
    """True when a password gates this server (a shared demo): the home folder is then not readable by default."""
    return _configured() is not None


def _session_key() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def _try(given: str, conf: dict) -> None:
    """One attempt: refused while rate-limited, else counted and checked; sets the session's state and message."""
    session = _session_key()
    wait = max(SESSIONS.wait_s(session), SERVER.wait_s("server"))
    if wait > 0:
        st.session_state["auth_message"] = f"Too many attempts: wait {wait:.0f} s, then try again."
        return
    SESSIONS.record(session)
    SERVER.record("server")
    try:
        ok = check_password(given, conf["password"], conf["password_hash"])
    except ValueError as exc:
        st.session_state["auth_message"] = f"The password setting in .streamlit/secrets.toml cannot be used: {exc}."
        return
    if ok:
        st.session_state[_OK] = True
        st.session_state.pop("auth_message", None)
    else:
        st.session_state["auth_message"] = "Wrong password."


def password_gate() -> None:
    """Stop the page here, showing only a password box, until this session gives the configured password.

    Call it right after ``st.set_page_config``: nothing drawn before it, no
    sidebar, no pages, no dataset loaded from a link. Without a password in
    secrets.toml it does nothing.
    """
    conf = _configured()
    if conf is None or st.session_state.get(_OK):
        if saved := st.session_state.pop(_SAVED_ADDRESS, None):
            st.query_params.from_dict(saved)  # the link (folder, settings) the visitor came with
        return
    if _SAVED_ADDRESS not in st.session_state:
        st.session_state[_SAVED_ADDRESS] = st.query_params.to_dict()
    st.title("Face finder")
    st.caption(":material/lock: This demo is protected by a password.")
    with st.form("auth", clear_on_submit=True):
        given = st.text_input("Password", type="password", key="auth_password")
        submitted = st.form_submit_button("Open", key="auth_submit", type="primary")
    if submitted and given:
        _try(given, conf)
        if st.session_state.get(_OK):
            st.rerun()
    if message := st.session_state.get("auth_message"):
        st.error(message, icon=":material/lock:")
    st.stop()


if __name__ == "__main__":  # python -m pages._shared.auth: print a password_hash line for secrets.toml
    import getpass

    first = getpass.getpass("Password for the demo: ")
    if not first or first != getpass.getpass("Again: "):
        sys.exit("error: the two passwords differ (or are empty)")
    print(f'[auth]\npassword_hash = "{hash_password(first)}"')
