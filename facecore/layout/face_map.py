"""A similarity map: every face at a 2-D or 3-D place where faces that look alike lie together.

The article draws each face at its first two principal components; on the
shared people that keeps about a tenth of each face's nearest faces on screen.
t-SNE keeps most of them (docs/bench/map.txt and map-candidates.md):
``method="tsne"`` is openTSNE's t-SNE (PCA initialisation, perplexity 15,
125 + 250 iterations, one thread; FFT-accelerated from 10^4 faces), which lays out 100,000 faces
in about a minute of one core's time. ``method="pca"`` keeps the
article's axes. On fewer than :data:`MIN_TSNE_FACES` faces t-SNE is not run and
the PCA axes are returned instead (:func:`map_method` says which one a set gets).

The result is deterministic for a fixed ``seed`` (same faces in the same order,
same library versions): a map is computed once per set and kept in the cache
under :func:`layout_key`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

import numpy as np

from ..errors import InvalidParameterError, NotEnoughFacesError
from ..storage.maps import load_map, store_map

#: Layout methods, the default first.
MAP_METHODS: tuple[str, ...] = ("tsne", "pca")
#: Below this many faces, ``tsne`` falls back to the PCA axes (t-SNE needs neighbourhoods to keep).
MIN_TSNE_FACES = 20
#: Bumped when a method's parameters change, so cached maps made the old way are not reused.
LAYOUT_VERSION = 1
#: t-SNE's perplexity (about the number of neighbours each face tries to keep); lowered on small sets.
#: 15 rather than the usual 30, and half the usual iterations (125 + 250 instead of 250 + 500): on the shared
#: people the same share of neighbours kept (0.786 vs 0.785) for a third of the CPU time (docs/bench/map-candidates.md).
PERPLEXITY = 15.0
#: Iterations of t-SNE's two phases: early exaggeration (groups form), then the free run (groups settle).
EXAGGERATION_ITERS = 125
FREE_ITERS = 250
#: Above this many faces t-SNE's neighbours come from an approximate index (Annoy), below from an exact search.
_EXACT_NEIGHBOURS_UP_TO = 1000
#: From this many faces the 2-D map uses openTSNE's FFT gradient, below it Barnes-Hut (openTSNE's own rule):
#: on the 2,338 shared faces Barnes-Hut took 2.5 CPU s and FFT 7.5, keeping the same (0.784 / 0.786); the
#: FFT gradient is 2-D only, so 3-D maps always use Barnes-Hut.
_FFT_FROM = 10_000
#: Progress callbacks are made every this many iterations.
_REPORT_EVERY = 25
#: Rows summed at once into the PCA covariance.
_PCA_CHUNK = 8192

ProgressFn = Callable[[float], None]


def _prepare_share(n: int) -> float:
    """Share of the progress bar given to the neighbour search and affinities (the rest: the iterations).

    Measured on one core: about 0.2 of the CPU time at 2 * 10^4 faces and 0.5 at 10^5
    (the search grows faster than the iterations); interpolated in log n between 0.1 at 2,000 and 0.5 at 10^5.
    """
    t = np.clip(np.log10(max(n, 2) / 2000) / np.log10(50), 0.0, 1.0)
    return float(0.1 + 0.4 * t)


def map_method(n_faces: int, method: str = "tsne") -> str:
    """The method :func:`similarity_map` really uses for ``n_faces`` faces: ``method``, or ``"pca"`` when the
    set is too small for t-SNE (fewer than :data:`MIN_TSNE_FACES` faces)."""
    _check_method(method)
    return "pca" if method == "tsne" and n_faces < MIN_TSNE_FACES else method


def similarity_map(
    encodings: np.ndarray, dims: int = 2, method: str = "tsne", seed: int = 0, progress: ProgressFn | None = None,
    *, n_jobs: int = 1,
) -> np.ndarray:
    """Lay out faces so that near on the map means similar.

    ``encodings``: ``(n, d)`` float encodings (face_recognition: d = 128), n >= 2.
    ``dims``: 2 or 3. ``method``: one of :data:`MAP_METHODS` (see :func:`map_method`
    for small sets). ``progress(fraction)`` is called with 0.0 ... 1.0 as the work
    advances (t-SNE on 10^5 faces: about 70 s of one core). ``n_jobs``: threads for
    t-SNE; 1 is deterministic and, on a busy 2-core machine, faster than 2.
    3-D t-SNE uses the Barnes-Hut gradient (openTSNE's FFT one is 2-D only): ~5x the
    CPU of 2-D (104 s at 2 * 10^4 faces), so offer 3-D on large sets with care.
    Returns ``(n, dims)`` float32 coordinates (units are arbitrary: only
    distances on the map mean something).
    """
    x = _check_encodings(encodings)
    if dims not in (2, 3):
        raise InvalidParameterError(f"dims={dims!r} should be 2 or 3: a map is drawn flat or in 3-D.")
    used = map_method(len(x), method)
    report = progress or (lambda fraction: None)
    report(0.0)
    if used == "pca":
        out = pca_axes(x, dims)
    else:
        out = _tsne(x, dims, seed, progress, n_jobs)  # without progress, no callbacks (each computes the KL)
    report(1.0)
    return out


def _check_method(method: str) -> None:
    if method not in MAP_METHODS:
        raise InvalidParameterError(f"method={method!r} should be one of {', '.join(MAP_METHODS)}.")


def _check_encodings(encodings: np.ndarray) -> np.ndarray:
    x = np.asarray(encodings)
    if x.ndim != 2 or x.shape[1] < 2:
        raise InvalidParameterError(
            f"encodings has shape {x.shape}: give one row per face, e.g. (n, 128) face_recognition encodings."
        )
    if len(x) < 2:
        raise NotEnoughFacesError(f"n_faces={len(x)} should be >= 2: a map of one face shows nothing; add photos.")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise InvalidParameterError("encodings contain NaN or infinite values: re-encode the photos they came from.")
    return x


def pca_axes(encodings: np.ndarray, dims: int = 2) -> np.ndarray:
    """The faces at their first ``dims`` principal components (the article's axes): ``(n, dims)`` float32.

    From the ``d x d`` covariance (float64, summed in blocks), so memory stays near
    one float32 copy of the encodings at 10^5 faces. Each axis's sign is fixed (its largest loading
    positive), so the picture does not flip between runs; components beyond the
    data's rank (n <= dims) are zeros.
    """
    x = np.asarray(encodings, dtype=np.float32)
    mean = x.mean(axis=0, dtype=np.float64)
    cov = np.zeros((x.shape[1], x.shape[1]))
    for s in range(0, len(x), _PCA_CHUNK):  # float64 sums a block at a time: no float64 copy of the whole set
        block = x[s : s + _PCA_CHUNK].astype(np.float64) - mean
        cov += block.T @ block
    _, vecs = np.linalg.eigh(cov)
    vt = vecs[:, ::-1][:, : min(dims, len(x) - 1)].T  # largest variance first
    vt *= np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])[:, None]
    out = np.zeros((len(x), dims), dtype=np.float32)
    out[:, : len(vt)] = (x - mean.astype(np.float32)) @ vt.T.astype(np.float32)
    return out


def _tsne(x: np.ndarray, dims: int, seed: int, progress: ProgressFn | None, n_jobs: int) -> np.ndarray:
    """openTSNE with its standard schedule: affinities over the nearest faces, a PCA start, then
    :data:`EXAGGERATION_ITERS` iterations with early exaggeration and :data:`FREE_ITERS` without."""
    from openTSNE import TSNE

    n = len(x)
    tsne = TSNE(
        n_components=dims,
        perplexity=min(PERPLEXITY, (n - 1) / 3),
        early_exaggeration_iter=EXAGGERATION_ITERS,
        n_iter=FREE_ITERS,
        initialization="pca",
        neighbors="exact" if n <= _EXACT_NEIGHBOURS_UP_TO else "annoy",
        negative_gradient_method="fft" if dims == 2 and n >= _FFT_FROM else "bh",
        n_jobs=n_jobs,
        random_state=seed,
    )
    report = progress or (lambda fraction: None)
    emb = tsne.prepare_initial(x)
    share = _prepare_share(n)
    report(share)
    total = EXAGGERATION_ITERS + FREE_ITERS
    phases = ((0, EXAGGERATION_ITERS, tsne.early_exaggeration, tsne.initial_momentum),
              (EXAGGERATION_ITERS, FREE_ITERS, tsne.exaggeration, tsne.final_momentum))  # fmt: skip
    for offset, iters, exaggeration, momentum in phases:
        emb.optimize(
            n_iter=iters, exaggeration=exaggeration, momentum=momentum, inplace=True,
            callbacks=_iteration_report(report, share, offset, total) if progress else None,
            callbacks_every_iters=_REPORT_EVERY,
        )  # fmt: skip
    return np.array(emb, dtype=np.float32)


def _iteration_report(
    report: ProgressFn, share: float, offset: int, total: int
) -> Callable[[int, float, np.ndarray], bool]:
    """An openTSNE callback turning "iteration i of this phase" into the fraction of the whole map done."""

    def callback(iteration: int, error: float, embedding: np.ndarray) -> bool:
        report(share + (1 - share) * min(1.0, (offset + iteration) / total))
        return False  # never stop early

    return callback


def layout_key(face_ids: Iterable[str], method: str, dims: int, seed: int = 0) -> str:
    """A sha256 naming a map exactly: the faces (in order), the method actually used, dims, seed and version.

    ``face_ids``: one string per face that changes whenever its encoding could,
    e.g. ``f"{settings_key}:{photo digest}:{face in photo}"`` (see :func:`faceset_layout_key`).
    """
    ids = list(face_ids)
    used = map_method(len(ids), method)
    h = hashlib.sha256(f"facecore-map:v{LAYOUT_VERSION}:{used}:{dims}:{seed}\n".encode())
    for i in ids:
        h.update(f"{i}\n".encode())
    return h.hexdigest()


def faceset_layout_key(faceset, method: str = "tsne", dims: int = 2, seed: int = 0) -> str:
    """:func:`layout_key` of a :class:`~facecore.faceset.FaceSet`: its encoder settings and, per face, the
    photo's content digest and the face's number in it (renaming or moving photos keeps the key)."""
    ids = (f"{faceset.settings_key}:{f.digest}:{f.in_photo}" for f in faceset.faces)
    return layout_key(ids, method, dims, seed)


def faceset_map(
    faceset, method: str = "tsne", dims: int = 2, seed: int = 0, progress: ProgressFn | None = None, store=None
) -> tuple[np.ndarray, str]:
    """The map of a :class:`~facecore.faceset.FaceSet` as ``((n, dims) float32, method really used)``.

    With ``store`` (an EncodingStore), a map already kept in the cache is returned
    at once (``progress`` is then called with 1.0 only) and a new one is kept there.
    """
    used = map_method(len(faceset.faces), method)
    kept = kept_faceset_map(faceset, method, dims, seed, store) if store is not None else None
    if kept is not None:
        if progress is not None:
            progress(1.0)
        return kept, used
    xyz = similarity_map(faceset.encodings, dims=dims, method=method, seed=seed, progress=progress)
    if store is not None:
        store_map(store, faceset_layout_key(faceset, method, dims, seed), xyz, used, faceset.digests)
    return xyz, used


def kept_faceset_map(faceset, method: str, dims: int, seed: int, store) -> np.ndarray | None:
    """The ``(n, dims)`` float32 map of ``faceset`` kept in the cache file (``store``), or None (none kept)."""
    kept = load_map(store, faceset_layout_key(faceset, method, dims, seed))
    return kept[0] if kept is not None and kept[0].shape == (len(faceset.faces), dims) else None


def map_points(
    faceset, method: str = "tsne", dims: int = 2, seed: int = 0, progress: ProgressFn | None = None, store=None
) -> dict:
    """The map of a set as the CLI prints it: ``{"method": used, "points": [{"path", "face", "x", "y"[, "z"]}]}``.

    ``path`` is the photo's name as ``similar`` prints it, ``face`` the face's number in
    its photo (0: the largest). ``method`` in the result is the one really used
    (:func:`map_method`). With ``store`` (an EncodingStore), a map already kept in the
    cache is reused and a new one is kept there (:mod:`facecore.storage.maps`).
    """
    xyz, used = faceset_map(faceset, method, dims, seed, progress, store)
    axes = ("x", "y", "z")[:dims]
    points = [
        {"path": f.name, "face": f.in_photo, **{a: round(float(v), 4) for a, v in zip(axes, row, strict=True)}}
        for f, row in zip(faceset.faces, xyz.tolist(), strict=True)
    ]
    return {"method": used, "points": points}
