"""`python -m scripts.loadgen` (what `scripts/bench` runs)."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
