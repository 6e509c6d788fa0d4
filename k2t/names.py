"""One canonical spelling for every way a script can name a Keras symbol.

`tf.keras.layers.Dense`, `tensorflow.keras.layers.Dense`, `keras.layers.Dense`
and `from keras import layers as L; L.Dense` all become ``keras.layers.Dense``.
"""

from __future__ import annotations

import keyword

import libcst as cst

# Prefixes folded into ``keras.``; longest first.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("tensorflow.python.keras.", "keras."),
    ("tensorflow.keras.", "keras."),
    ("tf.keras.", "keras."),
    ("keras.api._v2.keras.", "keras."),
    ("keras.api.", "keras."),
    ("keras.src.", "keras."),
    # Keras 3's preview package and the Keras 2 package that TensorFlow 2.16+ scripts install: same API.
    ("keras_core.", "keras."),
    ("tf_keras.", "keras."),
    # The standalone package behind Keras 2.1-2.3's keras.preprocessing.
    ("keras_preprocessing.", "keras.preprocessing."),
    # TensorFlow 2 exports these Keras modules at its top level too: tf.optimizers.Adam is tf.keras.optimizers.Adam.
    ("tensorflow.optimizers.", "keras.optimizers."),
    ("tensorflow.losses.", "keras.losses."),
    ("tensorflow.metrics.", "keras.metrics."),
    ("tensorflow.initializers.", "keras.initializers."),
    # Keras 1's name of keras.losses, which Keras 2 kept as a module of the same functions (keras/objectives.py:
    # `from .losses import *`): the first variational_autoencoder.py example's objectives.binary_crossentropy.
    ("keras.objectives.", "keras.losses."),
)

# Symbols that Keras exports under several module paths.
_ALIASES: dict[str, str] = {
    "keras.models.Sequential": "keras.Sequential",
    "keras.models.Model": "keras.Model",
    "keras.layers.Input": "keras.Input",
    "keras.engine.sequential.Sequential": "keras.Sequential",
    "keras.models.sequential.Sequential": "keras.Sequential",
    "keras.utils.np_utils.to_categorical": "keras.utils.to_categorical",
    # Keras 2's module, TF 2.9-2.15's keras.utils.data_utils and Keras 3's defining module.
    "keras.preprocessing.sequence.pad_sequences": "keras.utils.pad_sequences",
    "keras.utils.data_utils.pad_sequences": "keras.utils.pad_sequences",
    "keras.utils.sequence_utils.pad_sequences": "keras.utils.pad_sequences",
    "keras.backend.clear_session": "keras.utils.clear_session",
    "keras.utils.clear_session": "keras.utils.clear_session",
    "keras.random.set_seed": "keras.utils.set_random_seed",
    # Keras 2's and TF 2.x's defining module, and Keras 3's.
    "keras.utils.data_utils.get_file": "keras.utils.get_file",
    "keras.utils.file_utils.get_file": "keras.utils.get_file",
    "keras.utils.np_utils.normalize": "keras.utils.normalize",
    "keras.utils.numerical_utils.normalize": "keras.utils.normalize",
    # Keras 2's cuDNN layers (k2t.translate.legacy.KERAS2_LAYERS), also under TensorFlow 2's compat.v1 and their module.
    **{
        f"{module}.{layer}": f"keras.layers.{layer}"
        for module in ("tensorflow.compat.v1.keras.layers", "keras.layers.cudnn_recurrent")
        for layer in ("CuDNNLSTM", "CuDNNGRU")
    },
    "tensorflow.keras": "keras",
    "keras_core": "keras",
    "tf_keras": "keras",
    "tf.keras": "keras",
}


def canonical_name(qualified: str) -> str:
    """Return the canonical ``keras.`` spelling of a fully qualified name."""
    name = qualified
    if name in _ALIASES:
        return _ALIASES[name]
    for prefix, replacement in _PREFIXES:
        if name.startswith(prefix):
            name = replacement + name[len(prefix) :]
            break
    # keras.optimizers.legacy.Adam and keras.optimizers.experimental.Adam are Adam.
    for legacy in ("keras.optimizers.legacy.", "keras.optimizers.experimental."):
        if name.startswith(legacy):
            name = "keras.optimizers." + name[len(legacy) :]
    return _ALIASES.get(name, name)


def is_keras(name: str) -> bool:
    return name == "keras" or name.startswith("keras.")


def is_tensorflow(name: str) -> bool:
    return name == "tensorflow" or name.startswith("tensorflow.")


def short(name: str) -> str:
    """``keras.layers.Dense`` -> ``Dense``."""
    return name.rsplit(".", 1)[-1]


# The imports generated code may need, in the order emit writes them, keyed by the name each binds.
GENERATED_IMPORTS: tuple[tuple[str, str], ...] = (
    ("atexit", "import atexit"),
    ("collections", "import collections"),
    ("copy", "import copy"),
    ("csv", "import csv"),
    ("gzip", "import gzip"),
    ("hashlib", "import hashlib"),
    ("inspect", "import inspect"),
    ("json", "import json"),
    ("math", "import math"),
    ("os", "import os"),
    ("pickle", "import pickle"),
    ("random", "import random"),
    ("re", "import re"),
    ("shutil", "import shutil"),
    ("sys", "import sys"),
    ("tarfile", "import tarfile"),
    ("tempfile", "import tempfile"),
    ("time", "import time"),
    ("urllib", "import urllib.request"),
    ("warnings", "import warnings"),
    ("zipfile", "import zipfile"),
    ("SimpleNamespace", "from types import SimpleNamespace"),
    ("np", "import numpy as np"),
    ("torch", "import torch"),
    ("F", "import torch.nn.functional as F"),
    ("nn", "from torch import nn"),
    # Keras's weight constraints, applied after every optimizer step (templates/constraints/apply_constraints.py.j2)
    ("register_optimizer_step_post_hook", "from torch.optim.optimizer import register_optimizer_step_post_hook"),
)
IMPORTED_BY_OUTPUT: frozenset[str] = frozenset(name for name, _ in GENERATED_IMPORTS)
# Top-level names the templates define besides the helpers (emit renames them away from the script's names).
GENERATED_DEFINITIONS: tuple[str, ...] = (
    "device",
    "fit",
    "evaluate",
    "predict",
    "summary",
    "format_logs",
    "ProgressBar",
    "fit_batches",
    "evaluate_batches",
    "predict_batches",
    "EpochBatches",
    "train_on_batch",
    "test_on_batch",
    "predict_on_batch",
    "fit_steps",
    "evaluate_steps",
    "step_logs",
)


def generated_class_name(base: str, taken: set[str]) -> str:
    """A name for a generated class that shadows neither the script's names (``taken``) nor an import
    or a fixed definition of the output: ``def f(): ...`` builds ``class FModel``, as ``F`` is
    ``torch.nn.functional`` there.

    The name is added to ``taken``.
    """
    reserved = IMPORTED_BY_OUTPUT | set(GENERATED_DEFINITIONS)
    # A model named "None", "True" or "False" (or a variable `none`) camel-cases to a keyword: no class name.
    if base in reserved or keyword.iskeyword(base):
        base += "Model"
    name, n = base, 1
    while name in taken or name in reserved:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def dotted_name(node: cst.BaseExpression) -> str:
    """``tf.keras.layers.Dense`` written as names and attributes, as one dotted string; "" for anything else."""
    if isinstance(node, cst.Attribute):
        return f"{dotted_name(node.value)}.{node.attr.value}"
    return node.value if isinstance(node, cst.Name) else ""
