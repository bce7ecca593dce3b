"""Builders of hostile and unusual input files, shared by the hostile-input tests.

Everything is generated in memory (Pillow, zipfile) and written by the tests
into pytest's ``tmp_path`` only; real faces come from the shared CelebA
photos and are only ever transformed into tmp_path, never copied into the
project. Each builder returns bytes; ``*_CASES`` tables pair a file name with
the exact reason facecore must give for it (``None``: must be encoded).
"""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

#: One upright, clearly visible face per test run (first photo of person_7201).
FACE_PERSON = "person_7201"


def face_photo(dataset_dir: Path) -> Path:
    """The real photo most tests derive their images from."""
    return sorted((dataset_dir / FACE_PERSON).glob("*.jpg"))[0]


def save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def cut(data: bytes, fraction: float) -> bytes:
    """The first ``fraction`` of a file: a download or copy that stopped early."""
    return data[: int(len(data) * fraction)]


# --------------------------------------------------------------------------- broken files


def not_an_image() -> bytes:
    return b"This is a text file that someone renamed to .jpg\n" * 20


def html_as_png() -> bytes:
    return b"<html><body><script>alert('x')</script></body></html>"


def corrupt_png_data(face: Image.Image) -> bytes:
    """A PNG whose compressed pixel data (IDAT) is overwritten with zeros."""
    data = bytearray(save(face, "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 40 : idat + 400] = bytes(360)
    return bytes(data)


def corrupt_png_header(face: Image.Image) -> bytes:
    """A PNG with a flipped byte in its IHDR (the CRC no longer matches)."""
    data = bytearray(save(face, "PNG"))
    data[20] ^= 0xFF
    return bytes(data)


def no_face() -> bytes:
    """A sky-blue picture with a gradient: a valid photo without any face."""
    x = np.linspace(0, 1, 400, dtype=np.float32)
    arr = np.stack([np.outer(np.ones(300), 90 + 60 * x), np.outer(np.ones(300), 160 + 40 * x),
                    np.full((300, 400), 220.0)], axis=-1)
    return save(Image.fromarray(arr.astype(np.uint8)), "JPEG", quality=90)


def bomb_png(mode: str) -> bytes:
    """A 10000x10000 (100 MP) image of zeros: a few KB on disk, 100-300 MB decoded."""
    return save(Image.new(mode, (10_000, 10_000)), "PNG", optimize=True)


# --------------------------------------------------------------------------- modes from a real face


def gray16(face: Image.Image) -> Image.Image:
    """16-bit grayscale (I;16) with the full 0..65535 range, as scanners write it."""
    g = np.asarray(face.convert("L"), dtype=np.uint16) * 257
    return Image.frombytes("I;16", face.size, g.astype("<u2").tobytes())


def exif_rotated(face: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    """A phone photo: pixels stored sideways, EXIF Orientation=6 tells viewers to turn them upright."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    return save(face.transpose(Image.Transpose.ROTATE_90), fmt, exif=exif.tobytes(), **kw)


def animated(face: Image.Image, fmt: str, face_first: bool = True) -> bytes:
    blank = Image.new("RGB", face.size, (200, 30, 30))
    frames = [face, blank] if face_first else [blank, face]
    kw = {"lossless": True} if fmt == "WEBP" else {}
    return save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, **kw)


def palette(face: Image.Image, transparent: bool) -> bytes:
    p = face.convert("P", palette=Image.Palette.ADAPTIVE, colors=255)
    return save(p, "PNG", transparency=254) if transparent else save(p, "PNG")


def huge_jpeg(face: Image.Image, width: int = 7000) -> bytes:
    """The face photo upscaled to ``width`` px wide: a legitimate, large camera-sized photo."""
    big = face.resize((width, round(width * face.height / face.width)), Image.Resampling.BICUBIC)
    return save(big, "JPEG", quality=90)


def bad_exif(face: Image.Image) -> bytes:
    """A photo whose EXIF Orientation holds a value no camera writes (99)."""
    exif = Image.Exif()
    exif[0x0112] = 99
    return save(face, "JPEG", quality=92, exif=exif.tobytes())


def heic(face: Image.Image) -> bytes:
    import pillow_heif  # noqa: F401 - registers the HEIF writer

    return save(face, "HEIF", quality=90)


#: (file name, builder of its bytes from the face photo) of images that must
#: be encoded, each built FROM the real face photo.
MODE_CASES: dict[str, Callable[[Image.Image], bytes]] = {
    "mode_L.png": lambda f: save(f.convert("L"), "PNG"),
    "mode_LA.png": lambda f: save(f.convert("LA"), "PNG"),
    "mode_P.png": lambda f: palette(f, transparent=False),
    "mode_P_transparent.png": lambda f: palette(f, transparent=True),
    "mode_RGBA.png": lambda f: save(f.convert("RGBA"), "PNG"),
    "mode_CMYK.jpg": lambda f: save(f.convert("CMYK"), "JPEG", quality=95),
    "mode_I16.png": lambda f: save(gray16(f), "PNG"),
    "animated.gif": lambda f: animated(f, "GIF"),
    "animated.webp": lambda f: animated(f, "WEBP"),
    "exif_rotated.jpg": exif_rotated,
    "bad_exif.jpg": bad_exif,
    "photo.heic": heic,
    "huge_7000px.jpg": huge_jpeg,
}


def broken_cases(face: Image.Image, face_jpeg: bytes) -> dict[str, tuple[bytes, str]]:
    """(file name) -> (bytes, exact reason) for every unusable image file."""
    baseline = save(face, "JPEG", quality=90)
    progressive = save(face, "JPEG", quality=90, progressive=True)
    png = save(face, "PNG")
    webp = save(face, "WEBP", quality=90)
    cases = {
        "not_an_image.jpg": (not_an_image(), "not an image"),
        "html.png": (html_as_png(), "not an image"),
        "empty.jpg": (b"", "empty"),
        "corrupt_data.png": (corrupt_png_data(face), "corrupt"),
        "corrupt_header.png": (corrupt_png_header(face), "corrupt"),
        "truncated_real_photo.jpg": (cut(face_jpeg, 0.6), "truncated"),
        "truncated.png": (cut(png, 0.5), "truncated"),
        "truncated.webp": (cut(webp, 0.5), "truncated"),
        "no_face.jpg": (no_face(), "no face"),
        "bomb_1bit_100MP.png": (bomb_png("1"), "too many pixels"),
        "bomb_L_100MP.png": (bomb_png("L"), "too many pixels"),
    }
    for frac in (0.1, 0.5, 0.9, 0.99):
        cases[f"truncated_baseline_{int(frac * 100)}.jpg"] = (cut(baseline, frac), "truncated")
        cases[f"truncated_progressive_{int(frac * 100)}.jpg"] = (cut(progressive, frac), "truncated")
    return cases


# --------------------------------------------------------------------------- zips


def zip_bytes(members: list[tuple[str | zipfile.ZipInfo, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)  # repeated names are a test case
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def symlink_member(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o120777 << 16  # S_IFLNK: what `zip --symlinks` stores
    return info, target.encode()


def mark_encrypted(archive: bytes, name: str) -> bytes:
    """Set the 'encrypted' flag of member ``name`` (zipfile cannot write encrypted members)."""
    data = bytearray(archive)
    encoded = name.encode()
    for sig, flag_offset, name_offset in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        pos = data.find(sig)
        while pos != -1:
            (name_len,) = struct.unpack_from("<H", data, pos + (26 if sig == b"PK\x03\x04" else 28))
            if bytes(data[pos + name_offset : pos + name_offset + name_len]) == encoded:
                (flags,) = struct.unpack_from("<H", data, pos + flag_offset)
                struct.pack_into("<H", data, pos + flag_offset, flags | 1)
            pos = data.find(sig, pos + 4)
    return bytes(data)


def understate_size(archive: bytes, name: str) -> bytes:
    """Make the central directory claim member ``name`` unpacks to 10 bytes (it is larger)."""
    data = bytearray(archive)
    encoded = name.encode()
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        (name_len,) = struct.unpack_from("<H", data, pos + 28)
        if bytes(data[pos + 46 : pos + 46 + name_len]) == encoded:
            struct.pack_into("<I", data, pos + 24, 10)  # uncompressed size
        pos = data.find(b"PK\x01\x02", pos + 4)
    return bytes(data)


def deflate_bomb_member(size: int = 50 * 2**20) -> bytes:
    """``size`` bytes of zeros: compresses about 1000 times."""
    return bytes(size)


def tiny_png() -> bytes:
    return save(Image.new("RGB", (8, 8), (10, 200, 30)), "PNG")
