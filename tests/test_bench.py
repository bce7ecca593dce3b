"""Smoke tests of the benchmarks (``python -m bench``) at tiny sizes, on real encodings. Outcomes only, no timings."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import encode, memory, search, stages, synthetic
from facecore.search.cluster import auto_k


def test_synthetic_faces_are_drawn_around_real_ones_with_the_within_person_spread(small_faceset) -> None:
    real, persons = small_faceset.encodings, small_faceset.persons
    std = synthetic.within_person_std(real, persons)
    assert std.shape == (128,) and std.dtype == np.float32
    assert np.all(std > 0) and np.all(std < real.std(axis=0))  # a person varies less than the whole set
    x = synthetic.synthetic_faces(real, std, 3000, seed=1)
    assert x.shape == (3000, 128) and x.dtype == np.float32
    # every synthetic face lies near some real face, about as far as the noise makes it
    d = np.sqrt(((x[:200, None, :] - real[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    assert np.median(d) == pytest.approx(float(np.linalg.norm(std)), rel=0.25)
    assert np.array_equal(x, synthetic.synthetic_faces(real, std, 3000, seed=1))  # fixed seed, same faces

    faces, centres = synthetic.synthetic_identities(real, persons, std, 100, per_identity=16, seed=2)
    assert faces.shape == (100, 128) and centres.shape == (7, 128)  # ceil(100 / 16) new people
    # a face is nearer its own person's centre than any other centre
    d = np.sqrt(((faces[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
    assert (d.argmin(axis=1) == np.arange(100) // 16).mean() > 0.9


def test_search_benchmark_recall_and_comparisons(small_faceset) -> None:
    real, persons = small_faceset.encodings, small_faceset.persons
    rep = search.bench_search(real, persons, sizes=[600], queries=15, seed=0, kinds=search.SYNTHETIC_KINDS)
    # the real faces (leave-one-out), then one size of each synthetic kind
    assert [r["kind"] for r in rep.data["results"]] == ["real", "around-real", "identities"]
    for r in rep.data["results"]:
        k = r["k"]
        assert k == auto_k(r["n"])
        rows = {row["nprobe"]: row for row in r["nprobe"]}
        assert set(rows) == set(search.nprobe_ladder(k, include_k=True))
        assert rows[k]["recall"] == 1.0  # scanning every cluster is exact search
        recalls = [rows[p]["recall"] for p in sorted(rows)]
        comps = [rows[p]["comparisons"] for p in sorted(rows)]
        assert recalls == sorted(recalls)  # more clusters scanned never loses a neighbour
        assert comps == sorted(comps)
        for p, row in rows.items():
            assert 0.0 <= row["recall_min"] <= row["recall"] <= 1.0
            if p <= k // 4:
                assert row["comparisons"] < r["exact_comparisons"]
        assert rows[k]["comparisons"] == pytest.approx(k + r["n"] - (1 if r["kind"] == "real" else 0))
    text = "\n".join(t.markdown() for t in rep.tables)
    assert "nprobe=1" in text and "real (leave-one-out)" in text and "600 synthetic identities" in text


def test_memory_benchmark_counts_bytes_and_peaks(small_faceset, session_cache) -> None:
    real, persons = small_faceset.encodings, small_faceset.persons
    rep = memory.bench_memory(real, persons, cache=session_cache, encode_photos=0, search_n=5000)
    assert rep.data["bytes_per_face"] == {"float64": 1024, "float32": 512, "pca_float32": 80, "index": 16}
    c = rep.data["cache"]
    assert c["faces"] >= len(small_faceset)
    assert c["encoding_per_face"] == 512  # float32 blobs
    assert c["thumb_per_face"] > 0 and c["file_per_face"] > c["encoding_per_face"] + c["thumb_per_face"]
    s = rep.data["search_probe"]
    assert s["n"] == 5000 and s["k"] == auto_k(5000)
    assert s["faces_mib"] == pytest.approx(5000 * 512 / 2**20)
    assert s["peak_mib"] >= s["rss_start_mib"] > 0


def test_stage_times_cover_both_pipelines(small_people) -> None:
    from facecore import EncoderSettings, ImageRef

    refs = [ImageRef(p.name, path=str(p)) for p in sorted(small_people[0].glob("*.jpg"))[:3]]
    table, st = stages.stage_table(refs, EncoderSettings())
    assert st["photos"] == 3
    assert set(st["ours"]) == set(stages.OUR_STAGES) and set(st["baseline"]) == set(stages.BASELINE_STAGES)
    assert all(v >= 0 for v in [*st["ours"].values(), *st["baseline"].values()])
    assert st["ours_photos_with_face"] >= 1 and st["ours_faces"] >= st["ours_photos_with_face"]
    assert "encode (face ResNet)" in table.markdown()


def test_throughput_table_ratios_and_cpu_projection() -> None:
    runs = [encode.EncodeRun(encode.ARTICLE, 100.0, 200, 180, 100.0, 1),
            encode.EncodeRun("facecore, 2 processes, warm pool", 10.0, 200, 185, 10.0, 2)]
    table = encode.throughput_table(runs, {r.label: [1.0] for r in runs}, 2, "note")
    article, ours = table.rows
    assert article[3] == "1.00x" and ours[3] == "10.00x"  # 20 vs 2 photos/s
    assert ours[5] == "40.00 (20.00x)"  # 2 processes / 0.05 CPU s per photo, against 1 / 0.5
    assert ours[6] == "185/200"


def test_bench_uses_only_public_facecore_names() -> None:
    root = Path(__file__).resolve().parent.parent / "bench"
    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text())
        facecore_modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("facecore"):
                assert not any(a.name.startswith("_") for a in node.names), (path.name, node.module)
                assert not node.module.split(".")[-1].startswith("_"), (path.name, node.module)
                facecore_modules |= {a.asname or a.name for a in node.names}
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id in facecore_modules:
                    assert not node.attr.startswith("_"), (path.name, node.value.id, node.attr)


def test_bench_command_line_rejects_bad_counts() -> None:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-m", "bench", "encode", "--photos", "0"], capture_output=True, text=True,
                         cwd=root, check=False)
    assert out.returncode == 2
    assert out.stderr.strip() == "error: --photos must be >= 1, got 0"
