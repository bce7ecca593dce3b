"""Near-duplicate photos: the same shot saved twice, resized, recompressed, lightly cropped or brightened, and
burst shots of one moment.

Two photos are near-duplicates when **both** their pixels and their faces agree:
- their perceptual hashes (a 64-bit DCT hash, "pHash", and a 64-bit gradient hash, "dHash", of a small grey
  copy of the whole photo) differ in few bits, and
- one face of each is within a small face distance.

Neither test suffices alone: different photos of one person can have faces as close as a copy's (7 % of faces
have another photo of the same person within 0.2), and two photos of different people taken against the same
backdrop can share a hash. Photos without a face are only grouped when their hashes are almost equal.
Photos with the same bytes are always one group.

The hashes are computed here with numpy and scipy (no extra dependency): each photo is decoded at a small size
(libjpeg's 1/2..1/8 scaling does most of the work), turned grey and shrunk to 32x32 (pHash) and 9x8 (dHash).

Thresholds, measured on the shared CelebA set (bench/curation.py): altered copies of 150 photos differ from their
original in at most 18 of the 128 bits (4 % crop; 60 % size, JPEG quality 55 and brightness +-15 % at most 10),
and copies' faces lie 0.05-0.28 apart. Among the set's own photo pairs, 24 bits and 0.35 together join 18 pairs,
all looked at: the same shot or a burst (two of them across person_7392 and person_7393, one actress filed under
two ids); at 28 bits the count of same-person pairs doubles with photos that are merely alike. Bursts whose
pose or framing moves more are missed: of the 10 pairs at 25-30 bits with faces within 0.3, 4 were bursts and 6
different photos (same event or look), which these two features cannot tell apart.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.fft import dctn

from ..errors import FaceCoreError, InvalidParameterError
from ..photos.imaging import decode_image
from ..photos.refs import content_digest

#: The photo is decoded with its longest side at most this (px) before hashing: plenty for a 32x32 hash, and small
#: enough for libjpeg to decode at 1/4 or 1/8 scale.
HASH_DECODE_SIDE = 128
#: Bits in each hash.
HASH_BITS = 64
#: Two photos with faces are near-duplicates when their pHash and dHash together differ in at most this many of
#: their 128 bits ...
MAX_HASH_BITS = 24
#: ... and one face of each is closer than this (face_recognition distance).
MAX_FACE_DISTANCE = 0.35
#: Photos without a face (or whose faces are far apart) need almost equal hashes: at most this many of 128 bits.
MAX_HASH_BITS_NO_FACE = 10
#: Face rows compared together when looking for close faces (memory: block x faces float32).
_BLOCK = 1024


@dataclass(frozen=True)
class PhotoHashes:
    """Perceptual hashes of photos: ``bits`` is ``(n, 128)`` bool (64 pHash bits, then 64 dHash bits) for
    ``names[i]``; ``pixels`` the photo's pixel count (width x height as stored), ``nbytes`` its file size."""

    names: tuple[str, ...]
    bits: np.ndarray
    pixels: np.ndarray
    nbytes: np.ndarray
    digests: tuple[str, ...]


def _grey(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` ``(h, w, 3)`` uint8 -> grey ``(size[1], size[0])`` float32, shrunk with an area filter."""
    im = Image.fromarray(rgb).convert("L").resize(size, Image.Resampling.BOX)
    return np.asarray(im, dtype=np.float32)


def hash_pixels(rgb: np.ndarray) -> np.ndarray:
    """The 128 hash bits of one decoded photo ``(h, w, 3)`` uint8: ``(128,)`` bool.

    pHash: the 8x8 lowest frequencies of the 2-D DCT of a 32x32 grey copy, each compared to their median
    (as in Zauner 2010 and ``imagehash.phash``). dHash: whether each pixel of a 9x8 grey copy is brighter than
    its right neighbour. Both ignore overall brightness and survive resizing and recompression.
    """
    low = dctn(_grey(rgb, (32, 32)), type=2, norm="ortho")[:8, :8].ravel()
    phash = low > np.median(low)
    g = _grey(rgb, (9, 8))
    dhash = (g[:, 1:] > g[:, :-1]).ravel()
    return np.concatenate([phash, dhash])


def hash_photo(data: bytes) -> tuple[np.ndarray, int]:
    """The 128 hash bits of one photo's bytes and its pixel count; raises UnreadableImageError as decode_image."""

    rgb = decode_image(data, max_side=HASH_DECODE_SIDE)
    with Image.open(io.BytesIO(data)) as im:  # the header only: decode_image has accepted these bytes
        w, h = im.size
    return hash_pixels(rgb), w * h


def _hash_ref(ref) -> tuple[np.ndarray, int, int, str] | None:
    """``(bits, pixels, bytes, digest)`` of one ImageRef, or None when it cannot be read or decoded."""

    try:
        data = ref.read_bytes()
        bits, pixels = hash_photo(data)
    except FaceCoreError:  # unreadable photos are reported by the encoder already; they have no duplicates here
        return None
    return bits, pixels, len(data), content_digest(data)


def photo_hashes(refs: Sequence, workers: int = 2) -> PhotoHashes:
    """Hash every readable photo of ``refs`` (ImageRefs, e.g. from ``open_dataset``), in their order.

    ``workers`` threads decode at once (Pillow's decoders release the GIL). Photos that cannot be read or decoded
    are left out. About 2 ms per photo of CelebA's size on one core.
    """
    if workers < 1:
        raise InvalidParameterError(f"workers={workers} should be >= 1")
    if workers == 1 or len(refs) < 8:
        results = [_hash_ref(r) for r in refs]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(_hash_ref, refs, chunksize=16))
    kept = [(r.name, res) for r, res in zip(refs, results, strict=True) if res is not None]
    return PhotoHashes(
        names=tuple(n for n, _ in kept),
        bits=np.array([res[0] for _, res in kept], dtype=bool).reshape(len(kept), 2 * HASH_BITS),
        pixels=np.array([res[1] for _, res in kept], dtype=np.int64),
        nbytes=np.array([res[2] for _, res in kept], dtype=np.int64),
        digests=tuple(res[3] for _, res in kept),
    )


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bits that differ between each row of ``a`` ``(n, bits)`` and each row of ``b`` ``(m, bits)`` (bool):
    ``(n, m)`` float32, by two matrix products."""
    fa, fb = a.astype(np.float32), b.astype(np.float32)
    return fa @ (1.0 - fb).T + (1.0 - fa) @ fb.T


def _close_face_pairs(encodings: np.ndarray, photo: np.ndarray, radius: float) -> np.ndarray:
    """Pairs ``(k, 2)`` of photo numbers (first < second) having a face each within ``radius`` of each other.

    ``encodings`` ``(n, 128)`` float32, ``photo[i]`` the photo number of face i. Compared a block of faces at a
    time (squared distances by one matrix product), so memory stays ``_BLOCK x n``.
    """
    enc = np.asarray(encodings, dtype=np.float32)
    sq = (enc * enc).sum(axis=1)
    found = []
    for start in range(0, len(enc), _BLOCK):
        block = enc[start : start + _BLOCK]
        d2 = sq[start : start + _BLOCK, None] + sq[None, :] - 2.0 * (block @ enc.T)
        i, j = np.nonzero(d2 < radius * radius)
        a, b = photo[i + start], photo[j]
        keep = a < b
        found.append(np.stack([a[keep], b[keep]], axis=1))
    pairs = np.concatenate(found) if found else np.empty((0, 2), np.int64)
    return np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)


def _faceless_pairs(bits: np.ndarray, has_face: np.ndarray, max_bits: int) -> np.ndarray:
    """Pairs ``(k, 2)`` (first < second) with at least one photo without a face and hashes within ``max_bits``."""
    lone = np.flatnonzero(~has_face)
    if len(lone) == 0:
        return np.empty((0, 2), np.int64)
    i, j = np.nonzero(hamming(bits[lone], bits) <= max_bits)
    a, b = lone[i], j
    keep = a != b
    pairs = np.sort(np.stack([a[keep], b[keep]], axis=1), axis=1)
    return np.unique(pairs, axis=0)


def _same_bytes_pairs(digests: Sequence[str]) -> np.ndarray:
    """Pairs ``(k, 2)`` joining each photo to the first photo with the same bytes."""
    first: dict[str, int] = {}
    pairs = [(first.setdefault(d, i), i) for i, d in enumerate(digests) if first.setdefault(d, i) != i]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _groups(pairs: np.ndarray, hashes: PhotoHashes) -> list[list[str]]:
    """Connected photos as lists of names: groups by their first photo's order, each group's photos largest first
    (pixels, then bytes; the one to keep is usually first), then in input order."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(hashes.names)
    if len(pairs) == 0:
        return []
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    sizes = np.bincount(label)
    members: dict[int, list[int]] = {}
    for i in np.flatnonzero(sizes[label] >= 2):
        members.setdefault(int(label[i]), []).append(int(i))
    order = sorted(members.values(), key=lambda m: m[0])
    return [
        [hashes.names[i] for i in sorted(m, key=lambda i: (-hashes.pixels[i], -hashes.nbytes[i], i))] for m in order
    ]


def near_duplicate_groups(
    hashes: PhotoHashes,
    faceset,
    *,
    max_hash_bits: int = MAX_HASH_BITS,
    max_face_distance: float = MAX_FACE_DISTANCE,
    max_hash_bits_no_face: int = MAX_HASH_BITS_NO_FACE,
) -> list[list[str]]:
    """Groups of near-duplicate photos (each of 2 or more names of ``hashes.names``).

    ``faceset`` is the FaceSet of the same photos (largest-face or every-face mode): a pair of photos with faces
    is joined when one face of each is within ``max_face_distance`` **and** their 128 hash bits differ in at most
    ``max_hash_bits``; a pair where a photo has no face needs ``max_hash_bits_no_face``; photos with equal bytes
    are always joined. Groups are the connected photos, ordered by their first photo in ``hashes``; within a group
    the largest photo (pixels, then bytes) comes first. Faces of photos missing from ``hashes`` are ignored.
    """
    if not 0 <= max_hash_bits <= 2 * HASH_BITS or not 0 <= max_hash_bits_no_face <= 2 * HASH_BITS:
        raise InvalidParameterError(
            f"max_hash_bits={max_hash_bits} and max_hash_bits_no_face={max_hash_bits_no_face} should be "
            f"between 0 and {2 * HASH_BITS}"
        )
    if max_face_distance <= 0:
        raise InvalidParameterError(f"max_face_distance={max_face_distance} should be > 0")
    number = {name: i for i, name in enumerate(hashes.names)}
    rows = [r for r, f in enumerate(faceset.faces) if f.name in number]
    photo = np.array([number[faceset.faces[r].name] for r in rows], dtype=np.int64)
    has_face = np.zeros(len(hashes.names), dtype=bool)
    has_face[photo] = True
    close = _close_face_pairs(faceset.encodings[rows], photo, max_face_distance)
    if len(close):
        differ = (hashes.bits[close[:, 0]] != hashes.bits[close[:, 1]]).sum(axis=1)
        close = close[differ <= max_hash_bits]
    pairs = np.concatenate([
        close,
        _faceless_pairs(hashes.bits, has_face, max_hash_bits_no_face),
        _same_bytes_pairs(hashes.digests),
    ])
    return _groups(pairs, hashes)


def find_near_duplicates(refs: Sequence, faceset, workers: int = 2) -> list[list[str]]:
    """:func:`near_duplicate_groups` of ``refs`` (the photos ``faceset`` was encoded from), hashing them first."""
    return near_duplicate_groups(photo_hashes(refs, workers=workers), faceset)
