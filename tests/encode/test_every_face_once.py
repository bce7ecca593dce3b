"""Every face is encoded once and the largest face of each photo is derived from those rows (issue 19, item 2).

Group photos are composed from four shared people's photos (tests/app/group_support.py: 4 faces side by side at
different heights, the truth per tile) next to those people's other photos, in a tmp folder with its own cache.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from facecore import (
    EncoderSettings,
    EncodingStore,
    decode_image,
    detect_faces,
    encode_images,
    open_saved_set,
    save_set,
    scan_folder,
)
from facecore.encode.detection import _full_size_pass
from tests.app.group_support import HEIGHTS, group_folder, tile_of

EVERY, LARGEST = EncoderSettings(all_faces=True), EncoderSettings()
#: Shared photos whose face only largest-face mode's first pass (no upsample) finds: the full-size pass's one
#: upsample steps over the scale of a face that fills the photo (6 of the 2,443 shared photos)
NO_UPSAMPLE_ONLY = ("person_7448/060089.jpg", "person_7242/008478.jpg", "person_7382/076187.jpg")


def _area(box) -> int:
    return (box[2] - box[0]) * (box[1] - box[3])


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory, dataset_dir: Path, small_faceset) -> dict:
    return group_folder(tmp_path_factory.mktemp("group-photos"), tmp_path_factory.mktemp("query") / "group.jpg",
                        small_faceset, dataset_dir)  # fmt: skip


def test_the_largest_face_view_is_each_photos_largest_face_and_nothing_is_encoded_twice(groups, tmp_path) -> None:
    store = EncodingStore(tmp_path / "own.sqlite")  # a cache of its own: every photo is encoded here first
    refs, skipped = scan_folder(groups["root"])
    every = encode_images(refs, EVERY, store, skipped=skipped)
    photos = len(every.digests)
    assert every.encoded == photos and every.cached == 0
    assert every.photos_with_several_faces >= len(groups["tiles"])  # the group photos at least

    view = every.largest()
    assert view.largest_only and view.largest() is view and view.settings_key == every.settings_key
    by_photo = defaultdict(list)
    for row, f in enumerate(every.faces):
        by_photo[f.digest].append(row)
    assert [f.digest for f in view.faces] == list(by_photo)  # one face per photo with a face, in order
    for f, enc in zip(view.faces, view.encodings, strict=True):
        rows = by_photo[f.digest]
        assert f.in_photo == 0 and np.array_equal(enc, every.encodings[rows[0]])  # the same row, not a new one
    for f in view.faces:  # in a group photo, face 0 is the largest face, the one pasted largest
        if f.name in groups["tiles"]:
            tiles = groups["tiles"][f.name]
            assert _area(f.box) == max(_area(every.faces[r].box) for r in by_photo[f.digest])
            assert tile_of(tiles, list(f.box)).height == max(HEIGHTS[: len(tiles)])
    assert len(view) < len(every) and view.key != every.key  # caches keyed by the set's key tell the views apart

    # largest-face mode over the same cache reads those rows: nothing encoded again, the same faces
    largest = encode_images(refs, LARGEST, store, skipped=skipped)
    assert (largest.encoded, largest.cached) == (0, photos)
    assert [(f.digest, f.name, f.box) for f in largest.faces] == [(f.digest, f.name, f.box) for f in view.faces]
    assert np.array_equal(largest.encodings, view.encodings)
    import sqlite3

    with sqlite3.connect(store.path) as con:  # the face crops are stored once, with the every-face rows
        copied = con.execute("SELECT COUNT(*), COUNT(thumb) FROM faces WHERE settings=?", (LARGEST.key,)).fetchone()
    assert copied[0] >= photos and copied[1] == 0
    keys = largest.thumb_keys(range(len(largest)))
    thumbs = store.thumbnails(keys, LARGEST.key)
    assert len(thumbs) == len(keys) and thumbs == store.thumbnails(keys, EVERY.key)  # found there, the same crops
    # the cache's counts (the sidebar's) count each photo and face once, though two settings keep their rows
    assert store.stats()["images"] == photos and store.stats()["faces"] == len(every)
    again = encode_images(refs, EVERY, store, skipped=skipped)  # and every face again: all from the cache
    assert (again.encoded, again.key) == (0, every.key)

    # the faces largest-face mode's own detection finds, with the same boxes and encodings: nothing lost
    cascade = encode_images(refs, LARGEST, EncodingStore(tmp_path / "cascade.sqlite"), skipped=skipped)
    assert cascade.encoded == photos
    mine = {f.digest: (f.box, e) for f, e in zip(view.faces, view.encodings, strict=True)}
    for f, enc in zip(cascade.faces, cascade.encodings, strict=True):
        assert mine[f.digest][0] == f.box
        assert np.allclose(mine[f.digest][1], enc, atol=1e-5)


def test_an_upload_saved_in_largest_face_mode_still_opens(groups, tmp_path) -> None:
    store = EncodingStore(tmp_path / "own.sqlite")
    refs, _ = scan_folder(groups["root"] / "groups")
    old = encode_images(refs, LARGEST, store)  # as the app saved uploads before it encoded every face
    token = save_set(store, old, "three group photos")
    label, fs = open_saved_set(store, token, EVERY)  # the app now asks for every face
    assert label == "three group photos" and fs.settings_key == LARGEST.key and fs.key == old.key
    assert fs.encoded == 0 and len(fs) == len(refs)  # opened as saved: the largest face of each photo


def test_photos_cached_before_every_face_was_kept_reopen_as_they_were(groups, tmp_path) -> None:
    from facecore import EncodeJob
    from facecore.encode.job import settings_for

    store = EncodingStore(tmp_path / "own.sqlite")
    refs, skipped = scan_folder(groups["root"])
    v1 = EncoderSettings(all_faces=True, every_version=1)  # every face by the full-size pass alone (the old key)
    encode_images(refs[:5], v1, EncodingStore(tmp_path / "v1.sqlite"))
    assert settings_for(refs, EVERY, EncodingStore(tmp_path / "v1.sqlite")) == EVERY  # a few photos: encode anew
    encode_images(refs, v1, EncodingStore(tmp_path / "v1.sqlite"))
    assert settings_for(refs, EVERY, EncodingStore(tmp_path / "v1.sqlite")) == v1  # all of them: reopen as they were
    assert v1.key.endswith("|every") and EVERY.key.endswith("|every2")
    old = encode_images(refs, LARGEST, store, skipped=skipped)  # a cache written before the app kept every face
    assert settings_for(refs, EVERY, store) == LARGEST

    def run(**kw) -> EncodeJob:
        job = EncodeJob("groups", EVERY, store, lambda stop: (refs, skipped), **kw).start()
        assert job.wait(600) and job.error is None, job.error
        return job

    job = run()  # the app asks for every face: the old rows reopen, nothing is encoded
    assert job.settings == LARGEST and job.faceset.key == old.key and job.faceset.encoded == 0
    job = run(reopen_old=False)  # "Encode every face of these photos"
    assert job.settings == EVERY and job.faceset.encoded == len(old.digests)
    assert job.faceset.photos_with_several_faces >= len(groups["tiles"])
    assert settings_for(refs, EVERY, store) == EVERY  # from now on every face, from the cache
    assert run().faceset.encoded == 0


@pytest.mark.parametrize("name", NO_UPSAMPLE_ONLY)
def test_every_face_mode_finds_a_face_where_only_the_no_upsample_pass_does(dataset_dir: Path, name: str) -> None:
    rgb = decode_image((dataset_dir / name).read_bytes())
    assert not _full_size_pass(rgb, "hog")  # the case itself: the full-size pass alone finds no face here
    assert detect_faces(rgb, EVERY) == detect_faces(rgb, LARGEST) != []  # the largest-face view loses no photo
