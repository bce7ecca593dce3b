"""While a large set's calibration is measured in the background: the size rule's threshold meanwhile, a line
saying so, and a rerun of the page once the measurement is kept (the threshold then becomes the measured one,
unless the user moved it)."""

from __future__ import annotations

import streamlit as st

from facecore import Calibration, FaceSet, verdict_threshold
from pages._similar.cached import set_measure

_PROVISIONAL = "threshold_provisional"  # (set key, value) of a threshold set before the calibration was ready


def default_threshold(fs: FaceSet, measured: bool, calibration: Calibration | None) -> None:
    """Put the set's default "same person" threshold into the session before its slider is drawn: the measured
    one when ready (``calibration``, None for a set without named people); meanwhile the size rule's, replaced
    once measured if the user has not moved it."""
    state = st.session_state
    default = verdict_threshold(calibration, len(fs))
    provisional = state.get(_PROVISIONAL)
    if measured and provisional is not None:
        if provisional == (fs.key, state.get("threshold")):
            state["threshold"] = default
        del state[_PROVISIONAL]
    if "threshold" not in state:
        state["threshold"] = default
        if not measured:
            state[_PROVISIONAL] = (fs.key, state["threshold"])


@st.fragment(run_every=2.0)
def rerun_when_measured(fs: FaceSet) -> None:
    """A line while the calibration is being measured; the whole page again once it is kept."""
    if set_measure(fs, "calibration")[0]:
        st.rerun(scope="app")
    st.caption(
        ":material/hourglass_top: Measuring what a distance means in these photos, once per set, in the "
        "background; until then the threshold is the one for a collection of this size and the distance chart "
        "is left out."
    )
