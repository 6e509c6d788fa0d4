"""Locals of a function whose every read k2t translated away lose their assignments (k2t/dead_locals.py):
keras.io's image classifier chooses its last activation in make_model(), and the converted function, which
returns the generated module, left ``activation = "sigmoid"`` for ruff to report (F841)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest

import k2t
from k2t.dead_locals import without_dead_configuration, without_dead_imports

HEADER = """\
import numpy as np
import keras
from keras import layers

"""
TRAIN = """
model = make_model(4, num_classes=2)
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(np.zeros((8, 4)), np.zeros((8, 1)), epochs=1, verbose=0)
"""


def convert(function: str) -> str:
    result = k2t.convert_source(HEADER + textwrap.dedent(function) + TRAIN, "model.py")
    assert result.diagnostics == (), [d.format() for d in result.diagnostics]
    return result.output


def function_of(output: str, name: str = "make_model") -> str:
    start = output.index(f"def {name}(")
    end = output.index("\n\n\n", start)
    return output[start:end]


KERAS_IO = """\
def make_model(features, num_classes):
    # the last layer as the classes ask
    if num_classes == 2:
        activation = "sigmoid"
        units = 1
    else:
        activation = "softmax"
        units = num_classes
    hidden = "relu"
    inputs = keras.Input(shape=(features,))
    x = layers.Dense(8, activation=hidden)(inputs)
    outputs = layers.Dense(units, activation=activation)(x)
    return keras.Model(inputs, outputs)
"""


def test_the_choice_of_an_activation_the_module_took_goes_and_the_sizes_stay() -> None:
    made = function_of(convert(KERAS_IO))
    assert "activation" not in made and "hidden" not in made
    assert "units = 1" in made and "units = num_classes" in made  # the module is given units


@pytest.mark.skipif(shutil.which("ruff", path=str(Path(sys.executable).parent)) is None, reason="ruff not installed")
def test_the_converted_script_has_no_unused_local(tmp_path) -> None:
    path = tmp_path / "model.py"
    path.write_text(convert(KERAS_IO))
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    found = subprocess.run(
        [ruff, "check", "--isolated", "--select", "F", "--output-format", "concise", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stdout


def test_an_if_left_empty_goes_when_its_test_has_no_side_effect() -> None:
    made = function_of(
        convert(
            """\
            def make_model(features, num_classes):
                if num_classes == 2:
                    last = "sigmoid"
                else:
                    last = "softmax"
                return keras.Sequential([keras.Input(shape=(features,)), layers.Dense(1, activation=last)])
            """
        )
    )
    assert "if " not in made and "last" not in made


def test_an_if_left_empty_stays_with_pass_when_its_test_calls_something() -> None:
    original = cst.parse_module(
        "def make(n):\n    if check(n):\n        last = 'a'\n    else:\n        last = 'b'\n    return Dense(last)\n"
    )
    converted = cst.parse_module(
        "def make(n):\n    if check(n):\n        last = 'a'\n    else:\n        last = 'b'\n    return Net()\n"
    )
    result = without_dead_configuration(original, converted).code
    assert "if check(n):\n        pass\n    else:\n        pass\n" in result


def test_the_scripts_own_unread_local_stays() -> None:
    made = function_of(
        convert(
            """\
            def make_model(features, num_classes):
                unused = "kept"
                last = "sigmoid"
                return keras.Sequential([keras.Input(shape=(features,)), layers.Dense(1, activation=last)])
            """
        )
    )
    assert 'unused = "kept"' in made and "last" not in made


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        pytest.param('"sigmoid"', False, id="a-string"),
        pytest.param("(n + 1) * 2", False, id="arithmetic"),
        pytest.param("{'a': [1, n]}", False, id="containers"),
        pytest.param("choose(n)", True, id="a-call"),
        pytest.param("table[n]", True, id="a-subscript"),
        pytest.param("config.activation", True, id="an-attribute"),
    ],
)
def test_only_values_without_side_effects_go(value: str, kept: bool) -> None:
    """On the stage alone: the script read ``last`` in a call the conversion replaced."""
    original = cst.parse_module(f"def make(n):\n    last = {value}\n    return Dense(activation=last)\n")
    converted = cst.parse_module(f"def make(n):\n    last = {value}\n    return Net()\n")
    result = without_dead_configuration(original, converted).code
    assert (f"last = {value}" in result) is kept, result


def test_a_function_that_reads_its_locals_by_name_keeps_every_assignment() -> None:
    made = function_of(
        convert(
            """\
            def make_model(features, num_classes):
                last = "sigmoid"
                print(locals())
                return keras.Sequential([keras.Input(shape=(features,)), layers.Dense(1, activation=last)])
            """
        )
    )
    assert 'last = "sigmoid"' in made


def test_a_local_read_by_a_nested_function_stays() -> None:
    made = function_of(
        convert(
            """\
            def make_model(features, num_classes):
                last = "sigmoid"

                def describe():
                    return last

                print(describe())
                return keras.Sequential([keras.Input(shape=(features,)), layers.Dense(1, activation=last)])
            """
        )
    )
    assert 'last = "sigmoid"' in made


@pytest.mark.parametrize(
    ("original", "converted", "expected"),
    [
        pytest.param(
            "from functools import partial, reduce\nx = partial(f)\nprint(reduce)\n",
            "from functools import partial, reduce\nx = Net()\nprint(reduce)\n",
            "from functools import reduce\nx = Net()\nprint(reduce)\n",
            id="one-name-of-two",
        ),
        pytest.param(
            "import tensorflow_hub as hub\nlayer = hub.KerasLayer(url)\n",
            "import tensorflow_hub as hub\nlayer = Net()\n",
            "layer = Net()\n",
            id="the-whole-line",
        ),
        pytest.param(
            "import os\nimport json\nx = 1\n",
            "import os\nimport json\nx = 1\n",
            "import os\nimport json\nx = 1\n",
            id="never-read-by-the-script",
        ),
        pytest.param(
            "from helpers import build\n__all__ = ['build']\nm = build()\n",
            "from helpers import build\n__all__ = ['build']\nm = Net()\n",
            "from helpers import build\n__all__ = ['build']\nm = Net()\n",
            id="named-in-__all__",
        ),
    ],
)
def test_an_import_whose_reads_were_all_translated_away_goes(original: str, converted: str, expected: str) -> None:
    result = without_dead_imports(cst.parse_module(original), cst.parse_module(converted))
    assert result.code == expected


def test_names_a_string_annotation_reads_and_keras_imports_are_left_alone() -> None:
    original = "import numpy as np\nimport tensorflow as tf\nx = np.zeros(2)\ndef f(v: 'np.ndarray'): ...\ny = tf.constant(1)\n"
    converted = "import numpy as np\nimport tensorflow as tf\nx = 0\ndef f(v: 'np.ndarray'): ...\ny = 1\n"
    result = without_dead_imports(cst.parse_module(original), cst.parse_module(converted))
    assert result.code == converted  # np read by the annotation; tensorflow's import is k2t.remaining's to decide
