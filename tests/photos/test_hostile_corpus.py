"""Every hostile input at once, through the CLI and the library: no crash, a reason per file, no stray file.

One folder holds all the bad files (generated), unusual modes built from a
real face, device files, a FIFO, links, and a few real photos (symlinked from
the shared set); one zip holds the archive attacks. Both go through
``python -m facecore encode ... --json`` in a sandbox (fresh cwd, HOME and
TMPDIR) and through ``facecore.encode_images`` with allowed roots. The
expected reason of every file is spelled out; the summary is printed (run
with ``-s`` to see it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from facecore import EncoderSettings, EncodingStore, FaceCoreError, encode_images, read_zip, scan_folder
from tests.photos.hostile_files import (
    MODE_CASES,
    broken_cases,
    deflate_bomb_member,
    face_photo,
    mark_encrypted,
    no_face,
    symlink_member,
    tiny_png,
    understate_size,
    zip_bytes,
)

PROJECT = Path(__file__).resolve().parents[2]
GOOD_PEOPLE = ("person_7202", "person_7203", "person_7204", "person_7205")
FLOOD = 5000

pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime_ns) of everything under ``root``, links not followed."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, dataset_dir: Path) -> dict:
    base = tmp_path_factory.mktemp("hostile")
    folder = base / "corpus"
    folder.mkdir()
    outside = base / "outside"
    outside.mkdir()
    (outside / "elsewhere.jpg").write_bytes(no_face())
    photo = face_photo(dataset_dir)
    face = Image.open(photo).convert("RGB")

    # expected reason per file: None = must be encoded (one face)
    cli_expect: dict[str, str | None] = {}
    for name, (data, reason) in broken_cases(face, photo.read_bytes()).items():
        (folder / name).write_bytes(data)
        cli_expect[name] = reason
    for name, build in MODE_CASES.items():
        (folder / name).write_bytes(build(face))
        cli_expect[name] = None
    (folder / "copy_of_mode_L.png").write_bytes((folder / "mode_L.png").read_bytes())
    cli_expect["copy_of_mode_L.png"] = None
    good = []
    for person in GOOD_PEOPLE:
        real = sorted((dataset_dir / person).glob("*.jpg"))[0]
        name = f"good/{person}_{real.name}"
        (folder / "good").mkdir(exist_ok=True)
        (folder / name).symlink_to(real)
        cli_expect[name] = None
        good.append(name)
    (folder / "evil\x1b[31m\nname.jpg").symlink_to(sorted((dataset_dir / GOOD_PEOPLE[0]).glob("*.jpg"))[1])
    cli_expect["evil?[31m?name.jpg"] = None
    (folder / "notes.txt").write_text("not a photo")
    cli_expect["notes.txt"] = "unsupported type"
    (folder / "photos.zip").write_bytes(zip_bytes([("a.jpg", no_face())]))
    cli_expect["photos.zip"] = "unsupported type"  # archives inside a folder are not opened
    (folder / "dev_null.jpg").symlink_to("/dev/null")
    os.mkfifo(folder / "fifo.jpg")
    (folder / "dangling.jpg").symlink_to(folder / "no-such-file.jpg")
    (folder / "link_outside.jpg").symlink_to(outside / "elsewhere.jpg")
    (folder / "linked_folder").symlink_to(outside)
    (folder / ".hidden.jpg").write_bytes(b"ignored")
    cli_expect.update({
        "dev_null.jpg": "not a file",
        "fifo.jpg": "not a file",
        "dangling.jpg": "unreadable",
        "link_outside.jpg": "no face",  # the CLI has no allowed roots: the link is followed
        "linked_folder": "symlinked folder",
    })
    # the app passes allowed roots: the corpus and the shared photos
    api_expect = {**cli_expect, "dev_null.jpg": "outside allowed folders",
                  "link_outside.jpg": "outside allowed folders"}

    # the archive attacks
    tag = uuid.uuid4().hex[:12]
    members: list = [(f"files/{n}", (folder / n).read_bytes()) for n in sorted(cli_expect)
                     if (folder / n).is_file() and not (folder / n).is_symlink()]
    zip_expect: dict[str, str | None] = {f"files/{n}": cli_expect[n] for n in sorted(cli_expect)
                                         if (folder / n).is_file() and not (folder / n).is_symlink()}
    zip_expect["files/photos.zip"] = "nested archive"
    for name in good:
        members.append((name, (folder / name).read_bytes()))
        zip_expect[name] = None
    slips = [f"../escape-{tag}.jpg", f"/tmp/abs-{tag}.jpg", f"a/../../up-{tag}.jpg", f"..\\win-{tag}.jpg"]
    members += [(s, no_face()) for s in slips]
    zip_expect.update(dict.fromkeys(slips, "unsafe path"))
    members += [
        symlink_member("link.jpg", "/etc/passwd"),
        ("secret.jpg", no_face()),
        ("bomb.bmp", deflate_bomb_member()),
        ("liar.jpg", no_face() * 3),
        ("dup.jpg", (folder / good[0]).read_bytes()),
        ("dup.jpg", no_face()),
        ("__MACOSX/._dup.jpg", b"\x00\x05\x16\x07"),
        ("files/.hidden.jpg", b"ignored"),
    ]
    zip_expect.update({"link.jpg": "not a file", "secret.jpg": "encrypted", "bomb.bmp": "zip bomb",
                       "liar.jpg": "corrupt", "dup.jpg": None, "dup (2).jpg": "no face"})
    png = tiny_png()
    members += [(f"flood/{i:05d}.png", png) for i in range(FLOOD)]
    zip_expect.update({f"flood/{i:05d}.png": "no face" for i in range(FLOOD)})
    archive = understate_size(mark_encrypted(zip_bytes(members), "secret.jpg"), "liar.jpg")
    zip_path = base / "hostile.zip"
    zip_path.write_bytes(archive)
    slip_targets = [base.parent / f"escape-{tag}.jpg", Path(f"/tmp/abs-{tag}.jpg"), base / f"up-{tag}.jpg",
                    folder / f"up-{tag}.jpg", Path.cwd() / f"up-{tag}.jpg", Path.cwd().parent / f"escape-{tag}.jpg"]
    return {"base": base, "folder": folder, "zip": zip_path, "cli_expect": cli_expect, "api_expect": api_expect,
            "zip_expect": zip_expect, "slip_targets": slip_targets, "tag": tag}


def outcome(skipped: list[tuple[str, str]], encoded: list[str]) -> dict[str, str | None]:
    got: dict[str, str | None] = dict.fromkeys(encoded)
    for path, reason in skipped:
        assert path not in got, f"{path} reported twice"
        got[path] = reason
    return got


def with_duplicates(refs, expect: dict[str, str | None]) -> dict[str, str | None]:
    """``expect`` where a file with the same bytes as an earlier readable one (in reading order) is a "duplicate"."""
    seen: set[bytes] = set()
    out = dict(expect)
    for ref in refs:
        try:
            data = ref.read_bytes()
        except FaceCoreError:
            continue
        if data in seen:
            out[ref.name] = "duplicate"
        seen.add(data)
    return out


def summary(title: str, got: dict[str, str | None]) -> str:
    counts = Counter("encoded (1 face)" if r is None else r for r in got.values())
    lines = [f"{title}: {len(got)} files"] + [f"  {n:5d}  {r}" for r, n in counts.most_common()]
    return "\n".join(lines)


def test_cli_on_the_hostile_corpus(corpus: dict, tmp_path: Path) -> None:
    sandbox = {name: tmp_path / name for name in ("cwd", "home", "tmp")}
    for p in sandbox.values():
        p.mkdir()
    cache = tmp_path / "cache" / "c.sqlite"
    env = {**os.environ, "HOME": str(sandbox["home"]), "TMPDIR": str(sandbox["tmp"]),
           "XDG_CACHE_HOME": str(sandbox["home"] / ".cache"), "PYTHONPATH": str(PROJECT)}
    env.pop("FACECORE_CACHE", None)
    before = snapshot(corpus["base"])
    results = {}
    for label, target in (("folder", corpus["folder"]), ("zip", corpus["zip"])):
        out = subprocess.run([sys.executable, "-m", "facecore", "encode", str(target), "--json", "--cache", str(cache)],
                             capture_output=True, text=True, env=env, cwd=sandbox["cwd"], timeout=1200)
        assert out.returncode == 0, out.stderr
        assert out.stderr == ""  # no traceback, no Pillow warning from the workers (--json: no progress bar)
        results[label] = json.loads(out.stdout)

    in_order = {"folder": scan_folder(corpus["folder"])[0], "zip": read_zip(corpus["zip"])[0]}
    for label, expect in (("folder", corpus["cli_expect"]), ("zip", corpus["zip_expect"])):
        expect = with_duplicates(in_order[label], expect)
        data = results[label]
        skipped = [(s["path"], s["reason"]) for s in data["skipped"]]
        assert all(s["detail"] for s in data["skipped"]), "every skip says why"
        encoded = [n for n, r in expect.items() if r is None]
        got = outcome(skipped, encoded)
        assert got == expect
        assert data["faces"] == len(encoded)  # every good photo and every mode gave its face
        print("\n" + summary(f"CLI encode {label}", got))

    # nothing written anywhere but the cache
    assert snapshot(corpus["base"]) == before
    for name, p in sandbox.items():
        assert list(p.iterdir()) == [], f"{name} was written to"
    assert {p.name for p in cache.parent.iterdir()} <= {"c.sqlite", "c.sqlite-wal", "c.sqlite-shm"}
    for target in corpus["slip_targets"]:
        assert not target.exists(), target
    assert EncodingStore(cache).integrity_ok()


def test_library_on_the_hostile_corpus(corpus: dict, tmp_path: Path, dataset_dir: Path, monkeypatch) -> None:
    import tempfile

    workdir, tmpdir = tmp_path / "cwd", tmp_path / "tmp"
    workdir.mkdir()
    tmpdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    before = snapshot(corpus["base"])
    roots = [corpus["folder"], dataset_dir]

    refs, skipped = scan_folder(corpus["folder"], allowed_roots=roots)
    zrefs, zskipped = read_zip(corpus["zip"].read_bytes(), prefix="hostile.zip/")
    store = EncodingStore(tmp_path / "cache" / "c.sqlite")
    progress = []
    fs = encode_images([*refs, *zrefs], EncoderSettings(), store, workers=2,
                       skipped=[*skipped, *zskipped], on_progress=progress.append)
    assert not fs.stopped and progress[-1].done == progress[-1].total

    got = outcome([(s.path, s.reason) for s in fs.skipped], [f.name for f in fs.faces])
    expect = {**corpus["api_expect"], **{f"hostile.zip/{n}": r for n, r in corpus["zip_expect"].items()}}
    expect = with_duplicates([*refs, *zrefs], expect)
    assert got == expect
    assert all(s.detail for s in fs.skipped)
    assert len(fs) == fs.encodings.shape[0] == sum(r is None for r in expect.values())
    print("\n" + summary("encode_images, folder + zip, allowed roots", got))

    assert snapshot(corpus["base"]) == before
    assert list(workdir.iterdir()) == [] and list(tmpdir.iterdir()) == []
    for target in corpus["slip_targets"]:
        assert not target.exists(), target
