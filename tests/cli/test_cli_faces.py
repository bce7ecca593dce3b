"""Group photos composed from the shared people: every face named by its photo, number and box in
``people --json``, and ``similar --face N`` searching with the face that was asked about."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.group_support import GROUP_PEOPLE, IN_GROUPS, group_folder, iou, tile_of
from tests.cli.test_cli import run_cli


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory, dataset_dir: Path, small_faceset) -> dict:
    return group_folder(tmp_path_factory.mktemp("group-photos"), tmp_path_factory.mktemp("query") / "group.jpg",
                        small_faceset, dataset_dir)  # fmt: skip


def test_people_json_names_each_face_of_a_group_photo_by_its_box(groups: dict, session_cache: Path) -> None:
    out = run_cli("people", str(groups["root"]), "--json", cache=session_cache)  # every face, without asking
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    entries = [(p, f) for p in data["persons"] for f in p["faces"]] + [(None, f) for f in data["unsorted_faces"]]
    def refs(faces: list[dict]) -> list[str]:  # as `person` commands take a face: PATH, or PATH#N for face N >= 1
        return [f["path"] if f["face"] == 0 else f"{f['path']}#{f['face']}" for f in faces]

    for p in data["persons"]:
        assert p["paths"] == refs(p["faces"]) and p["size"] == len(p["faces"])
    assert refs(data["unsorted_faces"]) == data["unsorted"]
    in_groups = [(p, f) for p, f in entries if f["path"] in groups["tiles"]]
    assert len(in_groups) >= 0.9 * IN_GROUPS * len(GROUP_PEOPLE)  # nearly every pasted face is found
    assert data["faces"] == len(entries)
    for path in groups["tiles"]:
        numbers = sorted(f["face"] for _, f in in_groups if f["path"] == path)
        assert numbers == list(range(len(numbers)))  # numbered 0, 1, ... within its photo
    agree = 0
    for person, face in in_groups:
        tile = tile_of(groups["tiles"][face["path"]], face["box"])
        assert tile is not None, f"{face} lies outside every pasted photo"
        assert iou(tile.to_source(face["box"]), tile.source_box) > 0.5  # the box maps back onto the source's face
        if person is not None:
            folders = [f["path"].split("/")[0] for f in person["faces"] if f["path"] not in groups["tiles"]]
            agree += bool(folders) and max(set(folders), key=folders.count) == tile.person
    assert agree >= 0.9 * len(in_groups)  # the face of each box sits with that person's own photos


def test_similar_face_n_searches_with_that_face(groups: dict, session_cache: Path) -> None:
    def truth(hit: dict) -> str | None:
        if hit["path"] in groups["tiles"]:
            tile = tile_of(groups["tiles"][hit["path"]], hit["box"])
            return tile and tile.person
        return hit["path"].split("/")[0]

    found, areas = {}, []
    for n in range(len(GROUP_PEOPLE)):
        out = run_cli("similar", "--dataset", str(groups["root"]), "--query", str(groups["query"]), "--face",
                      str(n), "--all-faces", "--top", "5", "--json", cache=session_cache)  # fmt: skip
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert data["face"] == n and data["query_in_dataset"] is False
        asked = tile_of(groups["query_tiles"], data["box"])
        assert asked is not None
        found[n] = asked.person
        areas.append((data["box"][1] - data["box"][3]) * (data["box"][2] - data["box"][0]))
        hits = [truth(h) for h in data["exact"]]
        assert hits[0] == asked.person and hits.count(asked.person) >= 4, (n, asked.person, hits)
        v = data["verdict"]
        assert set(v) == {"threshold", "matches", "headline", "person"}
        assert 0.3 < v["threshold"] <= 0.6 and v["matches"] >= 1 and "likely the same person" in v["headline"]
    assert sorted(found.values()) == sorted(GROUP_PEOPLE)  # four faces, four people: each number its own face
    assert areas == sorted(areas, reverse=True)  # face 0 is the largest, then the next, ...


def test_similar_face_the_photo_lacks_exits_2_saying_how_many(groups: dict, session_cache: Path) -> None:
    out = run_cli("similar", "--dataset", str(groups["root"]), "--query", str(groups["query"]), "--face", "9",
                  "--all-faces", "--json", cache=session_cache)  # fmt: skip
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "has 4 faces" in out.stderr and "--face 9" in out.stderr


def test_similar_face_n_of_a_group_photo_of_the_set_is_that_face(groups: dict, session_cache: Path) -> None:
    query = groups["root"] / "groups" / "group_1.jpg"
    out = run_cli("similar", "--dataset", str(groups["root"]), "--query", str(query), "--face", "1", "--all-faces",
                  "--top", "5", "--json", cache=session_cache)  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["query_in_dataset"] is True and data["face"] == 1
    asked = tile_of(groups["tiles"]["groups/group_1.jpg"], data["box"])
    assert asked is not None
    assert not any(h["path"] == "groups/group_1.jpg" and h["face"] == 1 for h in data["exact"])  # not itself
    assert data["exact"][0]["path"].split("/")[0] in (asked.person, "groups")
    assert sum(h["path"].startswith(asked.person + "/") for h in data["exact"]) >= 3


def test_encode_without_all_faces_reuses_the_every_face_rows_of_people(groups: dict, tmp_path: Path) -> None:
    cache = tmp_path / "own.sqlite"  # nothing cached: `people` encodes every face, once
    people = run_cli("people", str(groups["root"]), "--json", cache=cache)
    assert people.returncode == 0, people.stderr
    every = json.loads(run_cli("encode", str(groups["root"]), "--all-faces", "--json", cache=cache).stdout)
    largest = json.loads(run_cli("encode", str(groups["root"]), "--json", cache=cache).stdout)
    assert every["encoded"] == 0 and largest["encoded"] == 0  # both read what `people` encoded
    assert largest["cached"] == every["cached"] > 0
    assert every["faces"] == json.loads(people.stdout)["faces"] > largest["faces"]  # group photos: several faces
    assert largest["faces"] == every["images"] - len(every["skipped"])  # one face per photo with a face
