"""The bench package is not installed (it is run from the checkout with
``python -m bench``), so its tests put the repository root on ``sys.path``."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
