"""Run a Keras script, or its conversion, in this process with fit/evaluate/predict intercepted.

Both sides call a ``Hooks`` object around each outermost fit/evaluate/predict
call (calls made from inside another one, like the validation ``evaluate`` that
``fit`` runs, are not reported). ``Hooks.before`` may raise ``Captured`` to stop
the script there: that is how ``--exact`` grabs the model and data at the first
``fit``. TensorFlow and torch are imported only when a function here runs.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import io
import linecache
import logging
import os
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .instrument import WRAP_NAME, Conversion, instrument

KINDS = ("fit", "evaluate", "predict", "train_on_batch", "test_on_batch", "predict_on_batch")


class Captured(BaseException):
    """Raised by a hook to stop the script at a call."""

    def __init__(self, kind: str, function: Callable, args: tuple, kwargs: dict):
        super().__init__(kind)
        self.kind = kind
        self.function = function  # the unwrapped function or method
        self.args = args
        self.kwargs = kwargs


class Hooks:
    """Override to observe calls. ``before`` may raise Captured."""

    def before(self, kind: str, function: Callable, args: tuple, kwargs: dict) -> None:
        pass

    def after(self, kind: str, args: tuple, kwargs: dict, result: Any) -> None:
        pass


class _Guard:
    """Reports only the outermost of nested calls."""

    def __init__(self, hooks: Hooks):
        self.hooks = hooks
        self.depth = 0

    def wrap(self, kind: str, function: Callable) -> Callable:
        guard = self

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if guard.depth:
                return function(*args, **kwargs)
            guard.depth += 1
            try:
                guard.hooks.before(kind, function, args, kwargs)
                result = function(*args, **kwargs)
            finally:
                guard.depth -= 1
            guard.hooks.after(kind, args, kwargs, result)
            return result

        wrapper.__k2t_original__ = function
        return wrapper


def quiet_tensorflow() -> None:
    """Fewer TensorFlow start-up lines on stderr (set before TensorFlow is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@contextlib.contextmanager
def script_context(path: Path, output: io.StringIO | None) -> Iterator[types.ModuleType]:
    """cwd = the script's folder, sys.argv = [script], a fresh ``__main__`` module, stdout captured."""
    path = Path(path).resolve()
    module = types.ModuleType("__main__")
    module.__file__ = str(path)
    module.__builtins__ = builtins
    old_main = sys.modules.get("__main__")
    old_argv, old_path, old_cwd = sys.argv[:], sys.path[:], os.getcwd()
    sys.modules["__main__"] = module
    sys.argv = [str(path)]
    sys.path.insert(0, str(path.parent))
    os.chdir(path.parent)
    redirect = contextlib.redirect_stdout(output) if output is not None else contextlib.nullcontext()
    try:
        with redirect:
            yield module
    finally:
        os.chdir(old_cwd)
        sys.argv = old_argv
        sys.path[:] = old_path
        if old_main is not None:
            sys.modules["__main__"] = old_main
        else:
            sys.modules.pop("__main__", None)


@contextlib.contextmanager
def keras_patched(hooks: Hooks) -> Iterator[None]:
    """keras.Model.fit/evaluate/predict (and their *_on_batch) report to ``hooks`` while the block runs."""
    quiet_tensorflow()
    import keras

    guard = _Guard(hooks)
    originals = {kind: keras.Model.__dict__.get(kind) for kind in KINDS}
    try:
        for kind in KINDS:
            setattr(keras.Model, kind, guard.wrap(kind, getattr(keras.Model, kind)))
        yield
    finally:
        for kind, original in originals.items():
            if original is None:
                delattr(keras.Model, kind)
            else:
                setattr(keras.Model, kind, original)


@contextlib.contextmanager
def torch_step_hooks_kept() -> Iterator[None]:
    """torch's global optimizer step hooks as they were before the block: a converted script registers one at its
    top level for Keras's weight constraints (templates/constraints/apply_constraints.py.j2), which in this process
    would outlive its run and apply to the next script's optimizers too."""
    try:
        from torch.optim import optimizer
    except ImportError:
        yield
        return
    registries = [
        getattr(optimizer, name, None) for name in ("_global_optimizer_pre_hooks", "_global_optimizer_post_hooks")
    ]
    before = [set(registry) if registry is not None else None for registry in registries]
    try:
        yield
    finally:
        for registry, keys in zip(registries, before):
            for key in [key for key in registry or () if keys is not None and key not in keys]:
                del registry[key]


def converted_filename(path: Path) -> str:
    """The file name the converted code runs under (it is never written)."""
    path = Path(path).resolve()
    return str(path.with_name(path.stem + ".k2t-torch.py"))


@contextlib.contextmanager
def quiet_warnings() -> Iterator[None]:
    """Hide Python warnings and TensorFlow's logger while the block runs."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def run_keras(source: str, path: Path, hooks: Hooks, output: io.StringIO | None = None) -> None:
    """Run the Keras script ``source`` (as if it were ``path``). Captured propagates."""
    quiet_tensorflow()
    import keras

    # Fresh layer-name counters, as in a new process. Without the full garbage collection Keras adds by default:
    # in a process holding TensorFlow and torch it takes a third of a small script's parity run, and the
    # previous run's objects are freed as usual anyway.
    keras.backend.clear_session(free_memory=False)
    code = compile(source, str(path), "exec")
    with keras_patched(hooks), script_context(path, output) as module:
        try:
            exec(code, module.__dict__)  # noqa: S102 - running the script is the point
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise


def run_torch(conversion: Conversion, path: Path, hooks: Hooks, output: io.StringIO | None = None) -> None:
    """Run the converted script with its generated fit/evaluate/predict reporting to ``hooks``."""
    if conversion.output is None:
        raise RuntimeError("the script could not be converted")
    filename = converted_filename(path)
    code = instrument(conversion.output, conversion.functions, filename)
    # Tracebacks show the converted lines, not the original script's.
    lines = conversion.output.splitlines(keepends=True)
    linecache.cache[filename] = (len(conversion.output), None, lines, filename)
    guard = _Guard(hooks)
    with script_context(path, output) as module:
        module.__dict__[WRAP_NAME] = guard.wrap
        try:
            exec(code, module.__dict__)  # noqa: S102 - running the script is the point
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise


class Catch(Hooks):
    """Stop at the ``index``-th (0-based) call of ``kind``."""

    def __init__(self, kind: str = "fit", index: int = 0):
        self.kind = kind
        self.index = index
        self.seen = 0

    def before(self, kind, function, args, kwargs):
        if kind == self.kind:
            self.seen += 1
            if self.seen > self.index:
                raise Captured(kind, function, args, kwargs)


def capture_first(
    run: Callable[..., None], *run_args, kind: str = "fit", output: io.StringIO | None = None, index: int = 0
) -> Captured | None:
    """Run a script until its first (or ``index``-th) ``kind`` call; the Captured call, or None if it never makes it."""
    try:
        run(*run_args, Catch(kind, index), output)
    except Captured as captured:
        return captured
    return None
