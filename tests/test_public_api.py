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


def test_the_readme_layout_names_every_module() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    text = (root / "README.md").read_text()
    layout = text[text.index("## How the code is laid out") :]
    layout = layout[: layout.index("```", layout.index("```") + 3)]
    named = set(re.findall(r"[\w]+\.py", layout))
    files = {p.name for d in ("facecore", "pages") for p in (root / d).glob("*.py")} - {"__init__.py"}
    assert files <= named, f"not in the README's layout: {sorted(files - named)}"
    gone = named - files - {"__init__.py", "app.py", "audit.py", "screenshots.py"}
    assert not gone, f"in the README's layout but not in the tree: {sorted(gone)}"
