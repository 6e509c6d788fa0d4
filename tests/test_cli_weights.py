"""`k2t weights MODEL --script train.py -o model.pt`: a trained Keras model file -> a verified state_dict.

Each model is trained briefly by real Keras (the script itself, run as its
author would), then turned into a state_dict; the proof that it fits is
independent of k2t's own check: the module class is taken from `k2t convert`'s
output, run with Keras unimportable, loaded strictly with the file, and its
predictions compared with the ones Keras wrote.
"""

import dataclasses
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import BLOCK_KERAS, requires_keras, requires_torch

import k2t

pytestmark = [requires_keras, requires_torch]

# Each script trains briefly, saves the model, and writes a probe input with Keras's predictions on it.
SCRIPTS = {
    "mlp": (
        """\
        import numpy as np
        import keras
        from keras import layers

        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(200, 6)).astype("float32")
        y = (x[:, 0] + x[:, 1] > 0).astype("int32")
        CLASSES = ["no", "yes"]
        model = keras.Sequential([
            keras.Input(shape=(x.shape[1],)),
            layers.Dense(16, activation="relu"),
            layers.BatchNormalization(),
            layers.Dropout(0.2),
            layers.Dense(len(CLASSES), activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=3, batch_size=32, verbose=0)
        model.save("model.keras")
        probe = rng.normal(size=(32, 6)).astype("float32")
        np.save("probe.npy", probe)
        np.save("keras_out.npy", model.predict(probe, verbose=0))
        """,
        "model.keras",
        "Net(in_features=6, num_classes=2)",
    ),
    "cnn": (
        """\
        import numpy as np
        import tensorflow as tf

        tf.keras.utils.set_random_seed(1)
        rng = np.random.default_rng(1)
        images = rng.normal(size=(64, 12, 12, 1)).astype("float32")
        labels = rng.integers(0, 4, 64)
        num_classes = 4
        model = tf.keras.Sequential([
            tf.keras.layers.Input(shape=(12, 12, 1)),
            tf.keras.layers.Conv2D(8, 3, activation="relu", padding="same"),
            tf.keras.layers.MaxPooling2D(),
            tf.keras.layers.BatchNormalization(),
            tf.keras.layers.Conv2D(4, 3, activation="relu"),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(num_classes, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(images, labels, epochs=2, batch_size=16, verbose=0)
        model.save("cnn.h5")
        probe = rng.normal(size=(16, 12, 12, 1)).astype("float32")
        np.save("probe.npy", probe)
        np.save("keras_out.npy", model.predict(probe, verbose=0))
        """,
        "cnn.h5",
        "Net(num_classes=num_classes)",
    ),
    "functional": (
        """\
        import numpy as np
        import keras
        from keras import layers

        keras.utils.set_random_seed(2)
        rng = np.random.default_rng(2)
        N_WORDS, N_ACCOUNT = 20, 5
        text = rng.normal(size=(128, N_WORDS)).astype("float32")
        account = rng.normal(size=(128, N_ACCOUNT)).astype("float32")
        target = rng.normal(size=(128, 1)).astype("float32")
        text_in = keras.Input(shape=(N_WORDS,), name="text")
        account_in = keras.Input(shape=(N_ACCOUNT,), name="account")
        h = layers.Dense(12, activation="relu")(text_in)
        g = layers.Dense(6, activation="tanh")(account_in)
        merged = layers.concatenate([h, g])
        out = layers.Dense(1, name="hours")(merged)
        model = keras.Model(inputs=[text_in, account_in], outputs=out, name="triage")
        model.compile(optimizer="rmsprop", loss="mse")
        model.fit([text, account], target, epochs=2, batch_size=32, verbose=0)
        model.save("triage.keras")
        probe = [rng.normal(size=(16, N_WORDS)).astype("float32"), rng.normal(size=(16, N_ACCOUNT)).astype("float32")]
        np.save("probe.npy", np.concatenate(probe, axis=1))
        np.save("keras_out.npy", model.predict(probe, verbose=0))
        """,
        "triage.keras",
        "Triage(n_words=N_WORDS, n_account=N_ACCOUNT)",
    ),
    "normalized": (
        """\
        import numpy as np
        import keras
        from keras import layers

        keras.utils.set_random_seed(3)
        rng = np.random.default_rng(3)
        features = (rng.normal(size=(150, 4)) * [1, 10, 100, 1000] + [0, 5, 50, 500]).astype("float32")
        target = features @ np.array([1.0, 0.1, 0.01, 0.001], dtype="float32")
        normalizer = layers.Normalization(axis=-1)
        normalizer.adapt(features)
        model = keras.Sequential([keras.Input(shape=(4,)), normalizer, layers.Dense(8, activation="relu"), layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(features, target, epochs=2, verbose=0)
        model.save("regressor.keras")
        probe = (rng.normal(size=(16, 4)) * [1, 10, 100, 1000]).astype("float32")
        np.save("probe.npy", probe)
        np.save("keras_out.npy", model.predict(probe, verbose=0))
        """,
        "regressor.keras",
        # The script's normalizer is adapted on its own data before the model takes it: here, on anything of
        # the right shape; the state_dict then brings the trained statistics.
        "Net(normalizer=normalizer)",
    ),
}
# Statements a user's converted script runs before building the module.
SETUP = {"normalized": ["normalizer = Normalization(axis=-1)", "normalizer.adapt(np.zeros((2, 4), dtype='float32'))"]}
# How the test splits the probe of a two-input model (it saves them side by side).
PROBE_SPLIT = {"functional": 20}

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")


@dataclasses.dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def k2t_cli(*args: str, cwd: Path, block: str | None = None) -> Ran:
    """Run `k2t ...` in ``cwd`` as a user would: through click in this process, which has TensorFlow and torch
    imported already (a new process would spend seconds importing them again); with ``block``, in a new process
    where that module cannot be imported."""
    if block is None:
        from click.testing import CliRunner

        from k2t.cli import main

        previous = Path.cwd()
        os.chdir(cwd)
        try:
            result = CliRunner().invoke(main, list(args), catch_exceptions=False)  # a traceback fails the test
        finally:
            os.chdir(previous)
        return Ran(result.exit_code, result.stdout, result.stderr)
    code = f"import sys; sys.modules[{block!r}] = None; from k2t.cli import entry; sys.argv = ['k2t', *sys.argv[1:]]; entry()"
    ran = subprocess.run([sys.executable, "-c", code, *args], check=False, cwd=cwd, capture_output=True, text=True, timeout=300, env=ENV)
    return Ran(ran.returncode, ran.stdout, ran.stderr)


# Runs each folder's train.py as `python train.py` would, one after another in one process (one TensorFlow
# import for all); a fresh Keras session for each, so that layer names start again as in a new process.
TRAIN_ALL = """\
import os
import runpy
import sys

import keras

for folder in sys.argv[1:]:
    os.chdir(folder)
    keras.utils.clear_session()
    runpy.run_path("train.py", run_name="__main__")
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """name -> folder holding train.py, the Keras model file it saved, probe.npy and keras_out.npy."""
    folders = {}
    for name, (source, _, _) in SCRIPTS.items():
        folder = tmp_path_factory.mktemp(name)
        (folder / "train.py").write_text(textwrap.dedent(source), encoding="utf-8")
        folders[name] = folder
    command = [sys.executable, "-c", TRAIN_ALL, *map(str, folders.values())]
    ran = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600, env=ENV)
    assert ran.returncode == 0, ran.stderr
    return folders


def _standalone_predictions(folder: Path, name: str, state_dict: Path):
    """Define the module from `k2t convert`'s output (classes and functions only), load the state_dict
    strictly and predict on the probe, with Keras unimportable."""
    import ast

    import numpy as np

    converted = k2t.convert_file(folder / "train.py")
    tree = ast.parse(converted.output)
    definitions = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef))]
    constructor = SCRIPTS[name][2]
    # The constructor's arguments are the script's own expressions: give them the script's values.
    values = {"N_WORDS": 20, "N_ACCOUNT": 5, "num_classes": 4}
    split = PROBE_SPLIT.get(name)
    driver = "\n".join(
        [
            ast.unparse(ast.Module(definitions, type_ignores=[])),
            *(f"{key} = {value!r}" for key, value in values.items()),
            *SETUP.get(name, []),
            f"model = {constructor}",
            f"model.load_state_dict(torch.load({str(state_dict)!r}))",  # strict: every key, every shape
            "probe = np.load('probe.npy')",
            f"probe = [probe[:, :{split}], probe[:, {split}:]]" if split else "probe = [probe]",
            "model.eval()",
            "with torch.no_grad():",
            "    out = model(*[torch.as_tensor(p) for p in probe])",
            "np.save('torch_out.npy', out.numpy())",
        ]
    )
    (folder / "driver.py").write_text(driver, encoding="utf-8")
    ran = subprocess.run(
        [sys.executable, "-c", BLOCK_KERAS, str(folder / "driver.py")], check=False, cwd=folder, capture_output=True, text=True, timeout=300, env=ENV
    )
    assert ran.returncode == 0, ran.stderr
    return np.load(folder / "torch_out.npy"), np.load(folder / "keras_out.npy")


@pytest.mark.parametrize("name", SCRIPTS)
def test_weights_turns_a_trained_keras_file_into_the_converted_modules_state_dict(trained, name):
    import numpy as np

    folder = trained[name]
    model_file = SCRIPTS[name][1]
    ran = k2t_cli("weights", model_file, "--script", "train.py", "-o", "out/model.pt", cwd=folder)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Traceback" not in ran.stderr
    match = re.search(r"max abs diff (\S+) \(tolerance 0.0001\) -> OK", ran.stdout)
    assert match, ran.stdout
    reported = float(match.group(1))
    assert reported <= 1e-4
    print(f"{name}: k2t weights reports max abs diff {reported:.3g}")
    assert (folder / "out" / "model.pt").is_file()
    assert not [p for p in (folder / "out").iterdir() if p.name != "model.pt"]  # no temporary file left
    torch_out, keras_out = _standalone_predictions(folder, name, folder / "out" / "model.pt")
    assert torch_out.shape == keras_out.shape
    assert float(np.max(np.abs(torch_out - keras_out))) <= 1e-4


def test_weights_reports_what_it_built(trained):
    ran = k2t_cli("weights", "model.keras", "--script", "train.py", "-o", "m.pt", cwd=trained["mlp"])
    assert ran.stdout.splitlines()[:2] == [
        "module: Net(in_features=6, num_classes=2)",
        "weights copied into: dense, batch_normalization, dense_1",
    ]
    assert ran.stdout.rstrip().endswith("wrote m.pt")


def test_a_script_building_another_model_is_a_clear_error_and_writes_nothing(trained, tmp_path):
    other = tmp_path / "other.py"
    other.write_text(
        "import keras\nfrom keras import layers\n"
        "model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(3), layers.Dense(2)])\n",
        encoding="utf-8",
    )
    out = tmp_path / "m.pt"
    ran = k2t_cli("weights", str(trained["mlp"] / "model.keras"), "--script", str(other), "-o", str(out), cwd=tmp_path)
    assert ran.returncode == 1
    assert "Traceback" not in ran.stderr
    assert "no module of the script has the layers of the Keras model" in ran.stderr
    assert "Dense, BatchNormalization, Dropout, Dense" in ran.stderr
    assert not out.exists()


def test_a_wrong_constructor_argument_says_which_weights_do_not_fit(trained):
    ran = k2t_cli("weights", "model.keras", "--script", "train.py", "-o", "m2.pt", "--param", "in_features=7", cwd=trained["mlp"])
    assert ran.returncode == 1
    assert "Traceback" not in ran.stderr
    assert "weights do not fit Net" in ran.stderr and "Keras shape (16, 6) vs torch shape (16, 7)" in ran.stderr
    assert not (trained["mlp"] / "m2.pt").exists()


def test_without_tensorflow_it_says_so_and_exits_non_zero(trained):
    ran = k2t_cli("weights", "model.keras", "--script", "train.py", "-o", "m3.pt", cwd=trained["mlp"], block="tensorflow")
    assert ran.returncode == 1
    assert ran.stderr.startswith("k2t weights: k2t weights needs TensorFlow")
    assert "Traceback" not in ran.stderr
    assert not (trained["mlp"] / "m3.pt").exists()


def test_predictions_that_differ_fail_and_leave_the_output_untouched(trained, tmp_path, monkeypatch):
    """If the weights did not arrive (here: the copy is skipped), the comparison catches it."""
    from click.testing import CliRunner

    import k2t.trained
    from k2t.cli import main

    monkeypatch.setattr(k2t.trained, "_transfer", lambda *args: [])
    out = tmp_path / "model.pt"
    out.write_bytes(b"previous")
    folder = trained["mlp"]
    result = CliRunner().invoke(main, ["weights", str(folder / "model.keras"), "--script", str(folder / "train.py"), "-o", str(out)])
    assert result.exit_code == 1
    assert "-> MISMATCH" in result.output
    assert "nothing written" in result.output
    assert out.read_bytes() == b"previous"


def test_param_must_be_name_equals_literal(trained):
    ran = k2t_cli("weights", "model.keras", "--script", "train.py", "-o", "m4.pt", "--param", "in_features", cwd=trained["mlp"])
    assert ran.returncode == 2
    assert "expected NAME=VALUE" in ran.stderr


def test_several_matching_modules_ask_for_class_and_class_picks_one(trained, tmp_path):
    architecture = (
        "keras.Sequential([keras.Input(shape=(6,)), layers.Dense(16, activation='relu'), layers.BatchNormalization(),"
        " layers.Dropout(0.2), layers.Dense(2, activation='softmax')], name={!r})"
    )
    script = tmp_path / "two.py"
    script.write_text(
        "import keras\nfrom keras import layers\n"
        f"first = {architecture.format('first')}\nsecond = {architecture.format('second')}\n",
        encoding="utf-8",
    )
    model_file = str(trained["mlp"] / "model.keras")
    ran = k2t_cli("weights", model_file, "--script", str(script), "-o", "m.pt", cwd=tmp_path)
    assert ran.returncode == 1
    assert "several modules of the script match the Keras model" in ran.stderr and "--class NAME" in ran.stderr
    picked = k2t_cli("weights", model_file, "--script", str(script), "-o", "m.pt", "--class", "Second", cwd=tmp_path)
    assert picked.returncode == 0, picked.stderr
    assert picked.stdout.startswith("module: Second(")
    assert (tmp_path / "m.pt").is_file()
