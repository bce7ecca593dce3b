"""Encoding a set through the cache: a re-run, or the same photos moved, does no detection."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import facecore.encode.workers as workers_mod
import facecore.faceset as faceset_mod
from facecore import EncoderSettings, EncodingStore, FaceCoreError, encode_images, scan_folder


def test_rerun_hits_the_cache_even_after_renaming_the_folder(tmp_path: Path, small_people, monkeypatch) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    photos = sorted(small_people[2].glob("*.jpg"))[:8]
    for p in photos:
        (src / p.name).symlink_to(p)
    store = EncodingStore(tmp_path / "cache.sqlite")
    refs, _ = scan_folder(src)
    seen = []
    first = encode_images(refs, EncoderSettings(), store, on_progress=seen.append, workers=2)
    assert first.encoded == 8 and first.cached == 0
    assert seen[-1].done == seen[-1].total == 8

    moved = tmp_path / "renamed"
    shutil.move(src, moved)

    def no_detection(*args, **kwargs):
        raise AssertionError("detection ran although every photo is cached")

    monkeypatch.setattr(workers_mod, "encode_batch", no_detection)
    refs2, _ = scan_folder(moved)
    second = encode_images(refs2, EncoderSettings(), store)
    assert second.cached == 8 and second.encoded == 0
    assert np.array_equal(first.encodings, second.encodings)
    assert [f.name for f in first.faces] == [f.name for f in second.faces]
    assert {s.path: s.reason for s in first.skipped} == {s.path: s.reason for s in second.skipped}


def test_all_faces_mode_keeps_every_face_with_its_box(small_faceset, session_cache: Path, small_dataset: Path) -> None:
    refs, _ = scan_folder(small_dataset)
    every = encode_images(refs, EncoderSettings(all_faces=True), EncodingStore(session_cache))
    # every-face mode looks for more faces than the largest-face cascade (issue 19), under a key of its own;
    # once encoded, it comes from the cache
    assert every.settings_key != small_faceset.settings_key
    assert encode_images(refs, EncoderSettings(all_faces=True), EncodingStore(session_cache)).encoded == 0
    assert len(every) >= len(small_faceset)
    multi = [f for f in every.faces if f.in_photo > 0]
    for f in multi:
        t, r, b, lf = f.box
        assert b > t and r > lf
    assert all(f.in_photo == 0 for f in small_faceset.faces)


def test_the_largest_face_view_maps_to_its_rows_and_commutes_with_hiding(small_every) -> None:
    view = small_every.largest()
    rows = view.source_rows
    assert view.source is small_every and len(rows) == len(view) == small_every.photos_with_face
    assert [small_every.faces[r] for r in rows] == list(view.faces)
    assert np.array_equal(small_every.encodings[rows], view.encodings)
    hide = [small_every.faces[0].digest, small_every.faces[-1].digest]
    kept = small_every.without(hide).largest()
    also = view.without(hide)  # hiding the view's photos hides them in its source too
    assert kept.key == also.key and np.array_equal(kept.encodings, also.encodings)
    assert [also.source.faces[r] for r in also.source_rows] == list(also.faces)


def test_duplicate_photos_are_encoded_once_and_reported_as_duplicates(tmp_path: Path, small_people) -> None:
    photo = sorted(small_people[0].glob("*.jpg"))[0]
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(photo.read_bytes())
    refs, _ = scan_folder(tmp_path)
    fs = encode_images(refs, EncoderSettings(), EncodingStore(tmp_path / "c.sqlite"), workers=1)
    assert fs.encoded == 1
    assert [f.name for f in fs.faces] == ["a.jpg"]  # one face, not a perfect "match" with itself
    assert [(s.path, s.reason, s.detail) for s in fs.skipped] == [("b.jpg", "duplicate", "the same photo as a.jpg")]
    assert fs.skip_counts() == {"duplicate": 1} and fs.photos_with_face == 1


def test_faceset_key_changes_with_content(small_faceset) -> None:
    assert len(small_faceset.key) == 64
    assert small_faceset.key == faceset_mod.faceset_key(small_faceset.faces, small_faceset.settings_key)
    assert small_faceset.key != faceset_mod.faceset_key(small_faceset.faces[1:], small_faceset.settings_key)


def test_faceset_names_every_cached_image_so_deleting_it_empties_the_cache(tmp_path: Path, small_people) -> None:
    from PIL import Image

    photos = sorted(small_people[0].glob("*.jpg"))[:3]
    for p in photos:
        (tmp_path / p.name).symlink_to(p)
    Image.new("RGB", (200, 200), (40, 90, 160)).save(tmp_path / "blank.png")  # no face, still cached
    store = EncodingStore(tmp_path / "c.sqlite")
    refs, _ = scan_folder(tmp_path)
    fs = encode_images(refs, EncoderSettings(), store, workers=1)
    assert any(s.reason == "no face" for s in fs.skipped)
    assert len(fs.digests) == 4 and store.stats()["images"] == 4
    assert store.delete(fs.digests) == 4
    assert store.stats()["images"] == 0


def test_uploaded_photos_reopen_from_the_cache_without_their_bytes(tmp_path: Path, small_people) -> None:
    from facecore import ImageRef
    from facecore.storage.saved_sets import delete_sets_with, open_saved_set, save_set

    store = EncodingStore(tmp_path / "c.sqlite")
    photos = sorted(small_people[1].glob("*.jpg"))[:6]
    uploads = [ImageRef(p.name, data=p.read_bytes()) for p in photos] + [ImageRef("notes.jpg", data=b"not a photo")]
    fs = encode_images(uploads, EncoderSettings(), store, workers=1)
    token = save_set(store, fs, "6 uploaded files")
    label, again = open_saved_set(store, token, EncoderSettings())  # a reload: no bytes, only the cache
    assert label == "6 uploaded files" and again.key == fs.key and again.encoded == 0
    assert np.array_equal(again.encodings, fs.encodings)
    assert [(s.path, s.reason) for s in again.skipped] == [(s.path, s.reason) for s in fs.skipped]
    assert ("notes.jpg", "not an image") in [(s.path, s.reason) for s in again.skipped]
    with pytest.raises(FaceCoreError, match="other settings"):
        open_saved_set(store, token, EncoderSettings(detector="cnn"))
    assert delete_sets_with(store, [fs.faces[0].digest]) == 1  # deleting a photo's encodings forgets the set
    with pytest.raises(FaceCoreError, match="no longer known"):
        open_saved_set(store, token, EncoderSettings())


def test_time_left_waits_for_the_warm_up_and_enough_photos(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first photos carry the workers' start (here 10 s for 4 photos, then 1 photo/s): counted in, the first
    estimate was several times too long. The rate is now measured after the warm-up, once 8 more are done."""
    from facecore import faceset as fsmod

    clock = iter([0.0] + [10.0 * (i + 1) / 4 for i in range(4)] + [10.0 + i for i in range(1, 40)])
    monkeypatch.setattr(fsmod.time, "perf_counter", lambda: next(clock))
    seen: list[fsmod.Progress] = []
    run = fsmod._Run(100, seen.append)
    for _ in range(4 + 39):
        run.encoded += 1
        run.report()
    assert all(p.eta is None and p.rate is None for p in seen[: 4 + 7])  # estimating
    first = next(p for p in seen if p.eta is not None)
    assert first.done == 4 + 8 and first.rate == pytest.approx(1.0)
    assert first.eta == pytest.approx(100 - first.done)  # the true time left at 1 photo/s, not 2.5x it
