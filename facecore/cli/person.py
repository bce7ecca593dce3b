"""``person DIR name|merge|move|undo``: correct the persons from the command line, by their stable ids (as
``people DIR`` and the app show them). The same facts the app writes (:mod:`facecore.people.edits`), so
the app shows them on its next run. DIR is a folder, a zip, or the key of an imported set.
"""

from __future__ import annotations

import argparse

from .. import settings as S
from ..errors import FaceCoreError, InvalidParameterError
from ..storage.encodings import EncodingStore
from .common import faceset_of

HELP = {
    "name": "give person ID a name",
    "merge": "these persons are one (the first id stays)",
    "move": "move faces (paths as `people --json` prints them) to person ID, a new person, or nobody",
    "undo": "take back the last correction",
}


def _person_id(text: str) -> int:
    try:
        value = int(text.removeprefix("Person ").strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a person id (a number, as `people DIR` lists), got {text!r}") \
            from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"person ids start at 1, got {value}")
    return value


def register(sub, common: argparse.ArgumentParser, model: argparse.ArgumentParser) -> dict:
    """Add ``person`` to the subparsers ``sub``; return ``{command: (run, show)}``."""
    g = sub.add_parser("person", help="name, merge or move persons by id; undo")
    g.add_argument("dir", help="folder, zip, or imported set key")
    opts = argparse.ArgumentParser(add_help=False)  # options go after the action: `person DIR name 3 Ada --cache F`
    opts.add_argument("--threshold", type=float, default=S.PEOPLE_THRESHOLD,
                      help=f"the strictness the persons are shown at (default {S.PEOPLE_THRESHOLD})")
    opts.add_argument("--min-size", type=int, default=S.PEOPLE_MIN_SIZE)
    acts = g.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = acts.add_parser("name", help=HELP["name"], parents=[common, opts])
    a.add_argument("id", type=_person_id)
    a.add_argument("name")
    a = acts.add_parser("merge", help=HELP["merge"], parents=[common, opts])
    a.add_argument("ids", type=_person_id, nargs="+")
    a = acts.add_parser("move", help=HELP["move"], parents=[common, opts])
    a.add_argument("faces", nargs="+", metavar="FACE", help="PATH (its face 0) or PATH#N (face N of the photo)")
    a.add_argument("--to", required=True, help="a person id, 'new' or 'nobody'")
    acts.add_parser("undo", help=HELP["undo"], parents=[common, opts])
    return {"person": (cmd_person, show_person)}


def face_rows(faceset, refs: list[str]) -> list[int]:
    """The face rows named by ``refs`` (``PATH`` or ``PATH#N``, as :func:`facecore.people.report.face_refs`)."""
    from ..people.report import face_refs

    row_of = {ref: r for r, ref in enumerate(face_refs(faceset))}
    rows = []
    for ref in refs:
        text = ref[:-2] if ref.endswith("#0") else ref
        if text not in row_of:
            raise InvalidParameterError(
                f"face {ref!r} is not a face of this set: give a path as `people DIR --json` prints it "
                "(PATH#N for face N of a photo)."
            )
        rows.append(row_of[text])
    return rows


def _target(text: str):
    if text in ("new", "nobody"):
        return None if text == "nobody" else "new"
    try:
        return _person_id(text)
    except argparse.ArgumentTypeError as exc:
        raise InvalidParameterError(f"--to {exc}, 'new' or 'nobody'.") from None


def cmd_person(args: argparse.Namespace) -> dict:
    from ..people import edits
    from ..people.identities import persons_for
    from ..storage.person_facts import undo_correction

    store = EncodingStore(args.cache)
    args.all_faces = True  # the persons `people DIR` lists and the People page shows: every face
    fs = faceset_of(args.dir, args)
    if args.action == "undo":
        undone = undo_correction(store, fs.settings_key)
        if undone is None:
            raise FaceCoreError("There is no correction left to undo for these photos and encoder settings.")
        return {"action": "undo", "summary": undone.summary}
    persons = persons_for(store, fs, args.threshold, args.min_size)
    if args.action == "name":
        done = edits.name_id(store, fs, persons, args.id, args.name)
    elif args.action == "merge":
        done = edits.merge_ids(store, fs, persons, args.ids)
    else:
        target = _target(args.to)
        done = edits.move_to(store, fs, persons, face_rows(fs, args.faces), target)
    after = persons_for(store, fs, args.threshold, args.min_size)
    return {"action": done.kind, "summary": done.summary, "persons": after.n_persons,
            "unsorted": len(after.grouping.unsorted)}  # fmt: skip


def show_person(out: dict) -> None:
    print(f"{'Undone' if out['action'] == 'undo' else 'Saved'}: {out['summary']}.")
    if "persons" in out:
        print(f"{out['persons']} persons, {out['unsorted']} faces unsorted")
