"""Group photos composed from the shared people's photos, with the truth per face box (tests only; the photos
are written to tmp dirs, never into the project)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

GROUP_PEOPLE = ["person_7201", "person_7203", "person_7204", "person_7205"]
#: Tile heights in px: the faces of one group photo come at different sizes.
HEIGHTS = (300, 230, 180, 260)
IN_GROUPS = 3  # the first photos of each person go into group photos; the next one into the query photo


@dataclass(frozen=True)
class Tile:
    """One person's photo pasted into a group photo: where it sits and how it maps back to its source."""

    person: str
    source_box: tuple[int, int, int, int]  # the source photo's largest face, (top, right, bottom, left)
    left: int  # the tile's place on the canvas, px
    top: int
    width: int
    height: int
    crop: tuple[int, int]  # the crop's (left, top) in the source photo
    scale: float  # tile px per source px

    def holds(self, box: list[int]) -> bool:
        cy, cx = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return self.left <= cx < self.left + self.width and self.top <= cy < self.top + self.height

    def to_source(self, box: list[int]) -> tuple[float, float, float, float]:
        t, r, b, lf = box
        return tuple((v - o) / self.scale + c for v, o, c in
                     ((t, self.top, self.crop[1]), (r, self.left, self.crop[0]),
                      (b, self.top, self.crop[1]), (lf, self.left, self.crop[0])))  # fmt: skip


def iou(a, b) -> float:
    t, r, b_, lf = max(a[0], b[0]), min(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])
    inter = max(0.0, r - lf) * max(0.0, b_ - t)
    area = (a[1] - a[3]) * (a[2] - a[0]) + (b[1] - b[3]) * (b[2] - b[0])
    return inter / (area - inter)


def compose(sources: list[tuple[str, Path, tuple]], out: Path) -> list[Tile]:
    """Crop each source photo around its face, scale it to its height in :data:`HEIGHTS`, and paste the crops
    side by side on one canvas saved as ``out``; return the truth per tile."""
    from PIL import Image

    tiles, pieces, x = [], [], 30
    for (person, path, box), height in zip(sources, HEIGHTS, strict=False):
        im = Image.open(path).convert("RGB")
        t, r, b, lf = box
        m = int(0.6 * (b - t))
        crop = (max(0, lf - m), max(0, t - m), min(im.width, r + m), min(im.height, b + m))
        scale = height / (crop[3] - crop[1])
        piece = im.crop(crop).resize((round((crop[2] - crop[0]) * scale), height), Image.Resampling.LANCZOS)
        top = 20 + (max(HEIGHTS) - height) // 2
        tiles.append(Tile(person, box, x, top, piece.width, height, crop[:2], scale))
        pieces.append(piece)
        x += piece.width + 40
    canvas = Image.new("RGB", (x, max(HEIGHTS) + 40), (245, 245, 240))
    for tile, piece in zip(tiles, pieces, strict=True):
        canvas.paste(piece, (tile.left, tile.top))
    canvas.save(out, quality=95)
    return tiles


def tile_of(tiles: list[Tile], box: list[int]) -> Tile | None:
    return next((t for t in tiles if t.holds(box)), None)


def group_folder(root: Path, query: Path, small_faceset, dataset_dir: Path) -> dict:
    """Fill ``root`` with a folder of each of :data:`GROUP_PEOPLE`'s other photos (links) and ``groups/`` of
    composed group photos, and write a group photo ``query`` outside it (its sources in neither).
    Returns ``{"root", "query", "tiles": {path: [Tile]}, "query_tiles": [Tile]}``."""
    first = {}  # person -> their photos' (path, largest face box), in name order
    for face in small_faceset.faces:
        if face.person in GROUP_PEOPLE and face.in_photo == 0:
            first.setdefault(face.person, []).append((dataset_dir / face.name, face.box))
    (root / "groups").mkdir()
    tiles = {}
    for g in range(IN_GROUPS):
        order = GROUP_PEOPLE[g:] + GROUP_PEOPLE[:g]  # each person at another place and size in each photo
        sources = [(p, *first[p][g]) for p in order]
        tiles[f"groups/group_{g}.jpg"] = compose(sources, root / "groups" / f"group_{g}.jpg")
    for person in GROUP_PEOPLE:
        (root / person).mkdir()
        for path, _ in first[person][IN_GROUPS + 1 :]:
            (root / person / path.name).symlink_to(path)
    query_tiles = compose([(p, *first[p][IN_GROUPS]) for p in GROUP_PEOPLE], query)
    return {"root": root, "query": query, "tiles": tiles, "query_tiles": query_tiles}
