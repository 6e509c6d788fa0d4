"""A Sequential() model is built where the script makes it, unless a model it holds is bound after that
(`model = Sequential()`, then `base = ResNet50(...)`, then `model.add(base)`, as Kaggle's transfer-learning
course writes it): then at its last add(). Before, the module was built before `base` existed (a NameError
when run, with no diagnostic)."""

import textwrap

from conftest import requires_torch, run_standalone

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
    """Inside a function's `if` the adds are not statements of the top level: a located K2T103, never a silent NameError."""
    source = textwrap.dedent(
        """\
        import keras
        from keras import layers


        def build():
            model = keras.Sequential()
            if True:
                base = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(4, activation="relu")], name="base")
                model.add(base)
                model.add(layers.Dense(1, activation="sigmoid"))
            return model
        """
    )
    result = k2t.convert_source(source, "train.py")
    messages = [d.format() for d in result.diagnostics]
    assert "train.py:6:13: K2T103 the model `model` is built where `base`, which it holds, does not exist yet" in messages, messages
