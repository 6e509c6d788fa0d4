"""train_step / test_step overrides (k2t/parse/train_step.py, k2t/translate/train_step.py): what becomes
methods of the module run by fit_steps/evaluate_steps, and what stays a located diagnostic with the class
as written. Parity against Keras is in tests/test_parity_train_step.py."""

import textwrap

import pytest
from unwrapped import unwrapped

import k2t

HEAD = """\
import numpy as np
import tensorflow as tf
import keras

x = np.zeros((8, 4), dtype="float32")
y = np.zeros((8, 1), dtype="float32")
"""

CLASS = """\
class Stepped(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")

    def train_step(self, data):
{unpack}
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
{update}
        return {{m.name: m.result() for m in self.metrics}}
{extra}
"""
UPDATE = """\
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
"""
PROPERTY = """
    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]
"""
BUILD = """
inputs = keras.Input(shape=(4,))
model = Stepped(inputs, keras.layers.Dense(1)(inputs))
model.compile(optimizer="sgd", loss="mse")
{use}
"""


def convert(unpack="        x, y = data", update=UPDATE, extra=PROPERTY, use="model.fit(x, y, epochs=2)"):
    source = HEAD + CLASS.format(unpack=unpack, update=update.rstrip("\n"), extra=extra) + BUILD.format(use=use)
    return source, k2t.convert_source(source, filename="train.py")


def line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def located(result) -> list[tuple[int, str]]:
    return [(d.line, d.code) for d in result.diagnostics]


def test_the_steps_become_methods_of_the_module():
    _, result = convert(use="model.fit(x, y, epochs=2, batch_size=4)\nprint(model.predict(x))")
    assert [d.format() for d in result.diagnostics] == []
    body = result.output
    assert "class Stepped(nn.Module):" in body and "import keras" not in body and "tensorflow" not in body and "tape" not in body.replace("tape.gradient", "")
    assert "    def train_step(self, data):" in body
    assert "        self.optimizer.zero_grad()\n        loss.backward()" in body
    assert "        self.optimizer.step()\n" in body
    assert "        loss = self.compute_loss(y, y_pred)\n" in body
    assert 'model.loss = mse_loss  # compile(loss=...)' in body
    assert "fit_steps(model, optimizer, x, y, epochs=2, batch_size=4)" in body
    assert "print(predict(model, x))" in body  # predict runs the module's forward, as Keras's predict_step does


@pytest.mark.parametrize(
    ("kwargs", "at", "words"),
    [
        pytest.param(
            {"unpack": "        x, y, sample_weight = data"}, "x, y, sample_weight = data", "sample weights", id="sample-weights-in-data"
        ),
        pytest.param(
            {"update": "        self.compiled_metrics.update_state(y, y_pred)"}, "compiled_metrics", "compiled_metrics shim", id="compiled-metrics"
        ),
        pytest.param({"update": "        print(loss)"}, "print(loss)", "not translated", id="other-statement"),
        # A subclass with its own call() is followed as k2t.parse.subclassed follows one, whose __init__ takes named parameters.
        pytest.param(
            {"extra": PROPERTY + "\n    def call(self, inputs):\n        return inputs\n"}, "def __init__", "*args or **kwargs", id="own-call"
        ),
    ],
)
def test_statements_outside_the_vocabulary_are_located_K2T103(kwargs, at, words):
    source, result = convert(**kwargs)
    assert (line_of(source, at), "K2T103") in located(result), [d.format() for d in result.diagnostics]
    assert any(words in d.message for d in result.diagnostics), [d.format() for d in result.diagnostics]
    assert "class Stepped(keras.Model):" in result.output  # the class stays, the instance line finds it
    assert "# TODO(k2t): K2T103" in result.output


def test_training_flag_must_match_the_step():
    source, result = convert(unpack="        x, y = data\n        probe = self(x, training=False)")
    assert (line_of(source, "probe = self(x, training=False)"), "K2T103") in located(result)
    assert any("training=True" in d.message for d in result.diagnostics)


def test_without_a_metrics_property_model_metrics_is_keras_own():
    """Keras's model.metrics: the loss tracker and compiled metrics compile() makes, then the trackers of __init__."""
    _, result = convert(extra="")
    assert [d.format() for d in result.diagnostics] == []
    assert unwrapped("return [metric for metric in (self.compiled_loss_tracker, self.compile_metrics, self.loss_tracker, self.mae_metric) if metric is not None]") in unwrapped(result.output)
    assert 'model.compiled_loss_tracker = MeanTracker("loss")' in result.output
    assert "model.compile_metrics = None  # compile() without metrics" in result.output


def test_stateful_compiled_metric_is_located():
    source, result = convert(extra="", use="model.fit(x, y)")
    source = source.replace('loss="mse")', 'loss="mse", metrics=[keras.metrics.AUC()])')
    result = k2t.convert_source(source, filename="train.py")
    assert (line_of(source, "model.compile("), "K2T122") in located(result)


@pytest.mark.parametrize(
    ("use", "message"),
    [
        pytest.param(
            "model.evaluate(x, y)",
            "K2T130 evaluate() of Stepped, which overrides train_step() but not test_step(), is not translated",
            id="evaluate-without-test_step",
        ),
        pytest.param(
            "model.fit(x, y, validation_data=(x, y))",
            "K2T130 fit() of Stepped, which overrides train_step() but not test_step(), is not translated",
            id="validation-without-test_step",
        ),
        pytest.param("model.fit(x, y, callbacks=[keras.callbacks.History()])", "K2T130 fit(callbacks=...) of a model with its own train_step is not translated", id="callbacks"),
        pytest.param("model.train_on_batch(x, y)", "K2T140 model.train_on_batch() of a model with its own train_step is not translated", id="train_on_batch"),
    ],
)
def test_calls_the_generated_loops_do_not_take(use, message):
    source, result = convert(use=use)
    assert [f"{d.code} {d.message}" for d in result.diagnostics] == [message]
    assert result.diagnostics[0].line == line_of(source, use.split("(")[0] + "(")


def test_compute_loss_needs_the_compiled_loss():
    source = HEAD + CLASS.format(unpack="        x, y = data", update=UPDATE.rstrip("\n"), extra=PROPERTY)
    source += BUILD.format(use="model.fit(x, y)").replace('loss="mse"', "").replace('"sgd", )', '"sgd")')
    result = k2t.convert_source(source, filename="train.py")
    assert [f"{d.code} {d.message}" for d in result.diagnostics] == ["K2T120 compile() without a loss, which the steps' compute_loss() reads"]


def test_stateful_tracker_is_located():
    source = HEAD + textwrap.dedent(CLASS.format(unpack="        x, y = data", update=UPDATE.rstrip("\n"), extra=PROPERTY)).replace(
        'keras.metrics.MeanAbsoluteError(name="mae")', "keras.metrics.AUC()"
    ) + BUILD.format(use="model.fit(x, y)")
    result = k2t.convert_source(source, filename="train.py")
    assert (line_of(source, "keras.metrics.AUC()"), "K2T122") in located(result)
    assert "class Stepped(keras.Model):" in result.output


CALL_MODEL = """\
class Net(keras.Model):
    def __init__(self, units=4):
        super().__init__()
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(1)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def call(self, inputs, training=None):
        return self.out(self.hidden(inputs))

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]


model = Net(units=3)
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=2)
"""


def test_a_subclass_with_its_own_call_keeps_its_steps():
    result = k2t.convert_source(HEAD + CALL_MODEL, filename="train.py")
    assert [d.format() for d in result.diagnostics] == []
    assert "class Net(nn.Module):" in result.output
    assert '        self.loss_tracker = MeanTracker("loss")\n' in result.output
    assert "    def train_step(self, data):" in result.output
    assert "fit_steps(model, optimizer, x, y, epochs=2)" in result.output
