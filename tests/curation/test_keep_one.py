"""Keep one photo of each near-duplicate group, on real photos: the groups come back from the cache without
hashing again, hiding the others leaves their faces out of the set (never the files), and undo shows them again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from facecore import (
    EncoderSettings,
    EncodingStore,
    InvalidParameterError,
    cached_photo_hashes,
    duplicate_groups,
    encode_images,
    find_near_duplicates,
    hidden_digests,
    hide_photos,
    photos_to_hide,
    scan_folder,
    unhide_last,
    unhide_photos,
)
from tests.curation.support import altered

#: Altered copies planted next to their originals: the smaller copy, the recompressed one, the cropped one.
KINDS = ("size60", "jpeg55", "crop4")


@pytest.fixture()
def collection(tmp_path: Path, small_people, session_cache: Path, small_faceset):
    """Three of the six people (symlinks) plus an altered copy of one photo of each, encoded through a private
    copy of the session's cache: ``(root, {copy: original}, faceset, refs, store)``."""
    store_path = tmp_path / "cache.sqlite"
    with sqlite3.connect(session_cache) as a, sqlite3.connect(store_path) as b:
        a.backup(b)
    root = tmp_path / "photos"
    for person in small_people[:3]:
        (root / person.name).mkdir(parents=True)
        for photo in sorted(person.glob("*.jpg")):
            (root / person.name / photo.name).symlink_to(photo)
    refs, skipped = scan_folder(root)
    store = EncodingStore(store_path)
    base = encode_images(refs, EncoderSettings(), store, skipped=skipped, workers=1)
    pairs = {}
    for kind, person in zip(KINDS, small_people[:3], strict=True):
        name = next(f.name for f in base.faces if f.person == person.name)
        copy = name.replace(".jpg", f"_{kind}.jpg")
        (root / copy).write_bytes(altered(root / name, kind))
        pairs[copy] = name
    refs, skipped = scan_folder(root)
    return root, pairs, encode_images(refs, EncoderSettings(), store, skipped=skipped, workers=1), refs, store


def _group_of(groups: list[list[str]], name: str) -> list[str] | None:
    return next((g for g in groups if name in g), None)


def test_groups_are_found_once_and_read_back_from_the_cache(collection) -> None:
    root, pairs, fs, refs, store = collection
    groups = duplicate_groups(fs, store, refs)
    assert groups == find_near_duplicates(refs, fs)  # the same groups as hashing every photo
    for copy, original in pairs.items():
        assert copy in (_group_of(groups, original) or []), f"{copy} not grouped with {original}"
    # a second call with no photo to read (as after a reload of uploads): every hash comes from the cache file
    again = cached_photo_hashes(fs, store)
    assert len(again.names) == len(fs.read)
    assert duplicate_groups(fs, store) == groups


def test_keeping_one_of_each_hides_the_others_from_the_set_not_from_disk(collection) -> None:
    root, pairs, fs, refs, store = collection
    groups = duplicate_groups(fs, store, refs)
    hide = photos_to_hide(fs, groups)
    digest = dict(fs.read)
    assert len(hide) == sum(len(g) - 1 for g in groups)  # one kept per group
    smaller = next(c for c in pairs if c.endswith("_size60.jpg"))
    group = _group_of(groups, smaller)
    assert group[0] != smaller and digest[smaller] in hide and digest[group[0]] not in hide  # the largest is kept
    assert hide_photos(store, hide) == len(hide)
    assert hide_photos(store, hide) == 0  # already hidden
    kept = fs.without(hidden_digests(store, fs.digests))
    gone = {f.digest for f in fs.faces} & set(hide)
    assert kept.photos_hidden == len(hide) and kept.hidden == frozenset(hide)
    assert len(kept) == len(fs) - sum(1 for f in fs.faces if f.digest in gone) < len(fs)
    assert not {f.digest for f in kept.faces} & set(hide)
    rows = [i for i, f in enumerate(fs.faces) if f.digest not in gone]
    np.testing.assert_array_equal(kept.encodings, fs.encodings[rows])
    assert kept.key != fs.key and kept.read == fs.read  # a new set for the caches; the cache still holds all photos
    assert all((root / n).exists() for g in groups for n in g)  # no file touched
    # every group still has exactly one photo among the kept faces' photos
    kept_names = {f.name for f in kept.faces}
    assert all(sum(n in kept_names for n in g) <= 1 for g in groups)


def test_the_user_may_keep_another_photo_and_undo(collection) -> None:
    root, pairs, fs, refs, store = collection
    groups = duplicate_groups(fs, store, refs)
    copy = next(c for c in pairs if c.endswith("_jpeg55.jpg"))
    g = next(i for i, grp in enumerate(groups) if copy in grp)
    hide = photos_to_hide(fs, groups, keep={g: copy})
    digest = dict(fs.read)
    assert digest[copy] not in hide and digest[pairs[copy]] in hide
    with pytest.raises(InvalidParameterError, match="not a photo of near-duplicate group"):
        photos_to_hide(fs, groups, keep={g: "person_none/x.jpg"})
    hide_photos(store, hide[:1])
    hide_photos(store, hide[1:])
    assert unhide_last(store, fs.digests) == frozenset(hide[1:])  # the last hiding only
    assert hidden_digests(store, fs.digests) == frozenset(hide[:1])
    assert unhide_photos(store, hide) == 1 and hidden_digests(store) == frozenset()
    assert fs.without(hidden_digests(store, fs.digests)) is fs  # nothing hidden: the very same set
    assert unhide_last(store, fs.digests) == frozenset()


def test_a_photo_saved_twice_keeps_its_one_copy(collection, tmp_path: Path) -> None:
    """Equal bytes under two names are one group; keeping one must not hide the bytes it keeps."""
    root, pairs, fs, refs, store = collection
    original = next(iter(pairs.values()))
    twin = original.replace(".jpg", "_twice.jpg")
    (root / twin).symlink_to((root / original).resolve())
    refs, skipped = scan_folder(root)
    fs2 = encode_images(refs, EncoderSettings(), store, skipped=skipped, workers=1)
    groups = duplicate_groups(fs2, store, refs)
    group = _group_of(groups, twin)
    assert group is not None and original in group
    hide = photos_to_hide(fs2, groups)
    assert dict(fs2.read)[original] not in hide
    kept = fs2.without(hide)
    assert original in {f.name for f in kept.faces}
