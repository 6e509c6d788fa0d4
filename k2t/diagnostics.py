"""Diagnostics: small frozen records collected by every stage, printed only by the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


# Every code k2t can emit, with its one-line meaning. Tests check that each code
# used in the source appears here, so the README table cannot drift.
CODES: dict[str, str] = {
    "K2T001": "input file cannot be read or decoded",
    "K2T002": "input is not valid Python",
    "K2T003": "valid Python that k2t cannot read (nested too deeply, or syntax libcst does not know)",
    "K2T100": "Keras API that k2t does not translate",
    "K2T101": "Keras layer that k2t does not translate",
    "K2T102": "argument of a Keras layer that k2t does not translate",
    "K2T103": "Keras model built in a way k2t cannot follow statically",
    "K2T110": "activation that k2t does not translate",
    "K2T111": "initializer that k2t does not translate",
    "K2T112": "regularizer that k2t does not translate",
    "K2T120": "loss that k2t does not translate",
    "K2T121": "optimizer that k2t does not translate",
    "K2T122": "metric that k2t does not translate",
    "K2T123": "learning-rate schedule that k2t does not translate",
    "K2T104": "warning: a layer applied to Keras tensors that no model uses (dropped)",
    "K2T105": "warning: a Keras call that draws only or sets the default, left out (plot_model, set_image_data_format, TF1 session config, TF2 GPU memory growth)",
    "K2T106": "warning: a CUDA variable (CUDA_VISIBLE_DEVICES) set by the script after the converted code has picked its device",
    "K2T107": "warning: the branches of an `if` on a value k2t knows that the script does not run, which build another model (left out)",
    "K2T108": "warning: an argument Keras ignores where it is written (input_shape= on a later layer, nb_epoch= given to the scikit-learn wrapper), left out",
    "K2T124": "warning: an optimizer whose Keras update of Embedding rows k2t does not reproduce exactly",
    "K2T125": "warning: a metric class whose result() returns its state variable, which Keras logs after validation",
    "K2T130": "argument of compile/fit/evaluate/predict that k2t does not translate",
    "K2T140": "model method or attribute that k2t does not translate",
    "K2T141": "warning: a model's trainable flag set to the value it already has, which Keras on TensorFlow skips (so does the conversion)",
    "K2T142": "warning: layers of a frozen keras.applications model made trainable, which trains nothing in Keras (left out)",
    "K2T144": "warning: a model frozen after its compile() and trained by train_on_batch, which trains the compile's weights as Keras 2 did (Keras 3 trains none)",
    "K2T143": "warning: a model printed by print() shows the torch module's description, not Keras's one-line summary",
    "K2T150": "TensorFlow API outside Keras",
    "K2T170": "callback or callback argument that k2t does not translate",
    "K2T171": "Keras model API used inside a callback class",
    "K2T172": "callback hook that the generated fit does not call",
    "K2T160": "generated name clashes with a name of the script",
    "K2T180": "model file whose architecture k2t cannot tell (load_model)",
    "K2T181": "argument of save/save_weights/load_weights/load_model that k2t does not translate",
    "K2T182": "training a model restored by load_model without compiling it again",
    "K2T183": "load_model() used other than as `variable = load_model(path)`",
    "K2T200": "Keras or TensorFlow is still used (`k2t check --no-keras`)",
    "K2T201": "a `# TODO(k2t)` marker is left in the code (`k2t check --no-keras`)",
    "K2T999": "internal error in k2t (a bug: please report it)",
}


@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int
    column: int  # 1-based, as editors expect
    code: str
    message: str
    severity: Severity = Severity.ERROR

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
        }


class Unsupported(Exception):
    """Raised by a converter for a construct it cannot translate; becomes a Diagnostic."""

    def __init__(self, code: str, message: str, pos: tuple[int, int] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.pos = pos
