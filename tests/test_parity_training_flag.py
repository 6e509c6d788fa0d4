"""``layer(x, training=True)`` (or False) in a Functional model, as Keras 3 runs it.

Keras 3's Functional model hands its own call's mode to every layer over the flag written at the layer's
call (keras-team/keras#20285): fit (training=True), evaluate and predict (training=False) ignore the
flags, and only ``model(x)``, which gives no mode, runs each flagged layer in its own.
"""

import subprocess
import sys
import textwrap

import pytest
from conftest import requires_keras, requires_torch, run_standalone
from parity_cases import assert_parity

import k2t

DATA = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 8)).astype("float32") * 3 + 2
y = (x.sum(1) > 16).astype("float32")
keras.utils.set_random_seed(0)
"""




@requires_torch
@requires_keras
@pytest.mark.parity
def test_fit_and_predict_override_the_flags(tmp_path):
    # Monte-Carlo dropout and a BatchNormalization held in inference mode, as scripts write them: Keras 3's
    # fit trains the BatchNormalization on batch statistics and predict runs no dropout. A translation that
    # kept the flags would differ in the epochs' losses and the forward pass.
    source = DATA + textwrap.dedent(
        """\
        inputs = keras.Input(shape=(8,))
        h = layers.Dense(16, activation="relu")(inputs)
        h = layers.BatchNormalization()(h, training=False)
        h = layers.Dropout(0.5)(h, training=True)
        outputs = layers.Dense(1, activation="sigmoid")(h)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        print(model.predict(x[:4], verbose=0))
        """
    )
    assert_parity(source, tmp_path)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_fine_tuning_a_base_called_with_training_false(tmp_path):
    # The transfer-learning recipe, base unfrozen for fine-tuning: Keras 3's fit still runs the base's
    # BatchNormalization on batch statistics, updating its moving ones.
    source = DATA + textwrap.dedent(
        """\
        base_in = keras.Input(shape=(8,))
        b = layers.Dense(12)(base_in)
        b = layers.BatchNormalization()(b)
        base_model = keras.Model(base_in, layers.ReLU()(b))
        base_model.trainable = True
        inputs = keras.Input(shape=(8,))
        features = base_model(inputs, training=False)
        outputs = layers.Dense(1, activation="sigmoid")(features)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


MODEL_CALLS = """\
import numpy as np
import keras
from keras import layers

x = np.ones((64, 32), dtype="float32")
inputs = keras.Input(shape=(32,))
h = layers.Dense(32, kernel_initializer="identity", use_bias=False)(inputs)
model = keras.Model(inputs, layers.Dropout(0.5)(h, training=True))

inner_in = keras.Input(shape=(32,))
inner = keras.Model(inner_in, layers.Dropout(0.5)(inner_in, training=True))
outer_in = keras.Input(shape=(32,))
outer = keras.Model(outer_in, inner(outer_in, training=False))
nested = keras.Model(outer_in, inner(outer_in))


def report(name, values):
    values = np.asarray(values)
    dropped = (values == 0).mean()
    print(name, sorted(set(np.round(values.ravel(), 4).tolist())), "some dropped" if 0.3 < dropped < 0.7 else "none dropped")


report("call", model(x))
report("call training=False", model(x, training=False))
report("predict", model.predict(x, verbose=0))
report("outer call", outer(x))
report("nested call", nested(x))
"""


@requires_torch
@requires_keras
@pytest.mark.parity
def test_a_model_called_without_a_mode_runs_flagged_layers_in_theirs(tmp_path):
    # Dropout of a vector of ones (through an identity Dense, so that a layer holds weights): each value is 0
    # (dropped) or 2 (kept, scaled by 1 / (1 - 0.5)) when the dropout runs, 1 everywhere when it does not.
    # Both sides draw from their own generators: the proof is which values appear, and about half dropped.
    (tmp_path / "keras_side.py").write_text(MODEL_CALLS)
    keras_run = subprocess.run([sys.executable, "keras_side.py"], check=False, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert keras_run.returncode == 0, keras_run.stderr
    result = k2t.convert_source(MODEL_CALLS, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    (tmp_path / "case.py").write_text(result.output)
    torch_run = run_standalone(tmp_path / "case.py")
    assert torch_run.returncode == 0, torch_run.stderr
    expected = [
        "call [0.0, 2.0] some dropped",
        "call training=False [1.0] none dropped",
        "predict [1.0] none dropped",
        "outer call [1.0] none dropped",  # the outer model's training=False wins over the inner model's flag
        "nested call [0.0, 2.0] some dropped",
    ]
    assert keras_run.stdout.splitlines() == expected
    assert torch_run.stdout.splitlines() == expected


def test_a_training_flag_k2t_cannot_read_is_located():
    source = textwrap.dedent(
        """\
        import keras
        from keras import layers

        MC_DROPOUT = input() == "yes"
        inputs = keras.Input(shape=(8,))
        outputs = layers.Dropout(0.5)(inputs, training=MC_DROPOUT)
        model = keras.Model(inputs, outputs)
        """
    )
    result = k2t.convert_source(source, filename="case.py")
    assert [d.format() for d in result.diagnostics] == [
        "case.py:6:48: K2T102 `training=MC_DROPOUT` in a layer call is not translated: k2t follows a literal True or False"
    ]


def test_training_none_is_the_default():
    source = textwrap.dedent(
        """\
        import keras
        from keras import layers

        inputs = keras.Input(shape=(8,))
        outputs = layers.Dropout(0.5)(inputs, training=None)
        model = keras.Model(inputs, outputs)
        """
    )
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics
    assert "explicit_training" not in result.output
