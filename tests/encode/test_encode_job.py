"""The background encode job (facecore.encode.job): it ends with a set, partial when stopped, or with an
error sentence; with ``remember`` the set can be reopened from the cache without its photos."""

from __future__ import annotations

from pathlib import Path

from facecore import EncodeJob, EncoderSettings, EncodingStore, Skipped, nothing_found, open_saved_set, scan_folder

TIMEOUT = 600


def test_stop_keeps_what_was_encoded(tmp_path: Path, small_dataset: Path) -> None:
    store = EncodingStore(tmp_path / "stop.sqlite")
    job = EncodeJob("stopped", EncoderSettings(), store, lambda stop: scan_folder(small_dataset))
    job.stop()  # before the first photo: the job must still end with a (partial) set
    job.start()
    assert job.wait(TIMEOUT) and not job.running and job.stopping
    assert job.error is None and job.faceset is not None
    assert job.faceset.stopped
    assert len(job.faceset) < len(scan_folder(small_dataset)[0])
    assert job.token is None and job.waited >= 0


def test_a_remembered_set_reopens_from_the_cache(small_faceset, session_cache: Path, small_dataset: Path) -> None:
    store = EncodingStore(session_cache)  # the photos are cached: the job reads them back
    job = EncodeJob("six people", EncoderSettings(), store, lambda stop: scan_folder(small_dataset),
                    remember=True).start()  # fmt: skip
    assert job.wait(TIMEOUT) and job.error is None
    assert job.faceset.key == small_faceset.key and job.faceset.cached == job.faceset.images
    label, again = open_saved_set(store, job.token, EncoderSettings())
    assert label == "six people" and again.key == small_faceset.key


def test_nothing_to_encode_ends_with_the_reasons(tmp_path: Path) -> None:
    skipped = [Skipped("a.jpg", "corrupt"), Skipped("b.jpg", "empty"), Skipped("c.jpg", "corrupt")]
    job = EncodeJob("three files", EncoderSettings(), EncodingStore(tmp_path / "c.sqlite"),
                    lambda stop: ([], skipped)).start()  # fmt: skip
    assert job.wait(TIMEOUT)
    assert job.faceset is None
    assert job.error == "No photos found in three files: 3 files skipped (2 corrupt, 1 empty)."
    assert nothing_found([]) == "it holds no files with a photo extension (.jpg, .png, …)."
