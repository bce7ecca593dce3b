"""The Photos page's table of skipped files."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from facecore import Skipped


def skipped_frame(skipped: Sequence[Skipped]) -> pd.DataFrame:
    """The skipped files as a table with columns path, reason, detail."""
    return pd.DataFrame(
        {
            "path": [s.path for s in skipped],
            "reason": [s.reason for s in skipped],
            "detail": [s.detail for s in skipped],
        }
    )
