"""keras.datasets: each load_data() / get_word_index() the script calls becomes a generated
function that returns Keras's arrays, read from Keras's own cache (downloaded as Keras
downloads them when missing): ``mnist.load_data()`` -> ``load_mnist()``.

The loaders replicate Keras 3's keras/src/datasets/*.py; tests/test_datasets.py compares
each with Keras's own on the same cached files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..ir import KerasCall, Value
from .helpers import Helper

if TYPE_CHECKING:
    from . import ScriptPlan

_TEMPLATES = "functions/datasets/"

# keras.utils.get_file, shared by every loader.
CACHED_FILE = Helper("keras_dataset_file", _TEMPLATES + "keras_dataset_file.py.j2")
# get_file(..., extract=True) of the CIFAR archives, and their pickled batches.
EXTRACTED_FOLDER = Helper("keras_dataset_folder", _TEMPLATES + "keras_dataset_folder.py.j2", requires=(CACHED_FILE,))
CIFAR_BATCH = Helper("load_cifar_batch", _TEMPLATES + "cifar_batch.py.j2")


@dataclass(frozen=True)
class DatasetFunction:
    """One keras.datasets function and the generated function that replaces it."""

    keras_name: str  # canonical, e.g. "keras.datasets.mnist.load_data"
    parameters: tuple[str, ...]  # Keras's signature, which the generated function repeats
    helper: Helper
    # Keras 1/2 keyword -> Keras 3's: Keras 2 still took `nb_words=` (with a warning) for `num_words=`.
    renamed: tuple[tuple[str, str], ...] = ()


def _loader(dataset: str, parameters: tuple[str, ...], *requires: Helper) -> DatasetFunction:
    helper = Helper(f"load_{dataset}", f"{_TEMPLATES}{dataset}.py.j2", requires=requires)
    renamed = (("nb_words", "num_words"),) if "num_words" in parameters else ()
    return DatasetFunction(f"keras.datasets.{dataset}.load_data", parameters, helper, renamed)


def _word_index(dataset: str, file_hash: str) -> DatasetFunction:
    args = (("dataset", dataset), ("file_hash", file_hash))
    helper = Helper(f"get_{dataset}_word_index", _TEMPLATES + "word_index.py.j2", args, requires=(CACHED_FILE,))
    return DatasetFunction(f"keras.datasets.{dataset}.get_word_index", ("path",), helper)


_SEQUENCES = ("path", "num_words", "skip_top", "maxlen")
DATASET_FUNCTIONS: dict[str, DatasetFunction] = {
    f.keras_name: f
    for f in (
        _loader("mnist", ("path",), CACHED_FILE),
        _loader("fashion_mnist", (), CACHED_FILE),
        _loader("cifar10", (), EXTRACTED_FOLDER, CIFAR_BATCH),
        _loader("cifar100", ("label_mode",), EXTRACTED_FOLDER, CIFAR_BATCH),
        _loader("imdb", (*_SEQUENCES, "seed", "start_char", "oov_char", "index_from"), CACHED_FILE),
        _loader("reuters", (*_SEQUENCES, "test_split", "seed", "start_char", "oov_char", "index_from"), CACHED_FILE),
        _loader("boston_housing", ("path", "test_split", "seed"), CACHED_FILE),
        _loader("california_housing", ("version", "path", "test_split", "seed"), CACHED_FILE),
        # Keras's MD5 hashes of the word-index files.
        _word_index("imdb", "bfafd718b763782e994055a2d397834f"),
        _word_index("reuters", "4d44cc38712099c9e383dc6e5f11a921"),
        DatasetFunction(
            "keras.datasets.reuters.get_label_names", (), Helper("get_reuters_label_names", _TEMPLATES + "reuters_label_names.py.j2")
        ),
    )
}


def translate_dataset_call(call: KerasCall, plan: ScriptPlan) -> str | None:
    """``load_mnist()`` for ``mnist.load_data()``, the script's arguments kept as written; None
    (the call stays, a K2T100) for an argument Keras's function does not have."""
    function = DATASET_FUNCTIONS[call.name]
    kwargs = _keras3_keywords(call.kwargs, dict(function.renamed))
    _, extra, unknown = dataclasses.replace(call, kwargs=kwargs).bind(function.parameters)
    if extra is not None or unknown is not None or len({key for key, _ in kwargs}) < len(kwargs):
        return None  # also `nb_words=` next to `num_words=`: which one Keras 2 took is no reason to guess
    helper = plan.add_helper(function.helper)
    args = [value.code for value in call.args] + [f"{key}={value.code}" for key, value in kwargs]
    return f"{plan.name(helper.name)}({', '.join(args)})"


def _keras3_keywords(kwargs: tuple[tuple[str, Value], ...], renamed: dict[str, str]) -> tuple[tuple[str, Value], ...]:
    """``nb_words=`` -> ``num_words=``: the Keras 1/2 spelling that Keras 2 still accepted."""
    return tuple((renamed.get(key, key), value) for key, value in kwargs)
