"""Run the demo: ``python -m cadasta.workertoolbox.demo [--result-backend URL] [--json]``."""

from __future__ import annotations

import sys

from ._main import main

if __name__ == "__main__":
    sys.exit(main())
