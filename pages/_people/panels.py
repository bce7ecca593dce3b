"""Pieces of the People page besides the corrections: a person's downloads, merge suggestions, quality."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from facecore import FaceSet, MergeSuggestion, Persons, Scores, SweepPoint, quality_bar
from pages._people.charts import sweep_figure
from pages._people.corrections import different, merge, move_form
from pages._shared.cached import crops
from pages._shared.pictures import person_zip
from pages._shared.roots import allowed_roots
from pages._shared.widgets import gallery


def person_zip_for(ds, rows: np.ndarray) -> bytes:
    """One person's zip: their face crops from the cache and, for a server folder, their photos
    (read only inside that folder or the allowed roots it was read under, and only if unchanged)."""
    fs = ds.faceset
    return person_zip(fs, rows, crops(fs, rows, keep=False), ds.folder, allowed_roots())[0]


def person_downloads(ds, rows: np.ndarray, label: str) -> None:
    """Their faces (crops from the cache) and, for a server folder, their photos, as one zip."""
    what = "faces and photos" if ds.folder else "faces"
    st.download_button(
        f"Their {what} (zip)",
        lambda: person_zip_for(ds, rows),
        f"{label.replace(' ', '_')}.zip", "application/zip", key="dl_person_zip", icon=":material/folder_zip:",
        help="One picture per face (cut out of its photo)" + (" and each photo itself." if ds.folder else "."),
    )  # fmt: skip


def low_quality(fs: FaceSet, persons: Persons, reps: np.ndarray, at_most: int) -> None:
    """The faces below the quality bar ("unsorted · low quality"): they join no person until the user moves them."""
    rows = persons.grouping.low_quality
    st.subheader(f"Unsorted · low quality ({len(rows):,})", divider="gray")
    if not len(rows):
        st.caption(f"No face is below the quality bar ({quality_bar().describe()}).")
        return
    st.caption(f"Faces too small, blurred, turned away or uncertain to trust (below the quality bar: "
               f"{quality_bar().describe()}). They stay searchable and are shown everywhere, but never start or join "
               "a person on their own: move the ones you recognise.")  # fmt: skip
    shown = rows[:at_most]
    gallery(fs, shown, [f"{i + 1} · {fs.faces[r].name.rsplit('/', 1)[-1]}" for i, r in enumerate(shown)], width=72)
    if persons.n_persons:
        with st.expander("Put low-quality faces in a person", key="people_low_quality_box"):
            move_form(fs, persons, reps, shown, "people_low_quality", -1)


def suggestions(fs: FaceSet, persons: Persons, reps: np.ndarray, pairs: Sequence[MergeSuggestion]):
    """Pairs of persons that may be one, closest first, each with one-click merge or "different people"."""
    if not pairs:
        st.caption("No two persons look alike enough to suggest.")
        return
    sizes = persons.grouping.sizes
    for i, s in enumerate(pairs):
        a, b = int(persons.ids[s.a]), int(persons.ids[s.b])
        faces, text = st.columns([1, 4], vertical_alignment="center")
        faces.image(crops(fs, [reps[s.a], reps[s.b]]), width=72)
        text.markdown(f"**{persons.label(s.a)}** ({sizes[s.a]} faces) and "
                      f"**{persons.label(s.b)}** ({sizes[s.b]} faces)")  # fmt: skip
        text.caption(f"Average distance between their faces {s.distance:.3f} (they join below "
                     f"{persons.grouping.threshold:.2f})")  # fmt: skip
        buttons = text.container(horizontal=True)
        buttons.button("Same person: merge", key=f"people_sugg_merge_{i}", icon=":material/merge:",
                       on_click=merge, args=(fs, persons, [a, b]))  # fmt: skip
        buttons.button("Different people", key=f"people_sugg_diff_{i}", icon=":material/block:",
                       on_click=different, args=(fs, persons, a, b))  # fmt: skip


def quality(scores: Scores | None, sweep: Sequence[SweepPoint] | None, km: Scores | None, k: int, threshold: float):
    """How well the persons match the folders, against the Clusters page's groups, and where to set the slider."""
    if scores is None or sweep is None:
        st.caption("When the photos sit in one folder per person (folder/person_name/photo.jpg), this section "
                   "measures how well the persons found match those folders.")  # fmt: skip
        return
    st.caption(
        "Folders are taken as the truth here. *Pairs right*: of all pairs of faces, how well “put together” "
        "matches “same folder” (pairwise F). *Faces right*: per face, how much of its person is its folder and "
        "the other way round (BCubed F). 1 is perfect. Your corrections count."
    )
    m = st.columns(4)
    m[0].metric("People in the folders", f"{scores.true_persons:,}")
    m[1].metric("Persons found", f"{scores.groups:,}", help=f"{scores.unsorted:,} faces are alone or unsorted.")
    delta = None if km is None else f"{scores.pairwise_f - km.pairwise_f:+.2f} vs the Clusters page"
    m[2].metric("Pairs right", f"{scores.pairwise_f:.3f}", delta, help="Pairwise F; precision "
                f"{scores.pairwise_precision:.3f}, recall {scores.pairwise_recall:.3f}.")  # fmt: skip
    m[3].metric("Faces right", f"{scores.bcubed_f:.3f}", help="BCubed F; precision "
                f"{scores.bcubed_precision:.3f}, recall {scores.bcubed_recall:.3f}.")  # fmt: skip
    best = max(sweep, key=lambda p: p.scores.pairwise_f)
    st.plotly_chart(sweep_figure(sweep, threshold, km.pairwise_f if km else None, k), key="people_sweep",
                    config={"displaylogo": False})  # fmt: skip
    st.caption(
        f"Without corrections, these folders are matched best at strictness {best.threshold:.2f} "
        f"(pairs right {best.scores.pairwise_f:.3f}, {best.persons} persons). "
        + ("" if km is None else f"The Clusters page's {k} groups (K-means) get {km.pairwise_f:.3f}: "
           "clusters are not people.")
    )  # fmt: skip
