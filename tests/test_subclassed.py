"""Subclassed models (k2t/parse/subclassed.py): ``class M(keras.Model)`` becomes the generated module of
that name, built from the first array the model sees or from ``build((None, n))``; what call() does
beyond straight-line layer calls is a located K2T103 and the class stays as written. Parity against
Keras is in tests/test_parity_subclassed.py."""

import textwrap

import pytest

import k2t

HEAD = """\
import numpy as np
import keras
from keras import layers

x = np.zeros((8, 6), dtype="float32")
y = np.zeros((8,), dtype="int32")
"""

MODEL = """\
class Net2(keras.Model):
    def __init__(self, units=4):
        super().__init__()
        self.hidden = layers.Dense(units, activation="relu")
        self.dropout = layers.Dropout(0.5)
        self.out = layers.Dense(2)

    def call(self, inputs, training=None):
{call}
"""

STRAIGHT = """\
        h = self.hidden(inputs)
        h = self.dropout(h, training=training)
        return self.out(h)
"""

TRAIN = """
model = Net2({arguments})
model.compile(optimizer="sgd", loss="mse")
{use}
"""


def convert(call=STRAIGHT, arguments="", use="model.fit(x, y, epochs=1)", extra=""):
    source = HEAD + MODEL.format(call=textwrap.indent(textwrap.dedent(call), " " * 8).rstrip("\n")) + extra + TRAIN.format(arguments=arguments, use=use)
    return source, k2t.convert_source(source, filename="case.py")


def line_of(source: str, text: str) -> int:
    return next(number for number, line in enumerate(source.splitlines(), 1) if text in line)


def test_class_replaced_by_a_module_of_the_same_name_sized_from_the_data():
    _, result = convert(arguments="units=3")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "class Net2(nn.Module):" in result.output
    assert "import keras" not in result.output and "keras.Model" not in result.output.split("def fit(")[0]
    assert "nn.Linear(inputs_features, 3)" in result.output  # units=3 from the instance's argument
    assert "nn.Dropout(0.5)" in result.output
    assert "model = Net2(inputs_features=x.shape[1]).to(device)" in result.output


def test_input_shape_from_build():
    _, result = convert(use="model.build((None, 6))\nmodel.fit(x, y, epochs=1)")
    assert "nn.Linear(6, 4)" in result.output


def test_input_shape_from_build_by_keyword_and_a_batch_size_given():
    """TensorFlow 2 tutorials' `model.build(input_shape=(4, 784))`: the sizes after the batch axis."""
    _, result = convert(use="model.build(input_shape=(4, 6))\nmodel.fit(x, y, epochs=1)")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "nn.Linear(6, 4)" in result.output


def test_kerass_full_call_signature_with_a_mask_it_never_reads():
    source = HEAD + MODEL.format(call=textwrap.indent(STRAIGHT, "").rstrip("\n")) + TRAIN.format(arguments="", use="model.fit(x, y, epochs=1)")
    with_mask = source.replace("def call(self, inputs, training=None):", "def call(self, inputs, training=None, mask=None):")
    result = k2t.convert_source(with_mask, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    # a mask the call reads is not followed: the class stays, located
    reading = with_mask.replace("        return self.out(h)", "        return self.out(h) if mask is None else h")
    codes = [d.code for d in k2t.convert_source(reading, filename="case.py").diagnostics]
    assert "K2T103" in codes


def test_attribute_applied_twice_is_one_shared_layer():
    _, result = convert(call="h = self.hidden(inputs)\nh = self.dropout(h, training=training)\nreturn self.out(h)", arguments="units=6")
    assert result.output.count("nn.Linear(") == 2
    _, shared = convert(call="h = self.hidden(inputs)\nh = self.hidden(h)\nreturn self.out(h)", arguments="units=6")
    assert shared.output.count("nn.Linear(") == 2 and shared.output.count("self.hidden(") == 2  # the script's attribute names


@pytest.mark.parametrize(
    ("call", "at", "words"),
    [
        ("if training:\n    inputs = self.dropout(inputs)\nreturn self.out(inputs)", "if training:", "known when the model is made"),
        ("h = self.dropout(inputs, training=True)\nreturn self.out(h)", "training=True", "training=training"),
        ("h = inputs\nfor _ in range(2):\n    h = self.hidden(h)\nreturn self.out(h)", "for _ in range(2):", "straight-line"),
        ("h = keras.ops.relu(inputs) * scale\nreturn self.out(h)", "keras.ops.relu(inputs)", "reads `scale`"),
    ],
    ids=["if-on-training", "fixed-training", "loop", "op-outside-layers"],
)
def test_call_beyond_straight_line_layer_calls_is_a_located_K2T103(call, at, words):
    source, result = convert(call=call)
    located = [(d.line, d.code) for d in result.diagnostics]
    assert (line_of(source, at), "K2T103") in located, [d.format() for d in result.diagnostics]
    assert any(words in d.message for d in result.diagnostics)
    assert "class Net2(keras.Model):" in result.output  # not translated: the class stays, the instance finds it


def test_train_step_outside_the_step_vocabulary_is_a_located_K2T103():
    """Steps are read statement by statement (k2t/parse/train_step.py; tests/test_train_step.py): one it does not know stops the model."""
    extra = "\n    def train_step(self, data):\n        return super().train_step(data)\n"
    source, result = convert(extra=extra)
    assert (line_of(source, "return super().train_step(data)"), "K2T103") in [(d.line, d.code) for d in result.diagnostics]
    assert "class Net2(keras.Model):" in result.output


def test_attribute_other_than_a_layer_is_a_located_K2T103():
    source = HEAD + textwrap.dedent(
        """\
        class Blocks(keras.Model):
            def __init__(self):
                super().__init__()
                self.blocks = make_blocks(2)

            def call(self, inputs):
                return self.blocks[0](inputs)


        model = Blocks()
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y)
        """
    )
    result = k2t.convert_source(source, filename="case.py")
    assert (line_of(source, "self.blocks = make_blocks(2)"), "K2T103") in [(d.line, d.code) for d in result.diagnostics]


LISTED = """\
class Tower(keras.Model):
    def __init__(self, sizes=(8, 4), head="a"):
        super().__init__()
        self.blocks = [layers.Dense(n, activation="relu") for n in sizes]
        self.pair = [layers.Dense(4), layers.Dense(4)]
        self.head = head
        self.heads = {"a": layers.Dense(1), "b": layers.Dense(2)}

    def call(self, inputs):
{call}


model = Tower()
model.compile(optimizer="sgd", loss="mse")
model.fit(x, y, epochs=1)
"""


def listed(call: str) -> tuple[str, object]:
    source = HEAD + LISTED.replace("{call}", textwrap.indent(textwrap.dedent(call), " " * 8).rstrip("\n"))
    return source, k2t.convert_source(source, filename="case.py")


def test_layers_in_lists_and_dicts_unrolled_and_indexed():
    _, result = listed(
        """\
        h = inputs
        for block in self.blocks:
            h = block(h)
        h = self.pair[1](h)
        if self.head == "a":
            return self.heads["a"](h)
        return self.heads["b"](h)
        """
    )
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    module = result.output.split("class Tower(nn.Module):")[1].split("\n\n\n")[0]
    # The comprehension's sizes, one layer each; pair[1] only (pair[0] is never called); heads["a"] only.
    assert [line.strip() for line in module.splitlines() if "= nn.Linear(" in line] == [
        "self.dense = nn.Linear(inputs_features, 8)",
        "self.dense_1 = nn.Linear(8, 4)",
        "self.dense_2 = nn.Linear(4, 4)",
        "self.dense_3 = nn.Linear(4, 1)",
    ]


@pytest.mark.parametrize(
    ("call", "at", "words"),
    [
        ("h = inputs\nfor i in range(2):\n    h = self.blocks[i](h)\nreturn h", "for i in range(2):", "self.<list of layers>"),
        ("if self.undefined:\n    inputs = self.pair[0](inputs)\nreturn self.pair[1](inputs)", "if self.undefined:", "known when the model is made"),
        ("return self.heads[self.head + 'x'](inputs)", "self.heads[self.head", "not a layer call"),
    ],
    ids=["loop-over-range", "if-on-unknown-attribute", "unknown-key"],
)
def test_what_a_list_of_layers_does_not_cover_is_located(call, at, words):
    source, result = listed(call)
    assert (line_of(source, at), "K2T103") in [(d.line, d.code) for d in result.diagnostics], [d.format() for d in result.diagnostics]
    assert any(words in d.message for d in result.diagnostics)


def test_no_data_and_no_build_is_a_K2T103_at_the_class():
    source, result = convert(use="")
    assert (line_of(source, "class Net2"), "K2T103") in [(d.line, d.code) for d in result.diagnostics]


def test_array_rebound_before_its_first_use_is_a_K2T103():
    source, result = convert(use="x = x.reshape(8, 3, 2)\nmodel.fit(x, y, epochs=1)")
    assert (line_of(source, "model.fit(x"), "K2T103") in [(d.line, d.code) for d in result.diagnostics]


@pytest.mark.parametrize(
    ("made", "features"),
    [
        ("np.random.random((50000, 5))", 5),  # keras/examples/demo_subclass.py
        ("np.zeros((8, 2 * 3))", 6),
        ("np.random.rand(8, 7)", 7),
        ("np.random.normal(0, 1, (8, 9))", 9),
        ("np.random.RandomState(0).normal(size=(8, 4)).astype('float32')", 4),
        ("np.concatenate([np.zeros((4, 3)), np.ones((4, 3))])", None),  # k2t does not follow concatenate: not known
    ],
)
def test_array_made_after_the_model_with_sizes_the_script_writes_sizes_it(made, features):
    """The array's shape is written in the script: it holds where the module is built, before the array exists."""
    source, result = convert(use=f"x = {made}\nmodel.fit(x, y, epochs=1)")
    if features is None:
        assert (line_of(source, "model.fit(x"), "K2T103") in [(d.line, d.code) for d in result.diagnostics]
        return
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert f"nn.Linear({features}, 4)" in result.output and "model = Net2().to(device)" in result.output


@pytest.mark.parametrize(
    "use",
    [
        "n = 3\nx = np.zeros((8, n))\nmodel.fit(x, y, epochs=1)",  # a size bound after the model's line
        "x = np.zeros((8, 3))\nx = x.reshape(8, 3, 1)\nmodel.fit(x, y, epochs=1)",  # not the last binding
        "for n in (2, 3):\n    x = np.zeros((8, n))\n    model.fit(x, y, epochs=1)",  # inside a loop
    ],
)
def test_array_made_after_the_model_whose_sizes_may_differ_stays_a_K2T103(use):
    source, result = convert(use=use)
    assert (line_of(source, "model.fit(x"), "K2T103") in [(d.line, d.code) for d in result.diagnostics]


def test_the_class_of_a_model_k2t_reports_follows_from_that_report():
    """keras.Model and every Dense of the class body are not "not translated": the model statement is, and the
    one diagnostic says why; the class is kept as written under a TODO naming that line."""
    source, result = convert(use="x = np.load('x.npy')\nmodel.fit(x, y, epochs=1)")
    assert [(d.line, d.code) for d in result.diagnostics] == [(line_of(source, "model.fit(x"), "K2T103")], [
        d.format() for d in result.diagnostics
    ]
    assert not result.ok
    at = line_of(source, "model = Net2(")
    kept = result.output.splitlines()
    assert kept[kept.index("class Net2(keras.Model):") - 1] == (
        f"# TODO(k2t): K2T103 follows from line {at}, which k2t did not translate: Net2 stays a Keras model as written"
    )


CALLED = """\
import numpy as np
import keras
from keras import layers

x = np.random.RandomState(0).normal(size=(16, 6)).astype("float32")
y = np.zeros((16, 1), dtype="float32")


class Net2(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(8, activation="relu")
        self.dropout = layers.Dropout(0.5)
        self.out = layers.Dense(1)

    def call(self, inputs, training=None):
        return self.out(self.dropout(self.hidden(inputs), training=training))


model = Net2()
model.compile(optimizer="sgd", loss="mse")
model.fit(x, y, epochs=1, verbose=0)
first = model(x)
second = model(x[:4], training=False)
# Dropout(0.5) on would change about half the hidden units; a batch of 4 rather than 16 may round differently.
print("same:", bool(np.allclose(np.asarray(first)[:4], np.asarray(second), atol=1e-6)), "shape:", tuple(first.shape))
"""


@pytest.mark.skipif(not __import__("importlib").util.find_spec("torch"), reason="needs torch")
def test_model_called_on_data_is_keras_inference_call(tmp_path):
    from conftest import run_standalone

    result = k2t.convert_source(CALLED, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "first = call_model(model, x)" in result.output and "second = call_model(model, x[:4])" in result.output
    script = tmp_path / "case.py"
    script.write_text(result.output, encoding="utf-8")
    ran = run_standalone(script)
    assert ran.returncode == 0, ran.stderr
    # Dropout(0.5) is off as in Keras's model(x) (training=False), and the result is a plain tensor of the rows.
    assert "same: True shape: (16, 1)" in ran.stdout, ran.stdout


@pytest.mark.parametrize(
    ("use", "translated"),
    [
        ("out = model(x, training=True)", "model.train()\nout = model(torch.as_tensor(x, dtype=torch.float32, device=device))"),
        ("def step(batch):\n    return model(batch)\n", "model(torch.as_tensor(batch, dtype=torch.float32, device=device))"),
    ],
    ids=["training-true", "inside-a-function"],
)
def test_model_call_outside_keras_inference_is_the_training_step_call(use, translated):
    # Not Keras's inference call (call_model): the call a custom training step makes (k2t.translate.custom_training).
    source = CALLED.split("first = ")[0] + use + "\n"
    result = k2t.convert_source(source, filename="case.py")
    assert not any(d.code == "K2T140" for d in result.diagnostics), [d.format() for d in result.diagnostics]
    assert translated in result.output


KWARGS_MODEL = """\
import numpy as np
import keras
from keras import layers


class Tiny(keras.Model):
    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(units, activation="relu")
        self.out = layers.Dense(1)
        EXTRA

    def call(self, inputs):
        return self.out(self.hidden(inputs))


x = np.zeros((8, 3), "float32")
model = Tiny(units=4, name="tiny")
model.compile(optimizer="sgd", loss="mse")
model.fit(x, np.zeros((8, 1), "float32"), verbose=0)
"""


def test_kwargs_handed_to_keras_model_are_followed():
    # keras.io's subclassing guide writes every model with **kwargs passed on to keras.Model.
    result = k2t.convert_source(KWARGS_MODEL.replace("        EXTRA\n", ""), filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "class Tiny(nn.Module)" in result.output and "nn.Linear(inputs_features, 4)" in result.output


def test_kwargs_used_otherwise_stay_located():
    result = k2t.convert_source(KWARGS_MODEL.replace("EXTRA", "self.options = kwargs"), filename="case.py")
    assert any(d.code == "K2T103" and "**kwargs" in d.message for d in result.diagnostics), [d.format() for d in result.diagnostics]


def test_ops_between_layer_calls_become_lines_of_forward():
    """Issue 12: ops over call()'s tensors are translated as a custom layer's call() is (the op vocabulary), their
    shapes derived for the layer after them; `zip` of two lists of layers is unrolled pair by pair."""
    source = HEAD.replace("(8, 6)", "(8, 5, 6)") + textwrap.dedent(
        """\
        class Pooled(keras.Model):
            def __init__(self):
                super().__init__()
                self.denses = [layers.Dense(8), layers.Dense(4)]
                self.norms = [layers.LayerNormalization(), layers.LayerNormalization()]
                self.out = layers.Dense(2)

            def call(self, inputs):
                h = inputs
                for dense, norm in zip(self.denses, self.norms):
                    h = keras.ops.relu(norm(dense(h)))
                pooled = keras.ops.concatenate([keras.ops.mean(h, axis=1), h[:, -1]], axis=-1)
                return self.out(pooled)


        model = Pooled()
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, epochs=1)
        """
    )
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    module = result.output.split("class Pooled(nn.Module):")[1].split("\n\n\n")[0]
    assert "nn.Linear(8, 2)" in module  # the mean's 4 and the last step's 4, concatenated
    assert "torch.cat([torch.mean(h, dim=1), h[:, -1]], dim=-1)" in module
    assert module.index("self.dense_1 = ") < module.index("self.layer_normalization = ")  # Keras's creation order


@pytest.mark.parametrize(
    ("call", "at", "words"),
    [
        ("h = keras.ops.transpose(self.hidden(inputs))\nreturn self.out(h)", "keras.ops.transpose", "cannot tell the shape"),
        ("return self.out(inputs[::-1])", "inputs[::-1]", "negative step"),
        ("return keras.ops.transpose(self.out(inputs))", "keras.ops.transpose", "the model's output"),
    ],
    ids=["shape-for-a-layer", "negative-step", "shape-of-the-output"],
)
def test_ops_k2t_cannot_follow_are_located(call, at, words):
    source, result = convert(call=call)
    assert (line_of(source, at), "K2T103") in [(d.line, d.code) for d in result.diagnostics], [d.format() for d in result.diagnostics]
    assert any(words in d.message for d in result.diagnostics), [d.format() for d in result.diagnostics]


def final_op_model(final: str, loss: str, imports: str = "") -> tuple[str, str]:
    source = (
        HEAD
        + imports
        + textwrap.dedent(
            f"""\
        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.hidden = layers.Dense(4, activation="relu")
                self.out = layers.Dense(3)

            def call(self, inputs):
                return {final}


        model = Net()
        model.compile(optimizer="sgd", loss="{loss}")
        model.fit(x, y, epochs=1)
        """
        )
    )
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    return result.output.split("def forward(", 1)[1].split("\ndef ", 1)[0]


@pytest.mark.parametrize(
    ("final", "activation", "imports"),
    [
        pytest.param("keras.activations.softmax(self.out(self.hidden(inputs)))", "F.softmax(", "", id="activations"),
        pytest.param("keras.ops.softmax(self.out(self.hidden(inputs)), axis=-1)", "F.softmax(", "", id="ops-axis"),
        pytest.param(
            "tf.nn.softmax(self.out(self.hidden(inputs)))", "F.softmax(", "import tensorflow as tf\n", id="tf"
        ),
        pytest.param("keras.ops.sigmoid(self.out(self.hidden(inputs)))", "torch.sigmoid(", "", id="sigmoid"),
    ],
)
def test_a_final_softmax_or_sigmoid_op_is_folded_into_the_logits_as_keras_does(final, activation, imports):
    # Keras's crossentropy reads the op's input (_keras_logits, or the graph's Softmax/Sigmoid op).
    loss = "binary_crossentropy" if "sigmoid" in final else "sparse_categorical_crossentropy"
    forward = final_op_model(final, loss, imports)
    assert f"return {activation}self.logits(inputs)" in forward
    logits = forward.split("def logits(", 1)[1]
    assert "softmax" not in logits and "sigmoid" not in logits


def test_a_final_op_around_an_expression_folds_its_argument():
    forward = final_op_model(
        "keras.activations.softmax(self.out(self.hidden(inputs)) * 2.0)", "sparse_categorical_crossentropy"
    )
    logits = forward.split("def logits(", 1)[1]
    assert "* 2.0" in logits and "softmax" not in logits


def test_a_softmax_over_another_axis_or_a_mse_loss_is_not_folded():
    # tf.nn.softmax over axis 0 ends in a Transpose op, which Keras's crossentropy does not look through (keras.ops's
    # softmax keeps its logits whatever the axis); mse reads the probabilities themselves.
    tf_axis_0 = "tf.nn.softmax(self.out(self.hidden(inputs)), axis=0)"
    assert "def logits(" not in final_op_model(
        tf_axis_0, "sparse_categorical_crossentropy", "import tensorflow as tf\n"
    )
    assert "def logits(" not in final_op_model("keras.ops.softmax(self.out(self.hidden(inputs)))", "mse")


def test_build_of_a_subclassed_model_sizes_it_and_goes():
    source = HEAD + MODEL.format(call=textwrap.indent(STRAIGHT, "")) + "\nmodel = Net2()\nmodel.build((None, 6))\n"
    source += 'model.compile(optimizer="sgd", loss="mse")\nmodel.fit(x, y, epochs=1)\n'
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert ".build(" not in result.output and "nn.Linear(6, 4)" in result.output


def test_build_of_a_sequential_model_stays_a_located_diagnostic():
    source = HEAD + 'model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(2)])\nmodel.build((None, 6))\nmodel.compile(optimizer="sgd", loss="mse")\n'
    result = k2t.convert_source(source, filename="case.py")
    assert [(d.code, d.line) for d in result.diagnostics] == [("K2T140", line_of(source, "model.build("))]


@pytest.mark.parametrize("statement", ["_ = model(tf.zeros((1, 6)))", "model(keras.ops.ones((2, 6)))"])
def test_a_call_on_zeros_that_builds_the_model_sizes_it_and_goes(statement):
    source = HEAD + "import tensorflow as tf\n" + MODEL.format(call=STRAIGHT) + f"\nmodel = Net2()\n{statement}\n"
    source += 'model.compile(optimizer="sgd", loss="mse")\nmodel.fit(x, y, epochs=1)\n'
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "zeros((" not in result.output.split("y = ")[1] and "ones((" not in result.output
    assert "nn.Linear(6, 4)" in result.output and "tf." not in result.output


def test_the_result_of_a_call_on_tf_zeros_read_is_a_located_diagnostic():
    source = HEAD + "import tensorflow as tf\n" + MODEL.format(call=STRAIGHT) + "\nmodel = Net2()\nout = model(tf.zeros((1, 6)))\n"
    source += 'model.compile(optimizer="sgd", loss="mse")\nmodel.fit(x, y, epochs=1)\n'
    result = k2t.convert_source(source, filename="case.py")
    assert [(d.code, d.line) for d in result.diagnostics] == [("K2T140", line_of(source, "out = model("))]


def test_a_keras_softmax_over_another_axis_under_a_crossentropy_is_a_located_diagnostic():
    # Keras keeps keras.ops.softmax's logits whatever the axis and its crossentropy reads them over the last
    # axis: neither the probabilities nor a fold over the last axis reproduces that.
    source = HEAD + textwrap.dedent(
        """\
        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.out = layers.Dense(3)

            def call(self, inputs):
                return keras.ops.softmax(self.out(inputs), axis=0)


        model = Net()
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=1)
        """
    )
    result = k2t.convert_source(source, filename="case.py")
    assert [(d.code, d.line) for d in result.diagnostics] == [("K2T103", line_of(source, "keras.ops.softmax("))]
    assert not result.ok
