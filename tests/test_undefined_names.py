"""No converted script gains a NameError, and `check --no-keras` sees every Keras name and TODO left.

The hypothesis test builds small Keras scripts from pieces that reach past what
k2t translates (a custom layer class, annotations, an except clause, a
backend call, a model built in a function whose name clashes with the
output's imports, a model named like a generated helper) and runs ruff's
undefined-name check (F821) on what k2t writes.
"""

import ast
import subprocess
import sys
import textwrap

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from undefined import assert_no_undefined_names, undefined_names

import k2t
from k2t.usage import keras_usage

# ----------------------------------------------------------------- the gate


def _codes(source: str) -> list[tuple[int, int, str]]:
    return [(d.line, d.column, d.code) for d in keras_usage(source, "out.py")]


def test_no_keras_reports_a_keras_call_whose_import_is_gone():
    source = "import numpy as np\n\nmodel = keras.Sequential([keras.layers.Dense(1)])\nx = tf.constant(np.ones(3))\n"
    diagnostics = keras_usage(source, "out.py")
    assert [(d.line, d.column, d.code) for d in diagnostics] == [(3, 9, "K2T200"), (3, 27, "K2T200"), (4, 5, "K2T200")]
    assert "`keras.layers.Dense`" in diagnostics[1].message and "`tf.constant`" in diagnostics[2].message


def test_no_keras_reports_every_todo_marker_where_it_is():
    source = textwrap.dedent(
        """\
        import torch

        # TODO(k2t): K2T101 layer keras.layers.Lambda is not translated
        x = torch.ones(3)
        if x.sum() > 0:
            # TODO(k2t): K2T121 optimizer `opt` is not translated
            print("# TODO(k2t): in a string is not a marker")
        """
    )
    diagnostics = keras_usage(source, "out.py")
    assert [(d.line, d.column, d.code) for d in diagnostics] == [(3, 1, "K2T201"), (6, 5, "K2T201")]
    assert diagnostics[0].message == "TODO(k2t) marker left: K2T101 layer keras.layers.Lambda is not translated"


def test_no_keras_accepts_names_the_file_defines_itself():
    source = textwrap.dedent(
        """\
        import torch
        from torch import nn as layers


        def build(tf=None, K=2):
            return [layers.Linear(K, 1) for _ in range(K)], tf


        Model = nn = torch.nn.Module
        """
    )
    assert _codes(source) == []
    assert _codes("from somewhere import *\nmodel = keras.Sequential()\n") == []  # the star import may bind it


def test_check_no_keras_fails_on_a_converted_output_with_todos_but_no_keras_import(tmp_path):
    """What k2t wrote before it kept imports: TODO lines whose Keras calls are left, and no import to fail on."""
    output = tmp_path / "converted.py"
    output.write_text(
        "import torch\n\n# TODO(k2t): K2T101 layer keras.layers.Lambda is not translated\n"
        "model = keras.Sequential([keras.layers.Lambda(lambda t: t)])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "k2t", "check", "--no-keras", str(output)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1, proc.stderr
    assert f"{output}:3:1: K2T201" in proc.stderr
    assert f"{output}:4:9: K2T200" in proc.stderr and f"{output}:4:27: K2T200" in proc.stderr


# ------------------------------------------------------- scripts by grammar

SUPPORTED_LAYERS = [
    'keras.layers.Dense(8, activation="relu")',
    "keras.layers.Dropout(0.1)",
    "keras.layers.BatchNormalization()",
    'layers.Dense(4, activation="tanh")',
    "Dense(6)",
]
UNSUPPORTED_LAYERS = [
    "keras.layers.Masking(0.0)",
    "keras.layers.ActivityRegularization(l1=0.01)",
    'keras.layers.Dense(4, kernel_constraint="non_neg")',
    "layers.AlphaDropout(0.1)",
]
# Names a function building the model may have: some are the output's own imports.
FACTORY_NAMES = st.one_of(
    st.sampled_from(["f", "F", "nn", "torch", "np", "math", "build_model", "make_net", "Net", "fit", "predict"]),
    st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(
        lambda name: name not in ("keras", "layers", "Dense", "tf", "K", "np", "x", "y", "model") and name.isidentifier()
        and not __import__("keyword").iskeyword(name)
    ),
)

HEADER = """\
import numpy as np
{keras_import}
import tensorflow as tf
from keras import backend as K
from keras import layers
from keras.layers import Dense

x = np.zeros((8, 3), dtype="float32")
y = np.zeros((8, 1), dtype="float32")
"""

PIECES = {
    "custom_layer": """
class Scale(keras.layers.Layer):
    def call(self, inputs):
        return inputs * 2
""",
    "annotation": """
def describe(m: keras.Model) -> str:
    return str(m)
""",
    "except": """
try:
    print(float(np.sum(x)))
except tf.errors.OpError:
    print("failed")
""",
    "backend": """
print(K.epsilon())
""",
    "string_annotation": """
def shape_of(t: "tf.Tensor") -> "list[int]":
    return list(t.shape)
""",
}
# Keras model names whose class name is one the generated code also defines.
MODEL_NAMES = st.one_of(st.none(), st.sampled_from(["early_stopping", "keras_adam", "batch_norm", "progress_bar", "fit", "F"]))


@st.composite
def keras_scripts(draw) -> str:
    keras_import = draw(st.sampled_from(["import keras", "from tensorflow import keras"]))
    pieces = draw(st.lists(st.sampled_from(sorted(PIECES)), unique=True))
    layer_list = draw(st.lists(st.sampled_from(SUPPORTED_LAYERS + UNSUPPORTED_LAYERS), min_size=1, max_size=4))
    model_name = draw(MODEL_NAMES)
    named = "" if model_name is None else f", name={model_name!r}"
    body = "keras.Sequential([keras.Input(shape=(3,)), " + ", ".join([*layer_list, "keras.layers.Dense(1)"]) + f"]{named})"
    factory = draw(st.one_of(st.none(), FACTORY_NAMES))
    source = HEADER.format(keras_import=keras_import) + "".join(PIECES[p] for p in pieces)
    if factory is None:
        source += f"\nmodel = {body}\n"
    else:
        source += f"\n\ndef {factory}():\n    return {body}\n\n\nmodel = {factory}()\n"
    callbacks = draw(st.sampled_from(["", ', callbacks=[keras.callbacks.EarlyStopping(monitor="loss")]']))
    source += f'model.compile(optimizer="adam", loss="mse")\nmodel.fit(x, y, epochs=1, verbose=0{callbacks})\n'
    if draw(st.booleans()):
        source += "print(model.predict(x, verbose=0).shape)\n"
    return source


def _top_level_imports(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _top_level_definitions(tree: ast.Module) -> set[str]:
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(keras_scripts())
def test_no_output_gains_an_undefined_name(source):
    assert undefined_names(source, "input.py") == []  # the grammar writes valid scripts
    result = k2t.convert_source(source, "script.py")
    assert result.output is not None
    # Exit 0 or not: every remaining Keras name is translated or keeps its import.
    assert_no_undefined_names(result.output, "output.py")
    tree, script = ast.parse(result.output), ast.parse(source)
    generated = _top_level_definitions(tree) - _top_level_definitions(script)
    assert not generated & _top_level_imports(tree), "a generated definition shadows an import of the output"
    # A script's own definition that a generated import would shadow is reported (K2T160).
    clashes = _top_level_definitions(script) & (_top_level_imports(tree) - _top_level_imports(script))
    for name in clashes:
        assert any(d.code == "K2T160" and f"`{name}`" in d.message for d in result.diagnostics), name
    # Every Keras import left is one a remaining use needs, and such a use is never silent.
    if any("keras" in line or "tensorflow" in line for line in result.output.splitlines() if line.startswith(("import", "from"))):
        assert not result.ok


def test_tensor_lines_a_translated_model_took_stay_where_an_untranslated_model_reads_them():
    """nesar/AstroVAE's mnist_vae.py: `encoder = Model(inputs, mu)` converts, the VAE around it does not (a
    Lambda on a list without output_shape), and its lines as written read `inputs`, `h_q` and `mu`."""
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras.backend as K
        from keras.layers import Input, Dense, Lambda
        from keras.models import Model

        inputs = Input(shape=(8,))
        h_q = Dense(16, activation="relu")(inputs)
        mu = Dense(2)(h_q)
        log_sigma = Dense(2)(h_q)

        def sample_z(args):
            mu, log_sigma = args
            eps = K.random_normal(shape=(2,))
            return mu + K.exp(log_sigma / 2) * eps

        z = Lambda(sample_z)([mu, log_sigma])
        outputs = Dense(8, activation="sigmoid")(z)
        vae = Model(inputs, outputs)
        encoder = Model(inputs, mu)
        print(encoder.predict(np.zeros((2, 8))).shape)
        """
    )
    result = k2t.convert_source(source, "vae.py")
    assert not result.ok and result.output is not None
    assert undefined_names(result.output) == [], result.output
    assert "inputs = Input(shape=(8,))" in result.output and "class Encoder(nn.Module)" in result.output


def test_a_list_of_tensors_and_an_unpacked_layer_call_a_translated_model_took_stay_for_an_untranslated_one():
    """A rot13 seq2seq found in a fresh sample: the training model is not translated (its output carries
    Masking's mask into the loss), `encoder_model = Model(encoder_inputs, encoder_states)` is; the training
    model's lines as written read `encoder_states = [state_h, state_c]`, which came from an unpacked call."""
    source = textwrap.dedent(
        """\
        import numpy as np
        from keras.layers import LSTM, Dense, Input, Masking
        from keras.models import Model

        encoder_inputs = Input(shape=(None, 5))
        encoder_outputs, state_h, state_c = LSTM(8, return_state=True)(Masking()(encoder_inputs))
        encoder_states = [state_h, state_c]
        decoder_inputs = Input(shape=(None, 6))
        decoder_outputs, _, _ = LSTM(8, return_sequences=True, return_state=True)(
            Masking()(decoder_inputs), initial_state=encoder_states
        )
        decoder_outputs = Dense(6, activation="softmax")(decoder_outputs)
        model = Model([encoder_inputs, decoder_inputs], decoder_outputs)
        model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
        encoder_model = Model(encoder_inputs, encoder_states)
        print(encoder_model.predict(np.zeros((2, 3, 5))))
        """
    )
    result = k2t.convert_source(source, "s2s.py")
    assert not result.ok and result.output is not None
    assert [d.code for d in result.diagnostics] == ["K2T102"], [d.format() for d in result.diagnostics]
    assert undefined_names(result.output) == [], result.output
    assert "encoder_states = [state_h, state_c]" in result.output and "class EncoderModel(nn.Module)" in result.output


def test_tensor_lines_stay_inside_a_function_where_a_later_translated_model_rebinds_their_name():
    """usc-caisplusplus/keras-vae-tutorial: inside train(), `encoder = Dense(...)(x)` is a tensor, and
    `encoder = Model(x, z_mean)` at the end rebinds the name to a model k2t translates; the VAE (its
    symbolic add_loss is not translated) reads `encoder` and `z_mean` as written, before that rebinding.
    The lines must stay: a read of a local before its binding raises UnboundLocalError."""
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras.backend as K
        from keras.layers import Input, Dense, Lambda
        from keras.models import Model


        def train():
            x = Input(shape=(8,))
            encoder = Dense(16, activation="relu")(x)
            z_mean = Dense(2)(encoder)
            z_log_var = Dense(2)(encoder)
            z = Lambda(lambda a: a[0] + K.exp(a[1] / 2))([z_mean, z_log_var])
            reconstructed = Dense(8, activation="sigmoid")(z)
            vae = Model(x, reconstructed)
            vae.add_loss(K.mean(K.square(x - reconstructed)))
            vae.compile(optimizer="rmsprop")
            vae.fit(np.zeros((4, 8)), epochs=1)
            encoder = Model(x, z_mean)
            return encoder


        train()
        """
    )
    result = k2t.convert_source(source, "vae.py")
    assert not result.ok and result.output is not None
    assert undefined_names(result.output) == [], result.output
    train = result.output.split("def train():")[1]
    assert train.index("    encoder = Dense(16") < train.index("    z_log_var = Dense(2)(encoder)")
    assert "    z_mean = Dense(2)(encoder)\n" in train
