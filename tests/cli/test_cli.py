"""`python -m facecore`: the JSON contract, human output, and one-line errors with non-zero exits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "facecore", *args, "--cache", str(cache)],
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_encode_json_contract(small_dataset: Path, session_cache: Path, small_faceset) -> None:
    out = run_cli("encode", str(small_dataset), "--json", cache=session_cache)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["images"] == small_faceset.images
    assert data["faces"] == len(small_faceset)
    assert data["cached"] == data["images"] - sum(1 for s in data["skipped"] if s["reason"] != "no face")
    assert all({"path", "reason"} <= set(s) for s in data["skipped"])
    assert all(s["reason"] == "no face" for s in data["skipped"])
    assert isinstance(data["seconds"], float)


def test_similar_json_contract_with_a_dataset_photo(small_dataset: Path, session_cache: Path, small_faceset) -> None:
    query_face = small_faceset.faces[0]
    query = small_dataset / query_face.name
    out = run_cli("similar", "--dataset", str(small_dataset), "--query", str(query), "--k", "6", "--top", "5",
                  "--json", cache=session_cache)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"query", "cluster", "mates", "farthest_cluster", "comparisons", "exact"}
    assert data["query_in_dataset"] is True
    assert len(data["mates"]) == 5 and len(data["exact"]) == 5
    assert query_face.name not in [m["path"] for m in data["mates"]]
    dists = [m["distance"] for m in data["mates"]]
    assert dists == sorted(dists)
    person = query_face.person
    assert sum(m["path"].startswith(person + "/") for m in data["exact"]) >= 4
    assert data["farthest_cluster"]["id"] != data["cluster"] and data["farthest_cluster"]["paths"]
    assert 6 < data["comparisons"] < data["exact_comparisons"] + 6


def test_similar_with_a_new_photo_outside_the_dataset(tmp_path: Path, dataset_dir: Path, small_dataset: Path,
                                                      session_cache: Path, small_faceset) -> None:
    # a photo of a person of the subset, re-encoded so its bytes (and digest) are new
    from PIL import Image

    face = small_faceset.faces[10]
    new = tmp_path / "new.png"
    Image.open(small_dataset / face.name).save(new)
    out = run_cli("similar", "--dataset", str(small_dataset), "--query", str(new), "--k", "6", "--json",
                  cache=session_cache)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["query_in_dataset"] is False
    assert data["exact"][0]["path"] == face.name and data["exact"][0]["distance"] < 0.1


def test_human_output_has_a_progress_bar(tmp_path: Path, small_people) -> None:
    folder = tmp_path / "few"
    folder.mkdir()
    for p in sorted(small_people[3].glob("*.jpg"))[:3]:
        (folder / p.name).symlink_to(p)
    out = run_cli("encode", str(folder), cache=tmp_path / "c.sqlite")
    assert out.returncode == 0, out.stderr
    assert "3/3 photos" in out.stderr and "#" in out.stderr
    assert "3 photos" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["encode", "/no/such/folder"], "does not exist"),
        (["similar", "--dataset", "{small}", "--query", "/no/such.jpg"], "is not a file"),
        (
            ["similar", "--dataset", "{small}", "--query", "{photo}", "--k", "5000"],
            "k=5000 must be between 1 and n_faces",
        ),
        (["evaluate", "--dataset", "{small}", "--dims", "500"], "dims=500 must be between 1 and min(n_faces, 128)"),
        (["evaluate", "--dataset", "{small}", "--k", "0"], "--k must be >= 1"),
        (["similar", "--dataset", "{small}", "--query", "{photo}", "--nprobe", "99", "--k", "6"], "nprobe=99"),
    ],
)
def test_bad_arguments_exit_non_zero_with_one_clear_line(
    args: list[str], message: str, small_dataset: Path, session_cache: Path, small_faceset
) -> None:
    photo = str(small_dataset / small_faceset.faces[0].name)
    args = [a.format(small=small_dataset, photo=photo) for a in args]
    out = run_cli(*args, cache=session_cache)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) <= 2  # argparse prints usage + the error


def test_folder_without_faces_is_a_clear_error(tmp_path: Path) -> None:
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (200, 200), (i * 60, 100, 150)).save(tmp_path / f"blank{i}.png")
    out = run_cli("evaluate", "--dataset", str(tmp_path), cache=tmp_path / "c.sqlite")
    assert out.returncode == 2
    assert "n_faces=0 should be >= 2" in out.stderr


def test_cache_info_and_delete(tmp_path: Path, small_people) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    for p in sorted(small_people[4].glob("*.jpg"))[:2]:
        (folder / p.name).symlink_to(p)
    cache = tmp_path / "c.sqlite"
    assert run_cli("encode", str(folder), cache=cache).returncode == 0
    info = json.loads(run_cli("cache", "info", "--json", cache=cache).stdout)
    assert info["images"] == 2
    deleted = json.loads(run_cli("cache", "delete", str(folder), "--json", cache=cache).stdout)
    assert deleted["deleted_images"] == 2 and deleted["images"] == 0


def test_people_finds_one_person_filed_in_two_folders_and_never_joins_two_faces_of_a_photo(
    tmp_path: Path, small_people, session_cache: Path
) -> None:
    from PIL import Image

    folder = tmp_path / "people"
    split, *others = small_people[:4]
    photos = sorted(split.glob("*.jpg"))
    for half, chunk in (("first_half", photos[::2]), ("second_half", photos[1::2])):
        (folder / half).mkdir(parents=True)
        for p in chunk:
            (folder / half / p.name).symlink_to(p)
    for person in others:
        (folder / person.name).mkdir()
        for p in sorted(person.glob("*.jpg")):
            (folder / person.name / p.name).symlink_to(p)
    # one photo with two faces of the same person side by side: they must stay apart
    a, b = (Image.open(p).convert("RGB") for p in sorted(others[0].glob("*.jpg"))[:2])
    pair = Image.new("RGB", (a.width + b.width, max(a.height, b.height)), "white")
    pair.paste(a, (0, 0))
    pair.paste(b, (a.width, 0))
    (folder / "group").mkdir()
    pair.save(folder / "group" / "two.jpg", quality=95)

    out = run_cli("people", str(folder), "--all-faces", "--json", cache=session_cache)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"threshold", "persons", "unsorted", "scores"}
    holder = {path: p["id"] for p in data["persons"] for path in p["paths"]}
    first = {holder.get(f"first_half/{p.name}") for p in photos[::2]} - {None}
    second = {holder.get(f"second_half/{p.name}") for p in photos[1::2]} - {None}
    assert len(first) == 1 and first == second  # the two folders are one person
    both = [holder.get("group/two.jpg"), holder.get("group/two.jpg #2")]
    assert both[0] is None or both[0] != both[1]  # two faces of one photo never share a person
    assert data["scores"]["pairwise_f"] > 0.8 and data["scores"]["kmeans_k"] == 6  # 2 halves, 3 people, group


def test_people_refuses_a_threshold_out_of_range(small_dataset: Path, session_cache: Path) -> None:
    out = run_cli("people", str(small_dataset), "--threshold", "0.95", "--json", cache=session_cache)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("error: ") and "threshold" in out.stderr and out.stderr.count("\n") == 1


def test_evaluate_reports_people_against_kmeans(small_dataset: Path, session_cache: Path) -> None:
    out = run_cli("evaluate", "--dataset", str(small_dataset), "--k", "4", "--json", cache=session_cache)
    assert out.returncode == 0, out.stderr
    people = json.loads(out.stdout)["people"]
    assert people["kmeans_chosen_k"] == 4 and people["kmeans_k"] == 6
    assert people["pairwise_f"] > people["kmeans_chosen_pairwise_f"]  # K = 4 for six people must mix them
    assert [p["threshold"] for p in people["sweep"]] == sorted(p["threshold"] for p in people["sweep"])


def test_nprobe_auto_picks_k_and_nprobe_for_the_recall_target(small_dataset: Path, session_cache: Path) -> None:
    out = run_cli("evaluate", "--dataset", str(small_dataset), "--nprobe", "auto", "--recall", "0.9", "--json",
                  cache=session_cache)  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    tuning = data["tuning"]
    assert tuning["reached"] and tuning["recall"] >= 0.9 and tuning["target"] == 0.9
    assert (data["k"], data["nprobe"]) == (tuning["k"], tuning["nprobe"])  # the search ran with the choice
    assert tuning["comparisons"] < tuning["exact_comparisons"]
    bad = run_cli("evaluate", "--dataset", str(small_dataset), "--nprobe", "many", cache=session_cache)
    assert bad.returncode == 2 and "must be a number or 'auto'" in bad.stderr
