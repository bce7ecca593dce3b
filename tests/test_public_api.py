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

    code = "import sys, facecore, facecore.cli, facecore.evaluation; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_encoding_workers_do_not_import_scikit_learn() -> None:
    import subprocess
    import sys

    code = "import sys, facecore.faceset, facecore.workers; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_public_name_is_shadowed_by_a_submodule() -> None:
    # Importing facecore.X sets the package attribute X to the module: a public
    # function named like its module would then turn into that module.
    import subprocess
    import sys

    code = (
        "import importlib, pkgutil, types, facecore\n"
        "for m in pkgutil.iter_modules(facecore.__path__):\n"
        "    if not m.name.startswith('__'): importlib.import_module('facecore.' + m.name)\n"
        "print([n for n in facecore.__all__ if isinstance(getattr(facecore, n), types.ModuleType)])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
