"""train_on_batch / test_on_batch / predict_on_batch / reset_metrics (k2t.translate.on_batch): what converts, what is a diagnostic."""

import textwrap

import pytest

import k2t

HEADER = """\
import numpy as np
import keras
from keras import layers

x = np.random.rand(32, 8).astype("float32")
y = (x.sum(1) > 4).astype("float32")
model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1, activation="sigmoid")])
"""
COMPILED = HEADER + 'model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])\n'


def convert(source: str):
    return k2t.convert_source(textwrap.dedent(source), filename="train.py")


def messages(result) -> list[str]:
    return [f"{d.line}:{d.column}: {d.code} {d.message}" for d in result.diagnostics]


def test_calls_become_the_generated_functions():
    result = convert(
        COMPILED
        + textwrap.dedent(
            """\
            logs = model.train_on_batch(x[:16], y[:16], return_dict=True)
            model.reset_metrics()
            loss, accuracy = model.test_on_batch(x, y)
            scores = model.predict_on_batch(x[:4])
            """
        )
    )
    assert messages(result) == []
    tail = result.output[result.output.index("x = np.random.rand") :]
    assert "logs = train_on_batch(model, optimizer, x[:16], y[:16], return_dict=True)\n" in tail
    assert "reset_metrics" not in tail  # the generated functions keep no metric state: nothing to reset
    assert "loss, accuracy = test_on_batch(model, x, y)\n" in tail
    assert "scores = predict_on_batch(model, x[:4])\n" in tail
    assert "def train_on_batch(model, optimizer, x, y, return_dict=False):" in result.output
    assert "def fit(" not in result.output  # only what the script calls is generated


def test_a_name_of_the_script_is_not_shadowed():
    result = convert(COMPILED + "def train_on_batch():\n    pass\n\nmodel.train_on_batch(x, y)\ntrain_on_batch()\n")
    assert messages(result) == []
    assert "train_on_batch_(model, optimizer, x, y)" in result.output


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        pytest.param(
            "model.train_on_batch(x, y, reset_metrics=False)",
            "K2T130 train_on_batch(reset_metrics=False) is not translated (only Keras's default, True)",
            id="keras2_running_metrics",
        ),
        pytest.param("model.train_on_batch(x, y, sample_weight=w)", "K2T130 train_on_batch(sample_weight=...) is not translated", id="sample_weight"),
        pytest.param("model.test_on_batch(x, y, None, None)", "K2T130 test_on_batch(): too many positional arguments", id="positional"),
        pytest.param("model.train_on_batch(x)", "K2T130 train_on_batch() without targets `y` is not translated", id="no_targets"),
    ],
)
def test_arguments_not_translated_are_located(call, expected):
    result = convert(COMPILED + "w = np.ones(32)\n" + call + "\n")
    assert [(d.line, f"{d.code} {d.message}") for d in result.diagnostics] == [(10, expected)]
    assert "# TODO(k2t)" in result.output


def test_uncompiled_model():
    result = convert(HEADER + "model.train_on_batch(x, y)\nprint(model.predict_on_batch(x))\n")
    assert [m.split(": ", 1)[1] for m in messages(result)] == ["K2T130 model.train_on_batch() on a model k2t did not see compiled"]
    assert "print(predict_on_batch(model, x))" in result.output


def test_several_outputs():
    source = """\
        import numpy as np
        import keras
        from keras import layers

        x = np.random.rand(32, 8).astype("float32")
        inputs = keras.Input(shape=(8,))
        model = keras.Model(inputs, [layers.Dense(1, name="a")(inputs), layers.Dense(2, name="b")(inputs)])
        model.compile(optimizer="sgd", loss=["mse", "mse"])
        model.train_on_batch(x, [x[:, :1], x[:, :2]])
        model.predict_on_batch(x)
        """
    assert [m.split(": ", 1)[1] for m in messages(convert(source))] == [
        "K2T130 train_on_batch() of a model with several outputs is not translated",
        "K2T130 predict_on_batch() of a model with several outputs is not translated",
    ]


def test_mixed_precision_is_located():
    source = COMPILED.replace("x = np.random", 'keras.mixed_precision.set_global_policy("mixed_float16")\nx = np.random') + "model.train_on_batch(x, y)\n"
    assert [m.split(": ", 1)[1] for m in messages(convert(source))] == [
        "K2T100 a mixed-precision policy with train_on_batch/test_on_batch/predict_on_batch is not translated"
    ]


GAN_HEAD = COMPILED + textwrap.dedent(
    """\
    generator = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(8)])
    """
)


@pytest.mark.parametrize(
    "body, expected_codes, compiled_weights",
    [
        # Keras 2's GAN: frozen after its compile, for the combined model; its own step still trains it.
        ("model.trainable = False\nmodel.train_on_batch(x, y)\n", ["K2T144"], True),
        # Flipped around each step: both Keras versions train it alike; Keras 3's reading is kept (K2T141: the
        # first `trainable = True` finds the flag True already).
        (
            "for i in range(2):\n    model.trainable = True\n    model.train_on_batch(x, y)\n    model.trainable = False\n",
            ["K2T141"],
            False,
        ),
        # Frozen before its compile: frozen in both Keras versions.
        ("model.trainable = False\nmodel.compile(optimizer='adam', loss='mse')\nmodel.train_on_batch(x, y)\n", [], False),
        # Some layers frozen after compile: Keras 3's reading (those layers stay), no Keras 2 rule applies.
        ("model.layers[0].trainable = False\nmodel.train_on_batch(x, y)\n", [], False),
        # fit() of the frozen model: not translated rather than guessed.
        ("model.trainable = False\nmodel.fit(x, y, epochs=1)\n", ["K2T140"], False),
    ],
)
def test_a_model_frozen_after_its_compile_trains_as_keras_2_in_train_on_batch(body, expected_codes, compiled_weights):
    result = convert(GAN_HEAD + body)
    assert [d.code for d in result.diagnostics] == expected_codes, messages(result)
    assert ("compiled_weights=True" in result.output) == compiled_weights
    if compiled_weights:
        assert "def train_on_batch(model, optimizer, x, y, return_dict=False, compiled_weights=False):" in result.output
        [warning] = result.diagnostics
        assert (warning.line, warning.code) == (10, "K2T144")  # at the freeze
    else:
        assert "compiled_weights" not in (result.output or "")


def test_models_two_factories_both_name_model_nest_under_the_names_the_script_holds_them_by():
    """`define_generator()` and `define_discriminator()` each build `model`: the combined model takes them by the
    names where it is built (`generator`, `discriminator`), never the factories' shared local name."""
    source = textwrap.dedent(
        """\
        import numpy as np
        from keras.models import Sequential
        from keras.layers import Dense


        def define_discriminator():
            model = Sequential([Dense(4, activation="relu", input_dim=2), Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            return model


        def define_generator():
            model = Sequential([Dense(2, input_dim=3)])
            return model


        def define_gan(g_model, d_model):
            model = Sequential()
            model.add(g_model)
            model.add(d_model)
            model.compile(loss="binary_crossentropy", optimizer="adam")
            return model


        discriminator = define_discriminator()
        generator = define_generator()
        gan = Sequential([generator, discriminator])
        inside = define_gan(generator, discriminator)
        """
    )
    result = convert(source)
    assert result.diagnostics == (), messages(result)
    assert "gan = Gan(generator=generator, discriminator=discriminator).to(device)" in result.output
    assert "model = Gan2(g_model=g_model, d_model=d_model).to(device)" in result.output
