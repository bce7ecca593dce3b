"""Synthetic face sets for sizes the shared photos cannot reach, drawn around the real encodings.

:func:`synthetic_faces`: a random real encoding plus Gaussian noise whose
per-dimension spread is a person's own (:func:`within_person_std`), so every
synthetic face sits among real ones. :func:`synthetic_identities`: new people
drawn from the spread of the real persons' means, a harder set with no dense
blobs around the real faces.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facecore import NotEnoughFacesError


def within_person_std(encodings: np.ndarray, persons: Sequence[str | None]) -> np.ndarray:
    """Per-dimension standard deviation of faces around their person's mean, pooled over persons.

    Only persons with two or more faces count. Returns a ``(128,)`` float32 array.
    """
    x = np.asarray(encodings, dtype=np.float64)
    names = {p: i for i, p in enumerate(sorted({p for p in persons if p is not None}))}
    pid = np.array([names.get(p, -1) if p is not None else -1 for p in persons])
    keep = pid >= 0
    counts = np.bincount(pid[keep], minlength=len(names))
    keep &= counts[np.maximum(pid, 0)] >= 2
    if keep.sum() < 2:
        raise NotEnoughFacesError("No person has two faces: synthetic faces need folders named by person.")
    x, pid = x[keep], pid[keep]
    sums = np.zeros((len(names), x.shape[1]))
    np.add.at(sums, pid, x)
    means = sums / np.maximum(counts, 1)[:, None]
    dev = x - means[pid]
    dof = len(x) - len(np.unique(pid))
    return np.sqrt((dev**2).sum(axis=0) / dof).astype(np.float32)


def synthetic_faces(real: np.ndarray, std: np.ndarray, n: int, seed: int = 0, chunk: int = 100_000) -> np.ndarray:
    """``(n, 128)`` float32 faces: a random row of ``real`` plus N(0, ``std``) noise per dimension."""
    rng = np.random.default_rng(seed)
    real = np.asarray(real, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        out[s:e] = real[rng.integers(0, len(real), e - s)]
        out[s:e] += rng.standard_normal((e - s, real.shape[1]), dtype=np.float32) * std
    return out


def synthetic_identities(
    real: np.ndarray, persons: Sequence[str | None], std: np.ndarray, n: int, *, per_identity: int = 16,
    seed: int = 0, chunk: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` faces of ``n / per_identity`` new people: a stress test with no dense blobs around the real faces.

    Each new person's centre is drawn from a Gaussian fitted to the real persons' mean encodings
    (between-person covariance); each face is its centre plus the within-person noise ``std``.
    Returns ``(faces, centres)``: ``(n, 128)`` float32 and ``(n_identities, 128)`` float32; face i
    belongs to identity ``i // per_identity``.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(real, dtype=np.float64)
    names = sorted({p for p in persons if p is not None})
    means = np.array([x[[i for i, p in enumerate(persons) if p == name]].mean(axis=0) for name in names])
    cov = np.cov(means, rowvar=False) + 1e-8 * np.eye(x.shape[1])
    n_ids = -(-n // per_identity)
    centres = rng.multivariate_normal(means.mean(axis=0), cov, size=n_ids, method="cholesky").astype(np.float32)
    std = np.asarray(std, dtype=np.float32)
    out = np.empty((n, x.shape[1]), dtype=np.float32)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        out[s:e] = centres[np.arange(s, e) // per_identity]
        out[s:e] += rng.standard_normal((e - s, x.shape[1]), dtype=np.float32) * std
    return out, centres
