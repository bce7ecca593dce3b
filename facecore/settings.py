"""Defaults shared by the app, the CLI and the benchmarks: one source of truth.

Paths that users may want to move are read from environment variables:

- ``FACECORE_CACHE``: the SQLite encoding cache file.
- ``FACECORE_ALLOWED_ROOTS``: ``os.pathsep``-separated folders the app may read; unset, a localhost
  server without a password may read the home folder (facecore.photos.roots).
- ``FACECORE_DATASET``: the shared CelebA folder used by tests and demos.
- ``FACECORE_QUALITY_BAR``: the face-quality bar persons are built with, e.g. ``size=45,sharpness=10``
  (facecore.curation.face_quality.quality_bar; unset: none).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

#: The method of the article: PCA to 20 dimensions, K-means with K about 10.
DEFAULT_DIMS = 20
DEFAULT_K = 10
DEFAULT_NPROBE = 1
DEFAULT_TOP = 10
DEFAULT_SEED = 0
#: Top-k of the leave-one-out quality report (evaluate, the Similar faces page).
DEFAULT_EVAL_TOP = 5
#: The K hint scores K = 2 ... this (silhouette); more is slow and rarely informative.
K_HINT_MAX = 30

#: face_recognition's own tolerance for verifying ONE pair of faces (99.38 % on
#: LFW pairs). Too loose for a search over a collection: there, 75 % of searches
#: for someone absent still find a stranger below it (see facecore.verdict.calibration).
SAME_PERSON_THRESHOLD = 0.6
#: The "same person?" verdict of a search allows at most this share of searches
#: for someone absent from the collection to find a face below its threshold.
MAX_STRANGER_RATE = 0.10
#: The verdict threshold for the shared photos' size (2,338 faces): 7.2 % of searches
#: for an absent person find a face below it, 94.4 % for a present one find them.
#: Other sizes: facecore.verdict.calibration.default_threshold(n_faces).
VERDICT_THRESHOLD = 0.495

#: Grouping faces into persons (facecore.people): faces join a person while their
#: groups stay this close on average (RMS distance over all face pairs), and
#: groups smaller than PEOPLE_MIN_SIZE are "unsorted". Chosen on half the shared
#: people, checked on the other half (README, "Persons").
PEOPLE_THRESHOLD = 0.6
PEOPLE_MIN_SIZE = 2
#: How persons are found: "consensus" keeps together the faces that both the two-pass grouping and
#: Infomap put together (facecore.people.infomap; PEOPLE_THRESHOLD 0.6 still had the best worst-set score
#: on the tuning sets, 0.625 a 0.002 better mean); "chinese_whispers" is the two passes alone.
PEOPLE_METHOD = "consensus"
#: The self-tuning search (facecore.tuning) keeps this share of the exact top-k.
SEARCH_RECALL = 0.95
#: Threads BLAS/OpenMP may use inside a PCA or K-means fit (None: every core).
#: One, because these fits are small (a 128x128 covariance, 20-d K-means) and
#: share two cores with the encoding workers and other sessions: measured on
#: a loaded machine, two spinning threads made a refit 5-20x slower than one
#: thread (BENCHMARKS.md, "interactive").
FIT_THREADS: int | None = 1

#: Longest side of the copy the detector looks at. Larger photos are
#: downscaled for detection only; encodings come from full resolution.
DEFAULT_DETECT_MAX_SIDE = 800

#: Pillow refuses to decode images above this many pixels (decompression bombs).
MAX_IMAGE_PIXELS = 80_000_000
#: Files larger than this are refused before reading (bytes).
MAX_FILE_BYTES = 60 * 1024 * 1024
#: Photos with a longer side are downscaled right after decoding: faces are
#: encoded from 150 px chips, so more pixels only cost time and memory.
WORK_MAX_SIDE = 3000

#: Zip archive limits (zip bombs, floods of entries).
ZIP_MAX_MEMBERS = 20_000
ZIP_MAX_TOTAL_BYTES = 2 * 1024**3
ZIP_MAX_RATIO = 100
#: Side in px of the face thumbnails kept in the cache for the app.
THUMB_SIDE = 112
#: The scatter draws at most about this many faces (the same share of each group); search and clustering use all.
#: A browser with software WebGL took 1.6-3.1 s to redraw 100,000 points after a K move.
CHART_DRAW_AT_MOST = 20_000
#: The scatter's first drawing in a session draws at most this many (a subset of the ones drawn later): the browser's
#: first chart waits for the chart library too, and 5,000 points drew 0.3-0.5 s sooner than 20,000 (BENCHMARKS 15).
#: So few are drawn without WebGL (pages/_clusters/charts.py), whose start alone costs: Plotly drew 2,000 points in
#: 0.23-0.25 s, 5,000 with WebGL in 0.34-0.36 s and 10 with WebGL in 0.26-0.28 s (headless chromium, BENCHMARKS 16c).
CHART_FIRST_DRAW_AT_MOST = 2_000

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif"}
)

DETECTORS = ("hog", "cnn")


def default_cache_path() -> Path:
    """Return the cache file: ``$FACECORE_CACHE`` or ``~/.cache/facecore/encodings.sqlite``."""
    env = os.environ.get("FACECORE_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "facecore" / "encodings.sqlite"


def default_dataset_path() -> Path:
    """Return the shared CelebA folder: ``$FACECORE_DATASET`` or ``../shared/datasets/celeba-wild``.

    The relative default is resolved against the project root (the folder
    holding ``facecore/``), so it works from any working directory.
    """
    env = os.environ.get("FACECORE_DATASET")
    if env:
        return Path(env).expanduser()
    project = Path(__file__).resolve().parent.parent
    return (project / ".." / "shared" / "datasets" / "celeba-wild").resolve()


@dataclass(frozen=True)
class EncoderSettings:
    """How faces are found and encoded; part of every cache key.

    detector: ``"hog"`` (fast, CPU) or ``"cnn"`` (slower, finds more poses).
    detect_max_side: longest side in px of the copy the detector sees.
    upsample: detector upsampling; ``None`` means 0 first, then 1 when no face was found.
    all_faces: keep every face as its own item instead of only the largest.
    every_version: with ``all_faces`` (and ``upsample=None``), how every face is found: 2 (default) =
      largest-face mode's detection, then the article's full-size pass for the faces it did not find, so
      each photo's largest face is the one largest-face mode encodes; 1 = the full-size pass alone, as
      cached under ``...|every`` before (kept so those caches still open).
    jitters: face_recognition ``num_jitters`` (cost grows linearly).
    """

    detector: str = "hog"
    detect_max_side: int = DEFAULT_DETECT_MAX_SIDE
    upsample: int | None = None
    all_faces: bool = False
    jitters: int = 1
    every_version: int = 2

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, got {self.detector!r}")
        if not 64 <= self.detect_max_side <= 8192:
            raise ValueError(f"detect_max_side={self.detect_max_side} must be between 64 and 8192")
        if self.upsample is not None and not 0 <= self.upsample <= 3:
            raise ValueError(f"upsample={self.upsample} must be None or between 0 and 3")
        if not 1 <= self.jitters <= 100:
            raise ValueError(f"jitters={self.jitters} must be between 1 and 100")
        if self.every_version not in (1, 2):
            raise ValueError(f"every_version={self.every_version} must be 1 or 2")

    @property
    def reuses(self) -> str | None:
        """The cache key whose rows these settings take instead of encoding a photo again: largest-face mode (the
        detection cascade) takes every-face rows of version 2, which hold the faces the cascade finds with their
        boxes (so their largest face is largest-face mode's). None otherwise."""
        if self.all_faces or self.upsample is not None:
            return None
        return EncoderSettings(self.detector, self.detect_max_side, self.upsample, True, self.jitters).key

    def reopenable(self) -> tuple[EncoderSettings, ...]:
        """These settings, then the older face modes in which photos cached before reopen as they were (every face
        version 1; the largest face only): for every-face settings of version 2; else these settings alone."""
        if self.every_pass != 2:
            return (self,)
        return self, replace(self, every_version=1), replace(self, all_faces=False)

    @property
    def every_pass(self) -> int:
        """0 for largest-face mode (or a fixed ``upsample``: one pass, every face kept); else :attr:`every_version`."""
        return self.every_version if self.all_faces and self.upsample is None else 0

    @property
    def key(self) -> str:
        """A short stable string naming these settings, used in the cache key."""
        # Every detected face is stored and the view (largest or every face) is
        # chosen when reading. With upsample=None, every-face mode detects more
        # (it does not stop at the first pass that finds a face), so it has a
        # key of its own, one per version; the largest-face key is unchanged (old caches stay valid).
        up = "auto" if self.upsample is None else str(self.upsample)
        every = {0: "", 1: "|every", 2: "|every2"}[self.every_pass]
        return f"v2|{self.detector}|max{self.detect_max_side}|up{up}|j{self.jitters}{every}"
