"""A Sequential() model is built where the script makes it, unless a model it holds is bound after that
(`model = Sequential()`, then `base = ResNet50(...)`, then `model.add(base)`, as Kaggle's transfer-learning
course writes it): then at its last add(). Before, the module was built before `base` existed (a NameError
when run, with no diagnostic)."""

import textwrap

import pytest
from conftest import requires_keras, requires_torch, run_standalone

import k2t

LATE_BASE = textwrap.dedent(
    """\
    import numpy as np
    import keras
    from keras import layers

    model = keras.Sequential()
    base = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(4, activation="relu")], name="base")
    model.add(base)
    model.add(layers.Dense(1, activation="sigmoid"))
    model.layers[0].trainable = False
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x = np.random.default_rng(0).normal(size=(32, 6)).astype("float32")
    history = model.fit(x, (x[:, 0] > 0).astype("float32"), epochs=2, verbose=0)
    print("LOSSES", len(history.history["loss"]))
    """
)


@requires_torch
def test_the_module_is_built_after_the_model_it_holds(tmp_path):
    result = k2t.convert_source(LATE_BASE, "train.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    lines = result.output.splitlines()
    base = lines.index("base = Base().to(device)")
    model = next(i for i, line in enumerate(lines) if line.startswith("model = Net(base=base"))
    assert base < model
    script = tmp_path / "train.py"
    script.write_text(result.output, encoding="utf-8")
    ran = run_standalone(script)
    assert ran.returncode == 0, ran.stderr
    assert "LOSSES 2" in ran.stdout


def test_where_k2t_cannot_move_the_construction_it_says_so():
    """Inside a `try` block the adds are in no block k2t builds the module after: a located K2T103, never a silent
    NameError."""
    source = textwrap.dedent(
        """\
        import keras
        from keras import layers


        def build():
            model = keras.Sequential()
            try:
                base = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(4, activation="relu")], name="base")
                model.add(base)
                model.add(layers.Dense(1, activation="sigmoid"))
            except ValueError:
                pass
            return model
        """
    )
    result = k2t.convert_source(source, "train.py")
    messages = [d.format() for d in result.diagnostics]
    assert "train.py:6:13: K2T103 the model `model` is built where `base`, which it holds, does not exist yet" in messages, messages


IN_A_FUNCTION = textwrap.dedent(
    """\
    import numpy as np
    import keras
    from keras.layers import Conv2D, Dense, Flatten, MaxPool2D

    keras.utils.set_random_seed(0)


    def create_model(height, width, classes, channels):
        model = keras.Sequential()
        input_shape = (height, width, channels)
        model.add(Conv2D(4, (3, 3), padding="same", activation="relu", input_shape=input_shape))
        model.add(Conv2D(4, (3, 3), padding="same", activation="relu", input_shape=input_shape))
        model.add(MaxPool2D(pool_size=(2, 2)))
        model.add(Flatten())
        model.add(Dense(classes, activation="softmax"))
        return model


    model = create_model(height=8, width=8, channels=1, classes=3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.RandomState(0)
    model.fit(rng.rand(32, 8, 8, 1).astype("float32"), rng.randint(0, 3, 32), batch_size=8, epochs=2)
    """
)


def test_a_function_builds_the_module_after_the_sizes_it_binds_after_sequential():
    """A Kaggle kernel's `model = Sequential()`, then `inputShape = (height, width, channels)`, then its adds,
    in a function: the module is built after the sizes, its parameters read from them; the second layer's
    input_shape=, which Keras ignores, is left out with a warning."""
    result = k2t.convert_source(IN_A_FUNCTION, "train.py")
    assert result.ok and [d.code for d in result.diagnostics] == ["K2T108"], [d.format() for d in result.diagnostics]
    body = result.output[result.output.index("def create_model(") :]
    assert body.index("input_shape = (height, width, channels)") < body.index("model = Net(")
    assert "input_dim_0=input_shape[0]" in body


@requires_torch
@requires_keras
@pytest.mark.parity
def test_a_function_built_model_sized_by_its_parameters_trains_as_keras(tmp_path):
    from k2t.parity import exact_parity

    report = exact_parity(IN_A_FUNCTION, epochs=2, path=tmp_path / "case.py")
    assert report.error is None, report.error
    assert report.ok, "\n".join(report.failures)
