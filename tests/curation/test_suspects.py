"""Photos filed under the wrong person: photos moved into another person's folder come out as the first
suspects, with their own folder as the likely one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facecore.curation import find_suspects, folder_disagreement
from facecore.errors import InvalidParameterError
from tests.curation.support import encode_folder, link_people, originals_with_a_face

#: Photos moved, each from a different person into the folder of the person 5 places further on.
MOVES = 10


@pytest.fixture(scope="module")
def moved_collection(tmp_path_factory: pytest.TempPathFactory, dataset_dir: Path, session_cache: Path):
    """20 people's photos (symlinks) with ``MOVES`` of them moved into a wrong folder; returns the folder,
    ``{new name: right folder}`` and the FaceSet."""
    root = link_people(tmp_path_factory.mktemp("suspects"), dataset_dir)
    base = encode_folder(root, session_cache)
    folders = sorted({f.person for f in base.faces})
    moved = {}
    for name in originals_with_a_face(base, MOVES):
        right = Path(name).parent.name
        wrong = folders[(folders.index(right) + 5) % len(folders)]
        target = root / wrong / Path(name).name
        (root / name).rename(target)
        moved[f"{wrong}/{target.name}"] = right
    return root, moved, encode_folder(root, session_cache)


def test_moved_photos_are_the_first_suspects(moved_collection) -> None:
    root, moved, faceset = moved_collection
    with_face = {f.name for f in faceset.faces}
    assert set(moved) <= with_face  # moved photos were chosen among those with a face
    suspects = find_suspects(faceset)
    assert len(suspects) == len({f.name for f in faceset.faces if f.in_photo == 0})  # every face ranked
    first = [s.path for s in suspects[: len(moved)]]
    missed = [m for m in moved if m not in first]
    assert len(missed) <= 2, f"moved photos outside the first {len(moved)} suspects: {missed}"
    likely = {s.path: s.likely for s in suspects}
    assert sum(likely[m] == right for m, right in moved.items()) >= len(moved) - 2
    scores = [s.score for s in suspects]
    assert scores == sorted(scores, reverse=True)
    assert all(s.folder == Path(s.path).parent.name and s.likely != s.folder for s in suspects)


def test_without_moves_few_faces_sit_nearer_another_folder(moved_collection) -> None:
    root, moved, faceset = moved_collection
    near_other = find_suspects(faceset, min_score=1.0)
    assert {m for m in moved} & {s.path for s in near_other}
    # the unmoved faces nearer another folder's centre than their own are a small share
    assert len([s for s in near_other if s.path not in moved]) <= 0.1 * len(faceset)
    assert len(find_suspects(faceset, limit=3)) == 3


def test_folder_disagreement_on_hand_made_points() -> None:
    a = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [1.0, 1.0]], np.float32)  # last one is b's face filed in a
    b = np.array([[1.0, 0.9], [0.9, 1.0], [1.1, 1.0]], np.float32)
    score, likely, names = folder_disagreement(np.concatenate([a, b]), ["a"] * 4 + ["b"] * 3)
    assert names == ["a", "b"]
    assert int(np.argmax(score)) == 3 and score[3] > 1 > score[0]
    assert likely.tolist() == [1, 1, 1, 1, 0, 0, 0]
    lone, _, _ = folder_disagreement(a[:3], ["a", "a", "c"])
    assert np.isnan(lone[2])  # alone in its folder: nothing to compare with
    with pytest.raises(InvalidParameterError, match="folders=1 should be >= 2"):
        folder_disagreement(a, ["a"] * 4)
    with pytest.raises(InvalidParameterError, match="4 encodings but 3 folders"):
        folder_disagreement(a, ["a", "b", "b"])


def test_evaluate_json_lists_the_suspects(moved_collection, session_cache: Path) -> None:
    from tests.cli.test_cli import run_cli

    root, moved, faceset = moved_collection
    out = run_cli("evaluate", "--dataset", str(root), "--k", "8", "--json", cache=session_cache)
    assert out.returncode == 0, out.stderr
    suspects = json.loads(out.stdout)["suspects"]
    assert all(set(s) == {"path", "folder", "likely", "score"} for s in suspects)
    assert [s["score"] for s in suspects] == sorted((s["score"] for s in suspects), reverse=True)
    first = [s["path"] for s in suspects[: len(moved)]]
    assert sum(m in first for m in moved) >= len(moved) - 2
    human = run_cli("evaluate", "--dataset", str(root), "--k", "8", cache=session_cache)
    assert human.returncode == 0 and f"suspect {suspects[0]['score']:.2f}  {suspects[0]['path']}" in human.stdout
