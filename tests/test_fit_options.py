"""fit/evaluate options through translation: what the generated functions take, and what is refused where.

Their numbers are proven against Keras in test_parity_fit_options.py.
"""

import ast
import textwrap

from unwrapped import unwrapped

import k2t

HEADER = """\
import numpy as np
import keras

x = np.zeros((64, 4), dtype="float32")
y = np.zeros(64, dtype="float32")
w = np.ones(64, dtype="float32")
model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
"""


def convert(calls, header=HEADER):
    result = k2t.convert_source(header + textwrap.dedent(calls), "script.py")
    assert result.ok, [d.format() for d in result.diagnostics]
    ast.parse(result.output)
    return result.output


def signature(output, name):
    for node in ast.parse(output).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            args = node.args
            defaults = [None] * (len(args.args) - len(args.defaults)) + [ast.literal_eval(d) for d in args.defaults]
            return [(a.arg, d) for a, d in zip(args.args, defaults)]
    raise AssertionError(f"no def {name}")


def test_plain_fit_takes_no_weight_or_step_options():
    output = convert("model.fit(x, y, epochs=2)\nmodel.evaluate(x, y)\n")
    assert [name for name, _ in signature(output, "fit")] == ["model", "optimizer", "x", "y", "batch_size", "epochs", "verbose"]
    assert "sample_weight" not in output and "steps_per_epoch" not in output and "initial_epoch" not in output
    assert [name for name, _ in signature(output, "binary_crossentropy")] == ["logits", "target"]


def test_fit_lists_only_the_options_the_script_uses_in_keras_order():
    output = convert("model.fit(x, y, validation_freq=2, class_weight={0: 1.0, 1: 3.0}, validation_split=0.2, initial_epoch=1)\n")
    fit = signature(output, "fit")
    assert fit[7:] == [("validation_split", 0.0), ("validation_data", None), ("class_weight", None), ("initial_epoch", 0), ("validation_freq", 1)]
    # Weighted rows: the loss takes one weight per row, and evaluate (which validates) takes them too.
    assert signature(output, "binary_crossentropy")[-1] == ("sample_weight", None)
    assert ("sample_weight", None) in signature(output, "evaluate")
    assert unwrapped("fit(model, optimizer, x, y, validation_freq=2, class_weight={0: 1.0, 1: 3.0}, validation_split=0.2, initial_epoch=1)") in unwrapped(output)


def test_step_options_reach_fit_and_evaluate():
    output = convert("model.fit(x, y, steps_per_epoch=3, validation_data=(x, y), validation_steps=2, validation_batch_size=8)\n")
    names = [name for name, _ in signature(output, "fit")]
    assert names[7:] == ["validation_data", "steps_per_epoch", "validation_steps", "validation_batch_size"]
    assert [name for name, _ in signature(output, "evaluate")] == ["model", "x", "y", "batch_size", "verbose", "steps", "return_dict"]
    assert "sample_weight" not in output  # no weights anywhere: the loss keeps its plain form


def test_positional_fit_arguments_follow_keras_order():
    output = convert("model.fit(x, y, 16, 2, 0, None, 0.0, None, True, None, w, 1)\n")
    assert unwrapped("fit(model, optimizer, x, y, 16, 2, 0, validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=w, initial_epoch=1)") in unwrapped(output)


def test_evaluate_sample_weight_and_return_dict():
    output = convert("print(model.evaluate(x, y, sample_weight=w, return_dict=True))\n")
    assert "evaluate(model, x, y, sample_weight=w, return_dict=True)" in output
    assert [name for name, _ in signature(output, "evaluate")] == ["model", "x", "y", "batch_size", "verbose", "sample_weight", "return_dict"]


def test_validation_data_with_weights_makes_the_loss_weighted():
    output = convert("model.fit(x, y, validation_data=(x, y, w))\n")
    assert signature(output, "binary_crossentropy")[-1] == ("sample_weight", None)
    assert "val_weight = validation_data[2] if len(validation_data) > 2 else None" in output


SPATIAL = """\
import numpy as np
import keras

x = np.zeros((8, 6, 6, 1), dtype="float32")
y = np.zeros((8, 6, 6, 1), dtype="float32")
model = keras.Sequential([keras.Input(shape=(6, 6, 1)), keras.layers.Conv2D(1, 3, padding="same")])
model.compile(optimizer="adam", loss="mse")
"""


def test_weights_on_a_per_position_loss_are_a_located_todo():
    source = SPATIAL + "model.fit(x, y, sample_weight=np.ones(8))\n"
    result = k2t.convert_source(source, "script.py")
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "K2T130" and "per-row weights" in diagnostic.message
    assert (diagnostic.line, diagnostic.column) == (8, 31)  # at the weights
    assert "TODO(k2t)" in result.output


def test_class_weight_of_a_multi_output_model_is_a_located_todo():
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras

        inputs = keras.Input(shape=(4,))
        a = keras.layers.Dense(1, name="a")(inputs)
        b = keras.layers.Dense(1, name="b")(inputs)
        model = keras.Model(inputs, [a, b])
        model.compile(optimizer="adam", loss=["mse", "mse"])
        model.fit(np.zeros((8, 4)), [np.zeros(8), np.zeros(8)], class_weight={0: 2.0})
        """
    )
    result = k2t.convert_source(source, "script.py")
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "K2T130" and "one output only" in diagnostic.message
    assert (diagnostic.line, diagnostic.column) == (9, 70)


def test_class_and_sample_weight_together_are_a_located_todo():
    result = k2t.convert_source(HEADER + "model.fit(x, y, sample_weight=w, class_weight={0: 2.0})\n", "script.py")
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "K2T130" and "one or the other" in diagnostic.message
    assert (diagnostic.line, diagnostic.column) == (9, 47)
