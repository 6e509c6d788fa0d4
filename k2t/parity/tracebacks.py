"""A failing script's traceback as its author reads it: their frames first, not k2t's."""

from __future__ import annotations

import traceback
from pathlib import Path
from types import TracebackType

_K2T_PACKAGE = Path(__file__).resolve().parent.parent


def _in_k2t(tb: TracebackType) -> bool:
    return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(_K2T_PACKAGE)


def script_traceback(exc: BaseException) -> str:
    """The formatted exception, less the k2t frames (runner, exec) that led into the script.

    Frames below the script's own (Keras, torch, a generated helper) stay. An
    exception raised in k2t before the script ran keeps all its frames: then
    k2t's own code is where the failure is.
    """
    tb = exc.__traceback__
    while tb is not None and _in_k2t(tb):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))
