"""How fast the command line is: one script (interpreter start included) and whole trees.

    python tests/benchmark_cli.py [--runs 10] [--corpus DIR] [--speed-only]

Prints, for `k2t convert` of a 100-line Keras script and of a 100-line script
without Keras, the median wall time of a fresh process (hyperfine's figure
when hyperfine is installed); then files per second for the standard library
tree (no Keras: the fast path) and for a tree of Keras scripts (the whole
libcst pipeline), on one process and on every core.

Then the conversion itself (k2t.convert_source in this process, imports done):
the CPU seconds per 100 lines of each fixture and of each script of the
third-party corpus (tests/corpus/scripts, or --corpus DIR), the best of
--runs, with those over budget listed. The budget (issue 11: a 100-line script
converts in under 0.5 s) is 0.5 s per 100 lines, and 0.5 s for a script shorter
than 100 lines: a conversion's fixed cost (parsing, name resolution, the
templates) makes a 20-line script's per-line figure meaningless.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
K2T = [sys.executable, "-m", "k2t"]


def keras_script_100_lines() -> str:
    """The iris fixture, padded with plain code to exactly 100 lines."""
    lines = (ROOT / "fixtures" / "iris_like_multiclass" / "input.py").read_text().splitlines()
    lines += [f"print('padding line {i}')" for i in range(100 - len(lines))]
    return "\n".join(lines[:100]) + "\n"


def plain_script_100_lines() -> str:
    return "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(25))


def wall_of_one(script: Path, runs: int) -> tuple[float, str]:
    command = [*K2T, "convert", str(script)]
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            quoted = " ".join(f"'{c}'" for c in command) + " > /dev/null"
            subprocess.run(
                ["hyperfine", "--shell=sh", "--warmup", "2", "--runs", str(runs), "--export-json", out.name, quoted],
                check=True,
                capture_output=True,
            )
            return json.loads(Path(out.name).read_text())["results"][0]["median"], "hyperfine"
    subprocess.run(command, check=False, capture_output=True)  # warm the file cache and .pyc files
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=False, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), "time.perf_counter"


def files_per_second(paths: list[str], files: int, jobs: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([*K2T, "convert", "-q", "-j", str(jobs), *paths, "-o", out], check=False, capture_output=True)
        return files / (time.perf_counter() - start)


# Issue 11: converting a 100-line script takes less than this.
BUDGET_PER_100_LINES = 0.5


def seconds_per_100_lines(path: Path, runs: int) -> tuple[int, float]:
    """(lines, best seconds of ``runs`` conversions per 100 lines) of one script, in this process."""
    import k2t

    source = path.read_text(encoding="utf-8")
    lines = max(1, source.count("\n"))
    best = min(_timed(k2t.convert_source, source, path.name) for _ in range(runs))
    return lines, best * 100 / lines


def _timed(function, *args) -> float:
    """CPU seconds of one call: on a machine busy with other work, wall time measures the others too."""
    start = time.process_time()
    function(*args)
    return time.process_time() - start


def conversion_speed(corpus: Path | None, runs: int) -> None:
    import k2t

    sys.path.insert(0, str(ROOT))  # this checkout's k2t, as the subprocesses above use
    k2t.convert_source("import keras\n", "warm.py")  # imports and template loading are not the conversion
    groups = {"fixtures": sorted((ROOT / "fixtures").glob("*/input.py"))}
    if corpus is not None and corpus.is_dir():
        groups["corpus"] = sorted(corpus.glob("*.py"))
    slow = []
    for group, paths in groups.items():
        timings = [(path, *seconds_per_100_lines(path, runs)) for path in paths]
        per_100 = sorted(t for _, _, t in timings)
        total_lines = sum(lines for _, lines, _ in timings)
        total = sum(t * lines / 100 for _, lines, t in timings)
        print(
            f"conversion, {group} ({len(paths)} scripts, {total_lines} lines): per 100 lines median {statistics.median(per_100):.3f} s, "
            f"max {per_100[-1]:.3f} s, overall {100 * total / total_lines:.3f} s (best of {runs})"
        )
        slow += [(group, path, lines, t) for path, lines, t in timings if _seconds(lines, t) > _budget(lines)]
        worst = max(timings, key=lambda timing: timing[2])
        print(f"  slowest: {worst[0].parent.name if group == 'fixtures' else worst[0].name} ({worst[1]} lines): {worst[2]:.3f} s per 100 lines")
    for group, path, lines, t in slow:
        print(
            f"  OVER budget: {group} {path.parent.name if group == 'fixtures' else path.name} ({lines} lines): {_seconds(lines, t):.3f} s "
            f"(budget {_budget(lines):.3f} s; {t:.3f} s per 100 lines)"
        )
    if not slow:
        print(f"  every script converts within {BUDGET_PER_100_LINES} s per 100 lines (0.5 s under 100 lines)")


def _seconds(lines: int, per_100: float) -> float:
    return per_100 * lines / 100


def _budget(lines: int) -> float:
    """A script's budget: a 100-line script's 0.5 s, or 0.5 s per 100 lines above that."""
    return BUDGET_PER_100_LINES * max(1.0, lines / 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "corpus" / "scripts", help="the third-party corpus's scripts")
    parser.add_argument("--speed-only", action="store_true", help="only the in-process conversion speed")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(f"python {sys.version.split()[0]}, {cores} cores, load average {os.getloadavg()[0]:.1f}")
    if args.speed_only:
        conversion_speed(args.corpus, min(args.runs, 3))
        return

    with tempfile.TemporaryDirectory() as tmp:
        for name, text in [
            ("keras_100_lines.py", keras_script_100_lines()),
            ("plain_100_lines.py", plain_script_100_lines()),
        ]:
            script = Path(tmp) / name
            script.write_text(text)
            seconds, how = wall_of_one(script, args.runs)
            print(f"k2t convert {name}: {seconds:.3f} s wall, median of {args.runs} ({how})")

        stdlib = Path(sysconfig.get_paths()["stdlib"])
        parts = [p for p in sorted(stdlib.iterdir()) if p.name != "site-packages" and (p.is_dir() or p.suffix == ".py")]
        n = sum(1 for p in parts for _ in (p.rglob("*.py") if p.is_dir() else [p]))
        for jobs in sorted({1, cores}):
            rate = files_per_second([str(p) for p in parts], n, jobs)
            print(f"stdlib tree ({n} files, no Keras), -j {jobs}: {rate:.0f} files/s")

        keras_tree = Path(tmp) / "keras_tree"
        fixtures = sorted((ROOT / "fixtures").glob("*/input.py"))
        for copy in range(4):
            for fixture in fixtures:
                target = keras_tree / f"copy{copy}" / f"{fixture.parent.name}.py"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(fixture, target)
        for jobs in sorted({1, cores}):
            rate = files_per_second([str(keras_tree)], 4 * len(fixtures), jobs)
            print(f"Keras tree ({4 * len(fixtures)} fixture scripts), -j {jobs}: {rate:.1f} files/s")
    conversion_speed(args.corpus, min(args.runs, 3))


if __name__ == "__main__":
    main()
