"""Finding images (folders, uploads, zip archives) and decoding them safely.

Every way in produces :class:`ImageRef` rows (a display name plus the bytes or
the path to read them from) and a list of :class:`Skipped` rows for what could
not be used, so one bad file never stops the rest. :func:`decode_image` turns
bytes into an 8-bit RGB array: EXIF orientation applied, any Pillow mode
converted, first frame of animations, pixel count checked *before* decoding,
truncated files reported instead of silently grey-filled.

Nothing in this module writes to disk: zip members are read into memory
under size, ratio and count limits, so zip-slip names cannot escape anywhere.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from . import settings as S
from .errors import DatasetError, UnreadableImageError, UnsafeInputError

try:  # HEIC/HEIF photos from phones, only where pillow-heif is installed.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the environment
    HEIF_SUPPORTED = False

Image.MAX_IMAGE_PIXELS = S.MAX_IMAGE_PIXELS


@dataclass(frozen=True)
class ImageRef:
    """One candidate image: ``name`` is what users see (relative path), and
    either ``path`` (a file on disk) or ``data`` (bytes in memory) holds it."""

    name: str
    path: str | None = None
    data: bytes | None = None

    def read_bytes(self) -> bytes:
        """Return the file's bytes; raise :class:`UnreadableImageError` if it cannot be read."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        try:
            size = os.stat(self.path).st_size
            if size > S.MAX_FILE_BYTES:
                raise UnreadableImageError(
                    "too large", f"{size / 1e6:.0f} MB is above the {S.MAX_FILE_BYTES // 2**20} MiB limit"
                )
            with open(self.path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise UnreadableImageError("unreadable", exc.strerror or str(exc)) from exc


@dataclass(frozen=True)
class Skipped:
    """A file that was not used, with a short ``reason`` tag and a human ``detail``."""

    path: str
    reason: str
    detail: str = ""


def content_digest(data: bytes) -> str:
    """Return the sha256 hex digest of ``data``: the identity of an image in the cache."""
    return hashlib.sha256(data).hexdigest()


def person_of(name: str) -> str | None:
    """Return the person a relative path names (``person_1/a.jpg`` -> ``person_1``), or None."""
    parts = PurePosixPath(name).parts
    return parts[-2] if len(parts) >= 2 else None


def _has_image_extension(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in S.IMAGE_EXTENSIONS


# --------------------------------------------------------------------------- decoding


def _to_rgb(im: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB (transparency composited on white)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if im.mode == "F":
            lo, hi = float(arr.min(initial=0)), float(arr.max(initial=1)) or 1.0
            arr = arr - lo
            hi = hi - lo or 1.0
        gray = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if im.mode != "RGB":
        return im.convert("RGB")
    return im


def decode_image(data: bytes, max_side: int = S.WORK_MAX_SIDE) -> np.ndarray:
    """Decode image bytes into an ``(h, w, 3)`` uint8 RGB array.

    Applies EXIF orientation, takes the first frame of animations, refuses
    images above ``settings.MAX_IMAGE_PIXELS`` before decoding pixels, and
    downscales photos whose longest side exceeds ``max_side``. Raises
    :class:`UnreadableImageError` with reason ``empty``, ``not an image``,
    ``too many pixels``, ``truncated`` or ``corrupt``.
    """
    if not data:
        raise UnreadableImageError("empty", "the file has 0 bytes")
    # face_recognition flips this flag on at import; a cut-off photo must be
    # reported, not decoded with grey fill.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise UnreadableImageError("not an image", "the content is not a known image format") from exc
    except Image.DecompressionBombError as exc:
        raise UnreadableImageError("too many pixels", str(exc)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError("corrupt", str(exc)) from exc
    with im:
        w, h = im.size
        if w * h > S.MAX_IMAGE_PIXELS:
            raise UnreadableImageError(
                "too many pixels",
                f"{w}x{h} = {w * h / 1e6:.0f} MP is above the {S.MAX_IMAGE_PIXELS / 1e6:.0f} MP limit",
            )
        if w == 0 or h == 0:
            raise UnreadableImageError("corrupt", f"image size {w}x{h}")
        try:
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)
            if im.format == "JPEG" and max(w, h) > 2 * max_side:
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: far faster for huge photos.
                im.draft("RGB", (max(1, w * max_side // max(w, h)), max(1, h * max_side // max(w, h))))
            im.load()
            oriented = ImageOps.exif_transpose(im) or im
            rgb = _to_rgb(oriented)
        except OSError as exc:
            if "truncated" in str(exc).lower():
                raise UnreadableImageError("truncated", "the file ends before the image data does") from exc
            raise UnreadableImageError("corrupt", str(exc)) from exc
        except (SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
            raise UnreadableImageError("corrupt", str(exc)) from exc
    if max(rgb.size) > max_side:
        rgb = rgb.copy()
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(rgb, dtype=np.uint8)


# --------------------------------------------------------------------------- folders


def allowed_roots_from_env() -> list[Path]:
    """Return the folders the app may read: ``$FACECORE_ALLOWED_ROOTS`` plus the shared dataset's parent."""
    roots = [Path(p) for p in os.environ.get("FACECORE_ALLOWED_ROOTS", "").split(os.pathsep) if p.strip()]
    shared = S.default_dataset_path()
    if shared.is_dir():
        roots.append(shared.parent)
    return [r.expanduser().resolve() for r in roots]


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check_folder(folder: str | os.PathLike[str], allowed_roots: Iterable[Path] | None = None) -> Path:
    """Resolve ``folder`` and check it may be read; return the resolved path.

    With ``allowed_roots`` given, the real path (symlinks resolved, ``..``
    collapsed) must lie under one of them. Raises :class:`UnsafeInputError`
    for a path outside them and :class:`DatasetError` for one that is missing,
    not a folder or not readable.
    """
    raw = Path(folder).expanduser()
    if not str(folder).strip():
        raise DatasetError("Type a folder path first.")
    try:
        real = raw.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise DatasetError(f"Folder {str(folder)!r} does not exist.") from exc
    if allowed_roots is not None:
        roots = [Path(r).resolve() for r in allowed_roots]
        if not any(_is_within(real, r) for r in roots):
            shown = ", ".join(str(r) for r in roots) or "(none configured)"
            raise UnsafeInputError(f"{str(folder)!r} is outside the allowed folders: {shown}.")
    if not real.is_dir():
        raise DatasetError(f"{str(folder)!r} is not a folder.")
    if not os.access(real, os.R_OK | os.X_OK):
        raise DatasetError(f"Folder {str(folder)!r} is not readable (permission denied).")
    return real


def scan_folder(
    folder: str | os.PathLike[str],
    allowed_roots: Iterable[Path] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[ImageRef], list[Skipped]]:
    """List the images under ``folder`` recursively, in sorted order.

    Returns ``(images, skipped)``; names are paths relative to the folder with
    ``/`` separators. With ``allowed_roots``, files whose real path (after
    symlinks) leaves them are skipped; device files, FIFOs and unreadable
    entries are skipped with a reason;
    files without an image extension are skipped as ``unsupported type``.
    """
    root = check_folder(folder, allowed_roots)
    roots = [Path(r).resolve() for r in allowed_roots] if allowed_roots is not None else None
    images: list[ImageRef] = []
    skipped: list[Skipped] = []

    def on_error(exc: OSError) -> None:
        skipped.append(Skipped(os.path.relpath(exc.filename or str(root), root), "unreadable", exc.strerror or str(exc)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        if should_stop is not None and should_stop():
            break
        dirnames.sort()
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for fn in sorted(filenames):
            if fn.startswith("."):
                continue
            full = Path(dirpath) / fn
            rel = full.relative_to(root).as_posix()
            if not _has_image_extension(fn):
                skipped.append(Skipped(rel, "unsupported type", f"{full.suffix or 'no extension'} is not an image type"))
                continue
            try:
                real = full.resolve(strict=True)
                mode = os.stat(real).st_mode
            except (OSError, RuntimeError) as exc:
                skipped.append(Skipped(rel, "unreadable", str(exc)))
                continue
            if roots is not None and not any(_is_within(real, r) for r in roots):
                skipped.append(Skipped(rel, "outside allowed folders", "a link that points outside the allowed folders"))
                continue
            if not stat.S_ISREG(mode):
                skipped.append(Skipped(rel, "not a file", "a device, pipe or socket, not a regular file"))
                continue
            images.append(ImageRef(name=rel, path=str(real)))
    return images, skipped


# --------------------------------------------------------------------------- zips and uploads


def _safe_member_name(name: str) -> str | None:
    """Return a clean relative name for a zip member, or None if it is unsafe."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return None
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if any(p == ".." for p in parts) or not parts:
        return None
    return "/".join(p for p in parts if p != ".")


def read_zip(
    source: bytes | str | os.PathLike[str],
    prefix: str = "",
    max_members: int = S.ZIP_MAX_MEMBERS,
    max_total_bytes: int = S.ZIP_MAX_TOTAL_BYTES,
    max_ratio: int = S.ZIP_MAX_RATIO,
) -> tuple[list[ImageRef], list[Skipped]]:
    """Read the images of a zip archive into memory; nothing is written to disk.

    Members with absolute or ``..`` names are skipped as ``unsafe path``,
    nested archives as ``nested archive``, members compressed more than
    ``max_ratio`` times or beyond ``max_total_bytes`` in total as ``zip bomb``.
    Raises :class:`DatasetError` if the archive itself is unreadable or has
    more than ``max_members`` entries.
    """
    label = prefix or (os.fspath(source) if not isinstance(source, bytes) else "archive")
    try:
        zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DatasetError(f"{label} is not a readable zip archive ({exc}).") from exc
    images: list[ImageRef] = []
    skipped: list[Skipped] = []
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise DatasetError(f"{label} has {len(infos)} entries; the limit is {max_members}.")
        for info in infos:
            if info.is_dir():
                continue
            shown = f"{prefix}{info.filename}"
            clean = _safe_member_name(info.filename)
            if clean is None:
                skipped.append(Skipped(shown, "unsafe path", "absolute or '..' path inside the archive"))
                continue
            if PurePosixPath(clean).name.startswith(".") or clean.startswith("__MACOSX/"):
                continue
            shown = f"{prefix}{clean}"
            if clean.lower().endswith(".zip"):
                skipped.append(Skipped(shown, "nested archive", "archives inside archives are not opened"))
                continue
            if not _has_image_extension(clean):
                skipped.append(Skipped(shown, "unsupported type", "not an image type"))
                continue
            if info.file_size > S.MAX_FILE_BYTES:
                skipped.append(Skipped(shown, "too large", f"{info.file_size / 1e6:.0f} MB unpacked"))
                continue
            if info.compress_size and info.file_size / info.compress_size > max_ratio and info.file_size > 1_000_000:
                skipped.append(Skipped(shown, "zip bomb", f"compressed {info.file_size // info.compress_size}x"))
                continue
            if total + info.file_size > max_total_bytes:
                skipped.append(Skipped(shown, "zip bomb", f"archive unpacks to more than {max_total_bytes / 2**30:.0f} GiB"))
                continue
            try:
                # Read at most the declared size + 1: a header that lies about
                # the size cannot make us inflate more than that.
                with zf.open(info) as fh:
                    data = fh.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError) as exc:
                skipped.append(Skipped(shown, "corrupt", f"cannot unpack: {exc}"))
                continue
            if len(data) > info.file_size:
                skipped.append(Skipped(shown, "zip bomb", "member is larger than its header says"))
                continue
            total += len(data)
            images.append(ImageRef(name=shown, data=data))
    return images, skipped


def from_uploads(files: Iterable[tuple[str, bytes]]) -> tuple[list[ImageRef], list[Skipped]]:
    """Turn uploaded ``(file name, bytes)`` pairs into images; zip uploads are expanded.

    Only the base name of an upload is kept, so a crafted name cannot point anywhere.
    """
    images: list[ImageRef] = []
    skipped: list[Skipped] = []
    for raw_name, data in files:
        name = PurePosixPath(str(raw_name).replace("\\", "/")).name or "upload"
        if name.lower().endswith(".zip"):
            try:
                imgs, skip = read_zip(data, prefix=f"{name}/")
            except DatasetError as exc:
                skipped.append(Skipped(name, "corrupt", str(exc)))
                continue
            images += imgs
            skipped += skip
        elif _has_image_extension(name):
            images.append(ImageRef(name=name, data=data))
        else:
            skipped.append(Skipped(name, "unsupported type", "not an image or zip file"))
    return images, skipped


def open_dataset(
    source: str | os.PathLike[str],
    allowed_roots: Iterable[Path] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[ImageRef], list[Skipped]]:
    """Open a folder or a ``.zip`` file on disk as a list of images (see :func:`scan_folder`)."""
    path = Path(source).expanduser()
    if path.suffix.lower() == ".zip" and path.is_file():
        if allowed_roots is not None:
            check_folder(path.parent, allowed_roots)
        return read_zip(path, prefix="")
    return scan_folder(path, allowed_roots, should_stop)


