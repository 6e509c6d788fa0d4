"""keras.datasets and keras.utils.get_file: each load_data() / get_word_index() the script calls
becomes a generated function that returns Keras's arrays, read from Keras's own cache (downloaded
as Keras downloads them when missing): ``mnist.load_data()`` -> ``load_mnist()``. Those loaders
and the script's own ``get_file(...)`` calls share one generated ``get_file``.

The loaders replicate Keras 3's keras/src/datasets/*.py and get_file its keras/src/utils/file_utils.py;
tests/test_datasets.py and tests/test_get_file.py compare them with Keras's own on the same files.
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

GET_FILE = "keras.utils.get_file"
_GET_FILE_TEMPLATE = "functions/get_file.py.j2"
# Keras 3.15's signature (Keras 2's too, which ended at cache_dir): positional arguments bind in this order.
_GET_FILE_SIGNATURE = (
    'fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets", '
    'hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None, force_download=False'
)
_GET_FILE_DEFAULTS = dict(parameter.split("=") for parameter in _GET_FILE_SIGNATURE.split(", "))
_GET_FILE_PARAMETERS = tuple(_GET_FILE_DEFAULTS)
# What every generated get_file takes; the others only when a call of the script passes them.
_GET_FILE_ALWAYS = ("fname", "origin", "file_hash", "cache_subdir")
# Features of get_file that bring parameters of their own with them.
_GET_FILE_IMPLIED = {"md5_hash": ("hash_algorithm",), "extract": ("archive_format",), "archive_format": ("extract",)}
NAME_FROM_ORIGIN = "name_from_origin"  # a call that may give no fname: the name comes from the origin URL
EXTRACT_ARCHIVE = Helper("extract_archive", "functions/extract_archive.py.j2")
CIFAR_BATCH = Helper("load_cifar_batch", _TEMPLATES + "cifar_batch.py.j2")


@dataclass(frozen=True)
class DatasetFunction:
    """One keras.datasets function and the generated function that replaces it."""

    keras_name: str  # canonical, e.g. "keras.datasets.mnist.load_data"
    parameters: tuple[str, ...]  # Keras's signature, which the generated function repeats
    helper: Helper
    # Keras 1/2 keyword -> Keras 3's: Keras 2 still took `nb_words=` (with a warning) for `num_words=`.
    renamed: tuple[tuple[str, str], ...] = ()
    get_file: frozenset[str] | None = frozenset()  # the get_file features its loader uses; None: no file


def _loader(
    dataset: str, parameters: tuple[str, ...], get_file: frozenset[str] = frozenset(), *requires: Helper
) -> DatasetFunction:
    helper = Helper(f"load_{dataset}", f"{_TEMPLATES}{dataset}.py.j2", requires=requires)
    renamed = (("nb_words", "num_words"),) if "num_words" in parameters else ()
    return DatasetFunction(f"keras.datasets.{dataset}.load_data", parameters, helper, renamed, get_file)


def _word_index(dataset: str, file_hash: str) -> DatasetFunction:
    args = (("dataset", dataset), ("file_hash", file_hash))
    helper = Helper(f"get_{dataset}_word_index", _TEMPLATES + "word_index.py.j2", args)
    return DatasetFunction(f"keras.datasets.{dataset}.get_word_index", ("path",), helper)


_SEQUENCES = ("path", "num_words", "skip_top", "maxlen")
DATASET_FUNCTIONS: dict[str, DatasetFunction] = {
    f.keras_name: f
    for f in (
        _loader("mnist", ("path",)),
        _loader("fashion_mnist", ()),
        # get_file(fname=dirname, origin=origin, extract=True, file_hash=...): the archive and its folder.
        _loader("cifar10", (), frozenset({"extract"}), CIFAR_BATCH),
        _loader("cifar100", ("label_mode",), frozenset({"extract"}), CIFAR_BATCH),
        _loader("imdb", (*_SEQUENCES, "seed", "start_char", "oov_char", "index_from")),
        _loader("reuters", (*_SEQUENCES, "test_split", "seed", "start_char", "oov_char", "index_from")),
        _loader("boston_housing", ("path", "test_split", "seed")),
        _loader("california_housing", ("version", "path", "test_split", "seed")),
        # Keras's MD5 hashes of the word-index files.
        _word_index("imdb", "bfafd718b763782e994055a2d397834f"),
        _word_index("reuters", "4d44cc38712099c9e383dc6e5f11a921"),
        DatasetFunction(
            "keras.datasets.reuters.get_label_names",
            (),
            Helper("get_reuters_label_names", _TEMPLATES + "reuters_label_names.py.j2"),
            get_file=None,  # a fixed list: no file
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
    if function.get_file is not None:
        require_get_file(plan, function.get_file)
    helper = plan.add_helper(function.helper)
    args = [value.code for value in call.args] + [f"{key}={value.code}" for key, value in kwargs]
    return f"{plan.name(helper.name)}({', '.join(args)})"


def _keras3_keywords(kwargs: tuple[tuple[str, Value], ...], renamed: dict[str, str]) -> tuple[tuple[str, Value], ...]:
    """``nb_words=`` -> ``num_words=``: the Keras 1/2 spelling that Keras 2 still accepted."""
    return tuple((renamed.get(key, key), value) for key, value in kwargs)


def translate_get_file(call: KerasCall, plan: ScriptPlan) -> str | None:
    """``get_file("nietzsche.txt", origin=url)`` -> the generated ``get_file(...)``, the script's arguments
    as written (positional ones after ``origin`` given by keyword, as the generated signature holds only
    the parameters the script uses); None (the call stays, a K2T100) for an argument Keras's has not."""
    given, extra, unknown = call.bind(_GET_FILE_PARAMETERS)
    if extra is not None or unknown is not None or len({key for key, _ in call.kwargs}) < len(call.kwargs):
        return None
    features = set(given) - set(_GET_FILE_ALWAYS)
    fname = given.get("fname")
    if fname is None or not (isinstance(fname.literal, str) and fname.literal):
        features.add(NAME_FROM_ORIGIN)
    name = require_get_file(plan, frozenset(features))
    positional = [value.code for value in call.args[:2]]
    kept_positional = _GET_FILE_PARAMETERS[: len(positional)]
    by_keyword = [f"{key}={value.code}" for key, value in given.items() if key not in kept_positional]
    return f"{name}({', '.join(positional + by_keyword)})"


def require_get_file(plan: ScriptPlan, features: frozenset[str]) -> str:
    """Add the generated get_file with ``features`` (keras.utils.get_file's optional parameters a call
    passes, and NAME_FROM_ORIGIN), or widen the one already added: every caller shares one; its name."""
    for index, helper in enumerate(plan.helpers):
        if helper.template == _GET_FILE_TEMPLATE:
            features |= frozenset(dict(helper.args)["features"])
            plan.helpers[index] = _get_file_helper(helper.name, features)
            break
    else:
        helper = plan.add_helper(_get_file_helper("get_file", features))
    if {"extract", "untar"} & features:
        plan.add_helper(EXTRACT_ARCHIVE)
    return plan.name(helper.name)


def _get_file_helper(name: str, features: frozenset[str]) -> Helper:
    for feature, implied in _GET_FILE_IMPLIED.items():
        if feature in features:
            features |= frozenset(implied)
    parameters = tuple(
        f"{parameter}={_GET_FILE_DEFAULTS[parameter]}"
        for parameter in _GET_FILE_PARAMETERS
        if parameter in _GET_FILE_ALWAYS or parameter in features
    )
    extract_condition = " or ".join(flag for flag in ("extract", "untar") if flag in features)
    args = (
        ("features", tuple(sorted(features))),
        ("parameters", parameters),
        ("name_from_origin", NAME_FROM_ORIGIN in features),
        ("extract_condition", extract_condition),
    )
    return Helper(name, _GET_FILE_TEMPLATE, args)
