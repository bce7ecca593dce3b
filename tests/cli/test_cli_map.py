"""`python -m facecore map DIR [--method NAME] [--3d] --json`: every face at its place on the similarity map."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from facecore import EncodingStore
from facecore.layout import faceset_layout_key, neighbours_kept, same_person_neighbours
from facecore.storage.maps import load_map
from tests.cli.test_cli import run_cli


def test_map_json_has_every_face_with_its_path_and_number(small_dataset: Path, session_cache: Path, small_faceset):
    out = run_cli("map", str(small_dataset), "--json", cache=session_cache)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["method"] == "tsne"
    pts = data["points"]
    assert [(p["path"], p["face"]) for p in pts] == [(f.name, f.in_photo) for f in small_faceset.faces]
    assert all(set(p) == {"path", "face", "x", "y"} for p in pts)
    xy = np.array([[p["x"], p["y"]] for p in pts], dtype=np.float32)
    assert neighbours_kept(small_faceset.encodings, xy) >= 0.45
    assert same_person_neighbours(xy, small_faceset.persons) >= 0.85
    kept = load_map(EncodingStore(session_cache), faceset_layout_key(small_faceset))  # kept for the next run
    assert kept is not None and kept[1] == "tsne"
    np.testing.assert_allclose(kept[0], xy, atol=1e-4)


def test_map_3d_and_pca(small_dataset: Path, session_cache: Path, small_faceset) -> None:
    out = run_cli("map", str(small_dataset), "--3d", "--json", cache=session_cache)
    assert out.returncode == 0, out.stderr
    pts = json.loads(out.stdout)["points"]
    assert len(pts) == len(small_faceset) and all(set(p) == {"path", "face", "x", "y", "z"} for p in pts)
    out = run_cli("map", str(small_dataset), "--method", "pca", "--json", cache=session_cache)
    data = json.loads(out.stdout)
    assert data["method"] == "pca" and len(data["points"]) == len(small_faceset)


def test_map_human_output_and_bad_method(small_dataset: Path, session_cache: Path, small_faceset) -> None:
    out = run_cli("map", str(small_dataset), "--method", "pca", cache=session_cache)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == f"{len(small_faceset)} faces laid out by pca"
    out = run_cli("map", str(small_dataset), "--method", "umap", cache=session_cache)
    assert out.returncode == 2 and "invalid choice: 'umap'" in out.stderr and "Traceback" not in out.stderr
