"""The face-quality gate (issue 19, item 5) on group photos composed from the shared people, some of their faces
tiny or blurred (:mod:`bench.group_photos`, ``degrade``): faces below the bar wait in "unsorted · low quality",
join no person until moved, and ``people --json`` lists them by photo, number and box."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.group_photos import make_photos
from facecore import (
    LINK_BAR,
    QUALITY_BAR_ENV,
    EncoderSettings,
    EncodingStore,
    InvalidParameterError,
    QualityBar,
    encode_images,
    faceset_quality,
    group_faces,
    parse_bar,
    passes_bar,
    people_report,
    persons_for,
    photo_ids,
    quality_bar,
)
from facecore.people.edits import move_to

EVERY = EncoderSettings(all_faces=True)


@pytest.fixture(scope="module")
def group_set(tmp_path_factory: pytest.TempPathFactory, dataset_dir: Path):
    """14 group photos of 6 shared people, 60 % of the smaller pastes tiny or blurred, encoded (every face) into a
    cache file of their own; ``(folder, cache path, FaceSet, {photo name: Composite})``."""
    from facecore import scan_folder

    root = tmp_path_factory.mktemp("quality-gate")
    people = sorted(d.name for d in dataset_dir.glob("person_*") if d.is_dir())[:6]
    comps = make_photos(root / "photos", seed=23, groups=14, dataset=dataset_dir, persons=people, degrade=0.6)
    refs, _ = scan_folder(root / "photos")
    fs = encode_images(refs, EVERY, EncodingStore(root / "cache.sqlite"))
    return root / "photos", root / "cache.sqlite", fs, {c.name: c for c in comps}


@pytest.fixture
def store(group_set, tmp_path: Path) -> EncodingStore:
    """This test's own copy of the group set's cache file (persons' ids and moves are written to it)."""
    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(group_set[1]) as a, sqlite3.connect(path) as b:
        a.backup(b)
    return EncodingStore(path)


@pytest.fixture
def bar(group_set, store: EncodingStore) -> QualityBar:
    """A bar under which the smallest third of the faces fall (measured from this set, not assumed)."""
    size = faceset_quality(store, group_set[2])[:, 0]
    assert np.isfinite(size).all()
    return QualityBar(min_size=float(np.quantile(size, 1 / 3)))


def test_faces_below_the_bar_wait_unsorted_and_take_no_part_in_any_person(group_set, store, bar) -> None:
    fs = group_set[2]
    q = faceset_quality(store, fs)
    low = np.flatnonzero(q[:, 0] < bar.min_size)
    assert 0 < len(low) < len(fs)
    ungated = persons_for(store, fs, bar=QualityBar()).grouping
    assert len(ungated.low_quality) == 0 and (ungated.labels[low] >= 0).any()  # without the bar some join persons
    g = persons_for(store, fs, bar=bar).grouping
    assert sorted(g.low_quality.tolist()) == low.tolist()
    assert (g.labels[low] == -1).all()  # in no person
    # the others are grouped as if the low-quality faces were not there at all (no face bridges two persons)
    rest = np.setdiff1d(np.arange(len(fs)), low)
    blurred = np.flatnonzero(~passes_bar(q[rest], LINK_BAR))  # the app's link rule, as persons_for applies it
    alone = group_faces(fs.encodings[rest], photo_ids(fs)[rest], weak=blurred)
    same_alone = alone.labels[:, None] == alone.labels[None, :]
    same_gated = g.labels[rest][:, None] == g.labels[rest][None, :]
    inside = (alone.labels[:, None] >= 0) & (alone.labels[None, :] >= 0)
    assert np.array_equal(same_alone & inside, same_gated & inside)


def test_a_low_quality_face_joins_a_person_only_when_moved_there(group_set, store, bar) -> None:
    fs, comps = group_set[2], group_set[3]
    persons = persons_for(store, fs, bar=bar)
    fid = persons.face_ids()
    who = [comps[f.name].person_at(f.box) for f in fs.faces]
    # a low-quality face of someone who is a person (most of whose faces are in one id)
    pick = next((int(r), int(pid)) for r in persons.grouping.low_quality if who[r] is not None
                for pid in [np.bincount(fid[[i for i, p in enumerate(who) if p == who[r] and fid[i] >= 0]]).argmax()]
                if (fid >= 0).any())  # fmt: skip
    row, pid = pick
    move_to(store, fs, persons, [row], pid)
    after = persons_for(store, fs, bar=bar)
    assert after.face_ids()[row] == pid and row not in after.grouping.low_quality
    assert set(after.grouping.low_quality.tolist()) == set(persons.grouping.low_quality.tolist()) - {row}


def test_people_json_lists_the_low_quality_faces_by_photo_number_and_box(group_set, store, bar) -> None:
    folder, _, fs, _ = group_set
    out = people_report(fs, store=store, bar=bar)
    low = persons_for(store, fs, bar=bar).grouping.low_quality
    entries = {(f.name, f.in_photo, tuple(int(v) for v in f.box)) for f in (fs.faces[r] for r in low)}
    listed = {(e["path"], e["face"], tuple(e["box"])) for e in out["unsorted_low_quality"]}
    assert listed == entries and len(listed) == len(low)
    unsorted = {(e["path"], e["face"], tuple(e["box"])) for e in out["unsorted_faces"]}
    in_persons = {(e["path"], e["face"], tuple(e["box"])) for p in out["persons"] for e in p["faces"]}
    assert listed <= unsorted and not listed & in_persons
    assert out["quality_bar"] == bar.describe() == f"size >= {bar.min_size:g} px"
    # the CLI takes the bar from the environment
    env = {**os.environ, QUALITY_BAR_ENV: f"size={bar.min_size!r}"}
    cmd = [sys.executable, "-m", "facecore", "people", str(folder), "--all-faces", "--json", "--cache", str(store.path)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr
    cli = json.loads(run.stdout)
    assert {(e["path"], e["face"], tuple(e["box"])) for e in cli["unsorted_low_quality"]} == entries


def test_the_bar_is_written_as_fields_and_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_bar("size=40, sharpness=10") == QualityBar(min_size=40, min_sharpness=10)
    assert parse_bar("") == QualityBar() and parse_bar("score=0").describe() == "score >= 0"
    for bad in ("size", "width=40", "size=big"):
        with pytest.raises(InvalidParameterError, match="size=40,sharpness=10"):
            parse_bar(bad)
    monkeypatch.setenv(QUALITY_BAR_ENV, "frontal=0.7")
    assert quality_bar() == QualityBar(min_frontal=0.7)
    monkeypatch.delenv(QUALITY_BAR_ENV)
    assert quality_bar().describe() == "none"


def test_blurred_faces_build_no_person_but_join_the_nearest(small_faceset) -> None:
    """The link rule on the six shared people's encodings: faces marked ``weak`` never make a person among
    themselves, and each joins the person of its own folder when that person is built from the others."""
    fs = small_faceset
    folders = np.array([p or "" for p in fs.persons])
    photos = photo_ids(fs)
    full = group_faces(fs.encodings, photos)
    # a person whose faces (all of them) are weak: without the rule they are a person, with it they stay unsorted
    alone = next(p for p in np.unique(folders) if len(set(full.labels[folders == p])) == 1 and
                 full.labels[folders == p][0] >= 0)  # fmt: skip
    rows = np.flatnonzero(folders == alone)
    g = group_faces(fs.encodings, photos, weak=rows)
    assert (g.labels[rows] == -1).all()
    # a few weak faces of each person whose other faces stay a person: they join that person
    weak = np.concatenate([np.flatnonzero(folders == p)[:2] for p in np.unique(folders) if p != alone])
    g = group_faces(fs.encodings, photos, weak=weak)
    joined = [r for r in weak if g.labels[r] >= 0]
    assert len(joined) >= len(weak) // 2
    for r in joined:
        same = np.flatnonzero((folders == folders[r]) & ~np.isin(np.arange(len(fs)), weak))
        assert g.labels[r] == np.bincount(g.labels[same][g.labels[same] >= 0]).argmax()
