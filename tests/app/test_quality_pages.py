"""The quality bar in the app (issue 19, item 5), through AppTest on group photos composed from the shared people
with tiny and blurred faces: the Photos page's quality spread and filter show the right faces, and the People
page's "Unsorted · low quality" holds the faces below the bar until one is moved into a person."""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from bench.group_photos import make_photos
from facecore import (
    QUALITY_BAR_ENV,
    EncoderSettings,
    EncodingStore,
    QualityBar,
    encode_images,
    faceset_quality,
    persons_for,
    scan_folder,
)

APP = Path(__file__).resolve().parents[2] / "app.py"
EVERY = EncoderSettings(all_faces=True)
TIMEOUT = 300


@pytest.fixture(scope="module")
def group_set(tmp_path_factory: pytest.TempPathFactory, dataset_dir: Path):
    """12 group photos of 6 shared people, 60 % of the smaller pastes tiny or blurred, encoded every face into a
    cache file of their own: ``(folder, cache path, FaceSet)``."""
    root = tmp_path_factory.mktemp("quality-pages")
    people = sorted(d.name for d in dataset_dir.glob("person_*") if d.is_dir())[6:12]
    make_photos(root / "photos", seed=29, groups=12, dataset=dataset_dir, persons=people, degrade=0.6)
    refs, _ = scan_folder(root / "photos")
    fs = encode_images(refs, EVERY, EncodingStore(root / "cache.sqlite"))
    return root / "photos", root / "cache.sqlite", fs


@pytest.fixture
def setup(group_set, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """This test's own copy of the cache as FACECORE_CACHE, and a bar (set through FACECORE_QUALITY_BAR) under
    which the smallest third of the faces fall; ``(FaceSet, store, bar, low rows)``."""
    folder, src, fs = group_set
    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(src) as a, sqlite3.connect(path) as b:
        a.backup(b)
    monkeypatch.setenv("FACECORE_CACHE", os.fspath(path))
    store = EncodingStore(path)
    size = faceset_quality(store, fs)[:, 0]
    bar = QualityBar(min_size=float(np.quantile(size, 1 / 3)))
    monkeypatch.setenv(QUALITY_BAR_ENV, f"size={bar.min_size!r}")
    low = np.flatnonzero(size < bar.min_size)
    assert 0 < len(low) < len(fs)
    return fs, store, bar, low


def _app(fs, folder: Path, page: str) -> AppTest:
    from pages._shared.state import LoadedSet

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.session_state["loaded"] = LoadedSet(fs, "group photos (test)", EVERY, folder=str(folder))
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _grid(at: AppTest) -> Counter:
    """The captions of the Photos page's face grid (its last picture list)."""
    img = [i for i in at.image if len(i.proto.imgs)][-1]
    return Counter(img.proto.imgs[k].caption for k in range(len(img.proto.imgs)))


def _names(fs, rows) -> Counter:
    return Counter(fs.faces[int(r)].name.rsplit("/", 1)[-1] for r in rows)


def test_the_photos_page_shows_the_quality_spread_and_filters_the_faces(group_set, setup) -> None:
    fs, _, bar, low = setup
    at = _app(fs, group_set[0], "pages/dataset.py")
    assert any(f"{len(low):,} of {len(fs):,} faces below the bar" in e.label for e in at.expander)
    assert any(bar.describe() in c.value for c in at.caption)
    pick = at.selectbox(key="photos_quality_filter")
    pick.set_value("Below the quality bar").run()
    assert _grid(at) == _names(fs, low)
    pick.set_value("At or above the quality bar").run()
    assert _grid(at) == _names(fs, np.setdiff1d(np.arange(len(fs)), low))
    size = faceset_quality(EncodingStore(os.environ["FACECORE_CACHE"]), fs)[:, 0]
    band = next(o for o in pick.options if o.startswith("40-60 px"))
    pick.set_value(band.split(" (")[0]).run()
    assert _grid(at) == _names(fs, np.flatnonzero((size >= 40) & (size < 60)))


def test_low_quality_faces_wait_on_the_people_page_until_moved(group_set, setup) -> None:
    fs, store, _, low = setup
    at = _app(fs, group_set[0], "pages/people.py")
    assert any(h.value == f"Unsorted · low quality ({len(low)})" for h in at.subheader)
    before = persons_for(store, fs)
    assert sorted(before.grouping.low_quality.tolist()) == low.tolist() and (before.grouping.labels[low] < 0).all()
    fid = before.face_ids()
    face, target = next((int(r), int(pid)) for r in low for pid in before.ids  # a person without a face of its photo
                        if not any(fs.faces[i].digest == fs.faces[r].digest for i in np.flatnonzero(fid == pid)))
    at.multiselect(key="people_low_quality_pick").set_value([face]).run()
    at.selectbox(key="people_low_quality_to").set_value(target).run()
    at.button(key="people_low_quality_move").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    after = persons_for(store, fs)
    assert after.face_ids()[face] == target and face not in after.grouping.low_quality
    assert any(h.value == f"Unsorted · low quality ({len(low) - 1})" for h in at.subheader)
