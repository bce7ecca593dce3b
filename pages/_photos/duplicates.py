"""The Photos page's near-duplicate photos: the groups side by side, keep one of each (hide the others), undo.

Hidden photos stay on disk and in the cache; the session's set becomes the kept faces
(:func:`pages._shared.jobs.keep_out_hidden`), so every page then counts, searches and groups what is kept.
"""

from __future__ import annotations

import streamlit as st

from facecore import hide_photos, photos_to_hide, unhide_last, unhide_photos
from pages._photos.cached import DUPLICATES_AUTO_UP_TO, groups_for, photo_refs, photo_thumb
from pages._shared import state as _state
from pages._shared.cached import crops, store
from pages._shared.jobs import forget_query, keep_out_hidden
from pages._shared.pictures import PLACEHOLDER

#: Groups shown per page.
GROUPS_PER_PAGE = 8
#: Session key of the user's choice of the photo to keep, ``{group number: name}``.
CHOICES = "duplicates_keep"


def _n(count: int, word: str) -> str:
    """``"1 photo"``, ``"2 photos"``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _pictures(ds: _state.LoadedSet, names: list[str], digest: dict[str, str]) -> list[tuple[bytes, str]]:
    """``(JPEG, size text)`` of each photo: the whole photo from the server folder, else its largest face's crop
    from the cache (uploads, imported encodings), else a grey square."""
    whole = ds.everything
    out = []
    for name in names:
        thumb = photo_thumb(ds.folder, name, digest[name]) if ds.folder and name in digest else None
        if thumb is None:
            rows = [i for i, f in enumerate(whole.faces) if f.digest == digest.get(name) and f.in_photo == 0]
            thumb = (crops(whole, rows[:1])[0] if rows else PLACEHOLDER, "")
        out.append(thumb)
    return out


def _group(ds: _state.LoadedSet, g: int, names: list[str]) -> None:
    """One group: its photos side by side (hidden ones marked), and which to keep."""
    hidden = ds.faceset.hidden
    digest = dict(ds.everything.read)
    cols = st.columns(max(len(names), 4))
    for i, (name, (jpeg, size)) in enumerate(zip(names, _pictures(ds, names, digest), strict=True)):
        state = "hidden" if digest.get(name) in hidden else ("largest" if i == 0 else "")
        cols[i].image(jpeg, caption=" · ".join(t for t in (name, size, state) if t), width=180)
    shown = [i for i, n in enumerate(names) if digest.get(n) not in hidden]
    default = shown[0] if len(shown) == 1 else 0
    choices = st.session_state.setdefault(CHOICES, {})
    index = names.index(choices[g]) if choices.get(g) in names else default
    keep = st.radio("Photo to keep", names, index=index, key=f"dup_keep_{g}", horizontal=True)
    choices[g] = keep


def _apply(ds: _state.LoadedSet, notice: str) -> None:
    """Reload the session's set from its whole set and the cache's hidden marks, with a notice; rerun."""
    before = len(ds.faceset)
    new = keep_out_hidden(ds)
    st.session_state[_state.LOADED] = new
    forget_query()  # a face's row changes when others are hidden
    st.session_state["duplicates_notice"] = f"{notice} Faces in the set: {before:,} → {len(new.faceset):,}."
    st.rerun()


def _actions(ds: _state.LoadedSet, groups: list[list[str]]) -> None:
    """Keep the chosen photo of each group; undo the last hiding; show every hidden photo again."""
    whole = ds.everything
    choices = st.session_state.get(CHOICES, {})
    hide = photos_to_hide(whole, groups, {g: n for g, n in choices.items() if g < len(groups) and n in groups[g]})
    todo = [d for d in hide if d not in ds.faceset.hidden]
    left, mid, right = st.columns(3)
    label = f"Keep one of each group: hide {_n(len(todo), 'photo')}" if todo else "One photo of each group is kept"
    if left.button(label, key="dup_hide", type="primary",
                   disabled=not todo, icon=":material/visibility_off:"):  # fmt: skip
        hide_photos(store(), todo)
        _apply(ds, f"Hid {_n(len(todo), 'photo')} (the files are untouched).")
    n_hidden = ds.faceset.photos_hidden
    if mid.button("Undo the last hiding", key="dup_undo", disabled=not n_hidden, icon=":material/undo:"):
        shown = unhide_last(store(), whole.digests)
        _apply(ds, f"Showing {_n(len(shown), 'photo')} again.")
    again = f"Show the {_n(n_hidden, 'hidden photo')} again" if n_hidden else "No photo is hidden"
    if right.button(again, key="dup_unhide_all", disabled=not n_hidden, icon=":material/visibility:"):
        unhide_photos(store(), ds.faceset.hidden)
        _apply(ds, f"Showing {_n(n_hidden, 'photo')} again.")


def _groups(ds: _state.LoadedSet) -> list[list[str]] | None:
    """The set's near-duplicate groups; None while a large set waits for the user to ask (a button)."""
    whole = ds.everything
    if len(whole.read) > DUPLICATES_AUTO_UP_TO and st.session_state.get("dup_asked") != whole.key:
        st.write(f"Looking for them reads each of the {len(whole.read):,} photos once (minutes the first time; "
                 "the result is kept).")  # fmt: skip
        if st.button("Look for near-duplicate photos", key="dup_look", icon=":material/search:"):
            st.session_state["dup_asked"] = whole.key
            st.rerun()
        return None
    return groups_for(whole.key, len(whole.read), whole, lambda: photo_refs(ds.folder, ds.token, whole.key))


def near_duplicates(ds: _state.LoadedSet) -> None:
    """The section: what a near-duplicate is, the groups a page at a time, keep one of each, undo."""
    st.subheader("Near-duplicate photos", divider="gray")
    st.caption(
        "The same shot saved twice, resized, recompressed or lightly cropped, or burst shots of one moment: "
        "photos whose pixels and faces both match. Keeping one of each hides the others from this set (every "
        "page then leaves them out); the files stay where they are."
    )
    if notice := st.session_state.pop("duplicates_notice", None):
        st.success(notice, icon=":material/check_circle:")
    whole = ds.everything
    groups = _groups(ds)
    if groups is None:
        groups = []
    elif not groups:
        st.write("No near-duplicate photos in this set.")
    else:
        extra = len(photos_to_hide(whole, groups))  # a copy with the kept photo's very bytes is not counted
        st.write(
            f"{_n(len(groups), 'group')} of near-duplicates ({_n(sum(map(len, groups)), 'photo')}): keeping one "
            f"of each leaves out {_n(extra, 'photo')}. The largest photo of each group is kept unless you choose."
        )
        pages = (len(groups) - 1) // GROUPS_PER_PAGE + 1
        page = st.number_input(f"Page of groups (of {pages})", 1, pages, key="dup_page", width=180) if pages > 1 else 1
        first = (page - 1) * GROUPS_PER_PAGE
        for g in range(first, min(first + GROUPS_PER_PAGE, len(groups))):
            with st.container(border=True):
                _group(ds, g, groups[g])
    if groups or ds.faceset.photos_hidden:
        _actions(ds, groups)
    if ds.faceset.photos_hidden:
        hidden = _n(ds.faceset.photos_hidden, "photo")
        st.caption(f"{hidden} of this set hidden: {_n(len(whole), 'face')} in all, {len(ds.faceset):,} used.")
