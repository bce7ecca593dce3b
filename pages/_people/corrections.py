"""Corrections on the People page (as button callbacks) and the forms that make them.

Every correction goes through :mod:`facecore.people.corrections` into the cache
file, from an ``on_click`` callback: it acts on the grouping the user was
looking at when they clicked, and the page run that follows draws the
persons again with it (``pages._people.cached.people_state`` is keyed by the stored
corrections). A callback remembers what it did (shown once, with an undo
button) and a face to follow, so the panel stays on the same person after
the persons are numbered again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
import streamlit as st

from facecore import (
    Action,
    FaceCoreError,
    FaceSet,
    Grouping,
    anchor_rows,
    different_people,
    list_corrections,
    merge_persons,
    move_faces,
    name_person,
    not_this_person,
    photo_ids,
    propose_split,
    split_person,
    undo_correction,
)
from pages._shared.cached import store
from pages._shared.views import person_label
from pages._shared.widgets import gallery

DONE, FAILED, FOLLOW = "people_done", "people_failed", "people_follow"
#: Move targets besides the other persons.
NEW_PERSON, NOBODY = -2, -1
#: Faces shown per split part.
PART_FACES = 12

Names = Sequence[str | None]


# ----------------------------------------------------------------- corrections (button callbacks)


def _record(correct: Callable[[], Action], follow: int | None = None, clear: Sequence[str] = ()) -> None:
    """Run one correction: remember what it was (or why it was refused) and the face to follow."""
    try:
        action = correct()
    except FaceCoreError as exc:
        st.session_state[FAILED] = str(exc)
        return
    st.session_state[DONE] = f"Saved: {action.summary}."
    if follow is not None:
        st.session_state[FOLLOW] = int(follow)
    for key in clear:  # selections that named faces or persons of the old numbering (set, not deleted:
        st.session_state[key] = []  # the browser keeps showing a deleted widget value)


def _rename(fs: FaceSet, grouping: Grouping, person: int, follow: int) -> None:
    name = st.session_state.get("people_name", "")
    _record(lambda: name_person(store(), fs, grouping, person, name), follow)


def merge(fs: FaceSet, grouping: Grouping, persons: list[int], follow: int) -> None:
    _record(lambda: merge_persons(store(), fs, grouping, persons), follow, ["people_merge_with"])


def mark_different(fs: FaceSet, grouping: Grouping, a: int, b: int, follow: int) -> None:
    _record(lambda: different_people(store(), fs, grouping, a, b), follow)


def _split(fs: FaceSet, parts: tuple[np.ndarray, ...]) -> None:
    follow = int(anchor_rows(fs.encodings, parts[0], 1)[0])  # stay with the largest part
    _record(lambda: split_person(store(), fs, parts), follow)


def _move(fs: FaceSet, grouping: Grouping, rows: np.ndarray, prefix: str) -> None:
    """Move the faces picked in ``{prefix}_pick`` to the target of ``{prefix}_to``."""
    state = st.session_state
    picked, target = np.asarray(state.get(f"{prefix}_pick") or [], np.int64), state.get(f"{prefix}_to")
    rest = np.setdiff1d(rows, picked)
    follow = int(anchor_rows(fs.encodings, rest, 1)[0]) if len(rest) else None
    if target == NEW_PERSON:
        if not len(rest):
            state[FAILED] = "All of this person's faces are picked: pick only the ones that are someone else."
            return
        correct = lambda: split_person(store(), fs, [picked, rest])  # noqa: E731
    elif target == NOBODY:
        correct = lambda: not_this_person(store(), fs, grouping, picked)  # noqa: E731
    else:
        correct = lambda: move_faces(store(), fs, grouping, picked, target)  # noqa: E731
    _record(correct, follow, [f"{prefix}_pick"])


def _undo(fs: FaceSet) -> None:
    undone = undo_correction(store(), fs.settings_key)
    st.session_state[DONE] = f"Undone: {undone.summary}." if undone else "Nothing left to undo."


def notices_and_undo(fs: FaceSet) -> None:
    """What the last correction did (or why it was refused), and the undo of the last correction.

    All in one container, present on every run: the notices come and go without moving what follows
    (Streamlit would otherwise take the tabs and expanders below for new ones and reset them).
    """
    box = st.container()
    if done := st.session_state.pop(DONE, None):
        box.success(done, icon=":material/check:")
    if failed := st.session_state.pop(FAILED, None):
        box.error(failed)
    actions = list_corrections(store(), fs.settings_key)
    if actions:
        box.button(
            f"Undo: {actions[0].summary}", key="people_undo", icon=":material/undo:", on_click=_undo, args=(fs,),
            help="Removes your last correction; the persons are grouped again without it.",
        )  # fmt: skip


def history(fs: FaceSet) -> None:
    """Every stored correction for these encoder settings, newest first."""
    actions = list_corrections(store(), fs.settings_key)
    with st.expander(f"Your corrections ({len(actions)})", key="people_history"):
        if not actions:
            st.caption("None yet. Names, merges, splits and moves you make are saved in the cache file.")
            return
        st.dataframe(
            {
                "when": [datetime.fromtimestamp(a.created).strftime("%Y-%m-%d %H:%M") for a in actions],
                "what": [a.summary for a in actions],
            },
            hide_index=True,
        )
        st.caption("Saved with the face encodings (keyed by photo content, not by file name); deleting these "
                   "photos' encodings on the Photos page deletes them too.")  # fmt: skip


# ----------------------------------------------------------------- one person


def _label_size(grouping: Grouping, names: Names) -> Callable[[int], str]:
    sizes = grouping.sizes
    return lambda p: f"{person_label(p, names)} · {sizes[p]} faces"


def _keep_valid(key: str, options: Sequence[int]) -> None:
    """Drop picks that are not options any more (the persons were numbered again)."""
    if key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[key] or [] if v in set(options)]


def rename_form(fs: FaceSet, grouping: Grouping, names: Names, person: int, follow: int) -> None:
    state = st.session_state
    if state.get("people_name_for") != (person, names[person]):  # another person: show its name
        state["people_name"] = names[person] or ""
        state["people_name_for"] = (person, names[person])
    st.text_input("Name", key="people_name", max_chars=100, placeholder="e.g. Grandma Ada",
                  help="Saved on this person's most typical faces, so the name follows the person at any "
                  "strictness. Giving two persons the same name makes them one person.")  # fmt: skip
    st.button("Save the name", key="people_rename", icon=":material/badge:", on_click=_rename,
              args=(fs, grouping, person, follow))  # fmt: skip


def merge_form(fs: FaceSet, grouping: Grouping, names: Names, person: int, follow: int) -> None:
    others = [p for p in range(grouping.n_persons) if p != person]
    _keep_valid("people_merge_with", others)
    picked = st.multiselect("The same person as", others, key="people_merge_with",
                            format_func=_label_size(grouping, names), placeholder="Pick persons")  # fmt: skip
    st.button(
        "Merge into one person", key="people_merge", icon=":material/merge:", disabled=not picked,
        on_click=merge, args=(fs, grouping, [person, *picked], follow),
        help="Saved as 'these faces are the same person' on each person's most typical faces.",
    )  # fmt: skip


def split_form(fs: FaceSet, grouping: Grouping, person: int) -> None:
    lo, hi = 0.3, round(grouping.threshold - 0.01, 2)
    if hi <= lo:
        st.caption("The strictness is already at its lowest: pick faces and move them out instead.")
        return
    key = "people_split_threshold"
    if not lo <= st.session_state.get(key, -1) <= hi:
        st.session_state[key] = max(lo, round(grouping.threshold - 0.1, 2))
    t = st.slider("Stricter for this person", lo, hi, step=0.01, format="%.2f", key=key,
                  help="This person's faces are grouped again at a stricter distance (propose_split).")  # fmt: skip
    parts = propose_split(fs.encodings, grouping, person, photo_ids(fs), threshold=t)
    if len(parts) < 2:
        st.caption("At this strictness the faces stay together: try a stricter value, or move faces out.")
        return
    st.caption(f"At {t:.2f} these faces form {len(parts)} groups (largest first, {PART_FACES} faces each shown):")
    for i, part in enumerate(parts[:6]):
        gallery(fs, part[:PART_FACES], [f"group {i + 1}"] * min(len(part), PART_FACES), width=64)
    st.button(f"Split into {len(parts)} persons", key="people_split", icon=":material/call_split:",
              on_click=_split, args=(fs, parts), help="Saved as 'different people' between the groups.")  # fmt: skip


def move_form(fs: FaceSet, grouping: Grouping, names: Names, rows: np.ndarray, prefix: str, person: int) -> None:
    """Pick faces among ``rows`` (numbered as in their gallery) and move them to another person."""
    number = {int(r): i + 1 for i, r in enumerate(rows)}
    options = [int(r) for r in rows]
    _keep_valid(f"{prefix}_pick", options)
    picked = st.multiselect("Faces (numbers as in the pictures above)", options, key=f"{prefix}_pick",
                            format_func=lambda r: f"{number[r]} · {fs.faces[r].name}")  # fmt: skip
    targets = ([NEW_PERSON, NOBODY] if person >= 0 else []) + [p for p in range(grouping.n_persons) if p != person]
    if not targets:
        st.caption("There is no person to move them to yet.")
        return
    if st.session_state.get(f"{prefix}_to") not in targets:
        st.session_state[f"{prefix}_to"] = targets[0]
    special = {NEW_PERSON: "A new person of their own", NOBODY: "Nobody: not this person (unsorted)"}
    sized = _label_size(grouping, names)
    st.selectbox("Move them to", targets, key=f"{prefix}_to", format_func=lambda p: special.get(p) or sized(p))
    st.button("Move", key=f"{prefix}_move", icon=":material/move_item:", disabled=not picked,
              on_click=_move, args=(fs, grouping, np.asarray(rows), prefix))  # fmt: skip
