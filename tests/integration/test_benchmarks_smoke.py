"""
The benchmark script runs end to end and ends its output with its JSON line.

``benchmarks/run.py --quick`` starts moto's SQS server and a worker like the full run,
with tiny sizes and one repeat. Its figures are not checked: timings belong in
``benchmarks/RESULTS.md``, not in assertions.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
KEYS = {
    "router_ratio",
    "publish_ratio",
    "publish_same_topology_ratio",
    "cold_start_ratio",
    "suite_seconds",
    "worker_ratio",
}


def test_quick_run_prints_every_key_as_its_last_line() -> None:
    """--quick --json exits 0 and prints one JSON object, with every figure, last."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    lines = completed.stdout.strip().splitlines()
    report = json.loads(lines[-1])
    assert set(report) >= KEYS
    for key in KEYS:
        assert isinstance(report[key], float), key
        assert math.isfinite(report[key]), key
        assert report[key] > 0, key
    assert report["quick"] is True
    assert "router_ratio" in completed.stdout.split(lines[-1])[0], "the table comes first"
