"""Shared fixtures: the real CelebA photos from ../shared (never copied into the project).

Set FACECORE_DATASET to point elsewhere; tests that need the photos skip with
a clear message when the folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from facecore.settings import default_dataset_path

# Small, fixed people subsets keep the suite fast; the full set is used where
# the claim is about the whole dataset (evaluate).
SMALL_PEOPLE = ["person_7201", "person_7202", "person_7203", "person_7204", "person_7205", "person_7207"]


@pytest.fixture(scope="session")
def dataset_dir() -> Path:
    """The shared CelebA folder (DIR/person_<id>/*.jpg)."""
    path = default_dataset_path()
    if not path.is_dir() or not any(path.glob("person_*")):
        pytest.skip(f"shared CelebA photos not found at {path}: set FACECORE_DATASET to the celeba-wild folder")
    return path


@pytest.fixture(scope="session")
def small_people(dataset_dir: Path) -> list[Path]:
    """Folders of six people from the shared dataset."""
    return [dataset_dir / p for p in SMALL_PEOPLE]


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory, small_people: list[Path]) -> Path:
    """A folder of symlinks to six people's photos (links, not copies of CelebA)."""
    root = tmp_path_factory.mktemp("small-dataset")
    for person in small_people:
        (root / person.name).mkdir()
        for photo in sorted(person.iterdir()):
            (root / person.name / photo.name).symlink_to(photo)
    return root


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One encoding cache for the whole test session (encode each photo once)."""
    return tmp_path_factory.mktemp("cache") / "encodings.sqlite"


@pytest.fixture(scope="session")
def small_faceset(small_dataset: Path, session_cache: Path):
    """The encoded faces of the six-person subset."""
    from facecore import EncoderSettings, EncodingStore, encode_images, scan_folder

    refs, skipped = scan_folder(small_dataset)
    return encode_images(refs, EncoderSettings(), EncodingStore(session_cache), skipped=skipped)


@pytest.fixture(scope="session")
def small_every(small_dataset: Path, session_cache: Path):
    """The six-person subset as the app and ``people`` load it: every face encoded (the largest-face view is
    derived from it, ``small_every.largest()``)."""
    from facecore import EncoderSettings, EncodingStore, encode_images, scan_folder

    refs, skipped = scan_folder(small_dataset)
    return encode_images(refs, EncoderSettings(all_faces=True), EncodingStore(session_cache), skipped=skipped)


@pytest.fixture(autouse=True)
def _isolated_cache_env(monkeypatch: pytest.MonkeyPatch, session_cache: Path) -> None:
    # Never touch the developer's own ~/.cache from tests.
    monkeypatch.setenv("FACECORE_CACHE", os.fspath(session_cache))


@pytest.fixture
def allow_small_dataset(monkeypatch: pytest.MonkeyPatch, small_dataset: Path) -> Path:
    monkeypatch.setenv("FACECORE_ALLOWED_ROOTS", os.fspath(small_dataset))
    return small_dataset
