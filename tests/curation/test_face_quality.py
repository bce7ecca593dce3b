"""Face quality (issue 19, item 5): size, detector score, sharpness, frontality; stored with the faces."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecore import (
    QUALITY_FIELDS,
    EncoderSettings,
    EncodingStore,
    QualityBar,
    decode_image,
    detect_faces,
    detect_faces_scored,
    encode_bytes,
    face_qualities,
    frontality,
    passes_bar,
)


@pytest.fixture(scope="module")
def portrait(small_people: list[Path]) -> tuple[np.ndarray, tuple]:
    """A real photo of the shared set with one face found, and its box."""
    for path in sorted(small_people[0].glob("*.jpg")):
        rgb = decode_image(path.read_bytes())
        boxes = detect_faces(rgb)
        if len(boxes) == 1 and boxes[0][2] - boxes[0][0] >= 100:
            return rgb, boxes[0]
    pytest.skip("no one-face photo with a face of 100 px or more")


def _blurred(rgb: np.ndarray, factor: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    small = Image.fromarray(rgb).resize((w // factor, h // factor), Image.Resampling.BILINEAR)
    return np.asarray(small.resize((w, h), Image.Resampling.BILINEAR))


def test_a_blurred_copy_of_a_face_is_less_sharp_and_less_confident_at_the_same_size(portrait) -> None:
    rgb, box = portrait
    blurred = _blurred(rgb, 6)
    sharp = face_qualities(rgb, [box], [1.0])[0]
    soft = face_qualities(blurred, [box], [1.0])[0]
    size, sharpness = QUALITY_FIELDS.index("size"), QUALITY_FIELDS.index("sharpness")
    assert sharp[size] == soft[size] > 90
    assert soft[sharpness] < 0.5 * sharp[sharpness]
    (found, score), *_ = detect_faces_scored(rgb)
    soft_scores = [sc for bx, sc in detect_faces_scored(blurred, EncoderSettings(upsample=1))]
    assert found == box and score > 0 and max(soft_scores, default=-1.0) < score


def test_a_face_turned_away_is_less_frontal(portrait) -> None:
    import dlib

    from facecore.encode.detection import dlib_models

    rgb, (t, r, b, lf) = portrait
    shape = dlib_models().predictor(rgb, dlib.rectangle(lf, t, r, b))
    marks = np.array([[(p.x, p.y) for p in shape.parts()]], np.float32)
    turned = marks.copy()
    turned[0, 4, 0] += 0.3 * (marks[0, 0, 0] - marks[0, 2, 0])  # the nose moves towards one eye
    assert frontality(turned)[0] < frontality(marks)[0] - 0.1


def test_the_bar_keeps_faces_of_unknown_quality_and_gates_each_field() -> None:
    q = np.array([[120, 1.0, 300, 0.9], [40, 1.0, 300, 0.9], [120, -0.5, 300, 0.9], [np.nan] * 4], np.float32)
    assert passes_bar(q, QualityBar(min_size=60, min_score=0.0)).tolist() == [True, False, False, True]
    assert passes_bar(q, QualityBar()).all()


def test_quality_is_stored_with_the_faces_and_an_old_cache_stays_readable(small_people, tmp_path: Path) -> None:
    data = next(p for p in sorted(small_people[1].glob("*.jpg"))).read_bytes()
    res = encode_bytes(data)
    assert res.quality.shape == (len(res.boxes), 4) and np.isfinite(res.quality).all()
    key = EncoderSettings().key
    store = EncodingStore(tmp_path / "new.sqlite")
    store.put_many([res], key)
    np.testing.assert_array_equal(store.get_many([res.digest], key)[res.digest].quality, res.quality)

    # A cache as written before quality existed: faces and images only, 9 values per face.
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as con:
        con.executescript("""
            CREATE TABLE images (digest TEXT, settings TEXT, width INTEGER, height INTEGER, n_faces INTEGER,
                reason TEXT, detail TEXT DEFAULT '', created REAL, PRIMARY KEY (digest, settings)) WITHOUT ROWID;
            CREATE TABLE faces (digest TEXT, settings TEXT, idx INTEGER, top INTEGER, right INTEGER,
                bottom INTEGER, left INTEGER, encoding BLOB, thumb BLOB,
                PRIMARY KEY (digest, settings, idx)) WITHOUT ROWID;""")
        con.execute("INSERT INTO images VALUES (?,?,?,?,?,?,?,?)", (res.digest, key, res.width, res.height, 1,
                                                                     None, "", 0.0))
        con.execute("INSERT INTO faces VALUES (?,?,?,?,?,?,?,?,?)",
                    (res.digest, key, 0, *res.boxes[0], res.encodings[0].tobytes(), None))
    got = EncodingStore(old).get_many([res.digest], key)[res.digest]
    np.testing.assert_array_equal(got.encodings[0], res.encodings[0])
    assert np.isnan(got.quality).all()
    with sqlite3.connect(old) as con:  # older code writing 9 values into faces still works on the opened file
        con.execute("INSERT INTO faces VALUES (?,?,?,?,?,?,?,?,?)", ("x", key, 0, 0, 1, 1, 0, b"", None))


def test_a_sets_quality_is_read_once_and_kept_for_the_next_call(small_faceset, session_cache: Path, monkeypatch):
    """The People page reads the set's quality after every correction (0.7 s at 100,000 photos): the rows are
    kept in memory by cache file, settings and set key, and another set (another key) is read anew."""
    from facecore import faceset_quality

    store = EncodingStore(session_cache)
    first = faceset_quality(store, small_faceset)
    assert first.shape == (len(small_faceset), 4) and np.isfinite(first[:, 0]).all()  # sizes measured at encode
    reads = []
    read = store.face_quality
    monkeypatch.setattr(store, "face_quality", lambda *a: reads.append(a) or read(*a))
    assert faceset_quality(store, small_faceset) is first and not reads
    view = small_faceset.largest()
    rows = faceset_quality(store, view)
    np.testing.assert_array_equal(rows, first[view.source_rows] if view.key != small_faceset.key else first)
    assert len(reads) == (view.key != small_faceset.key)
    with pytest.raises(ValueError):
        first[0, 0] = 1.0  # read-only: no caller can change what the next one reads
