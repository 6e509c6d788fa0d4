"""keras.applications models as torch modules: forward parity with Keras's weights transferred, frozen-base
fine-tuning parity, and the diagnostics of what is not translated (ImageNet weights)."""

import re
import textwrap

import pytest
from conftest import FIXTURES, requires_keras, requires_torch

import k2t

LAYER_TOL = 1e-4

FORWARD_CASES = {
    "mobilenet_v2_features": 'keras.applications.MobileNetV2(input_shape=(64, 64, 3), include_top=False, weights=None)',
    # Odd sizes: Keras's correct_pad and "same" padding put a pad before as well as after.
    "mobilenet_v2_odd_max": 'keras.applications.MobileNetV2(input_shape=(33, 33, 3), include_top=False, weights=None, pooling="max")',
    "mobilenet_v2_alpha_avg": 'keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, include_top=False, weights=None, pooling="avg")',
    "mobilenet_v2_top": "keras.applications.MobileNetV2(input_shape=(32, 32, 3), weights=None, classes=5)",
    "resnet50_avg": 'keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")',
    "resnet50_top_logits": "keras.applications.ResNet50(weights=None, input_shape=(35, 35, 3), classes=4, classifier_activation=None)",
    # Flatten over 2x2x512: Keras's channels-last order feeds fc1.
    "vgg16_top": "keras.applications.VGG16(weights=None, input_shape=(64, 64, 3), classes=6)",
    "vgg16_max": 'keras.applications.vgg16.VGG16(include_top=False, weights=None, input_shape=(48, 48, 3), pooling="max")',
}


def _randomize_statistics(keras_model, rng) -> None:
    """BatchNormalization away from its identity start (gamma 1, beta 0, mean 0, variance 1), so that the
    comparison sees every BatchNorm's arithmetic."""
    for layer in keras_model.layers:
        if type(layer).__name__ == "BatchNormalization":
            size = layer.gamma.shape[0]
            layer.set_weights([
                rng.uniform(0.5, 1.5, size).astype("float32"),
                rng.normal(0, 0.1, size).astype("float32"),
                rng.normal(0, 0.1, size).astype("float32"),
                rng.uniform(0.5, 1.5, size).astype("float32"),
            ])


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("call", FORWARD_CASES.values(), ids=FORWARD_CASES.keys())
def test_forward_matches_keras_with_transferred_weights(call):
    import keras
    import numpy as np
    import torch

    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    source = f"import keras\n\nbase = {call}\n"
    conversion = convert(source, "case.py")
    assert conversion.diagnostics == []
    namespace: dict = {}
    exec(compile(conversion.output, "case_torch.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    torch_base = namespace["base"].cpu().eval()
    keras.utils.set_random_seed(0)
    keras_base = eval(call, {"keras": keras})
    rng = np.random.RandomState(0)
    _randomize_statistics(keras_base, rng)
    plan = conversion.module_plan(type(torch_base).__name__)
    copied = transfer_weights(keras_base, torch_base, plan)
    assert len(copied) == sum(1 for layer in keras_base.layers if layer.weights)
    images = rng.uniform(0, 1, size=(2, *keras_base.input_shape[1:])).astype("float32")
    expected = np.asarray(keras_base(images, training=False))
    with torch.no_grad():
        got = torch_base(torch.from_numpy(images)).numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= LAYER_TOL, np.abs(got - expected).max()


FINE_TUNE = {
    # The usual transfer-learning Sequential: a frozen base, pooling, a small head.
    "mobilenet_v2_sequential": """\
        base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None)
        base.trainable = False
        model = keras.Sequential([base, layers.GlobalAveragePooling2D(), layers.Dense(3, activation="softmax")])
        """,
    # The Functional form, with the base called in inference mode.
    "resnet50_functional": """\
        base = keras.applications.ResNet50(input_shape=(32, 32, 3), include_top=False, weights=None)
        base.trainable = False
        inputs = keras.Input(shape=(32, 32, 3))
        x = base(inputs, training=False)
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dropout(0.2)(x)
        outputs = layers.Dense(3, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        """,
}


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("body", FINE_TUNE.values(), ids=FINE_TUNE.keys())
def test_frozen_base_fine_tune_matches_keras(body, tmp_path):
    from k2t.parity import exact_parity

    source = (
        "import numpy as np\nimport keras\nfrom keras import layers\n\n"
        "rng = np.random.RandomState(0)\n"
        "images = rng.uniform(0, 1, size=(16, 32, 32, 3)).astype('float32')\n"
        "labels = rng.randint(0, 3, size=(16,))\n"
        "keras.utils.set_random_seed(0)\n"
        + textwrap.dedent(body)
        + 'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
        + "model.fit(images, labels, batch_size=8, epochs=2, verbose=0)\n"
    )
    report = exact_parity(source, epochs=2, path=tmp_path / "case.py")
    assert report.error is None, report.error
    assert report.ok, "\n".join(report.failures)
    assert len(report.torch_history["loss"]) == 2


@requires_torch
@requires_keras
@pytest.mark.parity
def test_transfer_learning_fixture_matches_keras():
    """The guides' recipe as a real script: preprocess_input on the arrays, a frozen MobileNetV2 called with
    training=False, a head on logits, fit with validation data."""
    from k2t.parity import exact_parity

    path = FIXTURES / "mobilenet_v2_transfer" / "input.py"
    report = exact_parity(path.read_text(encoding="utf-8"), epochs=3, path=path)
    assert report.error is None, report.error
    assert report.ok, report.format()
    assert list(report.torch_history) == list(report.keras_history) == ["accuracy", "loss", "val_accuracy", "val_loss"]


@pytest.mark.parametrize(
    ("call", "column"),
    [
        # At the argument, or at the call when Keras's default (imagenet) applies.
        ('keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights="imagenet")', len("base = ") + 83 + 1),
        ("keras.applications.ResNet50(include_top=False, input_shape=(32, 32, 3))", len("base = ") + 1),
    ],
    ids=["imagenet", "default_imagenet"],
)
def test_imagenet_weights_point_at_k2t_weights(call, column):
    source = f"import keras\n\nbase = {call}\n"
    result = k2t.convert_source(source, filename="train.py")
    (diagnostic,) = result.diagnostics
    assert (diagnostic.line, diagnostic.column, diagnostic.code) == (3, column, "K2T102")
    assert "k2t weights" in diagnostic.message



PREPROCESS_SCRIPT = """\
import numpy as np
import keras

rng = np.random.RandomState(0)
images = rng.randint(0, 256, size=(2, 5, 5, 3)).astype("{dtype}")
out = keras.applications.{family}.preprocess_input(images)
"""


@requires_keras
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("family", ["mobilenet_v2", "resnet50", "vgg16"])
def test_preprocess_input_repeats_keras_arithmetic(family, dtype):
    """The family's mode ("tf" or "caffe"), and Keras's in-place change of a float array."""
    import numpy as np

    source = PREPROCESS_SCRIPT.format(family=family, dtype=dtype)
    result = k2t.convert_source(source, filename="train.py")
    assert not result.diagnostics
    assert "import keras" not in result.output
    keras_side: dict = {}
    exec(compile(source, "train.py", "exec"), keras_side)  # noqa: S102 (the Keras script itself)
    torch_side: dict = {}
    exec(compile(result.output, "train_torch.py", "exec"), torch_side)  # noqa: S102 (the test runs k2t's output)
    for name in ("out", "images"):
        assert torch_side[name].dtype == keras_side[name].dtype
        np.testing.assert_array_equal(torch_side[name], keras_side[name])


@requires_torch
@requires_keras
@pytest.mark.parametrize(
    "call",
    [
        "keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=7)",
        'keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="max")',
    ],
    ids=["mobilenet_v2", "resnet50"],
)
def test_shape_and_parameter_count_match_keras(call):
    """``base.output_shape`` and ``base.count_params()`` (BatchNormalization's moving statistics counted)."""
    source = f"import keras\n\nbase = {call}\nshape, count = base.output_shape, base.count_params()\nbase.summary()\n"
    result = k2t.convert_source(source, filename="train.py")
    assert not result.diagnostics
    keras_side: dict = {}
    exec(compile(source, "train.py", "exec"), keras_side)  # noqa: S102 (the Keras script itself)
    torch_side: dict = {}
    exec(compile(result.output, "train_torch.py", "exec"), torch_side)  # noqa: S102 (the test runs k2t's output)
    assert (torch_side["shape"], torch_side["count"]) == (keras_side["shape"], keras_side["count"])


@requires_torch
@requires_keras
def test_k2t_weights_ports_a_saved_model_holding_an_application(tmp_path):
    """What the weights="imagenet" diagnostic advises: the Keras model saved with its weights, ported into the
    module of the script that says weights=None."""
    import keras
    import numpy as np

    from k2t.trained import convert_trained

    script = tmp_path / "train.py"
    script.write_text(
        "import keras\nfrom keras import layers\n\n"
        "base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None)\n"
        "base.trainable = False\n"
        'model = keras.Sequential([base, layers.GlobalAveragePooling2D(), layers.Dense(3, activation="softmax")])\n',
        encoding="utf-8",
    )
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None)
    _randomize_statistics(base, np.random.RandomState(0))  # weights as a trained model holds them
    model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    model.save(tmp_path / "m.keras")
    report = convert_trained(tmp_path / "m.keras", script, tmp_path / "m.pt")
    assert report.ok, report.format()
    assert len(report.copied) == 1 + sum(1 for layer in base.layers if layer.weights)  # and the Dense
    assert (tmp_path / "m.pt").exists()


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize(
    "call",
    [
        'keras.applications.MobileNetV2(input_shape=(64, 64, 3), include_top=False, weights=None, pooling="avg")',
        'keras.applications.ResNet50(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg")',
    ],
    ids=["mobilenet_v2", "resnet50"],
)
def test_training_mode_batch_norm_matches_keras(call):
    """A trainable base in training mode: every BatchNormalization's moving statistics updated with Keras's
    momentum (0.999 for MobileNetV2, 0.99 for ResNet50) from the biased batch variance.

    Outputs and whole-base fine-tuning are not compared: at random initialisation these deep networks are so
    ill-conditioned in training mode (batch statistics over a few values in the last stages) that float32
    rounding alone (torch float32 against float64) moves the outputs by about 1e-4 and the first layer's
    gradient by about 1%."""
    import keras
    import numpy as np
    import torch

    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    conversion = convert(f"import keras\n\nbase = {call}\n", "case.py")
    namespace: dict = {}
    exec(compile(conversion.output, "case_torch.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    torch_base = namespace["base"].cpu().train()
    keras.utils.set_random_seed(0)
    keras_base = eval(call, {"keras": keras})
    rng = np.random.RandomState(0)
    _randomize_statistics(keras_base, rng)
    plan = conversion.module_plan(type(torch_base).__name__)
    transfer_weights(keras_base, torch_base, plan)
    images = rng.uniform(0, 1, size=(4, 64, 64, 3)).astype("float32")
    keras_base(images, training=True)
    with torch.no_grad():
        torch_base(torch.from_numpy(images))
    paths = dict(zip(plan.keras_layer_names, (layer.attr for layer in plan.layers)))
    for layer in keras_base.layers:
        if type(layer).__name__ == "BatchNormalization":
            module = torch_base.get_submodule(paths[layer.name])
            np.testing.assert_allclose(module.running_mean.numpy(), np.asarray(layer.moving_mean), atol=1e-5, err_msg=layer.name)
            np.testing.assert_allclose(module.running_var.numpy(), np.asarray(layer.moving_variance), atol=1e-5, err_msg=layer.name)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_parity_harness_compares_an_application_model_on_its_output(tmp_path):
    """An application fitted as the script's model: the harness cannot walk its graph as a chain of layers (the
    residual Adds take two inputs), so it compares the model's output, with a note saying so."""
    from k2t.parity import exact_parity

    source = (
        "import numpy as np\nimport keras\n\n"
        "rng = np.random.RandomState(0)\n"
        "x = rng.uniform(-1, 1, size=(8, 32, 32, 3)).astype('float32')\n"
        "y = rng.randint(0, 5, size=(8,))\n"
        "keras.utils.set_random_seed(0)\n"
        "model = keras.applications.MobileNetV2(input_shape=(32, 32, 3), weights=None, classes=5)\n"
        'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\n'
        "model.fit(x, y, epochs=1, batch_size=8, verbose=0)\n"
    )
    report = exact_parity(source, epochs=1, path=tmp_path / "case.py")
    assert report.error is None, report.error
    assert [name for name, _ in report.layer_diffs] == ["output"], report.format()
    assert report.layer_diffs[0][1] <= LAYER_TOL, report.format()
    assert report.ok, report.format()  # one batch: the loss of the first training-mode pass
    assert "MobileNetV2: a keras.applications model, compared on its output" in report.notes


@pytest.mark.parametrize(
    ("imported", "call", "class_name"),
    [
        ("from tensorflow.keras.applications import MobileNetV2", "MobileNetV2", "MobileNetV2"),
        ("from keras.applications.resnet50 import ResNet50", "ResNet50", "ResNet50"),
        ("import tensorflow as tf", "tf.keras.applications.VGG16", "VGG16"),
    ],
)
def test_every_spelling_reaches_the_class_under_kerass_name(imported, call, class_name):
    """An application imported by its own name gives that name to the generated class (the import goes)."""
    source = f"{imported}\n\nbase = {call}(input_shape=(32, 32, 3), include_top=False, weights=None)\n"
    result = k2t.convert_source(source, filename="train.py")
    assert not result.diagnostics
    assert f"\nclass {class_name}(nn.Module):" in result.output
    assert f"\nbase = {class_name}().to(device)" in result.output
    assert not re.search(r"^\s*(import|from) (keras|tensorflow)\b", result.output, re.MULTILINE)  # no Keras or TensorFlow import left
