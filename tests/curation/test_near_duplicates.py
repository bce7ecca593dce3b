"""Near-duplicate photos on the shared people: altered copies are grouped with their originals, no group joins
two people, and few photos are flagged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecore.curation import find_near_duplicates, hash_photo, near_duplicate_groups, photo_hashes
from facecore.errors import InvalidParameterError
from tests.curation.support import ALTERATIONS, altered, encode_folder, link_people, originals_with_a_face

#: Originals per alteration: 3 x 5 = 15 copies, of 15 different people.
PER_KIND = 3


@pytest.fixture(scope="module")
def copies_collection(tmp_path_factory: pytest.TempPathFactory, dataset_dir: Path, session_cache: Path):
    """20 people's photos (symlinks) plus 15 altered copies and one byte-for-byte copy, with
    ``{copy name: original name}``, the FaceSet and the folder's ImageRefs."""
    from facecore import scan_folder

    root = link_people(tmp_path_factory.mktemp("near-duplicates"), dataset_dir)
    base = encode_folder(root, session_cache)
    base_refs, _ = scan_folder(root)
    base_groups = find_near_duplicates(base_refs, base)  # the 20 people's own photos, before any copy is added
    originals = originals_with_a_face(base, PER_KIND * len(ALTERATIONS) + 1)
    pairs = {}
    for i, name in enumerate(originals[:-1]):
        kind = ALTERATIONS[i % len(ALTERATIONS)]
        copy = name.replace(".jpg", f"_{kind}.jpg")
        (root / copy).write_bytes(altered(root / name, kind))
        pairs[copy] = name
    same = originals[-1].replace(".jpg", "_saved_twice.jpg")  # same bytes: the encoder skips it as a repeat
    (root / same).symlink_to((root / originals[-1]).resolve())
    pairs[same] = originals[-1]
    refs, _ = scan_folder(root)
    return root, pairs, encode_folder(root, session_cache), refs, (base_groups, len(base_refs))


def test_altered_copies_are_grouped_with_their_originals(copies_collection) -> None:
    root, pairs, faceset, refs, base = copies_collection
    groups = find_near_duplicates(refs, faceset)
    group_of = {name: k for k, g in enumerate(groups) for name in g}
    missed = [c for c, o in pairs.items() if c not in group_of or group_of[c] != group_of.get(o)]
    assert len(missed) <= 1, f"copies not grouped with their original: {missed}"
    assert all(len(g) >= 2 and len(set(g)) == len(g) for g in groups)


def test_no_group_joins_two_people_and_few_photos_are_flagged(copies_collection) -> None:
    root, pairs, faceset, refs, base = copies_collection
    groups = find_near_duplicates(refs, faceset)
    mixed = [g for g in groups if len({Path(n).parent.name for n in g}) > 1]
    assert not mixed, f"groups joining two people: {mixed}"
    # the collection's own photos (no copies added): only its real near-duplicates (bursts, repeats) are flagged
    base_groups, base_photos = base
    assert not [g for g in base_groups if len({Path(n).parent.name for n in g}) > 1]
    flagged = sum(map(len, base_groups))
    assert flagged <= 0.10 * base_photos, f"{flagged} of {base_photos} photos flagged"
    # with the copies added, the same photos plus the copies and their originals, no more
    planted = set(pairs) | set(pairs.values())
    extra = {n for g in groups for n in g} - planted - {n for g in base_groups for n in g}
    assert not extra, f"flagged only once the copies were added: {extra}"


def test_the_face_distance_alone_would_group_different_photos(copies_collection) -> None:
    """Without the hash test (any hash allowed) the same faces group far more photos: the hash is what tells a
    copy from another photo of the person."""
    root, pairs, faceset, refs, base = copies_collection
    hashes = photo_hashes(refs)
    with_hash = near_duplicate_groups(hashes, faceset)
    faces_only = near_duplicate_groups(hashes, faceset, max_hash_bits=128, max_face_distance=0.45)
    assert sum(map(len, faces_only)) > sum(map(len, with_hash))


def test_groups_put_the_largest_photo_first(copies_collection) -> None:
    root, pairs, faceset, refs, base = copies_collection
    groups = find_near_duplicates(refs, faceset)
    small = [c for c in pairs if "size60" in c]
    for g in groups:
        for c in small:
            if c in g:
                assert g[0] != c, f"the 60 % copy is listed before its original: {g}"


def test_hashes_survive_the_alterations_and_separate_other_photos(copies_collection) -> None:
    root, pairs, faceset, refs, base = copies_collection
    for copy, original in pairs.items():
        a, _ = hash_photo((root / copy).read_bytes())
        b, _ = hash_photo((root / original).read_bytes())
        assert int((a != b).sum()) <= 24, copy
    hashes = photo_hashes(refs)
    assert hashes.bits.shape == (len(refs), 128) and hashes.bits.dtype == bool
    # photos of different people differ in about half of their bits
    person = np.array([Path(n).parent.name for n in hashes.names])
    differ = (hashes.bits[:, None, :] != hashes.bits[None, :, :]).sum(axis=2)
    assert np.median(differ[person[:, None] != person[None, :]]) > 48


def test_invalid_thresholds_are_refused(copies_collection) -> None:
    root, pairs, faceset, refs, base = copies_collection
    hashes = photo_hashes(refs[:4])
    with pytest.raises(InvalidParameterError, match="max_hash_bits=200"):
        near_duplicate_groups(hashes, faceset, max_hash_bits=200)
    with pytest.raises(InvalidParameterError, match="max_face_distance=0"):
        near_duplicate_groups(hashes, faceset, max_face_distance=0)


def test_unreadable_files_are_left_out(tmp_path: Path, dataset_dir: Path) -> None:
    from facecore import scan_folder

    photo = next(dataset_dir.glob("person_*/*.jpg"))
    (tmp_path / "a.jpg").symlink_to(photo)
    (tmp_path / "cut.jpg").write_bytes(photo.read_bytes()[:300])
    Image.new("RGB", (40, 30), "white").save(tmp_path / "white.png")
    refs, _ = scan_folder(tmp_path)
    hashes = photo_hashes(refs)
    assert hashes.names == ("a.jpg", "white.png")


def test_duplicates_cli_prints_the_groups(copies_collection, session_cache: Path) -> None:
    from tests.cli.test_cli import run_cli

    root, pairs, faceset, refs, base = copies_collection
    out = run_cli("duplicates", str(root), "--json", cache=session_cache)
    assert out.returncode == 0, out.stderr
    groups = json.loads(out.stdout)["groups"]
    assert groups == find_near_duplicates(refs, faceset)
    assert sum(any(c in g and o in g for g in groups) for c, o in pairs.items()) >= len(pairs) - 1
    human = run_cli("duplicates", str(root), cache=session_cache)
    assert human.returncode == 0 and f"{len(groups)} groups of near-duplicate photos" in human.stdout


def test_photos_without_a_face_need_almost_equal_hashes(tmp_path: Path) -> None:
    from facecore import scan_folder
    from tests.curation.support import encode_folder

    rng = np.random.default_rng(3)
    for name in ("a", "b"):  # two different smooth landscapes-like pictures, no face in either
        noise = rng.normal(size=(6, 8, 3))
        im = Image.fromarray(np.uint8(np.clip(128 + 60 * noise, 0, 255))).resize((400, 300), Image.Resampling.BICUBIC)
        im.save(tmp_path / f"{name}.jpg", quality=92)
    Image.open(tmp_path / "a.jpg").resize((240, 180)).save(tmp_path / "a_small.jpg", quality=55)
    refs, _ = scan_folder(tmp_path)
    faceset = encode_folder(tmp_path, tmp_path / "cache.sqlite")
    assert len(faceset) == 0
    assert find_near_duplicates(refs, faceset) == [["a.jpg", "a_small.jpg"]]
