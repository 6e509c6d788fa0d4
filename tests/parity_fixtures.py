"""Exact parity of every fixture's fit calls, as one table (for the README).

    python tests/parity_fixtures.py [fixture ...]

For each fixture and each of its fit calls: k2t's --exact comparison (same
initial weights, shuffle and dropout off, 3 epochs). Prints the largest
layer difference and the largest relative loss / val_loss difference.
"""

from __future__ import annotations

import io
import math
import sys
from contextlib import redirect_stderr
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from k2t.parity import exact_parity

    names = sys.argv[1:] or sorted(p.name for p in (ROOT / "fixtures").iterdir() if (p / "input.py").exists())
    print(f"{'fixture':<28}{'fit':>4}{'max layer diff':>16}{'loss rel diff':>15}{'val_loss rel':>14}  result")
    failed = 0
    for name in names:
        path = ROOT / "fixtures" / name / "input.py"
        source = path.read_text(encoding="utf-8")
        index = 0
        while True:
            with redirect_stderr(io.StringIO()):
                report = exact_parity(source, epochs=3, path=path, fit_index=index)
            if report.error and "fewer than" in (report.error or "") or any("fewer than" in f for f in report.failures):
                break
            layer = max((d for _, d in report.layer_diffs), default=math.nan)
            loss = max(report.rel_diffs.get("loss", [math.nan]))
            val = max(report.rel_diffs.get("val_loss", [math.nan]))
            status = "PASS" if report.ok else "FAIL: " + (report.failures[0] if report.failures else (report.error or "")[:80])
            failed += not report.ok
            print(f"{name:<28}{index + 1:>4}{layer:>16.2e}{loss:>15.2e}{val:>14.2e}  {status}")
            index += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
