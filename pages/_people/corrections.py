"""Corrections on the People page (as button callbacks) and the forms that make them.

Every correction goes through :mod:`facecore.people.edits` into the cache file, from an ``on_click``
callback, by the persons' stable ids (:class:`facecore.Persons`): it acts on the persons the user was
looking at when they clicked, and the page run that follows draws them again with it
(``pages._people.cached.people_state`` is keyed by the stored corrections). A person keeps its id
through every correction, so the panel, the pickers and a picked target stay on the same person; a
callback remembers what it did (shown once, with an undo button).
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
    Persons,
    list_corrections,
    mark_different,
    merge_ids,
    move_to,
    name_id,
    photo_ids,
    propose_split,
    split_parts,
    undo_correction,
)
from pages._shared.cached import crops, store
from pages._shared.widgets import gallery

DONE, FAILED = "people_done", "people_failed"
#: Move targets besides the other persons (ids start at 1).
NEW_PERSON, NOBODY = -2, -1
#: Faces shown per split part.
PART_FACES = 12


# ----------------------------------------------------------------- corrections (button callbacks)


def _record(correct: Callable[[], Action], clear: Sequence[str] = ()) -> None:
    """Run one correction: remember what it was (or why it was refused)."""
    try:
        action = correct()
    except FaceCoreError as exc:
        st.session_state[FAILED] = str(exc)
        return
    st.session_state[DONE] = f"Saved: {action.summary}."
    for key in clear:  # face picks made for this correction (set, not deleted:
        st.session_state[key] = []  # the browser keeps showing a deleted widget value)


def _rename(fs: FaceSet, persons: Persons, person_id: int) -> None:
    name = st.session_state.get("people_name", "")
    _record(lambda: name_id(store(), fs, persons, person_id, name))


def merge(fs: FaceSet, persons: Persons, ids: list[int]) -> None:
    _record(lambda: merge_ids(store(), fs, persons, ids), ["people_merge_with"])


def different(fs: FaceSet, persons: Persons, a: int, b: int) -> None:
    _record(lambda: mark_different(store(), fs, persons, a, b))


def _split(fs: FaceSet, persons: Persons, parts: tuple[np.ndarray, ...]) -> None:
    _record(lambda: split_parts(store(), fs, persons, parts))  # the largest part keeps the id


def _move(fs: FaceSet, persons: Persons, prefix: str) -> None:
    """Move the faces picked in ``{prefix}_pick`` to the person (id) picked in ``{prefix}_to``."""
    state = st.session_state
    picked, target = np.asarray(state.get(f"{prefix}_pick") or [], np.int64), state.get(f"{prefix}_to")
    to = {NEW_PERSON: "new", NOBODY: None}.get(target, target)
    _record(lambda: move_to(store(), fs, persons, picked, to), [f"{prefix}_pick"])


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


def label_size(persons: Persons) -> Callable[[int], str]:
    """How a picker shows a person, by id: ``"Person 12 · 19 faces"``, ``"Ada · Person 12 · 19 faces"``
    (typing "Person 5" finds Person 5 and 51, never Person 35: the pickers match what is typed as written)."""
    sizes = persons.grouping.sizes

    def show(pid: int) -> str:
        i = persons.index(pid)
        name = f"{persons.names[i]} · " if persons.names[i] else ""
        return f"{name}Person {pid} · {sizes[i]} faces"

    return show


def _keep_valid(key: str, options: Sequence[int]) -> None:
    """Drop picks that are not persons any more (merged, or gone at this strictness); the others stay."""
    if key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[key] or [] if v in set(options)]


def _faces_of(fs: FaceSet, persons: Persons, reps: np.ndarray, ids: Sequence[int]) -> None:
    """The typical face of each picked person, with its name and size, next to the picker."""
    ids = [i for i in ids if i >= 0]
    if ids:
        show = label_size(persons)
        gallery(fs, [int(reps[persons.index(i)]) for i in ids], [show(i) for i in ids], width=72)


def rename_form(fs: FaceSet, persons: Persons, person_id: int) -> None:
    state = st.session_state
    name = persons.names[persons.index(person_id)]
    if state.get("people_name_for") != (person_id, name):  # another person: show its name
        state["people_name"] = name or ""
        state["people_name_for"] = (person_id, name)
    st.text_input("Name", key="people_name", max_chars=100, placeholder="e.g. Grandma Ada",
                  help=f"The name of Person {person_id}: it stays with this person through corrections, "
                  "reloads and any strictness.")  # fmt: skip
    st.button("Save the name", key="people_rename", icon=":material/badge:", on_click=_rename,
              args=(fs, persons, person_id))  # fmt: skip


def merge_form(fs: FaceSet, persons: Persons, reps: np.ndarray, person_id: int) -> None:
    others = [int(p) for p in persons.ids if p != person_id]
    _keep_valid("people_merge_with", others)
    picked = st.multiselect("The same person as", others, key="people_merge_with", format_func=label_size(persons),
                            placeholder="Pick persons", filter_mode="contains")  # fmt: skip
    _faces_of(fs, persons, reps, picked)
    st.button(
        "Merge into one person", key="people_merge", icon=":material/merge:", disabled=not picked,
        on_click=merge, args=(fs, persons, [person_id, *picked]),
        help=f"The picked persons become Person {person_id} (undo separates them again).",
    )  # fmt: skip


def split_form(fs: FaceSet, persons: Persons, person_id: int) -> None:
    grouping = persons.grouping
    lo, hi = 0.3, round(grouping.threshold - 0.01, 2)
    if hi <= lo:
        st.caption("The strictness is already at its lowest: pick faces and move them out instead.")
        return
    key = "people_split_threshold"
    if not lo <= st.session_state.get(key, -1) <= hi:
        st.session_state[key] = max(lo, round(grouping.threshold - 0.1, 2))
    t = st.slider("Stricter for this person", lo, hi, step=0.01, format="%.2f", key=key,
                  help="This person's faces are grouped again at a stricter distance (propose_split).")  # fmt: skip
    parts = propose_split(fs.encodings, grouping, persons.index(person_id), photo_ids(fs), threshold=t)
    if len(parts) < 2:
        st.caption("At this strictness the faces stay together: try a stricter value, or move faces out.")
        return
    st.caption(f"At {t:.2f} these faces form {len(parts)} groups (largest first, {PART_FACES} faces each shown):")
    for i, part in enumerate(parts[:6]):
        gallery(fs, part[:PART_FACES], [f"group {i + 1}"] * min(len(part), PART_FACES), width=64)
    st.button(f"Split into {len(parts)} persons", key="people_split", icon=":material/call_split:",
              on_click=_split, args=(fs, persons, parts),
              help=f"The first group stays Person {person_id}; each other group becomes a new person.")  # fmt: skip


def move_form(fs: FaceSet, persons: Persons, reps: np.ndarray, rows: np.ndarray, prefix: str, person_id: int) -> None:
    """Pick faces among ``rows`` (numbered as in their gallery) and move them to another person (by id)."""
    number = {int(r): i + 1 for i, r in enumerate(rows)}
    options = [int(r) for r in rows]
    _keep_valid(f"{prefix}_pick", options)
    picked = st.multiselect("Faces (numbers as in the pictures above)", options, key=f"{prefix}_pick",
                            format_func=lambda r: f"{number[r]} · {fs.faces[r].name}")  # fmt: skip
    others = [int(p) for p in persons.ids if p != person_id]
    targets = ([NEW_PERSON, NOBODY] if person_id >= 0 else []) + others
    if not targets:
        st.caption("There is no person to move them to yet.")
        return
    if st.session_state.get(f"{prefix}_to") not in targets:
        st.session_state[f"{prefix}_to"] = targets[0]
    special = {NEW_PERSON: "A new person of their own", NOBODY: "Nobody: not this person (unsorted)"}
    sized = label_size(persons)
    face, pick = st.columns([1, 4], vertical_alignment="bottom")
    with pick:
        to = st.selectbox("Move them to", targets, key=f"{prefix}_to", filter_mode="contains",
                          format_func=lambda p: special.get(p) or sized(p))  # fmt: skip
    if to is not None and to >= 0:
        face.image(crops(fs, [int(reps[persons.index(to)])]), width=56)
    st.button("Move", key=f"{prefix}_move", icon=":material/move_item:", disabled=not picked,
              on_click=_move, args=(fs, persons, prefix))  # fmt: skip
