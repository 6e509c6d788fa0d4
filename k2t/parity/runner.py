"""Bootstrap run in a subprocess by ``k2t parity``; not a public interface.

    python -m k2t.parity.runner keras SCRIPT OUTDIR   run the Keras script, record fit/evaluate/predict
    python -m k2t.parity.runner torch SCRIPT OUTDIR   run k2t's conversion of SCRIPT, record the same
    python -m k2t.parity.runner exact SCRIPT EPOCHS [JSON]   print the --exact report (and write its
                                                     parity document to JSON); exit 0 pass, 1 fail

Records go to OUTDIR/records.json (rewritten after every call, so a crash keeps
what ran before it) and predictions to OUTDIR/predict_<n>.npy. The script's own
output goes to this process's stdout.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from .capture import Hooks, quiet_tensorflow, run_keras, run_torch
from .tracebacks import script_traceback


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 64 else f"<array {value.shape}>"
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return repr(value)


class Recorder(Hooks):
    def __init__(self, side: str, outdir: Path):
        self.side = side
        self.outdir = outdir
        self.records: list[dict] = []
        self.started = 0.0
        self.status = "running"
        self.error: str | None = None

    def before(self, kind, function, args, kwargs):
        self.started = time.perf_counter()

    def after(self, kind, args, kwargs, result):
        import numpy as np

        model = args[0] if args else None
        name = getattr(model, "name", None) if self.side == "keras" else type(model).__name__
        record: dict[str, Any] = {"kind": kind, "model": str(name), "seconds": time.perf_counter() - self.started}
        if kind == "fit":
            history = getattr(result, "history", result)
            record["history"] = {str(k): [float(v) for v in values] for k, values in dict(history).items()}
        elif kind == "evaluate":
            record["result"] = _jsonable(result)
        elif kind == "predict":
            array = result.detach().cpu().numpy() if hasattr(result, "detach") else np.asarray(result)
            file = self.outdir / f"predict_{len(self.records)}.npy"
            np.save(file, array)
            record["shape"] = list(array.shape)
            record["file"] = file.name
        self.records.append(record)
        self.flush()

    def flush(self) -> None:
        data = {"side": self.side, "status": self.status, "error": self.error, "records": self.records}
        tmp = self.outdir / "records.json.tmp"
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(self.outdir / "records.json")


def _record(side: str, script: Path, outdir: Path) -> int:
    outdir.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(side, outdir)
    recorder.flush()
    try:
        source = script.read_text(encoding="utf-8")
        if side == "keras":
            run_keras(source, script, recorder)
        else:
            from .instrument import convert

            conversion = convert(source, str(script))
            run_torch(conversion, script, recorder)
        recorder.status = "ok"
    except BaseException as exc:  # noqa: BLE001 - report any failure of the script
        recorder.status = "error"
        recorder.error = script_traceback(exc)
        sys.stdout.flush()
        print(recorder.error, file=sys.stderr)
    finally:
        recorder.flush()
    return 0 if recorder.status == "ok" else 1


def _exact(script: Path, epochs: int, document_path: Path | None = None) -> int:
    from .exact import exact_parity

    report = exact_parity(script.read_text(encoding="utf-8"), epochs=epochs, path=script)
    print(report.format())
    if document_path is not None:
        from .document import from_exact, write_json

        write_json(from_exact(report), document_path)
    return 0 if report.ok else 1


def main(argv: list[str]) -> int:
    quiet_tensorflow()
    if len(argv) not in (3, 4) or argv[0] not in ("keras", "torch", "exact") or (len(argv) == 4 and argv[0] != "exact"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, script = argv[0], Path(argv[1]).resolve()
    if mode == "exact":
        return _exact(script, int(argv[2]), Path(argv[3]) if len(argv) == 4 else None)
    return _record(mode, script, Path(argv[2]).resolve())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
