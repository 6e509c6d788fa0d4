"""Saving and loading inside a script: Keras model files become torch state_dicts at the script's own paths.

model.save / save_weights -> torch.save(model.state_dict(), path) under the same
name; model.load_weights -> load_state_dict(load_state(path)), a torch.load that names a Keras file; load_model ->
the generated module rebuilt with the saved model's constructor call, then its
state_dict loaded. Round trips are proven by running converted scripts with
Keras unimportable, and the same scripts under real Keras.
"""

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import requires_keras, requires_torch, run_standalone

import k2t

HEADER = """\
import numpy as np
import keras
from keras import layers

x = np.random.default_rng(0).normal(size=(64, 5)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
model = keras.Sequential([keras.Input(shape=(x.shape[1],)), layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
"""
TORCH_BUILD = "model = Net(in_features=x.shape[1]).to(device)"


def convert(body: str, header: str = HEADER):
    return k2t.convert_source(header + textwrap.dedent(body), filename="train.py")


def tail(output: str) -> str:
    """The converted script after the model's construction line."""
    return output.split(TORCH_BUILD + "\n", 1)[1].split("\n", 1)[1]


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics]


# ------------------------------------------------------------------ save / load_weights
@pytest.mark.parametrize(
    "keras_line, torch_line",
    [
        pytest.param(
            'model.save("model.keras")',
            "# a torch state_dict (weights only), under the script's file name\n"
            'torch.save(model.state_dict(), "model.keras")',
            id="save",
        ),
        pytest.param(
            "model.save(filepath=PATH, overwrite=True)",
            "# a torch state_dict (weights only), under the script's file name\ntorch.save(model.state_dict(), PATH)",
            id="save-keywords",
        ),
        pytest.param(
            'model.save_weights("model.weights.h5")',
            "# a torch state_dict, under the script's file name\n"
            'torch.save(model.state_dict(), "model.weights.h5")',
            id="save_weights",
        ),
        pytest.param(
            'model.load_weights("model.weights.h5")',
            'model.load_state_dict(load_state("model.weights.h5", map_location=device))',
            id="load_weights",
        ),
        pytest.param(
            'ok = model.save("m.h5") is None',
            'ok = torch.save(model.state_dict(), "m.h5") is None',
            id="save-inside-an-expression",
        ),
    ],
)
def test_save_and_load_weights_become_torch_state_dict_calls(keras_line, torch_line):
    result = convert("PATH = 'm.keras'\n" + keras_line + "\n")
    assert result.ok, result.diagnostics
    assert tail(result.output) == "PATH = 'm.keras'\n" + torch_line + "\n"


@pytest.mark.parametrize(
    "line, message",
    [
        ('model.save("m.keras", overwrite=False)', "save(overwrite=False) is not translated (k2t follows overwrite=True)"),
        ('model.save("m", zipped=False)', "save(zipped=False) is not translated"),
        ('model.save("m.keras", include_optimizer=False)', "save(include_optimizer=...) is not translated"),
        ('model.load_weights("w.h5", skip_mismatch=True)', "load_weights(skip_mismatch=True) is not translated"),
        ("model.save()", "save() without a file path"),
    ],
)
def test_save_arguments_torch_cannot_honour_are_located_diagnostics(line, message):
    result = convert(line + "\n")
    [diagnostic] = result.diagnostics
    assert diagnostic.code == "K2T181"
    assert message in diagnostic.message
    assert diagnostic.line == HEADER.count("\n") + 1
    assert f"# TODO(k2t): K2T181 {diagnostic.message}\n{line}\n" in result.output


# ------------------------------------------------------------------ load_model
LOAD_SPELLINGS = {
    "keras.models.load_model": "",
    "keras.saving.load_model": "",
    "tf.keras.models.load_model": "import tensorflow as tf\n",
    "load_model": "from keras.models import load_model\n",
    "lm": "from tensorflow.keras.models import load_model as lm\n",
    "saving.load_model": "from keras import saving\n",
}


@pytest.mark.parametrize("spelling", LOAD_SPELLINGS)
def test_every_load_model_spelling_rebuilds_the_saved_module(spelling):
    result = convert(
        f"""\
        model.fit(x, y, epochs=1, verbose=0)
        model.save("model.keras")
        restored = {spelling}("model.keras")
        print(restored.predict(x, verbose=0)[:3])
        """,
        header=LOAD_SPELLINGS[spelling] + HEADER,
    )
    assert result.ok, result.diagnostics
    assert tail(result.output).endswith(
        "# a torch state_dict (weights only), under the script's file name\n"
        'torch.save(model.state_dict(), "model.keras")\n'
        "restored = Net(in_features=x.shape[1]).to(device)\n"
        "# the state_dict that model.save() wrote\n"
        'restored.load_state_dict(load_state("model.keras", map_location=device))\n'
        "print(predict(restored, x, verbose=0)[:3])\n"
    )
    assert "import keras" not in result.output and "tensorflow" not in result.output and "load_model" not in result.output


def test_load_before_save_in_the_source_resolves_by_path():
    """The usual cache: load if the file exists, else train and save (the save comes later in the source)."""
    result = convert(
        """\
        import os
        PATH = os.path.join("out", "model.keras")
        if os.path.exists(PATH):
            net = keras.models.load_model(PATH)
        else:
            net = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(1, activation="sigmoid")])
            net.compile(optimizer="adam", loss="binary_crossentropy")
            net.fit(x, y, epochs=1, verbose=0)
            net.save(PATH)
        loss = net.evaluate(x, y, verbose=0)
        """
    )
    assert result.ok, result.diagnostics
    assert (
        "if os.path.exists(PATH):\n"
        "    net = Net2().to(device)\n"
        "    # the state_dict that net.save() wrote\n"
        "    net.load_state_dict(load_state(PATH, map_location=device))\n"
    ) in result.output
    assert "loss = evaluate_net(net, x, y, verbose=0)\n" in result.output


def test_restored_model_keeps_the_saved_compile_for_evaluate():
    result = convert(
        """\
        model.save("m.keras")
        restored = keras.models.load_model("m.keras")
        print(restored.evaluate(x, y, verbose=0))
        restored.summary()
        """
    )
    assert result.ok, result.diagnostics
    assert "print(evaluate(restored, x, y, verbose=0))\nsummary(restored)\n" in result.output


def test_model_checkpoint_path_resolves_load_model():
    result = convert(
        """\
        model.fit(x, y, epochs=2, validation_split=0.25, callbacks=[keras.callbacks.ModelCheckpoint("best.keras")], verbose=0)
        best = keras.models.load_model("best.keras")
        """
    )
    assert "best = Net(in_features=x.shape[1]).to(device)\n" in result.output
    assert (
        "# the state_dict that ModelCheckpoint wrote\n"
        'best.load_state_dict(load_state("best.keras", map_location=device))\n'
    ) in result.output
    assert "K2T180" not in codes(result)


def test_model_checkpoint_bound_to_a_name_resolves_load_model_as_inline():
    # `ckpt = ModelCheckpoint(...)` then `callbacks=[ckpt]`: the same file, the same module, as written inline.
    inline = convert(
        """\
        model.fit(x, y, epochs=2, callbacks=[keras.callbacks.ModelCheckpoint("best.keras", save_best_only=True)])
        best = keras.models.load_model("best.keras")
        """
    )
    named = convert(
        """\
        ckpt = keras.callbacks.ModelCheckpoint("best.keras", save_best_only=True)
        model.fit(x, y, epochs=2, callbacks=[ckpt])
        best = keras.models.load_model("best.keras")
        """
    )
    assert codes(named) == codes(inline) == []
    assert named.output.split("\nbest = ", 1)[1] == inline.output.split("\nbest = ", 1)[1]


def test_fit_on_a_restored_model_needs_a_new_compile():
    body = """\
        model.save("m.keras")
        restored = keras.models.load_model("m.keras")
        restored.fit(x, y, epochs=1, verbose=0)
        """
    result = convert(body)
    [diagnostic] = result.diagnostics
    assert diagnostic.code == "K2T182"
    assert (diagnostic.line, diagnostic.column) == (HEADER.count("\n") + 3, 1)
    # Compiled again, it trains with its own optimizer.
    recompiled = convert(body.replace("restored.fit", 'restored.compile(optimizer="sgd", loss="mse")\n        restored.fit'))
    assert recompiled.ok, recompiled.diagnostics
    assert "restored_optimizer = torch.optim.SGD(restored.parameters()" in recompiled.output
    assert "fit_restored(restored, restored_optimizer, x, y, epochs=1, verbose=0)" in recompiled.output


@pytest.mark.parametrize(
    "body, code, message",
    [
        pytest.param(
            'other = keras.models.load_model("pretrained.keras")\n',
            "K2T180",
            "k2t cannot tell which model the file `\"pretrained.keras\"` holds: the script saves none at this path",
            id="file-the-script-does-not-write",
        ),
        pytest.param(
            'small = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)])\n'
            'model.save("m.keras")\nsmall.save("m.keras")\nm = keras.models.load_model("m.keras")\n',
            "K2T180",
            "models of 2 architectures are saved there",
            id="two-architectures-at-one-path",
        ),
        pytest.param(
            'model.save("m.keras")\nprint(keras.models.load_model("m.keras").predict(x))\n',
            "K2T183",
            "only as `variable = load_model(path)`",
            id="inside-an-expression",
        ),
        pytest.param(
            'model.save("m.keras")\nm = keras.models.load_model("m.keras", compile=fresh)\n',
            "K2T181",
            "load_model(compile=...) must be True or False",
            id="compile-not-literal",
        ),
    ],
)
def test_load_model_k2t_cannot_follow_is_a_located_diagnostic(body, code, message):
    result = convert(body)
    assert code in codes(result), result.diagnostics
    diagnostic = next(d for d in result.diagnostics if d.code == code)
    assert message in diagnostic.message
    assert diagnostic.line > HEADER.count("\n")
    assert f"# TODO(k2t): {code} " in result.output


FACTORY = """\
import numpy as np
import keras
from keras import layers

x = np.zeros((8, 5, 3), dtype="float32")

def build_classifier(width, input_shape=(5, 3)):
    {body}
    inputs = keras.Input(shape=input_shape)
    h = layers.Conv1D(4, 3, padding="same")(inputs)
    h = layers.GlobalAveragePooling1D()(h)
    return keras.Model(inputs, layers.Dense(width)(h))

model = build_classifier({arguments})
{between}
model.save("c.keras")
again = keras.models.load_model("c.keras")
"""


@pytest.mark.parametrize(
    ("arguments", "rebuilt"),
    [
        ("4", "again = Classifier(inputs_dim_1=3, width=4).to(device)"),  # input_shape's default
        # keras.io's `make_model(input_shape=x_train.shape[1:])`: the module's sizes are read off the call's argument
        ("2, input_shape=x.shape[1:]", "again = Classifier(inputs_dim_1=x.shape[2], width=2).to(device)"),
        ("width=3, input_shape=(7, 2)", "again = Classifier(inputs_dim_1=2, width=3).to(device)"),
    ],
)
def test_load_model_of_a_factory_model_rebuilds_it_with_the_calls_arguments(arguments, rebuilt):
    source = FACTORY.format(body="pass", arguments=arguments, between="")
    result = k2t.convert_source(source, filename="f.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert rebuilt + "\n" in result.output


@pytest.mark.parametrize(
    ("body", "arguments", "between"),
    [
        ("width = width * 2", "4", ""),  # a value the factory computes: nothing at the load holds it
        ("pass", "2, input_shape=x.shape[1:]", "x = np.zeros((8, 9, 3))"),  # `x` is another array at the load
    ],
)
def test_load_model_of_a_factory_model_with_computed_sizes_is_a_diagnostic(body, arguments, between):
    source = FACTORY.format(body=body, arguments=arguments, between=between)
    result = k2t.convert_source(source, filename="f.py")
    assert ("K2T180", source.splitlines().index('again = keras.models.load_model("c.keras")') + 1) in [
        (d.code, d.line) for d in result.diagnostics
    ], [d.format() for d in result.diagnostics]
    assert any("built inside build_classifier()" in d.message for d in result.diagnostics)


def test_load_model_of_a_factory_model_sized_by_globals_rebuilds_it():
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras
        from keras import layers

        x = np.zeros((8, 3), dtype="float32")

        def build_classifier():
            return keras.Sequential([keras.Input(shape=(x.shape[1],)), layers.Dense(2)])

        model = build_classifier()
        model.save("c.keras")
        again = keras.models.load_model("c.keras")
        """
    )
    result = k2t.convert_source(source, filename="f.py")
    assert result.ok, result.diagnostics
    assert result.output.endswith(
        "again = Classifier(in_features=x.shape[1]).to(device)\n"
        "# the state_dict that model.save() wrote\n"
        'again.load_state_dict(load_state("c.keras", map_location=device))\n'
    )


def test_script_without_saving_converts_as_before():
    """No save/load: the output has no trace of this feature (the fixtures prove byte equality)."""
    result = convert('print("no saving")\n')
    assert "torch.save" not in result.output and "load_state_dict" not in result.output


# ------------------------------------------------------------------ round trips, run
# Each prints the max difference of predictions before saving and after loading, and what the script's own checks see.
ROUND_TRIPS = {
    "mlp_cache": """\
        import os
        import numpy as np
        import keras
        from keras import layers

        keras.utils.set_random_seed(1)
        x = np.random.default_rng(0).normal(size=(96, 6)).astype("float32")
        y = (x[:, 0] - x[:, 1] > 0).astype("float32")
        PATH = "cache/mlp.keras"
        os.makedirs("cache", exist_ok=True)
        runs = 0
        for attempt in range(2):
            if os.path.exists(PATH):
                model = keras.models.load_model(PATH)
            else:
                model = keras.Sequential(
                    [keras.Input(shape=(x.shape[1],)), layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid")]
                )
                model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
                model.fit(x, y, epochs=3, batch_size=16, verbose=0)
                model.save(PATH)
                trained = model.predict(x, verbose=0)
                runs += 1
            loss, acc = model.evaluate(x, y, verbose=0)
            print("attempt", attempt, "exists", os.path.exists(PATH), "loss", round(loss, 5))
        print("trained", runs, "time(s)")
        print("max diff", float(np.abs(model.predict(x, verbose=0) - trained).max()))
        """,
    "cnn_batchnorm_h5": """\
        import os
        import tempfile
        import numpy as np
        import tensorflow as tf
        from tensorflow.keras.models import load_model

        tf.keras.utils.set_random_seed(2)
        rng = np.random.default_rng(1)
        images = rng.normal(size=(48, 8, 8, 3)).astype("float32")
        labels = rng.integers(0, 3, 48)
        model = tf.keras.Sequential([
            tf.keras.Input(shape=(8, 8, 3)),
            tf.keras.layers.Conv2D(4, 3, activation="relu"),
            tf.keras.layers.BatchNormalization(),
            tf.keras.layers.MaxPooling2D(),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(3, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(images, labels, epochs=2, batch_size=16, verbose=0)
        before = model.predict(images, verbose=0)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "cnn.h5")
            model.save(path)
            print("saved", os.path.exists(path), os.path.getsize(path) > 0)
            again = load_model(path)
            after = again.predict(images, verbose=0)
        print("max diff", float(np.abs(before - after).max()))
        """,
    "functional_weights": """\
        import numpy as np
        import keras
        from keras import layers

        keras.utils.set_random_seed(3)
        rng = np.random.default_rng(2)
        a = rng.normal(size=(64, 4)).astype("float32")
        b = rng.normal(size=(64, 3)).astype("float32")
        target = (a.sum(axis=1) - b.sum(axis=1)).astype("float32")
        in_a = keras.Input(shape=(4,), name="a")
        in_b = keras.Input(shape=(3,), name="b")
        h = layers.Concatenate()([layers.Dense(8, activation="tanh")(in_a), in_b])
        out = layers.Dense(1)(h)
        model = keras.Model([in_a, in_b], out)
        model.compile(optimizer="sgd", loss="mse")
        model.save_weights("reg.weights.h5")
        untrained = model.predict([a, b], verbose=0)
        model.fit([a, b], target, epochs=3, batch_size=16, verbose=0)
        trained = model.predict([a, b], verbose=0)
        model.load_weights("reg.weights.h5")
        print("back to untrained", float(np.abs(model.predict([a, b], verbose=0) - untrained).max()))
        print("training changed it", float(np.abs(trained - untrained).max()) > 1e-3)
        """,
    # keras.io's timeseries_classification_from_scratch: a factory sized by its caller's data, its best model
    # written by ModelCheckpoint and read back at the module's level.
    "factory_checkpoint": """\
        import numpy as np
        import keras

        keras.utils.set_random_seed(4)
        rng = np.random.default_rng(3)
        x_train = rng.normal(size=(48, 10)).astype("float32")
        x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
        y_train = (x_train[:, :5, 0].sum(axis=1) > 0).astype("int32")
        num_classes = len(np.unique(y_train))

        def make_model(input_shape):
            input_layer = keras.layers.Input(input_shape)
            conv1 = keras.layers.Conv1D(filters=4, kernel_size=3, padding="same")(input_layer)
            conv1 = keras.layers.ReLU()(conv1)
            gap = keras.layers.GlobalAveragePooling1D()(conv1)
            output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)
            return keras.models.Model(inputs=input_layer, outputs=output_layer)

        model = make_model(input_shape=x_train.shape[1:])
        callbacks = [keras.callbacks.ModelCheckpoint("best_model.keras", save_best_only=True, monitor="loss")]
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=16, epochs=1, callbacks=callbacks, verbose=0)
        trained = model.predict(x_train, verbose=0)
        model = keras.models.load_model("best_model.keras")
        print("max diff", float(np.abs(model.predict(x_train, verbose=0) - trained).max()))
        """,
}


def _write(tmp_path, name: str) -> tuple:
    source = textwrap.dedent(ROUND_TRIPS[name])
    keras_script = tmp_path / "keras" / "train.py"
    torch_script = tmp_path / "torch" / "train.py"
    keras_script.parent.mkdir()
    torch_script.parent.mkdir()
    keras_script.write_text(source, encoding="utf-8")
    result = k2t.convert_source(source, filename="train.py")
    assert result.ok, result.diagnostics
    torch_script.write_text(result.output, encoding="utf-8")
    return keras_script, torch_script, result


EXPECTED_LINES = {
    "mlp_cache": ["attempt 0 exists True", "attempt 1 exists True", "trained 1 time(s)", "max diff 0.0"],
    "cnn_batchnorm_h5": ["saved True True", "max diff 0.0"],
    "functional_weights": ["back to untrained 0.0", "training changed it True"],
    "factory_checkpoint": ["max diff 0.0"],
}


@requires_torch
@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_converted_round_trip_restores_the_same_predictions(tmp_path, name):
    _, torch_script, _result = _write(tmp_path, name)
    ran = run_standalone(torch_script)
    assert ran.returncode == 0, ran.stderr
    for line in EXPECTED_LINES[name]:
        assert line in ran.stdout, ran.stdout
    subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "F", "-q", str(torch_script)], check=True)


@requires_torch
def test_saved_file_is_a_state_dict_under_the_scripts_own_name(tmp_path):
    import torch

    _, torch_script, _ = _write(tmp_path, "mlp_cache")
    assert run_standalone(torch_script).returncode == 0
    state = torch.load(torch_script.parent / "cache" / "mlp.keras")
    assert list(state) == ["dense.weight", "dense.bias", "dense_1.weight", "dense_1.bias"]
    assert tuple(state["dense.weight"].shape) == (16, 6)
    # A second run finds the file and trains nothing: the script's own os.path.exists check holds.
    again = run_standalone(torch_script)
    assert "trained 0 time(s)" in again.stdout


@requires_keras
@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_the_round_trip_scripts_print_the_same_under_keras(tmp_path, name):
    """The reference: real Keras prints the lines the converted scripts print."""
    keras_script, _, _ = _write(tmp_path, name)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    ran = subprocess.run(
        [sys.executable, str(keras_script)], check=False, cwd=keras_script.parent, capture_output=True, text=True, timeout=300, env=env
    )
    assert ran.returncode == 0, ran.stderr
    for line in EXPECTED_LINES[name]:
        assert line in ran.stdout, ran.stdout


@requires_torch
@requires_keras
@pytest.mark.parametrize("file_name", ["pretrained.keras", "pretrained.weights.h5"])
def test_a_file_keras_wrote_before_the_migration_is_named_in_one_line(tmp_path, file_name):
    """load_weights / load_model of a file Keras saved: torch would fail on its layout ("file in archive is
    not in a subdirectory: metadata.json"); the converted script says to run `k2t weights` instead."""
    source = textwrap.dedent(
        f"""\
        import numpy as np
        import keras
        from keras import layers

        model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)])
        model.compile(optimizer="adam", loss="mse")
        model.load_weights("{file_name}")
        print("loaded")
        """
    )
    saver = "save" if file_name.endswith(".keras") else "save_weights"
    keras_side = textwrap.dedent(
        f"""\
        import keras
        from keras import layers
        model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)])
        model.{saver}("{file_name}")
        """
    )
    made = subprocess.run([sys.executable, "-c", keras_side], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert made.returncode == 0, made.stderr
    result = k2t.convert_source(source, "train.py")
    assert result.ok, result.diagnostics
    script = tmp_path / "train.py"
    script.write_text(result.output, encoding="utf-8")
    ran = run_standalone(script)
    assert ran.returncode != 0
    last = ran.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: ") and "written by Keras" in last and "k2t weights" in last, ran.stderr
