"""keras.utils.split_dataset (issue 13): the generated split_dataset against Keras's own function on the same
script: arrays, tuples and lists of arrays, tf.data datasets (unbatched, batched, batched then prefetched,
of dicts), sizes as fractions and counts, shuffle with and without a seed. Each side's elements, in order,
must be the same arrays, and Python's `random` (which Keras reseeds) left in the same state."""

import textwrap

import numpy as np
import pytest
from conftest import requires_keras, requires_torch
from test_tf_data import _flat, _run

import k2t

SCRIPT = """
import random

import numpy as np
import tensorflow as tf
import keras

x = np.arange(70, dtype="float32").reshape(35, 2)
y = (np.arange(35) % 3).astype("int64")
random.seed(7)
splits = {
    "array_fraction": keras.utils.split_dataset(x, left_size=0.8),
    "tuple_counts": keras.utils.split_dataset((x, y), left_size=10, right_size=20),
    "list_right_fraction": keras.utils.split_dataset([x, y], right_size=0.25),
    "shuffled_seed": keras.utils.split_dataset((x, y), left_size=0.7, shuffle=True, seed=3),
    "shuffled_no_seed": keras.utils.split_dataset(x, left_size=5, shuffle=True),
    "dataset": keras.utils.split_dataset(tf.data.Dataset.from_tensor_slices((x, y)), left_size=12, shuffle=True, seed=1),
    "batched": keras.utils.split_dataset(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), left_size=0.6),
    # tf.data's prefetch keeps no batch size: Keras splits the batches themselves.
    "batched_prefetched": keras.utils.split_dataset(tf.data.Dataset.from_tensor_slices(x[:32]).batch(4).prefetch(tf.data.AUTOTUNE), right_size=3),
    "dicts": keras.utils.split_dataset(tf.data.Dataset.from_tensor_slices({"a": x, "b": y}), left_size=0.5),
}
drawn = {key: [list(side.as_numpy_iterator()) for side in pair] for key, pair in splits.items()}
after = random.random()
train_ds, val_ds = keras.utils.split_dataset((x, y), left_size=0.8, shuffle=True, seed=5)
trained = [(a.shape, b.shape) for a, b in train_ds.batch(8)]
"""


def _convert(source: str):
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    return result.output


def test_split_dataset_becomes_a_generated_function_of_the_same_name():
    out = _convert(SCRIPT)
    assert "keras.utils.split_dataset(" not in out and "import tensorflow" not in out and "import keras" not in out
    assert '"tuple_counts": split_dataset((x, y), left_size=10, right_size=20),' in out
    assert "train_ds, val_ds = split_dataset((x, y), left_size=0.8, shuffle=True, seed=5)" in out
    assert "def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):" in out
    assert "batched._batch_size = batch_size" in out  # the generated class keeps what split_dataset reads


def test_the_generated_class_keeps_no_batch_size_without_split_dataset():
    out = _convert(SCRIPT.split("random.seed(7)")[0] + "ds = tf.data.Dataset.from_tensor_slices(x).batch(4).prefetch(2)\n")
    assert "_batch_size" not in out and "        return self\n" in out


@requires_torch
@requires_keras
def test_the_splits_are_kerass(tmp_path):
    keras_side = _run(SCRIPT, tmp_path / "keras_case.py")
    torch_side = _run(_convert(SCRIPT), tmp_path / "torch_case.py")
    for key, expected in keras_side["drawn"].items():
        for side, (got, want) in enumerate(zip(torch_side["drawn"][key], expected, strict=True)):
            assert len(got) == len(want), (key, side)
            for mine, theirs in zip(got, want):
                for a, b in zip(_flat(mine), _flat(theirs), strict=True):
                    assert a.dtype == b.dtype and a.shape == b.shape, (key, side)
                    np.testing.assert_array_equal(a, b, err_msg=f"{key} {side}")
    assert [len(pair[1]) for pair in keras_side["drawn"].values()][:3] == [7, 20, 9]  # the sizes tested
    assert torch_side["after"] == keras_side["after"]
    assert torch_side["trained"] == [((8, 2), (8,))] * 3 + [((4, 2), (4,))]
    assert [(tuple(a), tuple(b)) for a, b in keras_side["trained"]] == torch_side["trained"]


@requires_torch
@requires_keras
@pytest.mark.parametrize(
    "arguments",
    ["x", "x, left_size=1.5", "x, left_size=35", "x, left_size=0.6, right_size=0.6", "x, left_size=20, right_size=20", "x, left_size=np.float64(0.5)", "x, right_size=0.001"],
)
def test_sizes_keras_refuses_raise_the_same_error(arguments, tmp_path):
    source = SCRIPT.split("random.seed(7)")[0] + textwrap.dedent(f"""
        try:
            keras.utils.split_dataset({arguments})
        except Exception as error:
            raised = type(error).__name__
        """)
    assert _run(_convert(source), tmp_path / "torch_case.py")["raised"] == _run(source, tmp_path / "keras_case.py")["raised"]
