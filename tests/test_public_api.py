"""The public names of facecore are deliberate: this locks them."""

import facecore


def test_public_names_are_sorted_and_importable() -> None:
    assert facecore.__all__ == sorted(facecore.__all__)
    assert facecore.__all__ == sorted(facecore._LAZY)  # every public name loads lazily
    for name in facecore.__all__:
        assert getattr(facecore, name) is not None


def test_facecore_never_imports_streamlit() -> None:
    import subprocess
    import sys

    code = "import sys, facecore, facecore.cli, facecore.search.evaluation; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_encoding_workers_do_not_import_scikit_learn() -> None:
    import subprocess
    import sys

    code = "import sys, facecore.faceset, facecore.encode.workers; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_public_name_is_shadowed_by_a_submodule() -> None:
    # Importing facecore.X sets the package attribute X to the module: a public
    # function named like its module would then turn into that module.
    import subprocess
    import sys

    code = (
        "import importlib, pkgutil, types, facecore\n"
        "packages = [facecore]\n"
        "for m in pkgutil.walk_packages(facecore.__path__, 'facecore.'):\n"
        "    if m.name.endswith(('__main__', 'dask_backend')): continue\n"
        "    module = importlib.import_module(m.name)\n"
        "    if m.ispkg: packages.append(module)\n"
        "print([(p.__name__, n) for p in packages for n in getattr(p, '__all__', [])\n"
        "       if isinstance(getattr(p, n), types.ModuleType)])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_error_lives_in_errors_and_is_public() -> None:
    import importlib
    import pkgutil

    import facecore
    from facecore import errors

    for info in pkgutil.walk_packages(facecore.__path__, "facecore."):
        if info.name.endswith(("__main__", "dask_backend")):  # dask_backend needs the optional `distributed`
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, facecore.FaceCoreError):
                assert value.__module__ == "facecore.errors", f"{name} is defined in {info.name}, not errors.py"
    for name, value in vars(errors).items():
        if isinstance(value, type) and issubclass(value, facecore.FaceCoreError):
            assert getattr(facecore, name) is value and name in facecore.__all__, name


def _layout_files(block: str) -> set[str]:
    """Paths of the ``.py`` files a tree drawn as in the README names: ``name/`` opens a folder, whatever is
    indented deeper is inside it, and every ``x.py`` on those lines is a file of that folder."""
    import re

    named: set[str] = set()
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        folder = re.match(r"(\w+)/(\s|$)", line.strip())
        if folder:
            stack.append((indent, folder.group(1)))
        prefix = "/".join(name for _, name in stack)
        named |= {f"{prefix}/{f}" if prefix else f for f in re.findall(r"\b\w+\.py\b", line)}
    return named


def test_the_readme_layout_names_every_module() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    text = (root / "README.md").read_text()
    layout = text[text.index("## How the code is laid out") :]
    layout = layout[layout.index("```") + 3 : layout.index("```", layout.index("```") + 3)]
    named = {p for p in _layout_files(layout) if p.startswith(("facecore/", "pages/")) and "__init__" not in p}
    files = {str(p.relative_to(root)) for d in ("facecore", "pages") for p in (root / d).rglob("*.py")}
    files = {f for f in files if not f.endswith("__init__.py")}
    assert files <= named, f"not in the README's layout: {sorted(files - named)}"
    assert named <= files, f"in the README's layout but not in the tree: {sorted(named - files)}"


def test_the_readme_layout_names_every_test_folder() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    text = (root / "README.md").read_text()
    layout = text[text.index("## How the code is laid out") :]
    tests = layout[layout.index("\ntests/") : layout.index("```", layout.index("\ntests/"))]
    folders = {p.parent.name for p in (root / "tests").glob("*/__init__.py")}
    assert folders, "no test folders found"
    assert not [f for f in folders if f"{f}/" not in tests], f"name these test folders in the README: {sorted(folders)}"
    assert not [f for f in folders if not (root / "facecore" / f).is_dir() and f != "app"], (
        "a test folder mirrors a facecore package (or is app/, for app.py and pages/)"
    )


def test_the_layout_reader_follows_folders() -> None:
    tree = "a.py\npkg/   x.py\n  b.py c.py\n  sub/\n    d.py\n                    e.py\n  f.py\ng.py"
    assert _layout_files(tree) == {"a.py", "pkg/x.py", "pkg/b.py", "pkg/c.py", "pkg/sub/d.py", "pkg/sub/e.py",
                                   "pkg/f.py", "g.py"}  # fmt: skip
