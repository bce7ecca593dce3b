"""An uploaded zip is read in place and unpacked a photo at a time, and a finished job lets go of it.

The archives are built in memory from the shared CelebA photos (nothing is
copied into the project); the tests skip when the photos are absent.
"""

from __future__ import annotations

import functools
import gc
import io
import struct
import tracemalloc
import weakref
import zipfile
from pathlib import Path

import pytest

from facecore import EncoderSettings, EncodingStore, encode_images
from facecore.errors import UnreadableImageError
from facecore.photos.archives import from_uploads
from facecore.photos.refs import content_digest


def photo_zip(people: list[Path], n: int) -> tuple[bytes, list[str]]:
    """A deflated zip of the first ``n`` photos of ``people`` (``person/photo.jpg``) and its member names."""
    photos = sorted(p for person in people for p in person.glob("*.jpg"))[:n]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in photos:
            zf.write(p, f"{p.parent.name}/{p.name}")
    return buf.getvalue(), [f"{p.parent.name}/{p.name}" for p in photos]


def corrupt_member(archive: bytes, name: str) -> bytes:
    """``archive`` with one byte in the middle of ``name``'s compressed data flipped (its CRC then fails)."""
    info = zipfile.ZipFile(io.BytesIO(archive)).getinfo(name)
    name_len, extra_len = struct.unpack("<HH", archive[info.header_offset + 26 : info.header_offset + 30])
    at = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
    return archive[:at] + bytes([archive[at] ^ 0xFF]) + archive[at + 1 :]


def test_zip_members_are_unpacked_only_when_read_and_equal_zipfiles_bytes(small_people) -> None:
    archive, names = photo_zip(small_people, 12)
    upload = io.BytesIO(archive)  # what Streamlit's UploadedFile is
    refs, skipped = from_uploads([("photos.zip", upload)])
    assert not skipped and [r.name for r in refs] == [f"photos.zip/{n}" for n in names]
    assert all(r.data is None and r.path is None for r in refs)  # nothing unpacked yet
    assert all(r.member is not None and r.member.archive.source is upload for r in refs)  # read in place, no copy
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        for ref, name in zip(refs, names, strict=True):
            assert ref.read_bytes() == zf.read(name)
    assert all(r.data is None for r in refs)  # reading keeps nothing behind
    # bytes still work (tests and the CLI pass them) and give the same members
    again, _ = from_uploads([("photos.zip", archive)])
    assert [r.read_bytes() for r in again] == [r.read_bytes() for r in refs]


def test_a_corrupt_member_is_skipped_by_the_encoder_and_the_others_are_encoded(tmp_path: Path, small_people) -> None:
    archive, names = photo_zip(small_people[:1], 4)
    bad = f"photos.zip/{names[1]}"
    refs, skipped = from_uploads([("photos.zip", io.BytesIO(corrupt_member(archive, names[1])))])
    assert not skipped and len(refs) == 4  # found when read, not when listed
    with pytest.raises(UnreadableImageError) as err:
        refs[1].read_bytes()
    assert err.value.reason == "corrupt"
    fs = encode_images(refs, EncoderSettings(), EncodingStore(tmp_path / "c.sqlite"), workers=1)
    assert {s.path: s.reason for s in fs.skipped} == {bad: "corrupt"}
    assert fs.encoded == 3 and {f.name for f in fs.faces} == {f"photos.zip/{n}" for n in names} - {bad}


def test_reading_an_archive_never_holds_its_members_at_once(dataset_dir: Path) -> None:
    archive, _ = photo_zip(sorted(dataset_dir.glob("person_*")), 600)
    upload = io.BytesIO(archive)
    tracemalloc.start()
    try:
        refs, _ = from_uploads([("photos.zip", upload)])
        _, listed_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digests = [content_digest(r.read_bytes()) for r in refs]
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    largest = max(r.member.info.file_size for r in refs)
    assert len(digests) == len(refs) == 600
    # Unpacking every member up front (as before) peaks at the archive's unpacked size (~20 MB here).
    assert listed_peak < len(archive) / 20, f"listing the archive allocated {listed_peak:,} bytes"
    # One member at a time: zipfile's read buffers take about 3 times the member being read.
    assert read_peak < 4 * largest + 256 * 1024, f"reading one member at a time peaked at {read_peak:,} bytes"
    assert read_peak < len(archive) / 4


def test_a_finished_job_holds_no_upload(tmp_path: Path, small_people) -> None:
    from facecore import EncodeJob

    archive, _ = photo_zip(small_people[:1], 2)
    files = [("photos.zip", io.BytesIO(archive))]  # as pages/dataset.py passes Streamlit's UploadedFile objects
    gone = weakref.ref(files[0][1])
    job = EncodeJob("photos.zip", EncoderSettings(), EncodingStore(tmp_path / "c.sqlite"),
                    functools.partial(lambda uploads, stop: from_uploads(uploads), files)).start()  # fmt: skip
    assert job.wait(600) and job.error is None and job.faceset is not None
    del files
    gc.collect()
    assert gone() is None, "the finished job (or its set) still refers to the uploaded archive"
