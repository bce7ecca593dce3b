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

    code = "import sys, facecore, facecore.cli, facecore.evaluate; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_encoding_workers_do_not_import_scikit_learn() -> None:
    import subprocess
    import sys

    code = "import sys, facecore.dataset; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
