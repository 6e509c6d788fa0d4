"""Stage 1: read a script with libcst and describe its Keras usage faithfully.

The result (k2t.ir.KerasScript) keeps references to the CST nodes it
describes so that the emit stage can rewrite exactly those spots and leave
every other byte alone. The parser walks the script statement by statement
as Python runs it (k2t.values follows the values); one module per concern:

- parser.py     the walk: statements, values, imports, definitions
- flow.py       loops and branches (unrolled, decided, or reported)
- functional.py the Functional API (Keras tensors and the layers called on them)
- helpers.py    helper functions taking Keras tensors or a model, walked at each call
- models.py     Sequential models, .add, .compile, layer objects, load_model
- model_access.py  model.layers[i], get_layer, trainable, layer lists, Keras's layer names
- scan.py       Keras inside ordinary code (model methods, references, the learning rate)
- loads.py      which architecture a loaded file holds
- scope.py, syntax.py, graph.py: the state and the small syntactic facts these share
"""

from ..ir import CallbackClass, FunctionCallSpec, KerasScript, Todo, one_line_message
from .loads import saved_path
from .parser import parse, parse_module
from .syntax import BINDABLE_PREFIXES, DEFAULT_IMAGE_DATA_FORMAT, FUNCTIONS, LOAD_MODEL, MERGE_FUNCTIONS, MODEL_METHODS

__all__ = [
    "BINDABLE_PREFIXES",
    "DEFAULT_IMAGE_DATA_FORMAT",
    "FUNCTIONS",
    "LOAD_MODEL",
    "MERGE_FUNCTIONS",
    "MODEL_METHODS",
    "CallbackClass",
    "FunctionCallSpec",
    "KerasScript",
    "Todo",
    "one_line_message",
    "parse",
    "parse_module",
    "saved_path",
]
