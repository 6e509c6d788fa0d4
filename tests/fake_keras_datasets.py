"""Small stand-ins for the files Keras's datasets download, laid out in a Keras cache
($KERAS_HOME/datasets/...) exactly as keras.utils.get_file leaves them, so that tests read
datasets without the network.

Keras checks a cached file's hash against the published one on every load and downloads
it again when they differ; a stand-in cannot have the published hash, so a test replaces
the published hash with the stand-in's (``stand_in_hashes``), in the converted script's
text and in Keras's check alike. Everything else runs as written.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

# Each dataset file Keras checks: its place under $KERAS_HOME and the hash Keras publishes for it.
PUBLISHED_HASHES: dict[str, tuple[str, str]] = {
    "mnist": ("datasets/mnist.npz", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
    "cifar10": ("datasets/cifar-10-batches-py-target_archive", "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),
    "cifar100": ("datasets/cifar-100-python-target_archive", "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"),
    "imdb": ("datasets/imdb.npz", "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"),
    "reuters": ("datasets/reuters.npz", "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"),
    "boston_housing": ("datasets/boston_housing.npz", "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"),
    "california_housing": ("datasets/california_housing.npz", "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"),
    "imdb_word_index": ("datasets/imdb_word_index.json", "bfafd718b763782e994055a2d397834f"),
    "reuters_word_index": ("datasets/reuters_word_index.json", "4d44cc38712099c9e383dc6e5f11a921"),
}


def _file(home: Path, relative: str) -> Path:
    path = home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _sequences(rng: np.random.Generator, count: int, vocabulary: int) -> np.ndarray:
    """Word-index lists of varied lengths, as the IMDB and Reuters files hold them (an object array of lists)."""
    sequences = np.empty(count, dtype=object)
    for i in range(count):
        sequences[i] = [int(w) for w in rng.integers(1, vocabulary, size=int(rng.integers(1, 20)))]
    return sequences


def write_mnist(home: Path, rng: np.random.Generator, train: int = 50, test: int = 20) -> None:
    def digits(n: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), rng.integers(0, 10, size=n, dtype=np.uint8)

    (x_train, y_train), (x_test, y_test) = digits(train), digits(test)
    np.savez(_file(home, "datasets/mnist.npz"), x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def write_fashion_mnist(home: Path, rng: np.random.Generator) -> None:
    """The four gzipped IDX files: an 8-byte header before the labels, 16 bytes before the images."""
    for split, count in (("train", 40), ("t10k", 15)):
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        header = np.array([0x801, count], dtype=">u4").tobytes()
        with gzip.open(_file(home, f"datasets/fashion-mnist/{split}-labels-idx1-ubyte.gz"), "wb") as file:
            file.write(header + labels.tobytes())
        header = np.array([0x803, count, 28, 28], dtype=">u4").tobytes()
        with gzip.open(_file(home, f"datasets/fashion-mnist/{split}-images-idx3-ubyte.gz"), "wb") as file:
            file.write(header + images.tobytes())


def _cifar_batch(rng: np.random.Generator, count: int, label_keys: dict[str, int]) -> bytes:
    """A pickled CIFAR batch as Python 2 wrote it: bytes keys, (N, 3072) uint8 rows, label lists."""
    batch = {b"batch_label": b"fake batch", b"data": rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)}
    for key, classes in label_keys.items():
        batch[key.encode()] = [int(label) for label in rng.integers(0, classes, size=count)]
    return pickle.dumps(batch)


def _tar(path: Path, members: dict[str, bytes], mode: str) -> None:
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def write_cifar10(home: Path, rng: np.random.Generator) -> None:
    """Keras fills 50000 training rows from five batches of 10000, so the stand-in has that size
    (an uncompressed tar: tarfile reads either); its test batch is small."""
    members = {f"cifar-10-batches-py/data_batch_{i}": _cifar_batch(rng, 10000, {"labels": 10}) for i in range(1, 6)}
    members["cifar-10-batches-py/test_batch"] = _cifar_batch(rng, 30, {"labels": 10})
    _tar(_file(home, PUBLISHED_HASHES["cifar10"][0]), members, "w")


def write_cifar100(home: Path, rng: np.random.Generator) -> None:
    labels = {"fine_labels": 100, "coarse_labels": 20}
    members = {"cifar-100-python/train": _cifar_batch(rng, 60, labels), "cifar-100-python/test": _cifar_batch(rng, 25, labels)}
    _tar(_file(home, PUBLISHED_HASHES["cifar100"][0]), members, "w:gz")


def write_imdb(home: Path, rng: np.random.Generator) -> None:
    np.savez(
        _file(home, "datasets/imdb.npz"),
        x_train=_sequences(rng, 40, 60),
        y_train=rng.integers(0, 2, size=40),
        x_test=_sequences(rng, 30, 60),
        y_test=rng.integers(0, 2, size=30),
    )


def write_reuters(home: Path, rng: np.random.Generator) -> None:
    np.savez(_file(home, "datasets/reuters.npz"), x=_sequences(rng, 57, 50), y=rng.integers(0, 46, size=57))


def write_boston_housing(home: Path, rng: np.random.Generator) -> None:
    np.savez(_file(home, "datasets/boston_housing.npz"), x=rng.normal(size=(51, 13)) * 10, y=rng.uniform(5, 50, size=51))


def write_california_housing(home: Path, rng: np.random.Generator) -> None:
    """More than the 600 rows `version="small"` keeps."""
    np.savez(_file(home, "datasets/california_housing.npz"), x=rng.normal(size=(650, 8)), y=rng.uniform(1e4, 5e5, size=650).astype("float32"))


def _word_index(dataset: str) -> Callable[[Path, np.random.Generator], None]:
    def write(home: Path, rng: np.random.Generator) -> None:
        words = ["the", "and", "a", "of", "to", "is", "br", "in", "it", "i"]
        ranks = rng.permutation(len(words)) + 1
        _file(home, f"datasets/{dataset}_word_index.json").write_text(json.dumps(dict(zip(words, ranks.tolist()))))

    return write


WRITERS: dict[str, Callable[[Path, np.random.Generator], None]] = {
    "mnist": write_mnist,
    "fashion_mnist": write_fashion_mnist,
    "cifar10": write_cifar10,
    "cifar100": write_cifar100,
    "imdb": write_imdb,
    "reuters": write_reuters,
    "boston_housing": write_boston_housing,
    "california_housing": write_california_housing,
    "imdb_word_index": _word_index("imdb"),
    "reuters_word_index": _word_index("reuters"),
}


# The function k2t generates for each dataset file.
GENERATED_FUNCTIONS: dict[str, str] = {
    **{dataset: f"load_{dataset}" for dataset in ("mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters", "boston_housing", "california_housing")},
    "imdb_word_index": "get_imdb_word_index",
    "reuters_word_index": "get_reuters_word_index",
}


def write_stand_ins(home: Path, datasets: list[str], seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for dataset in datasets:
        WRITERS[dataset](home, rng)


def stand_in_hashes(home: Path) -> dict[str, str]:
    """Published hash -> the hash of the stand-in written in ``home`` (same algorithm: SHA-256 or MD5)."""
    found = {}
    for relative, published in PUBLISHED_HASHES.values():
        path = home / relative
        if path.is_file():
            hasher = hashlib.sha256() if len(published) == 64 else hashlib.md5()
            hasher.update(path.read_bytes())
            found[published] = hasher.hexdigest()
    return found


def with_stand_in_hashes(source: str, home: Path) -> str:
    for published, stand_in in stand_in_hashes(home).items():
        source = source.replace(published, stand_in)
    return source


def stage_for_script(script: Path, home: Path) -> Path | None:
    """For a converted script that loads Keras datasets: stand-ins in ``home`` for the ones it loads
    and the script rewritten to expect their hashes; ``home`` (to set as KERAS_HOME), or None."""
    source = script.read_text(encoding="utf-8")
    datasets = [dataset for dataset, function in GENERATED_FUNCTIONS.items() if f"def {function}(" in source]
    if not datasets:
        return None
    write_stand_ins(home, datasets)
    script.write_text(with_stand_in_hashes(source, home), encoding="utf-8")
    return home
