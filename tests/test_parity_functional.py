"""Exact parity for Functional models: branches, merges, shared layers, several inputs and outputs."""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

DATA = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
xa = rng.normal(size=(96, 8)).astype("float32")
xb = rng.normal(size=(96, 3)).astype("float32")
y = ((xa.sum(1) + xb.sum(1)) > 0).astype("float32")
y_reg = xa[:, :2].sum(1, keepdims=True).astype("float32")
y_cls = np.argmax(xa[:, :3], axis=1)
keras.utils.set_random_seed(0)
"""


def case(body: str) -> str:
    return DATA + textwrap.dedent(body)


MERGES = ["layers.Add()([a, b])", "layers.add([a, b])", "layers.Subtract()([a, b])", "layers.Multiply()([a, b])",
          "layers.Average()([a, b])", "layers.maximum([a, b])", "layers.Minimum()([a, b])",
          "layers.Concatenate()([a, b])", "layers.concatenate([a, b], axis=-1)", "layers.Dot(axes=1)([a, b])",
          "layers.Dot(axes=1, normalize=True)([a, b])"]


@pytest.mark.parametrize("merge", MERGES)
def test_merge_layers(merge, tmp_path):
    source = case(
        f"""\
        inp = keras.Input(shape=(8,))
        a = layers.Dense(5, activation="tanh")(inp)
        b = layers.Dense(5)(inp)
        m = {merge}
        out = layers.Dense(1, activation="sigmoid")(m)
        model = keras.Model(inputs=inp, outputs=out)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(xa, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_two_inputs_shared_layer_nested_calls(tmp_path):
    source = case(
        """\
        inp = keras.Input(shape=(8,), name="features")
        aux = keras.Input(shape=(3,), name="aux")
        x = layers.Dense(16, activation="relu")(inp)
        shared = layers.Dense(4)
        a = shared(x)
        b = shared(layers.Dense(16)(x))
        m = layers.concatenate([a, b, layers.Dense(2)(aux)])
        m = layers.Add()([m, layers.Dense(10, activation="tanh")(m)])
        out = layers.Dense(1, activation="sigmoid")(layers.Dropout(0.2)(m))
        model = keras.Model(inputs=[inp, aux], outputs=out, name="two_input")
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit([xa, xb], y, batch_size=16, epochs=3, verbose=0, validation_split=0.25)
        """
    )
    report = assert_parity(source, tmp_path)
    assert "val_loss" in report.torch_history


def test_dict_inputs(tmp_path):
    source = case(
        """\
        inp = keras.Input(shape=(8,), name="features")
        aux = keras.Input(shape=(3,), name="aux")
        m = layers.Concatenate()([inp, aux])
        out = layers.Dense(3, activation="softmax")(layers.Dense(6, activation="relu")(m))
        model = keras.models.Model(inputs=[inp, aux], outputs=out)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit({"features": xa, "aux": xb}, y_cls, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


@pytest.mark.parametrize(
    "compile_args",
    [
        'loss=["binary_crossentropy", "mse"], metrics=[["accuracy"], ["mae"]], loss_weights=[1.0, 0.5]',
        'loss={"cls": "binary_crossentropy", "reg": "mse"}, metrics={"cls": "accuracy", "reg": ["mae", "mse"]}',
        'loss="mse"',
    ],
    ids=["lists", "dicts", "one_loss_for_all"],
)
def test_several_outputs(compile_args, tmp_path):
    source = case(
        f"""\
        inp = keras.Input(shape=(8,))
        h = layers.Dense(8, activation="relu")(inp)
        o1 = layers.Dense(1, activation="sigmoid", name="cls")(h)
        o2 = layers.Dense(1, name="reg")(h)
        model = keras.Model(inp, [o1, o2])
        model.compile(optimizer="adam", {compile_args})
        model.fit(xa, [y, y_reg], batch_size=16, epochs=3, verbose=0, validation_split=0.25)
        """
    )
    report = assert_parity(source, tmp_path)
    assert {"cls_loss", "reg_loss", "val_cls_loss"} <= set(report.torch_history)


def test_model_built_and_compiled_in_a_function(tmp_path):
    source = case(
        """\
        def build_model(hidden):
            inputs = keras.Input(shape=(8,))
            x = layers.Dense(hidden, activation="relu")(inputs)
            outputs = layers.Dense(1, activation="sigmoid")(x)
            model = keras.Model(inputs=inputs, outputs=outputs)
            model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="binary_crossentropy", metrics=["acc"])
            return model


        clf = build_model(12)
        clf.fit(xa, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_functional_output_values_and_evaluate_format():
    """Converted multi-output scripts return what Keras returns: lists from predict and evaluate."""
    import k2t

    source = case(
        """\
        inp = keras.Input(shape=(8,))
        h = layers.Dense(8, activation="relu")(inp)
        o1 = layers.Dense(1, activation="sigmoid", name="cls")(h)
        o2 = layers.Dense(1, name="reg")(h)
        model = keras.Model(inp, [o1, o2])
        model.compile(optimizer="adam", loss=["binary_crossentropy", "mse"], metrics=[["accuracy"], ["mae"]])
        history = model.fit(xa, [y, y_reg], epochs=1, verbose=0)
        results = model.evaluate(xa, [y, y_reg], verbose=0)
        p_cls, p_reg = model.predict(xa, verbose=0)
        """
    )
    result = k2t.convert_source(source)
    assert result.ok, result.diagnostics
    namespace: dict = {}
    exec(compile(result.output, "<converted>", "exec"), namespace)  # noqa: S102 - the test runs generated code
    assert sorted(namespace["history"].history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae"]
    assert len(namespace["results"]) == 5  # loss, cls_loss, reg_loss, cls_accuracy, reg_mae
    assert namespace["p_cls"].shape == (96, 1) and namespace["p_reg"].shape == (96, 1)
    assert ((namespace["p_cls"] >= 0) & (namespace["p_cls"] <= 1)).all()
