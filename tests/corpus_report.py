"""Measure k2t on the corpus of third-party Keras scripts (tests/corpus/scripts).

Not a test: a report. Every script is converted in-process with
``k2t.convert_source``; the table says, per file, whether it converted clean
(no diagnostic at all), with diagnostics (the set of codes), or hit an internal
error (an exception escaping ``convert_source``, or a K2T999). Every output is
also checked with ``ast.parse`` and with ruff's F821 (undefined name): an
output that reports exit 0 yet uses a name it never defines is the worst kind
of bug, because nothing warns the user.

    python tests/corpus_report.py                  # table + summary
    python tests/corpus_report.py --json out.json  # ... and the per-file results
    python tests/corpus_report.py --dir other/     # another folder of scripts
    python tests/corpus_report.py --no-ruff        # skip the F821 check

F821 names already undefined in the input script are reported apart from the
ones the conversion introduced.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus" / "scripts"


@dataclass
class FileResult:
    file: str
    status: str  # "clean" | "diagnostics" | "internal-error"
    ok: bool = False  # what `k2t convert` would exit 0 on: an output and no error-severity diagnostic
    codes: list[str] = field(default_factory=list)  # sorted set of codes
    diagnostics: list[dict] = field(default_factory=list)  # line, column, code, severity, message
    error: str | None = None  # the exception, for internal errors
    error_where: str | None = None  # innermost k2t frame of the traceback
    unchanged: bool = False  # output identical to the input: nothing was translated
    output_parses: bool | None = None  # None: no output
    parse_error: str | None = None
    undefined_in_output: list[str] = field(default_factory=list)  # F821 names in the output
    undefined_in_input: list[str] = field(default_factory=list)  # F821 names already in the input
    seconds: float = 0.0

    @property
    def undefined_introduced(self) -> list[str]:
        return sorted(set(self.undefined_in_output) - set(self.undefined_in_input))


def convert_one(path: Path) -> tuple[FileResult, str, str | None]:
    """Convert one script in-process; never raises."""
    from k2t import convert_source

    source = path.read_text(encoding="utf-8")
    start = time.perf_counter()
    try:
        result = convert_source(source, path.name)
    except Exception as exc:  # noqa: BLE001 - an internal error is exactly what this report counts
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/k2t/" in f.filename.replace("\\", "/")]
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}" if frames else None
        res = FileResult(path.name, "internal-error", error=f"{type(exc).__name__}: {exc}", error_where=where)
        res.seconds = time.perf_counter() - start
        return res, source, None
    seconds = time.perf_counter() - start
    diags = [
        {"line": d.line, "column": d.column, "code": d.code, "severity": d.severity.value, "message": d.message}
        for d in result.diagnostics
    ]
    codes = sorted({d["code"] for d in diags})
    if "K2T999" in codes:
        status = "internal-error"
    elif diags:
        status = "diagnostics"
    else:
        status = "clean"
    res = FileResult(path.name, status, ok=result.ok, codes=codes, diagnostics=diags, seconds=seconds)
    if "K2T999" in codes:
        res.error = "; ".join(d["message"] for d in diags if d["code"] == "K2T999")
    if result.output is not None:
        res.unchanged = result.output == source
        try:
            ast.parse(result.output)
            res.output_parses = True
        except SyntaxError as exc:
            res.output_parses = False
            res.parse_error = f"line {exc.lineno}: {exc.msg}"
    return res, source, result.output


def ruff_undefined(texts: dict[str, str], ruff: str) -> dict[str, list[str]]:
    """F821 names per key of ``texts``: one ruff run over a temporary folder."""
    found: dict[str, list[str]] = {key: [] for key in texts}
    with tempfile.TemporaryDirectory() as tmp:
        names = {}
        for i, (key, text) in enumerate(texts.items()):
            name = f"f{i:04d}.py"
            (Path(tmp) / name).write_text(text, encoding="utf-8")
            names[name] = key
        proc = subprocess.run(
            [ruff, "check", "--select", "F821", "--isolated", "--output-format", "json", "--no-cache", tmp],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"ruff failed ({proc.returncode}): {proc.stderr.strip()}")
        for item in json.loads(proc.stdout or "[]"):
            if item.get("code") != "F821":
                continue
            key = names.get(Path(item["filename"]).name)
            match = re.search(r"`([^`]*)`", item.get("message", ""))
            if key is not None:
                found[key].append(match.group(1) if match else item.get("message", "?"))
    return {key: sorted(set(v)) for key, v in found.items()}


_QUOTED = re.compile(r"`[^`]*`|'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"\b\d+(\.\d+)?\b")


def normalize(message: str) -> str:
    """Group similar messages: names in backquotes or quotes, and numbers, become placeholders."""
    return _NUMBER.sub("N", _QUOTED.sub("`…`", message))


def find_ruff() -> str | None:
    beside = Path(sys.executable).parent / "ruff"
    if beside.exists():
        return str(beside)
    return shutil.which("ruff")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=CORPUS, help="folder of scripts (default: tests/corpus/scripts)")
    parser.add_argument("--json", type=Path, help="write the per-file results to this file")
    parser.add_argument("--top", type=int, default=15, help="how many normalized messages to list")
    parser.add_argument("--no-ruff", action="store_true", help="skip the F821 (undefined name) check")
    args = parser.parse_args(argv)

    paths = sorted(args.dir.glob("*.py"))
    if not paths:
        print(f"no scripts in {args.dir} (see tests/corpus/README.md)", file=sys.stderr)
        return 2

    results: list[FileResult] = []
    inputs: dict[str, str] = {}
    outputs: dict[str, str] = {}
    for path in paths:
        res, source, output = convert_one(path)
        results.append(res)
        inputs[path.name] = source
        if output is not None:
            outputs[path.name] = output

    ruff = None if args.no_ruff else find_ruff()
    if ruff:
        undefined_out = ruff_undefined(outputs, ruff)
        undefined_in = ruff_undefined(inputs, ruff)
        for res in results:
            res.undefined_in_output = undefined_out.get(res.file, [])
            res.undefined_in_input = undefined_in.get(res.file, [])
    elif not args.no_ruff:
        print("ruff not found: F821 check skipped", file=sys.stderr)

    # Per-file table.
    width = max(len(r.file) for r in results)
    print(f"{'file':<{width}}  {'status':<14} {'exit0':<5} codes / error")
    for r in results:
        detail = r.error if r.status == "internal-error" else " ".join(r.codes)
        extra = []
        if r.unchanged and r.status == "clean":
            extra.append("UNCHANGED: the Keras code was left as it was")
        if r.output_parses is False:
            extra.append(f"OUTPUT DOES NOT PARSE ({r.parse_error})")
        if r.undefined_introduced:
            extra.append("F821: " + ", ".join(r.undefined_introduced))
        line = f"{r.file:<{width}}  {r.status:<14} {'yes' if r.ok else 'no':<5} {detail}"
        print(line + ("  [" + "; ".join(extra) + "]" if extra else ""))

    # Summary.
    n = len(results)
    clean = [r for r in results if r.status == "clean"]
    exit0 = [r for r in results if r.ok and r.status != "internal-error"]
    internal = [r for r in results if r.status == "internal-error"]
    print()
    print("== summary ==")
    print(f"files: {n}")
    print(f"clean (no diagnostic): {len(clean)}/{n}")
    print(f"exit 0 (no error-severity diagnostic): {len(exit0)}/{n}")
    print(f"  ... of which left unchanged (no Keras recognised): {sum(r.unchanged for r in clean)}")
    print(f"with diagnostics: {sum(r.status == 'diagnostics' for r in results)}")
    print(f"internal errors: {len(internal)}")
    print(f"outputs that do not parse: {sum(r.output_parses is False for r in results)}")
    if ruff:
        bad = [r for r in results if r.undefined_introduced]
        print(f"outputs with undefined names (F821) the input did not have: {len(bad)}/{len(outputs)}")
        print(f"  ... among clean outputs: {sum(r.status == 'clean' for r in bad)}/{len(clean)}")
        print(f"  ... among exit-0 outputs: {sum(r in exit0 for r in bad)}/{len(exit0)}")
        names = Counter(name for r in bad for name in r.undefined_introduced)
        if names:
            print("  most frequent undefined names: " + ", ".join(f"{k} ({v})" for k, v in names.most_common(10)))
    print()
    files_per_code = Counter(code for r in results for code in r.codes)
    hits_per_code = Counter(d["code"] for r in results for d in r.diagnostics)
    print("diagnostic codes (files, occurrences):")
    for code, files in sorted(files_per_code.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {code}: {files} files, {hits_per_code[code]} times")
    print()
    messages = Counter()
    message_files: dict[str, set[str]] = {}
    for r in results:
        for d in r.diagnostics:
            key = f"{d['code']} {normalize(d['message'])}"
            messages[key] += 1
            message_files.setdefault(key, set()).add(r.file)
    print(f"most frequent diagnostics (normalized; occurrences, files), top {args.top}:")
    for key, count in messages.most_common(args.top):
        print(f"  {count:3d} {len(message_files[key]):3d}  {key}")
    exact = Counter()
    for r in results:
        for key in {f"{d['code']} {d['message']}" for d in r.diagnostics}:
            exact[key] += 1
    print()
    print(f"most frequent exact diagnostics (files), top {args.top}:")
    for key, files in exact.most_common(args.top):
        print(f"  {files:3d}  {key}")
    if internal:
        print()
        print("internal errors:")
        for r in internal:
            print(f"  {r.file}: {r.error}" + (f" (at {r.error_where})" if r.error_where else ""))

    if args.json:
        payload = [{**asdict(r), "undefined_introduced": r.undefined_introduced} for r in results]
        args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
