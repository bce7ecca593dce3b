"""Smoke tests of the benchmarks (``python -m bench``) at tiny sizes, on real encodings. Outcomes only, no timings."""

from __future__ import annotations

import numpy as np
import pytest

from bench import memory, search, synthetic
from facecore.cluster import auto_k


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
