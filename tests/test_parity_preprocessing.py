"""Exact parity against real Keras for the preprocessing layers.

Normalization (statistics given, or computed by ``adapt()`` on a layer the
script keeps in a variable), Rescaling, CenterCrop and Resizing. Each case is
a tiny Keras script; k2t converts it, the harness copies Keras's weights into
the torch module and requires every layer's output within 1e-4 and every
epoch's loss within 1e-3 relative. Where the two sides print something before
``fit`` (``normalizer.mean``), the printed text must be the same too.

Resizing: TensorFlow's bilinear resize (half-pixel centres, antialias on or
off) and torch's ``F.interpolate(mode="bilinear", align_corners=False)`` agree
within about 2e-6; TF's nearest equals torch's "nearest-exact" exactly (torch's
"nearest" picks other pixels: max abs diff about 5 on unit-normal images).
TF's bicubic (a = -0.5) and area resizes have no exact torch twin (measured
max abs diffs 0.24-0.31 and up to 2.1): k2t reports them as K2T102.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

from parity_cases import assert_parity, script

import k2t

HEAD = ["keras.layers.Flatten()", 'keras.layers.Dense(1, activation="sigmoid")']
IMAGE = (8, 8, 3)


def L(name, *args):
    return f"keras.layers.{name}({', '.join(args)})"


ADAPT_SCRIPT = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = (rng.normal(size=(96, {features})) * rng.uniform(0.5, 20, size={features}) + rng.uniform(-5, 40, size={features})){cast}{reshape}
y = (x.reshape(len(x), -1)[:, :3].sum(axis=1) > x.reshape(len(x), -1)[:, :3].sum(axis=1).mean()).astype("float32")
normalizer = layers.Normalization({arguments})
normalizer.adapt({data})
print(normalizer.mean.numpy(), normalizer.variance.numpy().shape)
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape={shape}),
    normalizer,
{layers}
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""


def adapt_script(arguments="axis=-1", shape=(6,), data="x", cast="", layers=('layers.Dense(4, activation="relu")', 'layers.Dense(1, activation="sigmoid")')):
    features = 1
    for n in shape:
        features *= n
    reshape = f".reshape(96, *{tuple(shape)!r})" if len(shape) > 1 else ""
    return ADAPT_SCRIPT.format(
        features=features,
        cast=cast,
        reshape=reshape,
        arguments=arguments,
        data=data,
        shape=repr(tuple(shape)),
        layers=textwrap.indent(",\n".join(layers), "    ") + ",",
    )


ADAPT = {
    "axis_last_float64": adapt_script(),  # Keras computes the statistics in float64, then stores float32
    "float32_data": adapt_script(cast='.astype("float32")'),
    "numpy_array_of_data": adapt_script(data="np.array(x)"),
    "axis_none": adapt_script("axis=None"),
    "sequence_axis_last": adapt_script(shape=(5, 4), layers=("layers.Flatten()", 'layers.Dense(1, activation="sigmoid")')),
    "sequence_axis_steps_and_features": adapt_script("axis=(1, 2)", shape=(5, 4), layers=("layers.Flatten()", 'layers.Dense(1, activation="sigmoid")')),
    "inverted": adapt_script("axis=-1, invert=True"),  # mean + x * std: Keras's inverse, from the adapted statistics
    "image_then_conv": adapt_script(
        shape=(6, 6, 3), layers=("layers.Conv2D(4, 3)", "layers.Flatten()", 'layers.Dense(1, activation="sigmoid")')
    ),
}


@pytest.mark.parametrize("name", ADAPT)
def test_normalization_adapted(name, tmp_path):
    report = assert_parity(ADAPT[name], tmp_path)
    assert report.keras_output == report.torch_output  # print(normalizer.mean.numpy(), normalizer.variance.numpy().shape)


def test_normalization_adapted_after_the_model_is_built(tmp_path):
    source = adapt_script().replace("normalizer.adapt(x)\n", "").replace(
        'model.compile(', "normalizer.adapt(x)\nmodel.compile("
    )
    source = source.replace("print(normalizer.mean.numpy(), normalizer.variance.numpy().shape)\n", "")
    assert_parity(source, tmp_path)


def test_normalization_adapted_with_input_shape_on_the_layer(tmp_path):
    source = adapt_script("input_shape=(6,), axis=-1").replace("    keras.Input(shape=(6,)),\n", "")
    assert "keras.Input" not in source
    assert_parity(source, tmp_path)


def test_normalization_adapted_in_a_functional_model(tmp_path):
    source = adapt_script().replace(
        "model = keras.Sequential([\n    keras.Input(shape=(6,)),\n    normalizer,\n"
        '    layers.Dense(4, activation="relu"),\n    layers.Dense(1, activation="sigmoid"),\n])\n',
        "inputs = keras.Input(shape=(6,))\n"
        "hidden = layers.Dense(4, activation=\"relu\")(normalizer(inputs))\n"
        "outputs = layers.Dense(1, activation=\"sigmoid\")(hidden)\n"
        "model = keras.Model(inputs, outputs)\n",
    )
    assert "keras.Model(" in source
    report = assert_parity(source, tmp_path)
    assert report.keras_output == report.torch_output


def test_adapted_normalization_converts_to_a_module_built_where_the_layer_is():
    output = k2t.convert_source(adapt_script(), "case.py").output
    assert "normalizer = Normalization(axis=-1)\nnormalizer.adapt(x)\nprint(normalizer.mean.numpy()" in output
    assert "model = Net(normalizer=normalizer)" in output
    assert "self.normalizer = normalizer" in output and "x = self.normalizer(x)" in output


GIVEN = {
    "mean_variance_lists": [L("Normalization", "mean=[0.5, -1.0, 2.0, 0.0, 1.0, 3.0]", "variance=[4.0, 0.25, 1.0, 9.0, 1e-16, 2.0]")],
    "scalar_mean_variance_axis_none": [L("Normalization", "axis=None", "mean=0.3", "variance=2.0")],
    "mean_variance_from_variables": [L("Normalization", "mean=MEAN", "variance=VARIANCE")],
    "after_dense": [L("Dense", "3"), L("Normalization", "mean=[1.0, 2.0, 3.0]", "variance=[1.0, 4.0, 0.5]")],
    # invert=True: mean + x * max(sqrt(variance), 1e-7); the 1e-16 variance reaches Keras's floor
    "inverted": [L("Normalization", "mean=[0.5, -1.0, 2.0, 0.0, 1.0, 3.0]", "variance=[4.0, 0.25, 1.0, 9.0, 1e-16, 2.0]", "invert=True")],
}


@pytest.mark.parametrize("name", GIVEN)
def test_normalization_with_given_statistics(name, tmp_path):
    source = script([*GIVEN[name], 'keras.layers.Dense(1, activation="sigmoid")'])
    source = source.replace("keras.utils.set_random_seed", 'MEAN = x.mean(axis=0)\nVARIANCE = x.var(axis=0)\nkeras.utils.set_random_seed')
    assert_parity(source, tmp_path)


RESCALING = {
    "pixels": (IMAGE, [L("Rescaling", "1./255")]),
    "scale_and_offset": (IMAGE, [L("Rescaling", "scale=1 / 127.5", "offset=-1")]),
    "after_conv": (IMAGE, [L("Conv2D", "4", "3"), L("Rescaling", "0.5", "offset=0.25")]),
    "flat": (None, [L("Rescaling", "2.0"), L("Dense", "4", 'activation="relu"')]),
}


@pytest.mark.parametrize("name", RESCALING)
def test_rescaling(name, tmp_path):
    shape, layers = RESCALING[name]
    head = HEAD if shape is not None else HEAD[1:]
    assert_parity(script([*layers, *head], shape=shape), tmp_path)


CROPS_AND_RESIZES = {
    "center_crop_even": [L("CenterCrop", "4", "6")],
    "center_crop_odd_margins": [L("CenterCrop", "5", "3")],
    "center_crop_same_size": [L("CenterCrop", "8", "8")],
    "center_crop_after_conv": [L("Conv2D", "4", "3"), L("CenterCrop", "3", "4")],
    "resize_down": [L("Resizing", "5", "3")],
    "resize_up": [L("Resizing", "11", "16")],
    "resize_antialias_down": [L("Resizing", "3", "5", "antialias=True")],
    "resize_nearest_down": [L("Resizing", "5", "6", 'interpolation="nearest"')],
    "resize_nearest_up": [L("Resizing", "12", "10", 'interpolation="nearest"')],
    "resize_crop_to_aspect_ratio": [L("Resizing", "4", "7", "crop_to_aspect_ratio=True")],
    "resize_crop_to_aspect_ratio_tall": [L("Resizing", "9", "4", "crop_to_aspect_ratio=True", 'interpolation="nearest"')],
    "resize_after_conv_then_conv": [L("Conv2D", "4", "3"), L("Resizing", "9", "9"), L("Conv2D", "2", "3")],
}


@pytest.mark.parametrize("name", CROPS_AND_RESIZES)
def test_crops_and_resizes(name, tmp_path):
    assert_parity(script([*CROPS_AND_RESIZES[name], *HEAD], shape=IMAGE), tmp_path)


@pytest.mark.parametrize(
    "layer, message",
    [
        ('Resizing(4, 4, interpolation="bicubic")', "a=-0.75 where TensorFlow uses a=-0.5"),
        ('Resizing(4, 4, interpolation="area")', "area mode differs"),
        ("Resizing(4, 4, pad_to_aspect_ratio=True)", "pad_to_aspect_ratio=True"),
        ("CenterCrop(10, 4)", "Keras then resizes"),
        ("Rescaling([0.5, 1.0, 2.0])", "per-channel scales"),
        ("Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 1.0, 1.0], invert=INVERT)", "needs a literal True or False"),
        ("Normalization()", "adapt()"),
    ],
)
def test_untranslatable_preprocessing_is_a_diagnostic(layer, message):
    result = k2t.convert_source(script([f"keras.layers.{layer}", *HEAD], shape=IMAGE), "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], result.diagnostics
    assert message in result.diagnostics[0].message


def test_layer_object_used_outside_the_model_without_translation_is_a_diagnostic():
    source = textwrap.dedent(
        """\
        import keras
        dense = keras.layers.Dense(4)
        model = keras.Sequential([keras.Input(shape=(3,)), dense])
        print(dense.kernel_regularizer)
        """
    )
    result = k2t.convert_source(source, "case.py")
    assert [(d.code, d.line) for d in result.diagnostics] == [("K2T100", 2)], result.diagnostics
    assert "used outside a model (line 4)" in result.diagnostics[0].message


def test_calling_a_layer_object_on_data_is_a_diagnostic():
    source = adapt_script().replace("history = model.fit", "print(normalizer(x[:1]))\nhistory = model.fit")
    result = k2t.convert_source(source, "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T100"], result.diagnostics
    assert "calling the layer `normalizer` on data" in result.diagnostics[0].message


STRUCTURED = """\
import numpy as np
import pandas as pd
import tensorflow as tf
import keras
from keras import layers

rng = np.random.RandomState(0)
dataframe = pd.DataFrame({"age": rng.randint(30, 70, size=40), "chol": rng.normal(240.0, 40.0, size=40), "target": rng.randint(0, 2, size=40)})
val_dataframe = dataframe.sample(frac=0.25, random_state=1337)
train_dataframe = dataframe.drop(val_dataframe.index)


def dataframe_to_dataset(dataframe):
    dataframe = dataframe.copy()
    labels = dataframe.pop("target")
    return tf.data.Dataset.from_tensor_slices((dict(dataframe), labels))


train_ds = dataframe_to_dataset(train_dataframe).batch(8)
val_ds = dataframe_to_dataset(val_dataframe).batch(8)
age = keras.Input(shape=(1,), name="age")
chol = keras.Input(shape=(1,), name="chol")
age_normalizer = layers.Normalization()
age_normalizer.adapt(train_ds.map(lambda x, y: x["age"]).map(lambda x: tf.expand_dims(x, -1)))
chol_normalizer = layers.Normalization()
chol_normalizer.adapt(train_ds.map(lambda x, y: x["chol"]).map(lambda x: tf.expand_dims(x, -1)))
all_features = layers.concatenate([age_normalizer(age), chol_normalizer(chol)])
output = layers.Dense(1, activation="sigmoid")(layers.Dense(4, activation="relu")(all_features))
model = keras.Model([age, chol], output)
model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
model.fit(train_ds, epochs=2, validation_data=val_ds, verbose=0)
"""


def test_structured_data_columns_normalized_from_a_dataset_of_dataframe_columns(tmp_path):
    """keras.io's structured data classification, numeric columns: one Input per column of a pandas
    DataFrame, a Normalization adapted on a tf.data dataset of that column (Keras merges each batch's
    float32 statistics), and fit on batches of dicts keyed by the Input names."""
    import numpy as np

    from k2t.parity.capture import capture_first, run_keras, run_torch
    from k2t.parity.functional import keras_layers_for
    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    conversion = convert(STRUCTURED, "case.py")
    assert conversion.output is not None and not conversion.diagnostics, conversion.diagnostics
    kcap = capture_first(run_keras, STRUCTURED, tmp_path / "case.py", kind="fit")
    tcap = capture_first(run_torch, conversion, tmp_path / "case.py", kind="fit")
    kmodel, tmodel = kcap.args[0], tcap.args[0]
    adapted = [layer for layer in kmodel.layers if type(layer).__name__ == "Normalization"]
    for layer, attr in zip(adapted, ("age_normalizer", "chol_normalizer")):
        for statistic in ("mean", "variance"):
            np.testing.assert_allclose(getattr(getattr(tmodel, attr), statistic).numpy(), np.asarray(getattr(layer, statistic)), rtol=1e-6)
    plan = conversion.module_plan(type(tmodel).__name__)
    transfer_weights(kmodel, tmodel, plan, keras_layers_for(kmodel, plan))
    keras_history = kcap.function(*kcap.args, **kcap.kwargs).history
    torch_history = tcap.function(*tcap.args, **tcap.kwargs).history
    assert list(torch_history) == list(keras_history) and len(keras_history["val_loss"]) == 2
    for key, values in keras_history.items():
        np.testing.assert_allclose(torch_history[key], values, rtol=1e-4, atol=1e-6, err_msg=key)
