"""The verdict names the person ("likely Nicola Boxer (19 faces)") and says when the uploaded photo is already
in the set (issue 20, problem 4), on the shared photos."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from facecore import EncoderSettings, EncodingStore, content_digest, copy_in_set, hit_persons, match_verdict
from facecore.encode.encoding import encode_query
from facecore.people.edits import name_id
from facecore.people.identities import persons_for


def _query(fs, data: bytes):
    enc = encode_query(data, EncoderSettings()).encodings[0]
    d = np.linalg.norm(fs.encodings - enc, axis=1)
    order = np.argsort(d)[:10]
    return d[order], order


def test_the_verdict_names_the_person_and_its_size(tmp_path: Path, small_faceset, small_dataset) -> None:
    fs = small_faceset
    store = EncodingStore(tmp_path / "facts.sqlite")
    persons = persons_for(store, fs)
    photo = small_dataset / fs.faces[int(persons.grouping.members(1)[0])].name  # a face of the second person
    distances, rows = _query(fs, photo.read_bytes())
    who = int(persons.face_ids()[rows[0]])
    name_id(store, fs, persons, who, "Nicola Boxer")
    persons = persons_for(store, fs)
    labels = [persons.label(i) for i in range(persons.n_persons)]
    hits = hit_persons(fs, rows, persons.grouping.labels, labels)
    sizes = dict(zip(labels, persons.grouping.sizes.tolist(), strict=True))
    v = match_verdict(distances, 0.5, hits, person_faces=sizes)
    size = sizes["Nicola Boxer"]
    assert v.headline.endswith(f"below 0.50: likely Nicola Boxer ({size} faces)") and not v.mixed
    assert hits[0] == "Nicola Boxer"


def test_a_copy_of_a_photo_of_the_set_is_recognised(small_faceset, small_people, dataset_dir: Path) -> None:
    fs = small_faceset
    photo = sorted(small_people[0].glob("*.jpg"))[0]
    data = photo.read_bytes()
    distances, rows = _query(fs, data)
    assert copy_in_set(fs, content_digest(data), distances, rows) == (f"{photo.parent.name}/{photo.name}", True)
    v = match_verdict(distances, 0.5, copy=copy_in_set(fs, content_digest(data), distances, rows))
    assert v.headline.startswith(f"This photo is already in the collection as {photo.parent.name}/{photo.name}.")
    resaved = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(resaved, "JPEG", quality=95)
    distances, rows = _query(fs, resaved.getvalue())
    found = copy_in_set(fs, content_digest(resaved.getvalue()), distances, rows)
    assert found == (f"{photo.parent.name}/{photo.name}", False)  # not the same bytes, the same photo
    other = next(p for p in sorted(dataset_dir.glob("person_*")) if p.name not in {q.name for q in small_people})
    stranger = sorted(other.glob("*.jpg"))[0].read_bytes()
    distances, rows = _query(fs, stranger)
    assert copy_in_set(fs, content_digest(stranger), distances, rows) is None


def test_named_headline_and_folder_names() -> None:
    v = match_verdict([0.1, 0.2, 0.7], 0.5, ["Ada", "Ada", "Person 3"], person_faces={"Ada": 19})
    assert v.headline == "2 faces below 0.50: likely Ada (19 faces)"
    assert match_verdict([0.1], 0.5, ["person_7201"]).headline == "1 face below 0.50: likely person_7201"
    assert match_verdict([0.1], 0.5, [7]).headline == "1 face below 0.50: likely the same person"
