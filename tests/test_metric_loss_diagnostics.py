"""What stays untranslated around Metric subclasses, add_loss and custom layers called on lists: each a
located diagnostic (and a warning where the conversion runs but Keras reports otherwise)."""

import ast
import textwrap

import pytest
from conftest import requires_keras

import k2t

HEAD = """\
import numpy as np
import keras
from keras import layers, ops

"""

SEQUENTIAL = """
model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(1)])
model.compile(optimizer="adam", loss="mse", metrics={metrics})
model.fit(np.zeros((8, 6)), np.zeros((8, 1)), epochs=1)
"""

METRIC = """\
class Gap(keras.metrics.Metric):
    def __init__(self, name="gap", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_weight(name="total", initializer={initializer}{dtype})

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(ops.sum(ops.abs(y_true - y_pred)))

    def result(self):
        return {result}
"""


def _diagnostics(source: str) -> list[tuple[int, int, str, str]]:
    result = k2t.convert_source(textwrap.dedent(source), filename="case.py")
    return [(d.line, d.column, d.code, d.message) for d in result.diagnostics]


def _where(source: str, text: str) -> tuple[int, int]:
    """Line and 1-based column of the first ``text`` in ``source``."""
    before = source[: source.index(text)]
    return before.count("\n") + 1, len(before) - before.rfind("\n")


def _coded(found: list[tuple[int, int, str, str]], code: str) -> list[tuple[int, int, str, str]]:
    """The diagnostics of one code: a class left untranslated keeps the parser's notes on its Keras names too."""
    return [item for item in found if item[2] == code]


def _metric_script(metrics: str = "[Gap()]", initializer: str = '"zeros"', dtype: str = "", result: str = "self.total * 1.0") -> str:
    return HEAD + METRIC.format(initializer=initializer, dtype=dtype, result=result) + SEQUENTIAL.format(metrics=metrics)


def test_a_metric_class_converts_clean():
    assert _diagnostics(_metric_script()) == []


def test_another_initializer_is_reported_at_it():
    source = _metric_script(initializer='"random_normal"')
    [(line, column, code, message)] = _diagnostics(source)
    assert (line, column, code) == (*_where(source, '"random_normal"'), "K2T122")
    assert 'add_weight(initializer="random_normal") is not translated' in message


def test_an_integer_state_is_reported_at_its_dtype():
    source = _metric_script(dtype=', dtype="int32"')
    [(line, column, code, message)] = _diagnostics(source)
    assert (line, column, code) == (*_where(source, '"int32"'), "K2T122") and 'dtype="int32"' in message


def test_two_unnamed_objects_of_one_class_need_names():
    source = HEAD + METRIC.format(initializer='"zeros"', dtype="", result="self.total * 1.0").replace('name="gap", ', "").replace(
        "name=name, ", ""
    ) + SEQUENTIAL.format(metrics="[Gap(), Gap()]")
    found = _coded(_diagnostics(source), "K2T122")
    assert [(line, column) for line, column, _, _ in found] == [_where(source, "Gap(), Gap()")]
    assert "several unnamed Gap objects: give each a name=" in found[0][3]


def test_a_name_that_is_no_literal_is_reported():
    source = _metric_script(metrics="[Gap(name=METRIC_NAME)]").replace("\nmodel = ", '\nMETRIC_NAME = "gap"\nmodel = ', 1)
    found = _coded(_diagnostics(source), "K2T122")
    assert [(line, column) for line, column, _, _ in found] == [_where(source, "Gap(name=")]
    assert "needs a string literal for its history key" in found[0][3]


def test_a_metric_object_as_the_loss_is_reported():
    source = _metric_script().replace('loss="mse", metrics=[Gap()]', "loss=Gap()")
    [(line, column, _, message)] = _coded(_diagnostics(source), "K2T120")
    assert (line, column) == _where(source, "Gap())") and "a Metric object of the script as a loss" in message


def test_result_returning_the_state_variable_is_a_warning():
    source = _metric_script(result="self.total")
    result = k2t.convert_source(source, filename="case.py")
    [warning] = result.diagnostics
    assert (warning.line, warning.code, warning.severity.value) == (_where(source, "return self.total")[0], "K2T125", "warning")
    assert result.ok and "# NOTE(k2t): K2T125" in result.output


ADD_LOSS_IN_BUILD = """\
class Penalised(layers.Layer):
    def build(self, input_shape):
        self.add_loss(lambda: 0.0)

    def call(self, inputs):
        self.add_loss(lambda: ops.sum(inputs))
        return inputs
"""


def test_add_loss_outside_call_or_of_a_callable_is_reported_at_it():
    source = HEAD + ADD_LOSS_IN_BUILD + SEQUENTIAL.format(metrics="[]").replace("layers.Dense(1)", "Penalised(), layers.Dense(1)")
    found = [(line, column, code) for line, column, code, _ in _diagnostics(source)]
    assert found == [(7, 9, "K2T100"), (10, 9, "K2T100")]


def test_model_add_loss_says_keras_3_refuses_it():
    source = HEAD + """
inputs = keras.Input(shape=(8,))
outputs = layers.Dense(8)(inputs)
model = keras.Model(inputs, outputs)
model.add_loss(0.01)
"""
    [(line, column, code, message)] = _diagnostics(source)
    assert (line, column, code) == (9, 1, "K2T140") and "Keras 3 raises NotImplementedError" in message
    assert "discards a tensor" in message


@requires_keras
def test_keras_3_refuses_model_add_loss_as_the_diagnostic_says():
    """The K2T140 message's premises, on the installed Keras: a Functional model raises NotImplementedError
    (for a tensor and a callable alike); a Sequential raises ValueError for a number and a callable, and the
    tensor it accepts is gone after the model's next call, so it never reaches a training loss."""
    import keras
    import numpy as np

    inputs = keras.Input(shape=(4,))
    functional = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    for term in (keras.ops.convert_to_tensor(0.01), lambda: 0.01):
        with pytest.raises(NotImplementedError):
            functional.add_loss(term)
    sequential = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
    for term in (0.01, lambda: 0.01):
        with pytest.raises(ValueError, match="only be called from inside"):
            sequential.add_loss(term)
    sequential.add_loss(keras.ops.convert_to_tensor(0.01))
    assert len(sequential.losses) == 1
    sequential(np.ones((2, 4), dtype="float32"))
    assert sequential.losses == []


LIST_LAYER = """\
class Blend(layers.Layer):
    def call(self, inputs):
        a, b = inputs
        return ops.concatenate([a, b], axis=-1)
"""


def test_a_list_layer_whose_output_shape_a_later_layer_needs_is_reported():
    # (k2t derives a concatenation's shape; not a stack's)
    source = HEAD + LIST_LAYER.replace("ops.concatenate([a, b], axis=-1)", "ops.stack([a, b], axis=-1)") + """
first = keras.Input(shape=(4,))
second = keras.Input(shape=(4,))
blended = Blend()([first, second])
model = keras.Model([first, second], layers.Dense(1)(blended))
"""
    found = _coded(_diagnostics(source), "K2T103")
    assert [(line, column) for line, column, _, _ in found] == [_where(source, "Blend()([")]
    assert "Dense after the custom layer Blend needs its output shape" in found[0][3]


def test_a_list_layer_with_compute_output_shape_converts_and_gets_the_list():
    source = HEAD + LIST_LAYER + """
    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][1] + input_shape[1][1])

first = keras.Input(shape=(4,))
second = keras.Input(shape=(3,))
blended = Blend()([first, second])
model = keras.Model([first, second], layers.Dense(1)(blended))
"""
    result = k2t.convert_source(source, filename="case.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "blended = self.blend([first, second])" in result.output
    assert "nn.Linear(7, 1)" in result.output


def test_a_returned_list_not_unpacked_is_reported():
    source = HEAD + """\
class Both(layers.Layer):
    def call(self, inputs):
        return inputs


first = keras.Input(shape=(4,))
second = keras.Input(shape=(4,))
both = Both()([first, second])
model = keras.Model([first, second], layers.Dense(1)(both))
"""
    found = _coded(_diagnostics(source), "K2T102")
    assert [(line, column) for line, column, _, _ in found] == [_where(source, "Both()([")]
    assert "returns 2 tensor(s) here" in found[0][3]


NOISE = """\
class Noise(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        return inputs + keras.random.normal(shape=ops.shape(inputs), seed={seed})
"""


def _noise_script(seed: str) -> str:
    return HEAD + NOISE.format(seed=seed) + SEQUENTIAL.format(metrics="[]").replace("layers.Dense(1)", "Noise(), layers.Dense(1)")


def test_a_seed_generator_read_only_as_seed_goes():
    result = k2t.convert_source(_noise_script("self.seed_generator"), filename="case.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "SeedGenerator" not in result.output and "seed_generator" not in result.output


def test_a_seed_generator_read_otherwise_stays_reported():
    source = _noise_script("self.seed_generator.next()")
    found = _diagnostics(source)
    assert _where(source, "keras.random.SeedGenerator") in [(line, column) for line, column, code, _ in found if code == "K2T100"]


KERAS2_RESET = """\
class Gap(keras.metrics.Metric):
    def __init__(self, name="gap", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(ops.sum(ops.abs(y_true - y_pred)))

    def result(self):
        return self.total * 1.0

    def reset_state(self):
        K.batch_set_value([(v, 0) for v in self.variables])
"""


def test_batch_set_value_in_a_metric_class_copies_into_its_tensors():
    source = HEAD + "from keras import backend as K\n\n" + KERAS2_RESET + SEQUENTIAL.format(metrics="[Gap()]")
    result = k2t.convert_source(source, filename="case.py")
    assert not result.diagnostics
    import torch

    tree = ast.parse(result.output)
    [gap] = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Gap"]
    [reset] = [node for node in gap.body if isinstance(node, ast.FunctionDef) and node.name == "reset_state"]
    namespace: dict = {"torch": torch}
    exec(compile(ast.Module([reset], type_ignores=[]), "reset", "exec"), namespace)  # noqa: S102 - the generated method
    # A plain state tensor and a parameter (which refuses an in-place copy under autograd) both go to zeros.
    state = type("State", (), {"variables": [torch.ones(2), torch.nn.Parameter(torch.ones(3))]})()
    namespace["reset_state"](state)
    assert all(float(v.abs().sum()) == 0.0 for v in state.variables)


def test_batch_set_value_on_keras_weights_is_reported_at_it():
    source = HEAD + "from keras import backend as K\n\nmodel = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)])\nK.batch_set_value(zip(model.weights, [np.ones((2, 1)), np.zeros(1)]))\n"
    found = _coded(_diagnostics(source), "K2T100")
    assert [(line, column) for line, column, _, _ in found] == [_where(source, "K.batch_set_value")]
    assert "Keras weights, which k2t does not map to the module's parameters" in found[0][3]


def test_a_metric_list_in_a_variable_is_followed_into_compile_and_reported_where_else_it_is_used():
    held = HEAD + 'METRICS = [keras.metrics.TruePositives(name="tp"), "mae"]\n' + SEQUENTIAL.format(metrics="METRICS")
    result = k2t.convert_source(held, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "METRICS" not in result.output and '"tp": TruePositives()' in result.output
    changed = held.replace("model.compile(", "METRICS.append(keras.metrics.AUC())\nmodel.compile(")
    assert ("K2T100", "the Keras object `METRICS` is used outside compile/layers") in [
        (code, message) for _, _, code, message in _diagnostics(changed)
    ]
