"""Stage 1 on its own: every spelling of Keras reaches the same description."""

import textwrap

import pytest

from k2t.names import canonical_name
from k2t.parse import parse

SPELLINGS = {
    "import keras": ("keras.Sequential", "keras.layers.Dense"),
    "import keras as K": ("K.Sequential", "K.layers.Dense"),
    "from keras import layers, models": ("models.Sequential", "layers.Dense"),
    "from keras import layers as L\nfrom keras.models import Sequential": ("Sequential", "L.Dense"),
    "from keras.models import Sequential\nfrom keras.layers import Dense": ("Sequential", "Dense"),
    "import tensorflow as tf": ("tf.keras.Sequential", "tf.keras.layers.Dense"),
    "import tensorflow as tf ": ("tf.keras.models.Sequential", "tf.keras.layers.Dense"),
    "from tensorflow import keras": ("keras.Sequential", "keras.layers.Dense"),
    "from tensorflow.keras import layers, Sequential": ("Sequential", "layers.Dense"),
    "from tensorflow.keras.models import Sequential as Seq\nfrom tensorflow.keras.layers import Dense as D": ("Seq", "D"),
    "import tensorflow.keras as tfk": ("tfk.Sequential", "tfk.layers.Dense"),
    "from tensorflow.python.keras.layers import Dense\nfrom tensorflow.python.keras import Sequential": ("Sequential", "Dense"),
}


@pytest.mark.parametrize("imports", SPELLINGS, ids=list(range(len(SPELLINGS))))
def test_every_import_spelling_reaches_the_same_model(imports):
    sequential, dense = SPELLINGS[imports]
    source = f"{imports}\nnet = {sequential}([{dense}(4, activation='relu', input_shape=(3,)), {dense}(1)])\n"
    script = parse(source, "s.py")
    assert script.todos == []
    [model] = script.models
    assert model.var == "net"
    assert [layer.name for layer in model.layers] == ["keras.layers.Dense", "keras.layers.Dense"]
    assert model.layers[0].kwarg("activation").literal == "relu"


@pytest.mark.parametrize(
    "qualified, canonical",
    [
        ("tensorflow.keras.layers.Dense", "keras.layers.Dense"),
        ("keras.src.layers.Dense", "keras.layers.Dense"),
        ("keras.models.Sequential", "keras.Sequential"),
        ("keras.layers.Input", "keras.Input"),
        ("tensorflow.keras.optimizers.legacy.Adam", "keras.optimizers.Adam"),
        ("keras.api.losses.Huber", "keras.losses.Huber"),
        # TensorFlow 2's top-level exports of Keras modules.
        ("tensorflow.optimizers.Adam", "keras.optimizers.Adam"),
        ("tensorflow.losses.MeanSquaredError", "keras.losses.MeanSquaredError"),
        ("tensorflow.metrics.AUC", "keras.metrics.AUC"),
        ("tensorflow.initializers.GlorotNormal", "keras.initializers.GlorotNormal"),
        ("tensorflow.math.reduce_sum", "tensorflow.math.reduce_sum"),
        ("numpy.array", "numpy.array"),
    ],
)
def test_canonical_names(qualified, canonical):
    assert canonical_name(qualified) == canonical


def test_sequential_add_and_compile_are_described():
    script = parse(
        textwrap.dedent(
            """\
            from keras import Sequential, layers
            model = Sequential(name="net")
            model.add(layers.Dense(8, input_dim=4))
            model.add(layers.Dropout(0.5))
            model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
            history = model.fit(x, y, epochs=3)
            print(model.evaluate(x, y, verbose=0))
            """
        )
    )
    [model] = script.models
    assert [layer.short_name for layer in model.layers] == ["Dense", "Dropout"]
    [compiled] = script.compiles
    assert compiled.loss.literal == "mse" and [m.literal for m in compiled.metrics] == ["mae"]
    assert [(c.model, c.method) for c in script.calls] == [("model", "fit"), ("model", "evaluate")]
    assert script.calls[0].compiled is compiled


def test_keras_objects_bound_to_names_are_followed():
    script = parse(
        textwrap.dedent(
            """\
            import keras
            opt = keras.optimizers.Adam(learning_rate=0.01)
            model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
            model.compile(optimizer=opt, loss="mse")
            """
        )
    )
    assert script.compiles[0].optimizer.keras_call.name == "keras.optimizers.Adam"
    assert script.todos == []


def test_unknown_keras_api_is_a_located_todo():
    script = parse("import keras\nx = 1\ncb = keras.utils.plot_model(x)\n", "s.py")
    [todo] = script.todos
    assert (todo.code, todo.pos) == ("K2T100", (3, 6))
    assert "keras.utils.plot_model" in todo.message


def test_tensorflow_outside_keras_is_reported():
    [todo] = parse("import tensorflow as tf\nt = tf.constant([1.0])\n").todos
    assert todo.code == "K2T150"


def test_model_factories_are_followed():
    script = parse(
        textwrap.dedent(
            """\
            import keras
            def build(units):
                model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(units)])
                model.compile(optimizer="adam", loss="mse")
                return model
            a = build(3)
            a.fit(x, y)
            """
        )
    )
    [call] = script.calls
    assert call.model == "a" and call.compiled.escapes


def test_layer_objects_used_outside_models_are_recorded():
    script = parse(
        textwrap.dedent(
            """\
            import keras
            norm = keras.layers.Normalization(axis=-1)
            norm.adapt(x)
            dense = keras.layers.Dense(1)
            model = keras.Sequential([keras.Input(shape=(3,)), norm, dense])
            print(norm.mean)
            """
        )
    )
    assert script.todos == []
    norm, dense = script.layer_objects
    assert (norm.var, norm.uses) == ("norm", [(3, 1), (6, 7)])
    assert dense.uses == []  # used only inside the model: folded into it
    [model] = script.models
    assert [layer.bound for layer in model.layers] == [norm, dense]
    # The statement building `norm` stays for the translator to rewrite; `dense`'s goes.
    assert id(norm.statement) not in script.removed and id(dense.statement) in script.removed


def test_a_keras_class_held_in_a_name_and_called_is_no_internal_error():
    """``GradientDescentOptimizer = tf.optimizers.SGD`` then a call of the name (TensorFlow Privacy's tutorial):
    the name holds a bare Keras symbol, not a construction; k2t reported K2T999 on it."""
    import k2t

    source = (
        "import tensorflow as tf\n\n"
        "GradientDescentOptimizer = tf.optimizers.SGD\n"
        "optimizer = GradientDescentOptimizer(learning_rate=0.1)\n"
        "model = tf.keras.Sequential([tf.keras.Input(shape=(3,)), tf.keras.layers.Dense(1)])\n"
        'model.compile(optimizer=optimizer, loss="mse")\n'
    )
    result = k2t.convert_source(source, "case.py")
    assert "K2T999" not in [d.code for d in result.diagnostics]
    assert result.output is not None
