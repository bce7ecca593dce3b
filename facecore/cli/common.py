"""What the commands share: the progress bar, the encoder settings and backend of the arguments, opening
and encoding a dataset, the model of ``--dims``/``--k``/``--nprobe``, and the shared options."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .. import settings as S
from ..errors import FaceCoreError, NotEnoughFacesError
from ..faceset import FaceSet, Progress, encode_images
from ..photos.datasets import open_dataset
from ..photos.refs import ImageRef
from ..settings import EncoderSettings
from ..storage.encodings import EncodingStore

# PCA, K-means, grouping and their scikit-learn/scipy imports (~2 CPU s) load inside the commands that use
# them: `encode` starts its workers without them.


def progress_bar(quiet: bool):
    """A one-line progress bar on stderr, redrawn at most 5 times a second; silent for runs under half a second."""
    if quiet:
        return None
    drawn = [0.0]  # when the bar was last drawn (0: never)

    def show(p: Progress) -> None:
        finished = p.done >= p.total
        if p.elapsed < 0.5 and not (finished and drawn[0]):
            return
        now = time.monotonic()
        if now - drawn[0] < 0.2 and not finished:
            return
        drawn[0] = now
        width = 30
        filled = int(width * p.done / p.total) if p.total else width
        rate = f", {p.rate:.1f} photos/s" if p.rate else ""
        eta = f", {p.eta:.0f} s left" if p.eta is not None and not finished else ""
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total} photos, "
            f"{p.faces} faces, {p.cached} cached{rate}{eta}\033[K"
        )
        if finished:
            sys.stderr.write("\n")
        BAR_OPEN[0] = not finished
        sys.stderr.flush()

    return show


BAR_OPEN = [False]  # a progress bar line is on stderr without its newline yet


def end_bar() -> None:
    """End an unfinished progress bar line, so an error message gets a line of its own."""
    if BAR_OPEN[0]:
        sys.stderr.write("\n")
        BAR_OPEN[0] = False


def encoder_settings(args: argparse.Namespace) -> EncoderSettings:
    return EncoderSettings(
        detector=args.detector, detect_max_side=args.detect_max_side, all_faces=args.all_faces, jitters=args.jitters
    )


def cluster_backend(args: argparse.Namespace, refs: list[ImageRef]):
    """The Dask backend of ``encode --scheduler`` (connected now, before any photo is read), else None."""
    if getattr(args, "scheduler", None) is None:
        return None
    from ..encode.dask_backend import DaskBackend

    return DaskBackend.for_refs(args.scheduler, refs, ship_bytes=args.ship_bytes)


def load_faceset(dataset: str, args: argparse.Namespace) -> FaceSet:
    """Open, encode (through the cache) and return the faces of a folder or zip."""
    refs, skipped = open_dataset(dataset)
    if not refs:
        raise NotEnoughFacesError(f"No images found in {dataset!r}: point to a folder or zip of photos.")
    store = EncodingStore(args.cache)
    return encode_images(
        refs,
        encoder_settings(args),
        store,
        workers=args.workers,
        backend=cluster_backend(args, refs),
        skipped=skipped,
        on_progress=progress_bar(args.json),
    )


def faceset_of(dataset: str, args: argparse.Namespace) -> FaceSet:
    """The faces of a folder or zip (encoded through the cache), or of an imported set given by its key."""
    if Path(dataset).exists():
        fs = load_faceset(dataset, args)
    else:
        from ..storage.imported import imported_sets, load_imported

        keys = [s.key for s in imported_sets(EncodingStore(args.cache))]
        if not any(k.startswith(dataset) for k in keys) or not dataset:
            raise FaceCoreError(
                f"Dataset {dataset!r} does not exist: give a folder, a .zip file, or the key of an imported set "
                f"({len(keys)} in the cache; `python -m facecore import FILE` prints its key)."
            )
        fs = load_imported(EncodingStore(args.cache), dataset)
    need_faces(fs, dataset)
    return fs


def need_faces(fs: FaceSet, dataset: str) -> None:
    """Refuse, with the reasons, a set too small to fit a model (PCA and K-means need 2 faces)."""
    if len(fs) >= 2:
        return
    why = ", ".join(f"{n} {r}" for r, n in fs.skip_counts().most_common()) or "nothing skipped"
    raise NotEnoughFacesError(
        f"n_faces={len(fs)} should be >= 2: {dataset!r} has {fs.images} files (skipped: {why}); add photos "
        f"with a visible face (`python -m facecore encode {dataset}` lists the skipped files and why)."
    )


def check_dataset_arg(path: str) -> None:
    if not Path(path).exists():
        raise FaceCoreError(f"Dataset {path!r} does not exist: give a folder or a .zip file.")


def fit(fs: FaceSet, args: argparse.Namespace):
    """The model of ``--dims``/``--k``; with ``--nprobe auto``, K and nprobe chosen for ``--recall`` first
    (args.k and args.nprobe are set to the choice). Returns ``(model, tuning or None)``."""
    from ..search.similarity import fit_model
    from ..search.tuning import tune_search

    tuning = None
    if args.nprobe == "auto":
        tuning = tune_search(fs.encodings, target=args.recall, top=args.top, dims=args.dims)
        args.k, args.nprobe = tuning.k, tuning.nprobe
    return fit_model(fs.encodings, dims=args.dims, k=args.k), tuning


def tuning_out(tuning) -> dict | None:
    if tuning is None:
        return None
    return {"k": tuning.k, "nprobe": tuning.nprobe, "recall": round(tuning.recall, 4), "target": tuning.target,
            "reached": tuning.reached, "comparisons": round(tuning.comparisons, 1),
            "exact_comparisons": tuning.exact_comparisons, "queries": tuning.queries}  # fmt: skip


def nprobe_arg(text: str) -> int | str:
    """``--nprobe``: a number of groups, or ``auto`` (K and nprobe tuned for ``--recall``)."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number or 'auto', got {text!r}") from None


def parent_parsers() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The options every command shares (``--cache``, ``--json``, the encoder's) and the search model's."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cache", type=Path, default=S.default_cache_path(),
                        help="encoding cache file (default: $FACECORE_CACHE or ~/.cache/facecore/encodings.sqlite)")
    common.add_argument("--json", action="store_true", help="print one JSON object")
    common.add_argument("--detector", choices=S.DETECTORS, default=EncoderSettings.detector)
    common.add_argument("--detect-max-side", type=int, default=S.DEFAULT_DETECT_MAX_SIDE)
    common.add_argument("--all-faces", action="store_true",
                        help="every face of a photo, not only the largest (people and person always use every face; "
                             "without it, every-face rows already cached are reused, not encoded again)")
    common.add_argument("--jitters", type=int, default=EncoderSettings.jitters,
                        help="re-sample each face n times (slower, slightly better)")
    common.add_argument("--workers", type=int, default=None, help="encoding processes (default: all CPUs)")
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--dims", type=int, default=S.DEFAULT_DIMS, help=f"PCA dimensions (default {S.DEFAULT_DIMS})")
    model.add_argument("--k", type=int, default=S.DEFAULT_K, help=f"K-means clusters (default {S.DEFAULT_K})")
    model.add_argument("--recall", type=float, default=S.SEARCH_RECALL,
                       help=f"with --nprobe auto: the share of the exact top to keep (default {S.SEARCH_RECALL})")
    model.add_argument("--nprobe", type=nprobe_arg, default=S.DEFAULT_NPROBE,
                       help=f"clusters to scan (default {S.DEFAULT_NPROBE})")
    return common, model
