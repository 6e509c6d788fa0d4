"""tf.data pipelines over in-memory arrays (issue 13): what the conversion writes, the diagnostics for what
it does not convert, and the generated ArrayDataset's elements against tf.data's own on the same script
(the same batches in the same order where tf.data's order is deterministic; for shuffle, the properties of
its buffer). Training on such a pipeline against Keras: test_parity_tf_data.py."""

import subprocess
import sys
import textwrap

import numpy as np
from conftest import requires_keras, requires_torch, run_standalone
from unwrapped import prose, unwrapped

import k2t

PRELUDE = """
import numpy as np
import tensorflow as tf
import keras
from keras import layers

x = np.arange(70, dtype="float32").reshape(35, 2)
y = (np.arange(35) % 3).astype("int64")
"""

MODEL = """
model = keras.Sequential([keras.Input((2,)), layers.Dense(3, activation="softmax")])
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
"""


def convert(body: str, model: bool = False):
    return k2t.convert_source(PRELUDE + (MODEL if model else "") + textwrap.dedent(body), filename="case.py")


def _messages(result) -> list[str]:
    return [d.format() for d in result.diagnostics]


def test_a_pipeline_keeps_its_chain_on_the_generated_class_and_fit_reads_it_as_a_dataset():
    result = convert(
        """
        train_ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(100, seed=1).batch(8).prefetch(tf.data.AUTOTUNE)
        val_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16).cache().prefetch(tf.data.experimental.AUTOTUNE)
        model.fit(train_ds, epochs=2, validation_data=val_ds, verbose=0)
        model.evaluate(val_ds, verbose=0)
        p = model.predict(tf.data.Dataset.from_tensor_slices(x).batch(4), verbose=0)
        """,
        model=True,
    )
    assert result.ok and not result.diagnostics, _messages(result)
    out = result.output
    assert unwrapped("train_ds = ArrayDataset.from_tensor_slices((x, y)).shuffle(100, seed=1).batch(8).prefetch(ArrayDataset.AUTOTUNE)") in unwrapped(out)
    assert "fit_batches(model, optimizer, train_ds, epochs=2, validation_data=val_ds, verbose=0)" in out
    assert "evaluate_batches(model, val_ds, verbose=0)" in out
    assert "predict_batches(model, ArrayDataset.from_tensor_slices(x).batch(4), verbose=0)" in out
    assert "import tensorflow" not in out and "(tf.data.AUTOTUNE)" not in out
    # Only the methods the script uses are generated.
    assert "def cache(" in out and "def unbatch(" not in out and "def map(" not in out


def test_an_elementwise_map_runs_on_whole_chunks_and_another_element_by_element():
    result = convert(
        """
        def scale(image, label):
            return tf.cast(image, tf.float32) / 255.0, tf.one_hot(label, 3)

        def first(image, label):
            return image[0], label

        a = tf.data.Dataset.from_tensor_slices((x, y)).map(scale, num_parallel_calls=tf.data.AUTOTUNE)
        b = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda i, l: (tf.expand_dims(i, -1) * 2.0, l))
        c = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda i, l: (tf.expand_dims(i, 0), l))
        d = tf.data.Dataset.from_tensor_slices((x, y)).map(first).filter(lambda i, l: l > 0)
        """
    )
    assert result.ok and not result.diagnostics, _messages(result)
    out = result.output
    assert "return image.to(torch.float32) / 255.0, F.one_hot(" in out
    assert unwrapped(".map(ArrayDataset.elementwise(scale), num_parallel_calls=ArrayDataset.AUTOTUNE)") in unwrapped(out)
    assert unwrapped(".map(ArrayDataset.elementwise(lambda i, l: (torch.unsqueeze(i, -1) * 2.0, l)))") in unwrapped(out)
    # A positive axis counts from the element's first axis: not the same on a stack of elements.
    assert unwrapped(".map(lambda i, l: (torch.unsqueeze(i, 0), l))") in unwrapped(out)
    assert unwrapped(".map(first).filter(ArrayDataset.elementwise(lambda i, l: l > 0))") in unwrapped(out)


def test_a_parameter_every_call_passes_a_dataset_is_one_in_the_functions_body():
    """keras.io's structured data: `def encode(name, dataset): dataset.map(...)` called with the script's
    dataset; a parameter some call passes something else stays unknown."""
    result = convert(
        """
        def column(name, dataset):
            feature_ds = dataset.map(lambda x, y: x[name])
            return feature_ds.map(lambda x: tf.expand_dims(x, -1))

        def maybe(dataset):
            return dataset.map(lambda a: tf.expand_dims(a, -1))

        train_ds = tf.data.Dataset.from_tensor_slices(({"a": x[:, 0]}, y)).batch(8)
        column("a", train_ds)
        column(name="a", dataset=train_ds.take(2))
        maybe(train_ds)
        maybe([1.0])
        """
    )
    out = unwrapped(result.output)
    assert unwrapped("return feature_ds.map(ArrayDataset.elementwise(lambda x: torch.unsqueeze(x, -1)))") in out
    [left] = [d for d in result.diagnostics]
    assert (left.code, left.line) == ("K2T150", 15), _messages(result)


def test_what_the_generated_class_lacks_is_reported_where_the_script_uses_it():
    result = convert(
        """
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
        windows = ds.window(3)
        records = tf.data.TFRecordDataset("train.tfrecord")
        texts = tf.data.Dataset.from_generator(lambda: iter(["a"]), output_signature=tf.TensorSpec((), tf.string))
        """
    )
    messages = _messages(result)
    assert any(":11:14: K2T150 tf.data.Dataset.window() is not translated" in m for m in messages), messages
    assert any("K2T150 TensorFlow API `tensorflow.data.TFRecordDataset` is not translated" in m for m in messages), messages
    assert any(":13:" in m and "K2T150" in m and "tensorflow.string" in m for m in messages), messages
    assert "ds = ArrayDataset.from_tensor_slices((x, y)).batch(4)" in result.output


def test_a_map_function_k2t_cannot_rewrite_is_reported():
    result = convert(
        """
        def local():
            def inner(a, b):
                return a, b
            return tf.data.Dataset.from_tensor_slices((x, y)).map(inner)

        ds = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (tf.strings.as_string(a), b))
        """
    )
    messages = _messages(result)
    assert any("K2T150 tf.data.Dataset.map(): k2t rewrites a lambda or a top-level function of the script, not `inner`" in m for m in messages)
    assert any("K2T150 `tensorflow.strings.as_string` is not in k2t's op vocabulary" in m for m in messages), messages


def test_a_model_called_in_a_map_written_inside_fit_is_reported():
    """The fit call is rewritten from its text: the augmentation call inside would keep Keras's training=."""
    result = convert(
        """
        data_augmentation = keras.Sequential([layers.RandomFlip("horizontal")])
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
        model.fit(ds.map(lambda a, b: (data_augmentation(a, training=True), b)), epochs=1)
        """,
        model=True,
    )
    messages = _messages(result)
    assert any("K2T103 `data_augmentation(...)` in the data of a fit / evaluate / predict call" in m for m in messages), messages


def test_a_dataset_as_validation_data_of_a_fit_on_arrays_is_reported():
    result = convert(
        """
        val_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
        model.fit(x, y, validation_data=val_ds, verbose=0)
        """,
        model=True,
    )
    assert any("K2T130 fit(validation_data=val_ds) of batches beside arrays is not translated" in m for m in _messages(result))


# ------------------------------------------------------------------ the elements, against tf.data's own
PIPELINES = """
batches = {
    "tuple": tf.data.Dataset.from_tensor_slices((x, y)).batch(8),
    "dropped": tf.data.Dataset.from_tensor_slices((x, y)).batch(8, drop_remainder=True),
    "dict": tf.data.Dataset.from_tensor_slices({"a": x, "b": y}).batch(10),
    "single": tf.data.Dataset.from_tensor_slices(x).skip(3).take(20).batch(6),
    "repeat": tf.data.Dataset.from_tensor_slices((x, y)).repeat(2).batch(16),
    "batch_repeat": tf.data.Dataset.from_tensor_slices(x).batch(16).repeat(2).take(5),
    "unbatch": tf.data.Dataset.from_tensor_slices(x).batch(4).unbatch().batch(5),
    "map": tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (tf.cast(a, tf.float32) / 10.0, tf.one_hot(b, 3))).batch(7),
    "map_each": tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a[1] - a[0], b)).batch(9),
    "map_batches": tf.data.Dataset.from_tensor_slices((x, y)).batch(9).map(lambda a, b: (tf.reduce_sum(a, axis=0), b)),
    "filter": tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: b > 0).batch(4),
    "cache": tf.data.Dataset.from_tensor_slices(x).cache().batch(32),
    "infinite_take": tf.data.Dataset.from_tensor_slices(x).repeat().batch(16).take(4),
}
drawn = {key: [element for element in ds.as_numpy_iterator()] for key, ds in batches.items()}
lengths = {key: len(ds) for key, ds in batches.items() if key not in ("filter", "unbatch")}
iterated = [(a.numpy(), b.numpy()) for a, b in batches["tuple"]]
"""


def _run(source: str, path) -> dict:
    """The namespace the script leaves (run in this process: TensorFlow is imported once for all tests)."""
    from k2t.parity.capture import quiet_tensorflow

    quiet_tensorflow()
    path.write_text(source)
    namespace: dict = {"__name__": "__main__", "__file__": str(path)}
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 - running the script is the point
    return namespace


def _flat(element) -> list[np.ndarray]:
    if isinstance(element, tuple):
        return [array for item in element for array in _flat(item)]
    if isinstance(element, dict):
        return [array for key in sorted(element) for array in _flat(element[key])]
    return [np.asarray(element)]


@requires_torch
@requires_keras
def test_the_generated_elements_are_tf_datas(tmp_path):
    source = PRELUDE + PIPELINES
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, _messages(result)
    keras_side = _run(source, tmp_path / "keras_case.py")
    torch_side = _run(result.output, tmp_path / "torch_case.py")
    assert torch_side["lengths"] == keras_side["lengths"]
    for key, expected in keras_side["drawn"].items():
        got = torch_side["drawn"][key]
        assert len(got) == len(expected), key
        for mine, theirs in zip(got, expected):
            for a, b in zip(_flat(mine), _flat(theirs), strict=True):
                assert a.shape == b.shape, key
                np.testing.assert_allclose(a, b, err_msg=key)
    for (a, b), (ta, tb) in zip(torch_side["iterated"], keras_side["iterated"], strict=True):
        np.testing.assert_array_equal(a, ta)
        np.testing.assert_array_equal(b, tb)


# ------------------------------------------------------------------ shuffle: the buffer's properties
SHUFFLES = """
full = tf.data.Dataset.from_tensor_slices(np.arange(200)).shuffle(1000, seed=3)
windowed = tf.data.Dataset.from_tensor_slices(np.arange(200)).shuffle(10, seed=3)
fixed = tf.data.Dataset.from_tensor_slices(np.arange(200)).shuffle(200, reshuffle_each_iteration=False)
batched = tf.data.Dataset.from_tensor_slices(np.arange(30)).batch(7).shuffle(5, seed=1)
epochs = {key: [list(ds.as_numpy_iterator()) for _ in range(2)] for key, ds in
          {"full": full, "windowed": windowed, "fixed": fixed, "batched": batched}.items()}
again = list(tf.data.Dataset.from_tensor_slices(np.arange(200)).shuffle(1000, seed=3).as_numpy_iterator())
"""


@requires_torch
def test_shuffle_draws_permutations_with_tf_datas_buffer(tmp_path):
    result = k2t.convert_source(PRELUDE + SHUFFLES, filename="case.py")
    assert result.ok and not result.diagnostics, _messages(result)
    assert "tf.data's own sequence of random numbers is TensorFlow's" in prose(result.output)  # the stated difference
    side = _run(result.output, tmp_path / "torch_case.py")
    epochs = side["epochs"]
    for key in ("full", "windowed", "fixed"):
        for order in epochs[key]:
            assert sorted(order) == list(range(200)), key  # every element once an epoch
    # A new order each pass, unless reshuffle_each_iteration=False; the same seed, the same orders.
    assert epochs["full"][0] != epochs["full"][1] and epochs["windowed"][0] != epochs["windowed"][1]
    assert epochs["fixed"][0] == epochs["fixed"][1] != list(range(200))
    assert side["again"] == epochs["full"][0]
    # The buffer holds the next 10 elements: the k-th out is one of the first k + 10 in, and the
    # order is far from a full shuffle (which moves elements by about 67 places on average).
    windowed = epochs["windowed"][0]
    assert all(value < position + 10 for position, value in enumerate(windowed))
    assert np.mean(np.abs(np.array(windowed) - np.arange(200))) < 15
    full = epochs["full"][0]
    assert any(value >= position + 10 for position, value in enumerate(full))
    # Batches are shuffled whole, the short last one too.
    for order in epochs["batched"]:
        assert sorted(tuple(batch) for batch in order) == [tuple(range(s, min(s + 7, 30))) for s in range(0, 30, 7)]


# ------------------------------------------------------------------ keras.utils.timeseries_dataset_from_array
TIMESERIES = """
from keras.utils import timeseries_dataset_from_array

series = np.arange(100, dtype="float32").reshape(50, 2)
labels = np.arange(50) * 10
windows = {
    "plain": timeseries_dataset_from_array(series, labels, sequence_length=5, batch_size=8),
    "strided": keras.utils.timeseries_dataset_from_array(series, labels[3:], 4, sequence_stride=3, sampling_rate=2, batch_size=4, start_index=2, end_index=40),
    "no_targets": keras.utils.timeseries_dataset_from_array(series, None, 6, batch_size=None, end_index=20),
}
drawn = {key: list(ds.as_numpy_iterator()) for key, ds in windows.items()}
shuffling = keras.utils.timeseries_dataset_from_array(series, labels, 5, batch_size=8, shuffle=True, seed=4)
shuffled = [list(shuffling.as_numpy_iterator()) for _ in range(2)]
"""


@requires_torch
@requires_keras
def test_timeseries_windows_are_kerass(tmp_path):
    source = PRELUDE + TIMESERIES
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, _messages(result)
    assert "windows = {\n    \"plain\": timeseries_dataset_from_array(series, labels, sequence_length=5, batch_size=8)," in result.output
    keras_side = _run(source, tmp_path / "keras_case.py")
    torch_side = _run(result.output, tmp_path / "torch_case.py")
    for key, expected in keras_side["drawn"].items():
        got = torch_side["drawn"][key]
        assert len(got) == len(expected), key
        for mine, theirs in zip(got, expected):
            for a, b in zip(_flat(mine), _flat(theirs), strict=True):
                assert a.shape == b.shape, key
                np.testing.assert_array_equal(a, b, err_msg=key)
    # shuffle=True: every window once an epoch, with its own target, in a new order each epoch.
    epochs = torch_side["shuffled"]
    orders = [[int(window[0, 0]) // 2 for batch in epoch for window in batch[0]] for epoch in epochs]
    assert orders[0] != orders[1] and orders[0] != list(range(46))
    for epoch, order in zip(epochs, orders):
        assert sorted(order) == list(range(46))
        for windows, targets in epoch:
            np.testing.assert_array_equal(windows[:, 0, 0] // 2 * 10, targets)


# ------------------------------------------------------------------ the other sources: constructors, zip, generators
SOURCES = """
def pairs():
    for i in range(7):
        yield np.full(2, i, dtype="float64"), i % 3


def ragged(n):
    for i in range(n):
        yield np.arange(i % 4 + 1, dtype="int64"), i


signature = (tf.TensorSpec(shape=(2,), dtype=tf.float32), tf.TensorSpec(shape=(), dtype=tf.int64))
ragged_signature = (tf.TensorSpec((None,), tf.int64), tf.TensorSpec((), tf.int32))
sources = {
    "from_tensors": tf.data.Dataset.from_tensors((x, y)),
    "from_tensors_repeat": tf.data.Dataset.from_tensors(x[0]).repeat(3).batch(2),
    "range": tf.data.Dataset.range(10),
    "range_step": tf.data.Dataset.range(3, 20, 4).batch(2),
    "range_down": tf.data.Dataset.range(10, 0, -3, output_type=tf.int32),
    "zip": tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(x), tf.data.Dataset.range(100).skip(2))).batch(8),
    "zip_arguments": tf.data.Dataset.zip(tf.data.Dataset.range(5), tf.data.Dataset.from_tensor_slices(y).batch(4)),
    "zip_nested": tf.data.Dataset.zip({"a": tf.data.Dataset.range(3), "b": (tf.data.Dataset.range(4), tf.data.Dataset.from_tensors(x[0]).repeat())}),
    "concatenate": tf.data.Dataset.from_tensor_slices(x).take(5).concatenate(tf.data.Dataset.from_tensor_slices(x).skip(30)).batch(4),
    "enumerate": tf.data.Dataset.from_tensor_slices((x, y)).batch(10).enumerate(start=2),
    "generator": tf.data.Dataset.from_generator(pairs, output_signature=signature).batch(3),
    "generator_keras2": tf.data.Dataset.from_generator(pairs, output_types=(tf.float32, tf.int64), output_shapes=((2,), ())),
    "generator_args": tf.data.Dataset.from_generator(ragged, args=(6,), output_signature=ragged_signature).padded_batch(4),
    "padded": tf.data.Dataset.from_generator(ragged, args=(7,), output_signature=ragged_signature).padded_batch(
        3, padded_shapes=([5], []), padding_values=(np.int64(-1), 0), drop_remainder=True
    ),
    "padded_arrays": tf.data.Dataset.from_tensor_slices(x).padded_batch(8, padded_shapes=[4]),
    "filtered": tf.data.Dataset.range(9).filter(lambda n: n > 3),
    "infinite": tf.data.Dataset.range(4).repeat(),
    "unknown_then_infinite": tf.data.Dataset.range(9).filter(lambda n: n > 3).concatenate(tf.data.Dataset.range(4).repeat()),
    "finite_then_unknown": tf.data.Dataset.range(3).concatenate(tf.data.Dataset.range(9).filter(lambda n: n > 3)),
    "zip_unknown": tf.data.Dataset.zip((tf.data.Dataset.range(4).repeat(), tf.data.Dataset.range(9).filter(lambda n: n > 3))),
    "enumerate_infinite": tf.data.Dataset.range(4).repeat().enumerate(),
}
drawn = {key: list(ds.take(50).as_numpy_iterator()) for key, ds in sources.items()}
counts = {key: int(ds.cardinality()) for key, ds in sources.items()}
counted = int(tf.data.experimental.cardinality(sources["zip"]))
marks = (bool(sources["infinite"].cardinality() == tf.data.INFINITE_CARDINALITY), bool(sources["filtered"].cardinality() == tf.data.experimental.UNKNOWN_CARDINALITY))
lengths = {key: len(ds) for key, ds in sources.items() if counts[key] >= 0}
iterated = [(int(i), a.numpy()) for i, (a, b) in sources["enumerate"]]
"""


@requires_torch
@requires_keras
def test_the_other_sources_give_tf_datas_elements_dtypes_and_counts(tmp_path):
    source = PRELUDE + SOURCES
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, _messages(result)
    out = result.output
    assert "ArrayDataset.from_generator(pairs, output_signature=signature)" in out
    assert unwrapped("signature = (ArrayDataset.TensorSpec(shape=(2,), dtype=torch.float32), ArrayDataset.TensorSpec(shape=(), dtype=torch.int64))") in unwrapped(out)
    assert "output_types=(torch.float32, torch.int64)" in out and "ArrayDataset.range(10, 0, -3, output_type=torch.int32)" in out
    assert "counted = int(ArrayDataset.cardinality(sources[\"zip\"]))" in out and "== ArrayDataset.INFINITE)" in out
    assert "import tensorflow" not in out
    keras_side = _run(source, tmp_path / "keras_case.py")
    torch_side = _run(out, tmp_path / "torch_case.py")
    assert torch_side["counts"] == keras_side["counts"]
    assert torch_side["counted"] == keras_side["counted"] and torch_side["marks"] == keras_side["marks"] == (True, True)
    assert torch_side["lengths"] == keras_side["lengths"]
    for key, expected in keras_side["drawn"].items():
        got = torch_side["drawn"][key]
        assert len(got) == len(expected), key
        for mine, theirs in zip(got, expected):
            assert type(mine) is type(theirs), key
            for a, b in zip(_flat(mine), _flat(theirs), strict=True):
                assert (a.shape, a.dtype) == (b.shape, b.dtype), key
                np.testing.assert_array_equal(a, b, err_msg=key)
    for (i, a), (ti, ta) in zip(torch_side["iterated"], keras_side["iterated"], strict=True):
        assert i == ti
        np.testing.assert_array_equal(a, ta)


MULTI_OUTPUT_PREDICT = """\
import numpy as np
import tensorflow as tf
import keras
from keras import layers

rng = np.random.default_rng(0)
x = rng.normal(size=(40, 5)).astype("float32")
keras.utils.set_random_seed(0)
inputs = keras.Input(shape=(5,))
h = layers.Dense(8, activation="relu")(inputs)
model = keras.Model(inputs, [layers.Dense(1, name="value")(h), layers.Dense(3, activation="softmax", name="kind")(h)])
model.compile(optimizer="adam", loss=["mse", "sparse_categorical_crossentropy"])
value, kind = model.predict(tf.data.Dataset.from_tensor_slices(x).batch(16), verbose=0)
on_arrays = model.predict(x, verbose=0)
print("SHAPES", value.shape, kind.shape)
print("SAME", max(float(np.abs(a - b).max()) for a, b in zip((value, kind), on_arrays)))
"""


@requires_torch
def test_predict_on_batches_of_a_model_of_several_outputs_returns_a_list_of_arrays(tmp_path):
    """As Keras: one array per output, in the model's order, equal to predict on the same arrays."""
    result = k2t.convert_source(MULTI_OUTPUT_PREDICT, "train.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    script = tmp_path / "train.py"
    script.write_text(result.output, encoding="utf-8")
    run = run_standalone(script)
    assert run.returncode == 0, run.stderr
    assert "SHAPES (40, 1) (40, 3)" in run.stdout
    assert float(run.stdout.split("SAME ")[1].split()[0]) < 1e-6, run.stdout


MIXUP = """
images = np.random.RandomState(0).rand(40, 4, 4, 1).astype("float32")
labels = tf.one_hot(np.arange(40) % 3, 3)


def sample_beta_distribution(size, concentration_0=0.2, concentration_1=0.2):
    gamma_1_sample = tf.random.gamma(shape=[size], alpha=concentration_1)
    gamma_2_sample = tf.random.gamma(shape=[size], alpha=concentration_0)
    return gamma_1_sample / (gamma_1_sample + gamma_2_sample)


def mix_up(ds_one, ds_two, alpha=0.2):
    images_one, labels_one = ds_one
    images_two, labels_two = ds_two
    batch_size = tf.shape(images_one)[0]
    l = sample_beta_distribution(batch_size, alpha, alpha)
    x_l = tf.reshape(l, (batch_size, 1, 1, 1))
    y_l = tf.reshape(l, (batch_size, 1))
    images = images_one * x_l + images_two * (1 - x_l)
    labels = labels_one * y_l + labels_two * (1 - y_l)
    return (images, labels)


ds_one = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(64).batch(8)
ds_two = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(64).batch(8)
train_ds = tf.data.Dataset.zip((ds_one, ds_two))
train_ds_mu = train_ds.map(lambda ds_one, ds_two: mix_up(ds_one, ds_two, alpha=0.2), num_parallel_calls=tf.data.AUTOTUNE)
model = keras.Sequential([keras.Input((4, 4, 1)), layers.Flatten(), layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy")
model.fit(train_ds_mu, epochs=2, verbose=0)
mixed_images, mixed_labels = next(iter(train_ds_mu))
print(mixed_images.numpy().shape, mixed_labels.numpy().shape)
print(bool(np.allclose(mixed_labels.numpy().sum(axis=1), 1.0, atol=1e-5)))
print(bool(((mixed_images.numpy() >= 0) & (mixed_images.numpy() <= 1)).all()))
"""


@requires_torch
@requires_keras
def test_the_functions_a_map_lambda_calls_are_rewritten_with_it(tmp_path):
    """keras.io's mixup: the map's lambda calls mix_up, which calls sample_beta_distribution; both are rewritten
    (tf.random.gamma, tf.shape, tf.reshape), and the mixed batches keep what mixing promises on both sides:
    label rows summing to 1, pixels inside the images' range."""
    source = PRELUDE + MIXUP
    result = k2t.convert_source(source, filename="mixup.py")
    assert result.ok and not result.diagnostics, _messages(result)
    assert "torch.distributions.Gamma(concentration_1, 1.0).rsample([size])" in result.output
    assert "x_l = torch.reshape(l, (batch_size, 1, 1, 1))" in result.output
    converted = tmp_path / "mixup.py"
    converted.write_text(result.output)
    torch_run = run_standalone(converted)
    assert torch_run.returncode == 0, torch_run.stderr[-3000:]
    original = tmp_path / "mixup_keras.py"
    original.write_text(source)
    keras_run = subprocess.run([sys.executable, str(original)], capture_output=True, text=True, timeout=300, check=False)
    assert keras_run.returncode == 0, keras_run.stderr[-3000:]
    assert torch_run.stdout.split("\n")[-4:] == keras_run.stdout.split("\n")[-4:] == ["(8, 4, 4, 1) (8, 3)", "True", "True", ""]


def test_a_rewritten_map_helper_called_on_arrays_outside_the_pipeline_is_still_reported():
    result = convert(MIXUP.split("ds_one = ")[0] + "print(sample_beta_distribution(4))\n"
                     "ds = tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices((images, labels)).batch(8),) * 2)\n"
                     "ds = ds.map(lambda a, b: mix_up(a, b))\n")
    assert any("K2T100 `sample_beta_distribution` is rewritten to torch" in m for m in _messages(result)), _messages(result)
