"""Decoding image bytes safely into RGB arrays, and the small JPEG face crops.

:func:`decode_image` turns bytes into an 8-bit RGB array: EXIF orientation
applied, any Pillow mode converted, first frame of animations, pixel count
checked *before* decoding, truncated files reported instead of silently
grey-filled, only the Pillow decoders of photo formats allowed.
:func:`face_thumbnail` makes the crops the cache keeps for the app.
Nothing here reads or writes files.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

from .. import settings as S
from ..errors import UnreadableImageError

Box = tuple[int, int, int, int]  # (top, right, bottom, left) in px, face_recognition's css order

try:  # HEIC/HEIF photos from phones, only where pillow-heif is installed.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the environment
    HEIF_SUPPORTED = False

Image.MAX_IMAGE_PIXELS = S.MAX_IMAGE_PIXELS


# face_recognition sets ImageFile.LOAD_TRUNCATED_IMAGES = True when it is first
# imported (facecore.encode.encoding.load_models imports it inside truncation_flag_guard
# and sets it back). A decode running in another thread during that import would
# grey-fill a cut-off photo silently; the epoch lets decode_image notice the
# overlap and decode again with the flag held off.
_flag_lock = threading.Lock()
_flag_epoch = 0

#: File signatures of the formats we read: bytes that start like one of these
#: but do not open are a damaged image ("corrupt"), not "not an image".
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")

#: The only Pillow decoders we let run: the formats of ``settings.IMAGE_EXTENSIONS``
#: (MPO, the multi-picture JPEG of some cameras, opens as JPEG). Pillow knows
#: about forty more (EPS would even start Ghostscript); none is needed for photos.
_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "DIB", "TIFF", "HEIF")

#: Modes Image.reduce handles correctly (palette, 1-bit and 16-bit ones are converted first).
_REDUCIBLE = frozenset({"L", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "I", "F"})

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@contextmanager
def truncation_flag_guard() -> Iterator[None]:
    """Hold while running code that may flip ``ImageFile.LOAD_TRUNCATED_IMAGES``; it is off again afterwards."""
    global _flag_epoch
    with _flag_lock:
        _flag_epoch += 1
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            _flag_epoch += 1


def silence_bomb_warnings() -> None:
    """Drop Pillow's DecompressionBombWarning in a process facecore owns (workers, CLI).

    :func:`decode_image` refuses those images itself with reason ``too many
    pixels``; the warning would only add a stray line to stderr. Not done at
    import: the warning filters of a host application are its own business.
    """
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def _looks_like_image(data: bytes) -> bool:
    if data.startswith(_MAGIC):
        return True
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"heif", b"mif1", b"msf1", b"hevc", b"avif")


def _declared_size_exceeds(data: bytes) -> bool:
    """True when a WebP's RIFF header says the file is longer than ``data`` (a cut-off download)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 8:
        return int.from_bytes(data[4:8], "little") + 8 > len(data)
    return False


def _truncated_or_corrupt(exc: Exception, data: bytes) -> UnreadableImageError:
    msg = str(exc)
    if "truncated" in msg.lower() or "end of file" in msg.lower() or _declared_size_exceeds(data):
        return UnreadableImageError("truncated", "the file ends before the image data does")
    return UnreadableImageError("corrupt", f"cannot decode ({type(exc).__name__}: {msg})")


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block should not cost the photo
        return 1
    return value if isinstance(value, int) else 1


def _to_rgb(im: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB (transparency composited on white)."""
    if im.mode.startswith("I;16"):
        # Pillow's own I;16 -> L conversion clips every value above 255 to
        # white; scale the 16-bit range down instead (integers: no float copy).
        arr = np.asarray(im)
        return Image.fromarray((arr >> 8).astype(np.uint8)).convert("RGB")
    if im.mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float32)
        lo, hi = (0.0, 255.0) if im.mode == "I" else (float(arr.min(initial=0)), float(arr.max(initial=1)))
        if im.mode == "I" and arr.max(initial=0) > 255:
            hi = 65535.0
        gray = np.clip((arr - lo) / ((hi - lo) or 1.0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if im.mode != "RGB":
        return im.convert("RGB")
    return im


def _decode(data: bytes, max_side: int) -> Image.Image:
    try:
        im = Image.open(io.BytesIO(data), formats=_FORMATS)
    except UnidentifiedImageError as exc:
        if _looks_like_image(data):
            if _declared_size_exceeds(data):
                raise UnreadableImageError("truncated", "the file ends before the image data does") from exc
            raise UnreadableImageError("corrupt", "the file starts like an image but its header is damaged") from exc
        raise UnreadableImageError("not an image", "the content is not a known image format") from exc
    except Image.DecompressionBombError as exc:
        raise UnreadableImageError("too many pixels", str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - hostile headers raise many types inside Pillow's plugins
        raise _truncated_or_corrupt(exc, data) from exc
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
            # Image.open is on the first frame of an animation already; asking for
            # n_frames would walk every frame of the file.
            if im.format == "JPEG" and max(w, h) > 2 * max_side:
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: far faster for huge photos.
                im.draft("RGB", (max(1, w * max_side // max(w, h)), max(1, h * max_side // max(w, h))))
            im.load()
            orientation = _orientation(im)
            img: Image.Image = im
            factor = max(img.size) // max_side
            if factor >= 2 and img.mode in _REDUCIBLE:
                # Shrink before converting: an 80 MP RGBA PNG would otherwise
                # need several full-size copies (composite, RGB, rotation).
                img = img.reduce(factor)
            rgb = _to_rgb(img)
            method = _TRANSPOSE.get(orientation)
            if method is not None:
                rgb = rgb.transpose(method)
            if rgb is im:
                rgb = rgb.copy()
        except Image.DecompressionBombError as exc:
            raise UnreadableImageError("too many pixels", str(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - a damaged file must never stop a whole folder
            raise _truncated_or_corrupt(exc, data) from exc
    if max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return rgb


def decode_image(data: bytes, max_side: int = S.WORK_MAX_SIDE) -> np.ndarray:
    """Decode image bytes into an ``(h, w, 3)`` uint8 RGB array.

    Applies EXIF orientation, takes the first frame of animations, refuses
    images above ``settings.MAX_IMAGE_PIXELS`` before decoding pixels, and
    downscales photos whose longest side exceeds ``max_side``. Raises
    :class:`UnreadableImageError` with reason ``empty``, ``not an image``,
    ``too many pixels``, ``truncated`` or ``corrupt``, and nothing else.
    """
    if not data:
        raise UnreadableImageError("empty", "the file has 0 bytes")
    # A cut-off photo must be reported, not decoded with grey fill: the flag
    # is off while we decode, and if face_recognition's import overlapped
    # (the epoch moved) the result is not trusted and we decode again.
    with _flag_lock:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        epoch = _flag_epoch
    rgb = _decode(data, max_side)
    if epoch != _flag_epoch:
        with _flag_lock:
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            rgb = _decode(data, max_side)
    return np.asarray(rgb, dtype=np.uint8)


def face_thumbnail(rgb: np.ndarray, box: Box, side: int = S.THUMB_SIDE) -> bytes:
    """Return a square JPEG (``side`` px) of the face in ``box`` with some margin around it."""
    t, r, b, lf = box
    h, w = rgb.shape[:2]
    cy, cx = (t + b) / 2, (lf + r) / 2
    half = max(b - t, r - lf) * 0.75
    top, bottom = int(max(0, cy - half)), int(min(h, cy + half))
    left, right = int(max(0, cx - half)), int(min(w, cx + half))
    crop = Image.fromarray(rgb[top:bottom, left:right])
    crop.thumbnail((side, side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    crop.save(buf, format="JPEG", quality=82)
    return buf.getvalue()
