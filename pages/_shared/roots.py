"""Which folders this server may read (:mod:`facecore.photos.roots`), from how it is reached: its address
(``server.address``) and whether a password is set (``pages/_shared/auth.py``)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from facecore import AllowedRoots, roots_from_env
from pages._shared import auth


def server_roots() -> AllowedRoots:
    """The allowed folders of this server and why: the home folder on a localhost server without a password,
    else ``FACECORE_ALLOWED_ROOTS`` (set, it always decides); the shared dataset in every case."""
    return roots_from_env(st.get_option("server.address"), auth.password_set())


def allowed_roots() -> list[Path]:
    """The folders this server may read, resolved."""
    return list(server_roots().roots)
