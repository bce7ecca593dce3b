"""facecore.photos: typed folder paths, zips and uploads are read only where allowed.

Hostile folders and archives are generated in tmp_path; nothing here needs
the face models.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from facecore import settings as S
from facecore.errors import ArchiveLimitError, DatasetError, UnreadableImageError, UnsafeInputError
from facecore.photos.archives import from_uploads, read_zip
from facecore.photos.datasets import open_dataset
from facecore.photos.folders import check_folder, scan_folder
from facecore.photos.refs import ImageRef, display_name
from tests.photos.hostile_files import (
    deflate_bomb_member,
    mark_encrypted,
    not_an_image,
    save,
    symlink_member,
    tiny_png,
    understate_size,
    zip_bytes,
)

PROJECT = Path(__file__).resolve().parents[2]


def jpg() -> bytes:
    return save(Image.new("RGB", (16, 16), (90, 60, 30)), "JPEG")


def reasons(skipped) -> dict[str, str]:
    return {s.path: s.reason for s in skipped}


def tree(root: Path) -> set[str]:
    """Every path under ``root`` (links not followed), relative."""
    return {os.path.relpath(os.path.join(d, n), root) for d, ds, fs in os.walk(root) for n in ds + fs}


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    root = tmp_path / "allowed"
    (root / "photos").mkdir(parents=True)
    (root / "photos" / "a.jpg").write_bytes(jpg())
    return root


# --------------------------------------------------------------------------- typed folder paths


def test_dotdot_out_of_the_allowed_root_is_refused(allowed: Path, tmp_path: Path) -> None:
    (tmp_path / "secret").mkdir()
    with pytest.raises(UnsafeInputError, match="outside the allowed folders"):
        check_folder(f"{allowed}/photos/../../secret", allowed_roots=[allowed])
    with pytest.raises(UnsafeInputError):
        check_folder("/etc", allowed_roots=[allowed])
    assert check_folder(f"{allowed}/photos/../photos", allowed_roots=[allowed]) == allowed / "photos"


def test_missing_path_outside_the_roots_does_not_reveal_whether_it_exists(allowed: Path) -> None:
    # Same answer for an existing and a missing path outside: the page cannot probe the server's files.
    for path in ("/etc", f"/no-such-dir-{uuid.uuid4().hex}"):
        with pytest.raises(UnsafeInputError, match="outside the allowed folders"):
            check_folder(path, allowed_roots=[allowed])
    with pytest.raises(DatasetError, match="does not exist"):
        check_folder(allowed / "missing", allowed_roots=[allowed])


def test_symlink_leading_outside_is_refused(allowed: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.jpg").write_bytes(jpg())
    (allowed / "escape").symlink_to(outside)
    with pytest.raises(UnsafeInputError):
        check_folder(allowed / "escape", allowed_roots=[allowed])
    # ... and a link to a file outside, inside an allowed folder, is skipped with a reason
    (allowed / "photos" / "link.jpg").symlink_to(outside / "b.jpg")
    images, skipped = scan_folder(allowed / "photos", allowed_roots=[allowed])
    assert [i.name for i in images] == ["a.jpg"]
    assert reasons(skipped) == {"link.jpg": "outside allowed folders"}


def test_device_files_and_fifos_are_refused_without_blocking(allowed: Path) -> None:
    photos = allowed / "photos"
    (photos / "null.jpg").symlink_to("/dev/null")
    os.mkfifo(photos / "pipe.jpg")
    (photos / "zero.png").symlink_to("/dev/zero")
    # as a folder
    (allowed / "devnull").symlink_to("/dev/null")
    with pytest.raises(UnsafeInputError):
        check_folder(allowed / "devnull", allowed_roots=[allowed])
    with pytest.raises(DatasetError, match="is not a folder"):
        check_folder(photos / "pipe.jpg", allowed_roots=[allowed])
    with pytest.raises(DatasetError, match="is not a folder"):
        check_folder("/dev/null")
    # inside a folder, with and without allowed roots (the CLI has none)
    _, skipped = scan_folder(photos, allowed_roots=[allowed])
    assert reasons(skipped) == {
        "null.jpg": "outside allowed folders",
        "pipe.jpg": "not a file",
        "zero.png": "outside allowed folders",
    }
    images, skipped = scan_folder(photos)
    assert [i.name for i in images] == ["a.jpg"]
    assert reasons(skipped) == {"null.jpg": "not a file", "pipe.jpg": "not a file", "zero.png": "not a file"}


def test_fifo_swapped_in_after_the_scan_is_refused_at_read_time(allowed: Path) -> None:
    photos = allowed / "photos"
    images, _ = scan_folder(photos, allowed_roots=[allowed])
    (photos / "a.jpg").unlink()
    os.mkfifo(photos / "a.jpg")  # opening it for reading would block forever
    with pytest.raises(UnreadableImageError) as err:
        images[0].read_bytes()
    assert err.value.reason == "not a file"


def test_oversized_file_is_refused_before_reading(allowed: Path) -> None:
    big = allowed / "photos" / "big.jpg"
    with open(big, "wb") as fh:
        fh.truncate(S.MAX_FILE_BYTES + 1)  # sparse: no disk used
    with pytest.raises(UnreadableImageError) as err:
        ImageRef("big.jpg", path=str(big)).read_bytes()
    assert err.value.reason == "too large"


def test_links_to_folders_hidden_files_and_other_types(allowed: Path) -> None:
    photos = allowed / "photos"
    (photos / "sub").mkdir()
    (photos / "sub" / "c.png").write_bytes(save(Image.new("L", (8, 8)), "PNG"))
    (photos / "loop").symlink_to(photos)  # a cycle if followed
    (photos / ".hidden.jpg").write_bytes(jpg())
    (photos / "notes.txt").write_text("hello")
    (photos / "dangling.jpg").symlink_to(photos / "nowhere.jpg")
    images, skipped = scan_folder(photos, allowed_roots=[allowed])
    assert [i.name for i in images] == ["a.jpg", "sub/c.png"]
    assert reasons(skipped) == {
        "loop": "symlinked folder",
        "notes.txt": "unsupported type",
        "dangling.jpg": "unreadable",
    }


def test_control_characters_in_file_names_are_made_printable(allowed: Path) -> None:
    photos = allowed / "photos"
    (photos / "evil\x1b[2J\nname.jpg").write_bytes(jpg())
    (photos / "report\u202egpj.exe.jpg").write_bytes(jpg())
    images, _ = scan_folder(photos, allowed_roots=[allowed])
    names = sorted(i.name for i in images)
    assert names == ["a.jpg", "evil?[2J?name.jpg", "report?gpj.exe.jpg"]
    assert display_name("ok/name é.jpg") == "ok/name é.jpg"


def _run_without_root_powers(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a Python whose permission checks apply (root's DAC override dropped)."""
    cmd = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv is missing: chmod 000 would not block reads")
        cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_unreadable_folders_are_refused_with_a_message(allowed: Path) -> None:
    photos = allowed / "photos"
    locked = photos / "locked"
    locked.mkdir()
    (locked / "x.jpg").write_bytes(jpg())
    locked_top = allowed / "locked_top"
    locked_top.mkdir()
    code = textwrap.dedent(f"""
        from facecore.photos.folders import check_folder, scan_folder
        from facecore.errors import DatasetError
        images, skipped = scan_folder({str(photos)!r}, allowed_roots=[{str(allowed)!r}])
        print([i.name for i in images], [(s.path, s.reason) for s in skipped])
        try:
            check_folder({str(locked_top)!r}, allowed_roots=[{str(allowed)!r}])
        except DatasetError as exc:
            print("refused:", exc)
    """)
    locked.chmod(0)
    locked_top.chmod(0)
    try:
        out = _run_without_root_powers(code)
    finally:
        locked.chmod(0o755)
        locked_top.chmod(0o755)
    if out.returncode != 0 and "setpriv" in out.stderr:
        pytest.skip(f"cannot drop root's file-permission override here: {out.stderr.strip()}")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "['a.jpg'] [('locked', 'unreadable')]"
    assert lines[1].startswith("refused: Folder") and "is not readable (Permission denied)" in lines[1]


# --------------------------------------------------------------------------- zips


def test_zip_slip_members_are_skipped_and_nothing_is_written(tmp_path: Path, monkeypatch) -> None:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    tag = uuid.uuid4().hex
    targets = [f"../escape-{tag}.jpg", f"/tmp/abs-{tag}.jpg", f"ok/../../up-{tag}.jpg",
               f"..\\win-{tag}.jpg", f"C:\\drive-{tag}.jpg", f"\\\\server\\share-{tag}.jpg"]
    archive = zip_bytes([(t, jpg()) for t in targets] + [("fine/a.jpg", jpg())])
    before = tree(tmp_path)
    images, skipped = read_zip(archive)
    assert [i.name for i in images] == ["fine/a.jpg"]
    assert sorted(s.reason for s in skipped) == ["unsafe path"] * len(targets)
    assert tree(tmp_path) == before
    for name in (f"escape-{tag}.jpg", f"abs-{tag}.jpg", f"up-{tag}.jpg"):
        assert not (tmp_path / name).exists() and not Path("/tmp", name).exists()


def test_zip_members_of_every_kind(tmp_path: Path) -> None:
    inner = zip_bytes([("x.jpg", jpg())])
    archive = zip_bytes([
        ("a.jpg", jpg()),
        ("nested.zip", inner),
        ("readme.txt", b"hello"),
        ("not_image.jpg", not_an_image()),
        ("dup.jpg", jpg()),
        ("dup.jpg", tiny_png()),
        ("__MACOSX/._a.jpg", b"\x00\x05\x16\x07"),
        ("dir/.hidden.jpg", jpg()),
        symlink_member("link.jpg", "/etc/passwd"),
        ("secret.jpg", jpg()),
        ("bomb.bmp", deflate_bomb_member()),
        ("liar.jpg", jpg() * 50),
    ])
    archive = mark_encrypted(archive, "secret.jpg")
    archive = understate_size(archive, "liar.jpg")
    images, skipped = read_zip(archive, prefix="up.zip/")
    assert [i.name for i in images] == ["up.zip/a.jpg", "up.zip/not_image.jpg", "up.zip/dup.jpg",
                                        "up.zip/dup (2).jpg", "up.zip/liar.jpg"]  # fmt: skip
    assert images[2].read_bytes() != images[3].read_bytes()
    got = reasons(skipped)
    assert got == {
        "up.zip/nested.zip": "nested archive",
        "up.zip/readme.txt": "unsupported type",
        "up.zip/link.jpg": "not a file",
        "up.zip/secret.jpg": "encrypted",
        "up.zip/bomb.bmp": "zip bomb",
    }
    # members are unpacked when read: unpacking stops at the claimed size; the CRC then fails
    with pytest.raises(UnreadableImageError) as err:
        images[4].read_bytes()
    assert err.value.reason == "corrupt"


def test_zip_total_size_limits(tmp_path: Path) -> None:
    # Per archive: members that each pass add up to more than the total allowed.
    members = [(f"m{i}.bmp", os.urandom(300_000)) for i in range(5)]
    images, skipped = read_zip(zip_bytes(members), max_total_bytes=1_000_000)
    assert len(images) == 3 and [s.reason for s in skipped] == ["zip bomb", "zip bomb"]
    # Many members under the per-member rule (< 1 MB each) but the archive as a whole is a bomb.
    members = [(f"z{i:03d}.bmp", bytes(900_000)) for i in range(100)]
    images, skipped = read_zip(zip_bytes(members))
    assert sum(len(i.read_bytes()) for i in images) <= 64 * 2**20 + 900_000
    assert skipped and {s.reason for s in skipped} == {"zip bomb"}


def test_zip_with_thousands_of_tiny_entries_is_read(tmp_path: Path) -> None:
    png = tiny_png()
    archive = zip_bytes([(f"flood/{i:05d}.png", png) for i in range(5000)])
    images, skipped = read_zip(archive)
    assert len(images) == 5000 and not skipped


def test_zip_with_too_many_entries_is_refused_before_parsing(tmp_path: Path) -> None:
    archive = zip_bytes([(f"{i}.txt", b"") for i in range(300)], compression=zipfile.ZIP_STORED)
    # "KiB of directory": refused from the end record, before zipfile built an object per entry
    with pytest.raises(ArchiveLimitError, match=r"has 300 entries \(\d+ KiB of directory\); the limit is 200"):
        read_zip(archive, max_members=200)
    # the default limit, as an upload (skipped with a reason) and through the CLI (exit 2, one line)
    flood = zip_bytes([(f"{i}", b"") for i in range(S.ZIP_MAX_MEMBERS + 1)], zipfile.ZIP_STORED)
    images, skipped = from_uploads([("many.zip", flood)])
    assert not images and reasons(skipped) == {"many.zip": "zip bomb"}
    path = tmp_path / "flood.zip"
    path.write_bytes(flood)
    out = subprocess.run([sys.executable, "-m", "facecore", "encode", str(path), "--cache", str(tmp_path / "c.sqlite")],
                         capture_output=True, text=True, timeout=300, cwd=PROJECT)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "KiB of directory); the limit is 20000" in out.stderr


def test_not_a_zip_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not a readable zip archive"):
        read_zip(b"PK\x03\x04 broken")
    images, skipped = from_uploads([("photos.zip", b"not a zip")])
    assert not images and reasons(skipped) == {"photos.zip": "corrupt"}


def test_zip_on_disk_must_itself_be_inside_the_roots(allowed: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.zip"
    outside.write_bytes(zip_bytes([("a.jpg", jpg())]))
    (allowed / "link.zip").symlink_to(outside)
    with pytest.raises(UnsafeInputError):
        open_dataset(allowed / "link.zip", allowed_roots=[allowed])
    inside = allowed / "in.zip"
    inside.write_bytes(zip_bytes([("a.jpg", jpg())]))
    images, _ = open_dataset(inside, allowed_roots=[allowed])
    assert [i.name for i in images] == ["a.jpg"]


# --------------------------------------------------------------------------- uploads


def test_uploads_keep_only_base_names_and_make_them_unique() -> None:
    files = [
        ("../../etc/passwd.jpg", jpg()),
        ("C:\\Users\\me\\photo.jpg", jpg()),
        ("photo.jpg", tiny_png()),
        ("..", jpg()),
        ("evil\x1b]0;pwned\x07.png", tiny_png()),
        ("notes.exe", b"MZ"),
        ("big.jpg", b"\xff" * (S.MAX_FILE_BYTES + 1)),
    ]
    images, skipped = from_uploads(files)
    assert [i.name for i in images] == ["passwd.jpg", "photo.jpg", "photo (2).jpg", "evil?]0;pwned?.png"]
    assert reasons(skipped) == {"upload": "unsupported type", "notes.exe": "unsupported type", "big.jpg": "too large"}
    assert all(i.path is None for i in images)  # held in memory, never written


def test_zip_upload_members_share_the_name_space() -> None:
    archive = zip_bytes([("a.jpg", jpg())])
    images, _ = from_uploads([("set.zip", archive), ("set.zip", archive), ("a.jpg", jpg())])
    assert [i.name for i in images] == ["set.zip/a.jpg", "set (2).zip/a.jpg", "a.jpg"]


def test_reading_a_zip_leaves_no_file_behind(tmp_path: Path, monkeypatch) -> None:
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    archive = io.BytesIO(zip_bytes([(f"p/{i}.jpg", jpg()) for i in range(50)]))
    images, _ = read_zip(archive.getvalue())
    assert len(images) == 50
    assert list(tmpdir.iterdir()) == []


def test_allowed_roots_name_each_folder_once(monkeypatch: pytest.MonkeyPatch, dataset_dir: Path) -> None:
    from facecore.photos.folders import allowed_roots_from_env

    shared = dataset_dir.resolve().parent
    monkeypatch.setenv("FACECORE_DATASET", str(dataset_dir))
    monkeypatch.setenv("FACECORE_ALLOWED_ROOTS", os.pathsep.join([str(shared), str(shared / "."), "/tmp"]))
    assert allowed_roots_from_env() == [shared, Path("/tmp").resolve()]
