"""Entry point of ``python -m facecore``."""

import sys

from .cli import main

sys.exit(main())
