"""keras.datasets: load_data() / get_word_index() become generated loaders that return Keras's
arrays from Keras's own cache.

The proof runs Keras's own functions and the converted scripts on the same small stand-in
files in one temporary KERAS_HOME (tests/fake_keras_datasets.py): same dtypes, shapes,
values and order. No test touches the network: every download is refused or faked.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import requires_keras
from fake_keras_datasets import PUBLISHED_HASHES, WRITERS, stand_in_hashes, with_stand_in_hashes, write_stand_ins
from undefined import assert_no_undefined_names

import k2t

# (case, script): the script binds `result` to a keras.datasets call; every import spelling appears.
CASES: dict[str, str] = {
    "mnist": "from keras.datasets import mnist\nresult = mnist.load_data()",
    "mnist_tf_keras_path": "import tensorflow as tf\nresult = tf.keras.datasets.mnist.load_data(path='mnist.npz')",
    "fashion_mnist": "from tensorflow.keras.datasets import fashion_mnist\nresult = fashion_mnist.load_data()",
    "cifar100_fine": "import keras\nresult = keras.datasets.cifar100.load_data()",
    "cifar100_coarse": "from keras.datasets import cifar100\nresult = cifar100.load_data(label_mode='coarse')",
    "imdb": "from keras.datasets import imdb\nresult = imdb.load_data()",
    "imdb_vocabulary_maxlen_seed": "from keras.datasets import imdb\nresult = imdb.load_data(num_words=30, skip_top=3, maxlen=12, seed=7)",
    "imdb_no_start_no_shift_no_oov": "from keras.datasets import imdb\nresult = imdb.load_data(num_words=40, start_char=None, index_from=0, oov_char=None)",
    "imdb_shift_without_start": "from keras import datasets\nresult = datasets.imdb.load_data(start_char=None, index_from=5)",
    "imdb_positional": "from tensorflow.keras.datasets.imdb import load_data\nresult = load_data('imdb.npz', 25)",
    "reuters": "from keras.datasets import reuters\nresult = reuters.load_data()",
    "reuters_vocabulary_maxlen_split": "from keras.datasets import reuters\nresult = reuters.load_data(num_words=25, maxlen=10, test_split=0.3, seed=5)",
    "reuters_no_start_no_oov": "from keras.datasets import reuters\nresult = reuters.load_data(start_char=None, index_from=2, oov_char=None, skip_top=4)",
    "boston_housing": "from keras.datasets import boston_housing\nresult = boston_housing.load_data()",
    "boston_housing_split_seed": "from keras.datasets import boston_housing\nresult = boston_housing.load_data(test_split=0.25, seed=1)",
    "california_housing": "from keras.datasets import california_housing\nresult = california_housing.load_data()",
    "california_housing_small": "import keras\nresult = keras.datasets.california_housing.load_data('small', test_split=0.1, seed=3)",
    "reuters_label_names": "from keras.datasets import reuters\nresult = reuters.get_label_names()",
    "imdb_word_index": "from keras.datasets import imdb\nresult = imdb.get_word_index()",
    "reuters_word_index": "from keras.datasets import reuters\nresult = reuters.get_word_index()",
}
# CIFAR-10's stand-in is full size (below): a test of its own.
CIFAR10 = "from tensorflow.keras.datasets import cifar10\nresult = cifar10.load_data()"

# Keras 3.15's own loaders on the stand-ins. A stand-in's hash is not the published one, and Keras
# checks a cached file's hash on every load: its check is handed the stand-in's hash for the published
# one (the converted scripts get the same substitution). Downloads are refused; the first one is
# provoked on purpose: a cached copy with the wrong hash.
KERAS_REFERENCE = """
import json, os, pickle, sys
from keras.src.utils import file_utils

cases, stand_ins, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
downloads = []


def refuse_download(origin, target, *args):
    downloads.append((origin, target))
    raise RuntimeError("no network in tests")


file_utils.urlretrieve = refuse_download
import keras

results = {}
if os.path.exists(os.path.join(os.environ["KERAS_HOME"], "datasets", "wrong_hash.npz")):
    try:
        keras.datasets.mnist.load_data(path="wrong_hash.npz")
    except RuntimeError:
        pass
results["wrong_hash_downloads"] = list(downloads)
check = file_utils.validate_file
file_utils.validate_file = lambda path, file_hash, **options: check(path, stand_ins[file_hash], **options)
for case, source in cases.items():
    namespace = {}
    exec(source, namespace)
    results[case] = namespace["result"]
results["downloads"] = downloads[len(results["wrong_hash_downloads"]):]
with open(out, "wb") as file:
    pickle.dump(results, file)
"""


def convert(source: str) -> str:
    result = k2t.convert_source(source, "script.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    return result.output


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(url, *args, **kwargs):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(urllib.request, "urlretrieve", refuse)


def keras_reference(home: Path, cases: dict[str, str], folder: Path) -> dict:
    """Keras's own results of ``cases`` on the Keras cache ``home`` (KERAS_HOME is read when Keras is imported)."""
    out = folder / "keras_results.pickle"
    env = dict(os.environ, KERAS_HOME=str(home), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", KERAS_REFERENCE, json.dumps(cases), json.dumps(stand_in_hashes(home)), str(out)],
        check=False,
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, "rb") as file:
        return pickle.load(file)


@pytest.fixture(scope="module")
def keras_home(tmp_path_factory) -> Path:
    """A Keras cache holding a stand-in of every dataset file but CIFAR-10's."""
    home = tmp_path_factory.mktemp("keras_home")
    write_stand_ins(home, [dataset for dataset in WRITERS if dataset != "cifar10"])
    shutil.copy(home / "datasets/mnist.npz", home / "datasets/wrong_hash.npz")
    return home


@pytest.fixture(scope="module")
def keras_results(keras_home, tmp_path_factory) -> dict:
    return keras_reference(keras_home, CASES, tmp_path_factory.mktemp("keras_reference"))


def run(output: str) -> dict:
    """Run a converted script here; its global names."""
    namespace: dict = {"__name__": "converted"}
    exec(compile(output, "converted.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    return namespace


def run_converted(output: str, keras_home: Path, monkeypatch) -> dict:
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return run(with_stand_in_hashes(output, keras_home))


def assert_same(ours, keras, where: str = "result") -> None:
    """Same structure, and arrays of the same dtype, shape and values (element types too for object arrays)."""
    assert type(ours) is type(keras), f"{where}: {type(ours)} != {type(keras)}"
    if isinstance(keras, tuple):
        assert len(ours) == len(keras), where
        for i, (a, b) in enumerate(zip(ours, keras)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(keras, np.ndarray):
        assert (ours.dtype, ours.shape) == (keras.dtype, keras.shape), where
        if keras.dtype == object:
            assert repr(ours.tolist()) == repr(keras.tolist()), where
        else:
            assert np.array_equal(ours, keras), where
    else:
        assert ours == keras, where


@requires_keras
@pytest.mark.parametrize("case", CASES)
def test_loader_returns_keras_arrays(case, keras_home, keras_results, monkeypatch):
    output = convert(CASES[case])
    imports = [line for line in output.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in imports if "keras" in line or "tensorflow" in line]
    assert_same(run_converted(output, keras_home, monkeypatch)["result"], keras_results[case])


@requires_keras
def test_cifar10_loader_returns_keras_arrays(tmp_path, monkeypatch):
    """Keras fills 50000 training rows from five batches of 10000, so the stand-in has that size
    (150 MB), made for this test alone."""
    home = tmp_path / "keras_home"
    try:
        write_stand_ins(home, ["cifar10"])
        keras_results = keras_reference(home, {"cifar10": CIFAR10}, tmp_path)
        assert keras_results["downloads"] == []
        assert_same(run_converted(convert(CIFAR10), home, monkeypatch)["result"], keras_results["cifar10"])
    finally:
        shutil.rmtree(home)  # pytest keeps the last runs' temporary folders: not 450 MB of them


@requires_keras
def test_keras_reads_the_stand_ins_without_downloading(keras_results):
    """The stand-ins sit where Keras looks for its files: it loaded every case without a download."""
    assert keras_results["downloads"] == []


@requires_keras
def test_cached_file_with_another_hash_is_downloaded_again_as_keras_does(keras_home, keras_results, monkeypatch, tmp_path):
    """Keras checks a cached file's hash on every load: a file whose hash is not the published one is
    fetched again from the same origin to the same place, and removed when that download fails."""
    home = tmp_path / "home"
    (home / "datasets").mkdir(parents=True)
    shutil.copy(keras_home / "datasets/mnist.npz", home / "datasets/wrong_hash.npz")
    downloads = []

    def fail_download(origin, target, *args):
        downloads.append((origin, target))
        raise RuntimeError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlretrieve", fail_download)
    monkeypatch.setenv("KERAS_HOME", str(home))
    with pytest.raises(RuntimeError, match="no network"):
        run(convert("from keras.datasets import mnist\nmnist.load_data(path='wrong_hash.npz')"))
    keras_origin, keras_target = keras_results["wrong_hash_downloads"][0]
    assert downloads == [(keras_origin, str(home / os.path.relpath(keras_target, keras_home)))]
    assert not (home / "datasets/wrong_hash.npz").exists()
    assert not (keras_home / "datasets/wrong_hash.npz").exists()  # Keras removed its copy too


def test_missing_files_are_downloaded_into_keras_cache_layout(tmp_path, monkeypatch):
    """A first load downloads from Keras's origins to the paths where Keras keeps the files (the
    layout the Keras comparison above reads), checks the hash, and extracts the CIFAR archive."""
    stand_ins = tmp_path / "stand_ins"
    write_stand_ins(stand_ins, ["mnist", "cifar100", "imdb_word_index"])
    by_name = {Path(relative).name: stand_ins / relative for relative, _ in PUBLISHED_HASHES.values()}
    downloads = []

    def fake_download(origin, target, *args):
        downloads.append((origin, target))
        shutil.copy(by_name[Path(target).name], target)

    monkeypatch.setattr(urllib.request, "urlretrieve", fake_download)
    home = tmp_path / "home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    script = "from keras.datasets import mnist, cifar100, imdb\nm = mnist.load_data()\nc = cifar100.load_data()\nw = imdb.get_word_index()"
    namespace = run(with_stand_in_hashes(convert(script), stand_ins))
    origin = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
    assert downloads == [
        (origin + "mnist.npz", str(home / PUBLISHED_HASHES["mnist"][0])),
        ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", str(home / PUBLISHED_HASHES["cifar100"][0])),
        (origin + "imdb_word_index.json", str(home / PUBLISHED_HASHES["imdb_word_index"][0])),
    ]
    assert (home / "datasets/cifar-100-python-target/cifar-100-python/train").is_file()
    assert namespace["m"][0][0].shape == (50, 28, 28) and namespace["c"][0][0].shape == (60, 32, 32, 3)


def test_download_with_another_hash_is_an_error(tmp_path, monkeypatch):
    """As keras.utils.get_file: a downloaded file must have the published hash."""
    stand_ins = tmp_path / "stand_ins"
    write_stand_ins(stand_ins, ["mnist"])
    monkeypatch.setattr(urllib.request, "urlretrieve", lambda origin, target, *args: shutil.copy(stand_ins / "datasets/mnist.npz", target))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    with pytest.raises(ValueError, match="Incomplete or corrupted file detected"):
        run(convert("from keras.datasets import mnist\nmnist.load_data()"))


def test_without_keras_home_the_cache_is_under_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    write_stand_ins(tmp_path / ".keras", ["fashion_mnist"])  # Keras checks no hash of these files
    namespace = run(convert("from keras.datasets import fashion_mnist\ndata = fashion_mnist.load_data()"))
    (x_train, y_train), (x_test, y_test) = namespace["data"]
    assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == ((40, 28, 28), (40,), (15, 28, 28), (15,))


def test_call_site_reads_like_the_keras_line():
    output = convert(
        textwrap.dedent(
            """\
            from tensorflow import keras
            from keras.datasets import imdb

            max_features = 20000
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
            (x_train, y_train), (x_val, y_val) = imdb.load_data(num_words=max_features, maxlen=None)
            """
        )
    )
    assert "(x_train, y_train), (x_test, y_test) = load_mnist()\n" in output
    assert "(x_train, y_train), (x_val, y_val) = load_imdb(num_words=max_features, maxlen=None)\n" in output
    imports = [line for line in output.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in imports if "keras" in line or "tensorflow" in line]


def test_only_the_loaders_the_script_uses_are_generated():
    output = convert("from keras.datasets import mnist\n(x, y), (xt, yt) = mnist.load_data()\n")
    defined = [line.split("(")[0][4:] for line in output.splitlines() if line.startswith("def ")]
    assert defined == ["get_file", "load_mnist"]
    imports = [line for line in output.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import hashlib", "import os", "import tempfile", "import urllib.request", "import numpy as np"]


def test_a_cifar_script_gets_the_archive_helpers_once():
    output = convert("from keras.datasets import cifar10, cifar100\na = cifar10.load_data()\nb = cifar100.load_data('coarse')\n")
    defined = [line.split("(")[0][4:] for line in output.splitlines() if line.startswith("def ")]
    assert defined == ["get_file", "extract_archive", "load_cifar_batch", "load_cifar10", "load_cifar100"]
    assert "b = load_cifar100('coarse')" in output


def test_a_script_name_is_not_shadowed():
    output = convert("from keras.datasets import mnist\n\ndef load_mnist():\n    return None\n\ndata = mnist.load_data()\n")
    assert "data = load_mnist_()" in output
    assert "def load_mnist():\n    return None" in output


def test_an_argument_keras_does_not_have_is_reported():
    result = k2t.convert_source("from keras.datasets import mnist\ndata = mnist.load_data(nb_classes=10)\n", "script.py")
    assert [d.code for d in result.diagnostics] == ["K2T100"]


def test_mnist_script_converts_with_no_undefined_names():
    source = textwrap.dedent(
        """\
        import keras
        from keras.datasets import mnist

        (x_train, y_train), (x_test, y_test) = mnist.load_data()
        x_train = x_train.reshape(-1, 784).astype("float32") / 255
        y_train = keras.utils.to_categorical(y_train, 10)
        model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax")])
        model.compile(loss="categorical_crossentropy", optimizer="sgd")
        model.fit(x_train, y_train, epochs=1)
        """
    )
    assert_no_undefined_names(convert(source), "converted.py")


def test_every_dataset_function_is_registered_and_compared_with_keras():
    from k2t.parse import FUNCTIONS
    from k2t.translate.datasets import DATASET_FUNCTIONS

    assert set(DATASET_FUNCTIONS) <= set(FUNCTIONS)
    outputs = [convert(source) for source in [*CASES.values(), CIFAR10]]
    unproven = [name for name, f in DATASET_FUNCTIONS.items() if not any(f"result = {f.helper.name}(" in o for o in outputs)]
    assert not unproven


@pytest.mark.parametrize("dataset", ("imdb", "reuters"))
def test_keras2_nb_words_is_num_words(dataset):
    """Keras 1's `nb_words=`, which Keras 2 still took (with a warning) for `num_words=`."""
    output = convert(f"from keras.datasets import {dataset}\ndata = {dataset}.load_data(nb_words=5000, maxlen=80)\n")
    assert f"data = load_{dataset}(num_words=5000, maxlen=80)" in output
    assert "nb_words" not in output


def test_nb_words_next_to_num_words_is_reported():
    result = k2t.convert_source("from keras.datasets import imdb\ndata = imdb.load_data(nb_words=5, num_words=6)\n", "script.py")
    assert [d.code for d in result.diagnostics] == ["K2T100"]


QUICKSTART = """\
import tensorflow as tf

mnist = tf.keras.datasets.mnist
(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
model = tf.keras.models.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation="relu"),
    tf.keras.layers.Dropout(0.2),
    tf.keras.layers.Dense(10),
])
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
model.fit(x_train, y_train, epochs=5)
model.evaluate(x_test, y_test, verbose=2)
"""


def test_a_dataset_module_held_in_a_variable_is_that_module():
    """TensorFlow's quickstart for beginners: `mnist = tf.keras.datasets.mnist`, then `mnist.load_data()`."""
    result = k2t.convert_source(QUICKSTART, "quickstart.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "(x_train, y_train), (x_test, y_test) = load_mnist()" in result.output
    assert "tf.keras" not in result.output and "mnist = " not in result.output
    assert_no_undefined_names(result.output)


def test_module_aliases_chain_and_a_rebound_name_is_no_alias():
    chained = (
        "import tensorflow as tf\nkeras = tf.keras\nlayers = keras.layers\nfashion_mnist = keras.datasets.fashion_mnist\n"
        "(x, y), _ = fashion_mnist.load_data()\n"
        "model = keras.Sequential([layers.Flatten(input_shape=(28, 28)), layers.Dense(10, activation='softmax')])\n"
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\nmodel.fit(x / 255.0, y, epochs=1)\n"
    )
    result = k2t.convert_source(chained, "chained.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "load_fashion_mnist()" in result.output and "class Net(nn.Module)" in result.output
    # Bound twice: which module the name holds where it is read is not an alias k2t assumes.
    rebound = QUICKSTART.replace("mnist = tf.keras.datasets.mnist\n", "mnist = tf.keras.datasets.mnist\nif x_flag:\n    mnist = other\n")
    assert any(d.code == "K2T100" for d in k2t.convert_source(rebound, "rebound.py").diagnostics)
