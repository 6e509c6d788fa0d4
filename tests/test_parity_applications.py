"""keras.applications models as torch modules: forward parity with Keras's weights transferred, frozen-base
fine-tuning parity, and the diagnostics of what is not translated (ImageNet weights)."""

import re
import textwrap

import pytest
from conftest import FIXTURES, requires_keras, requires_torch

import k2t

LAYER_TOL = 1e-4

FORWARD_CASES = {
    "mobilenet_v2_features": "keras.applications.MobileNetV2(input_shape=(64, 64, 3), include_top=False, weights=None)",
    # Odd sizes: Keras's correct_pad and "same" padding put a pad before as well as after.
    "mobilenet_v2_odd_max": 'keras.applications.MobileNetV2(input_shape=(33, 33, 3), include_top=False, weights=None, pooling="max")',
    "mobilenet_v2_alpha_avg": 'keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, include_top=False, weights=None, pooling="avg")',
    "mobilenet_v2_top": "keras.applications.MobileNetV2(input_shape=(32, 32, 3), weights=None, classes=5)",
    "resnet50_avg": 'keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")',
    "resnet50_top_logits": "keras.applications.ResNet50(weights=None, input_shape=(35, 35, 3), classes=4, classifier_activation=None)",
    # Flatten over 2x2x512: Keras's channels-last order feeds fc1.
    "vgg16_top": "keras.applications.VGG16(weights=None, input_shape=(64, 64, 3), classes=6)",
    "vgg16_max": 'keras.applications.vgg16.VGG16(include_top=False, weights=None, input_shape=(48, 48, 3), pooling="max")',
    # The input's Rescaling and Normalization, swish, squeeze-and-excitation, kernels 3 and 5 (correct_pad).
    "efficientnet_b0_features": "keras.applications.EfficientNetB0(input_shape=(64, 64, 3), include_top=False, weights=None)",
    # Width 1.1 and depth 1.2 (Keras's round_filters, round_repeats); odd sizes; the classifier on logits.
    "efficientnet_b2_top_logits": "keras.applications.efficientnet.EfficientNetB2(input_shape=(35, 35, 3), weights=None, classes=4, classifier_activation=None)",
}


def _randomize_statistics(keras_model, rng) -> None:
    """BatchNormalization (and EfficientNet's input Normalization, ConvNeXt's LayerNormalization and LayerScale)
    away from its identity start (gamma 1, beta 0, mean 0, variance 1), so that the comparison sees every
    BatchNorm's arithmetic."""
    import numpy as np

    for layer in keras_model.layers:
        if type(layer).__name__ in ("LayerScale", "LayerNormalization"):
            # ConvNeXt: LayerScale's gamma starts at 1e-6, which would hide each block's branch.
            layer.set_weights([rng.uniform(0.5, 1.5, weight.shape).astype("float32") for weight in layer.weights])
        if type(layer).__name__ == "Normalization" and layer.weights:  # ConvNeXt's holds constants
            size = layer.adapt_mean.shape[0]
            layer.set_weights(
                [
                    rng.uniform(0, 0.5, size).astype("float32"),
                    rng.uniform(0.05, 0.2, size).astype("float32"),
                    np.array(0),
                ]
            )
            layer.finalize_state()  # Keras's call reads the statistics finalize_state copies
        if type(layer).__name__ == "BatchNormalization":
            size = layer.moving_mean.shape[0]
            gamma, *others = (
                rng.uniform(0.5, 1.5, size).astype("float32"),
                rng.normal(0, 0.1, size).astype("float32"),
                rng.normal(0, 0.1, size).astype("float32"),
                rng.uniform(0.5, 1.5, size).astype("float32"),
            )
            layer.set_weights([gamma, *others] if layer.scale else others)  # InceptionV3's have no gamma


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
    # Pixels in [0, 255] for EfficientNet, which rescales them itself.
    scale = 255.0 if "EfficientNet" in call else 1.0
    images = rng.uniform(0, scale, size=(2, *keras_base.input_shape[1:])).astype("float32")
    expected = np.asarray(keras_base(images, training=False))
    with torch.no_grad():
        got = torch_base(torch.from_numpy(images)).numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= LAYER_TOL, np.abs(got - expected).max()


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize(
    "call",
    [
        'keras.applications.ResNet50(include_top=False, weights=None, pooling="avg")',
        "keras.applications.VGG16(include_top=False, weights=None)",
    ],
    ids=["resnet50_avg", "vgg16_maps"],
)
def test_without_the_classifier_any_image_size_matches_keras(call):
    """No input_shape without the classifier: Keras's (None, None, 3), images of any size; so the module."""
    import keras
    import numpy as np
    import torch

    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    source = f"import keras\n\nbase = {call}\nmodel = keras.Sequential([base, keras.layers.Dense(2)])\n"
    conversion = convert(source, "case.py")
    assert conversion.diagnostics == []
    namespace: dict = {}
    exec(compile(conversion.output, "case_torch.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    torch_base = namespace["base"].cpu().eval()
    keras.utils.set_random_seed(0)
    keras_base = eval(call, {"keras": keras})
    assert keras_base.input_shape == (None, None, None, 3)
    rng = np.random.RandomState(0)
    _randomize_statistics(keras_base, rng)
    transfer_weights(keras_base, torch_base, conversion.module_plan(type(torch_base).__name__))
    for size in ((32, 32), (40, 56)):
        images = rng.uniform(0, 1, size=(2, *size, 3)).astype("float32")
        expected = np.asarray(keras_base(images, training=False))
        with torch.no_grad():
            got = torch_base(torch.from_numpy(images)).numpy()
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= LAYER_TOL, (size, np.abs(got - expected).max())


# Issue 14's models, each at Keras's smallest input (32x32; 35 and 33 where odd sizes take other paddings):
# True for a whole forward pass (the smallest model of each family; ResNet50 is FORWARD_CASES's), else the
# layer list and parameter count only (a deeper stack of the same blocks, seconds more per case).
MORE_APPLICATIONS = {
    "vgg19_top": ("keras.applications.VGG19(weights=None, input_shape=(32, 32, 3), classes=3)", True),
    "resnet101_max": (
        'keras.applications.ResNet101(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="max")',
        False,
    ),
    "resnet152": (
        "keras.applications.resnet.ResNet152(include_top=False, weights=None, input_shape=(32, 32, 3))",
        False,
    ),
    # The strided LAST block's shortcut (a 1x1 max pooling) on odd sizes (9 -> 5, 5 -> 3, 3 -> 2).
    "resnet50v2_top_logits": (
        "keras.applications.ResNet50V2(weights=None, input_shape=(35, 35, 3), classes=4, classifier_activation=None)",
        True,
    ),
    "resnet101v2_avg": (
        'keras.applications.resnet_v2.ResNet101V2(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")',
        False,
    ),
    "resnet152v2": ("keras.applications.ResNet152V2(include_top=False, weights=None, input_shape=(32, 32, 3))", False),
    # The transitions' "valid" average pooling on an odd size (9 -> 4).
    "densenet121_top": ("keras.applications.DenseNet121(weights=None, input_shape=(33, 33, 3), classes=5)", True),
    "densenet169_max": (
        'keras.applications.densenet.DenseNet169(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="max")',
        False,
    ),
    "densenet201": ("keras.applications.DenseNet201(include_top=False, weights=None, input_shape=(32, 32, 3))", False),
}


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize(("call", "forward"), MORE_APPLICATIONS.values(), ids=MORE_APPLICATIONS.keys())
def test_more_applications_match_keras(call, forward):
    """Keras's layers in Keras's order (names, classes; the unnamed ones by class), its parameter count and
    output shape; and with ``forward``, the output with Keras's weights transferred."""
    _check_application(call, forward)


def _check_application(call: str, forward: bool):
    """The checks of test_more_applications_match_keras; returns the Keras model and the torch module."""
    import keras
    import numpy as np
    import torch

    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    conversion = convert(
        f"import keras\n\nbase = {call}\nshape, count = base.output_shape, base.count_params()\n", "case.py"
    )
    assert conversion.diagnostics == []
    namespace: dict = {}
    exec(compile(conversion.output, "case_torch.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    torch_base = namespace["base"].cpu().eval()
    keras.utils.set_random_seed(0)
    keras_base = eval(call, {"keras": keras})
    plan = conversion.module_plan(type(torch_base).__name__)
    keras_layers = [layer for layer in keras_base.layers if type(layer).__name__ != "InputLayer"]
    assert [layer_plan.keras_class for layer_plan in plan.layers] == [type(layer).__name__ for layer in keras_layers]
    assert [name or layer.name for name, layer in zip(plan.keras_layer_names, keras_layers)] == [
        layer.name for layer in keras_layers
    ]
    assert (namespace["shape"], namespace["count"]) == (keras_base.output_shape, keras_base.count_params())
    if not forward:
        return keras_base, torch_base
    rng = np.random.RandomState(0)
    _randomize_statistics(keras_base, rng)
    copied = transfer_weights(keras_base, torch_base, plan)
    assert len(copied) == sum(1 for layer in keras_layers if layer.weights)
    images = rng.uniform(0, 1, size=(2, *keras_base.input_shape[1:])).astype("float32")
    expected = np.asarray(keras_base(images, training=False))
    with torch.no_grad():
        got = torch_base(torch.from_numpy(images)).numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= LAYER_TOL, np.abs(got - expected).max()
    return keras_base, torch_base


# ConvNeXt and EfficientNetV2 at Keras's smallest input (32x32): the smallest model of each family forward, one
# more by its layer list and count only (the largest take 11-13 s each to build in Keras: not tested).
NEWER_APPLICATIONS = {
    # A model name of the script's own (every layer's prefix), the head on logits.
    "convnext_tiny_top_logits": (
        'keras.applications.ConvNeXtTiny(weights=None, input_shape=(32, 32, 3), classes=3, classifier_activation=None, name="mine")',
        True,
    ),
    # No PreStem Normalization; the unnamed pooling and LayerNormalization after it.
    "convnext_small_max": (
        'keras.applications.convnext.ConvNeXtSmall(include_top=False, include_preprocessing=False, weights=None, input_shape=(32, 32, 3), pooling="max")',
        False,
    ),
    # Fused and MBConv blocks, "same" padding; B0's input Rescaling and ImageNet Normalization (constants).
    "efficientnet_v2_b0_features": (
        "keras.applications.EfficientNetV2B0(include_top=False, weights=None, input_shape=(32, 32, 3))",
        True,
    ),
    # S's own table (expansion-1 fused blocks with a residual), its input Rescaling to [-1, 1], the classifier.
    "efficientnet_v2_s_top": (
        "keras.applications.efficientnet_v2.EfficientNetV2S(weights=None, input_shape=(32, 32, 3), classes=3)",
        False,
    ),
}


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize(("call", "forward"), NEWER_APPLICATIONS.values(), ids=NEWER_APPLICATIONS.keys())
def test_convnext_and_efficientnet_v2_match_keras(call, forward):
    """As test_more_applications_match_keras, for ConvNeXt (LayerScale, LayerNormalization, its stem and
    downsampling Keras Sequentials) and EfficientNetV2 (with each block's stochastic-depth Dropout rate)."""
    import torch

    keras_base, torch_base = _check_application(call, forward)
    keras_rates = [layer.rate for layer in keras_base.layers if type(layer).__name__ == "Dropout"]
    assert [module.p for module in torch_base.modules() if isinstance(module, torch.nn.Dropout)] == keras_rates


FINE_TUNE = {
    # The usual transfer-learning Sequential: a frozen base, pooling, a small head.
    "mobilenet_v2_sequential": """\
        base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None)
        base.trainable = False
        model = keras.Sequential([base, layers.GlobalAveragePooling2D(), layers.Dense(3, activation="softmax")])
        """,
    # Kaggle's deep learning course: the base written inside the model, frozen through model.layers[0].
    "resnet50_added_inline": """\
        model = keras.Sequential()
        model.add(keras.applications.ResNet50(input_shape=(32, 32, 3), include_top=False, pooling="avg", weights=None))
        model.add(layers.Dense(3, activation="softmax"))
        model.layers[0].trainable = False
        """,
    "mobilenet_v2_listed_inline": """\
        model = keras.Sequential([
            keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None),
            layers.GlobalAveragePooling2D(),
            layers.Dense(3, activation="softmax"),
        ])
        model.layers[0].trainable = False
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
    # Chollet's recipe (Deep Learning with Python, 5.3): every layer from block5_conv1 on trains, the rest is frozen.
    "vgg16_chollet_fine_tuning": """\
        conv_base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
        model = keras.Sequential([conv_base, layers.Flatten(), layers.Dense(3, activation="softmax")])
        conv_base.trainable = True
        set_trainable = False
        for layer in conv_base.layers:
            if layer.name == "block5_conv1":
                set_trainable = True
            if set_trainable:
                layer.trainable = True
            else:
                layer.trainable = False
        """,
    # A flag per layer from its position and name.
    "vgg16_enumerate_and_names": """\
        conv_base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
        for i, layer in enumerate(conv_base.layers):
            layer.trainable = i >= 11 and not layer.name.endswith("conv3")
        model = keras.Sequential([conv_base, layers.GlobalMaxPooling2D(), layers.Dense(3, activation="softmax")])
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
    ("call", "file"),
    [
        (
            'keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights="imagenet")',
            "MobileNetV2_imagenet_32x32_notop.pt",
        ),
        (
            "keras.applications.ResNet50(include_top=False, input_shape=(32, 32, 3))",
            "ResNet50_imagenet_32x32_notop.pt",
        ),  # Keras's default
    ],
    ids=["imagenet", "default_imagenet"],
)
def test_imagenet_weights_are_loaded_from_the_port_k2t_weights_makes(call, file):
    """tests/test_applications_imagenet.py ports and loads them."""
    source = f"import keras\n\nbase = {call}\n"
    result = k2t.convert_source(source, filename="train.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    assert f'base.load_state_dict(imagenet_weights("{file}"))' in result.output


PREPROCESS_SCRIPT = """\
import numpy as np
import keras

rng = np.random.RandomState(0)
images = rng.randint(0, 256, size=(2, 5, 5, 3)).astype("{dtype}")
out = keras.applications.{family}.preprocess_input(images)
"""


@requires_keras
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("family", ["mobilenet_v2", "resnet50", "vgg16", "efficientnet", "resnet_v2", "densenet"])
def test_preprocess_input_repeats_keras_arithmetic(family, dtype):
    """The family's mode ("tf", "caffe", "torch", or none for EfficientNet), and Keras's in-place change of a float
    array."""
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
    """A Keras model saved with an application's weights (fine-tuned, say), ported into the module of the script
    that says weights=None."""
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
            np.testing.assert_allclose(
                module.running_mean.numpy(), np.asarray(layer.moving_mean), atol=1e-5, err_msg=layer.name
            )
            np.testing.assert_allclose(
                module.running_var.numpy(), np.asarray(layer.moving_variance), atol=1e-5, err_msg=layer.name
            )


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
        ("from keras.applications.efficientnet import EfficientNetB3", "EfficientNetB3", "EfficientNetB3"),
    ],
)
def test_every_spelling_reaches_the_class_under_kerass_name(imported, call, class_name):
    """An application imported by its own name gives that name to the generated class (the import goes)."""
    source = f"{imported}\n\nbase = {call}(input_shape=(32, 32, 3), include_top=False, weights=None)\n"
    result = k2t.convert_source(source, filename="train.py")
    assert not result.diagnostics
    assert f"\nclass {class_name}(nn.Module):" in result.output
    assert f"\nbase = {class_name}().to(device)" in result.output
    assert not re.search(
        r"^\s*(import|from) (keras|tensorflow)\b", result.output, re.MULTILINE
    )  # no Keras or TensorFlow import left


MORE_SPELLINGS = """\
import numpy as np
import tensorflow as tf
import keras
from keras.applications import DenseNet121
from keras.applications.densenet import preprocess_input

images = np.zeros((2, 32, 32, 3), dtype="float32")
dense_images = preprocess_input(images.copy())
v2_images = tf.keras.applications.resnet_v2.preprocess_input(images.copy())
resnet = keras.applications.ResNet101(include_top=False, weights=None, input_shape=(32, 32, 3))
densenet = DenseNet121(include_top=False, weights=None, input_shape=(32, 32, 3))
resnet_v2 = tf.keras.applications.resnet_v2.ResNet50V2(include_top=False, weights=None, input_shape=(32, 32, 3))
"""


def test_more_applications_convert_in_script_spellings():
    """keras.applications.X, an application imported by name, tf.keras's family module, and two families'
    preprocess_input in one script: each model a class under Keras's name, each preprocess_input its own
    function in its family's mode."""
    result = k2t.convert_source(MORE_SPELLINGS, filename="train.py")
    assert not result.diagnostics
    for variable, class_name in (("resnet", "ResNet101"), ("densenet", "DenseNet121"), ("resnet_v2", "ResNet50V2")):
        assert f"\nclass {class_name}(nn.Module):" in result.output
        assert f"\n{variable} = {class_name}().to(device)" in result.output
    assert "\ndense_images = preprocess_input(images.copy())" in result.output
    assert "\nv2_images = preprocess_input_2(images.copy())" in result.output
    assert 'preprocess_input in "torch" mode' in result.output and 'preprocess_input in "tf" mode' in result.output
    assert not re.search(r"^\s*(import|from) (keras|tensorflow)\b", result.output, re.MULTILINE)


@requires_torch
@requires_keras
def test_efficientnet_stochastic_depth_rates_are_kerass():
    """Each residual block's Dropout(noise_shape=(None, 1, 1, 1)) rate, 0.2 * b / blocks over B3's 26 blocks
    (depth 1.4), as torch Dropouts on a per-sample mask (off in eval, and in `parity --exact`)."""
    import keras

    call = "keras.applications.EfficientNetB3(input_shape=(32, 32, 3), include_top=False, weights=None)"
    result = k2t.convert_source(f"import keras\n\nbase = {call}\n", filename="train.py")
    assert not result.diagnostics
    namespace: dict = {}
    exec(compile(result.output, "train_torch.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    keras_rates = [layer.rate for layer in eval(call, {"keras": keras}).layers if type(layer).__name__ == "Dropout"]
    torch_rates = [block.drop.p for block in namespace["base"].blocks if block.drop is not None]
    assert len(keras_rates) == 19
    assert torch_rates == keras_rates


NEWER_SPELLINGS = """\
import numpy as np
import tensorflow as tf
import keras
from keras.applications.efficientnet_v2 import EfficientNetV2B0, preprocess_input

images = np.zeros((2, 32, 32, 3), dtype="float32")
v2_images = preprocess_input(images)
convnext_images = keras.applications.convnext.preprocess_input(images)
large = tf.keras.applications.convnext.ConvNeXtLarge(include_top=False, weights=None, input_shape=(32, 32, 3))
v2 = EfficientNetV2B0(include_top=False, include_preprocessing=False, weights=None, input_shape=(32, 32, 3))
"""


def test_convnext_and_efficientnet_v2_convert_in_script_spellings():
    """ConvNeXt through tf.keras's family module, EfficientNetV2 imported by name (keras.applications.X is
    test_convnext_and_efficientnet_v2_match_keras's); their preprocess_input (a pass-through in Keras 3) as one
    generated function."""
    result = k2t.convert_source(NEWER_SPELLINGS, filename="train.py")
    assert not result.diagnostics
    for variable, class_name in (("large", "ConvNeXtLarge"), ("v2", "EfficientNetV2B0")):
        assert f"\nclass {class_name}(nn.Module):" in result.output
        assert f"\n{variable} = {class_name}().to(device)" in result.output
    assert "\nv2_images = preprocess_input(images)" in result.output
    assert "\nconvnext_images = preprocess_input(images)" in result.output
    assert result.output.count("\ndef preprocess_input(") == 1
    assert not re.search(r"^\s*(import|from) (keras|tensorflow)\b", result.output, re.MULTILINE)


DECODE_SCRIPT = """\
import numpy as np
import keras
from keras.applications.imagenet_utils import decode_predictions

rng = np.random.RandomState(0)
preds = rng.uniform(0, 1, size=(2, 1000)).astype("float32")
top3 = decode_predictions(preds, top=3)
top5 = keras.applications.convnext.decode_predictions(preds)
"""


@requires_torch
@requires_keras
def test_decode_predictions_reads_kerass_cached_class_index(tmp_path, monkeypatch):
    """imagenet_utils' function and a family's alias: Keras's result from the class index Keras caches under
    $KERAS_HOME/models (a small fake one here; Keras is handed the same dict, so nothing is downloaded), and a
    one-line error naming the file when it is missing."""
    import json

    import numpy as np
    import torch
    from keras.src.applications import imagenet_utils

    class_index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (tmp_path / "models").mkdir()
    cached = tmp_path / "models" / "imagenet_class_index.json"
    cached.write_text(json.dumps(class_index), encoding="utf-8")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", class_index)  # Keras's own cache: it reads no file
    result = k2t.convert_source(DECODE_SCRIPT, filename="predict.py")
    assert not result.diagnostics
    assert "\ntop5 = decode_predictions(preds)" in result.output
    assert not re.search(r"^\s*(import|from) (keras|tensorflow)\b", result.output, re.MULTILINE)
    keras_side: dict = {}
    exec(compile(DECODE_SCRIPT, "predict.py", "exec"), keras_side)  # noqa: S102 (the Keras script itself)
    torch_side: dict = {}
    exec(compile(result.output, "predict_torch.py", "exec"), torch_side)  # noqa: S102 (the test runs k2t's output)
    assert (torch_side["top3"], torch_side["top5"]) == (keras_side["top3"], keras_side["top5"])
    assert torch_side["decode_predictions"](torch.from_numpy(keras_side["preds"]), top=3) == keras_side["top3"]
    cached.unlink()
    with pytest.raises(FileNotFoundError) as missing:
        torch_side["decode_predictions"](np.zeros((1, 1000)))
    assert str(cached) in str(missing.value) and "\n" not in str(missing.value)


MORE_FORWARD_CASES = {
    # Width 0.5, two depthwise filters per channel; Keras's classifier as a 1x1 convolution.
    "mobilenet_top_logits": "keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.5, depth_multiplier=2, weights=None, classes=5, classifier_activation=None)",
    # Odd size: conv_pad's one row after, then a "valid" convolution, floors where "same" would round up.
    "mobilenet_odd_features": "keras.applications.MobileNet(input_shape=(33, 33, 3), include_top=False, weights=None)",
    # The model's Rescaling, hard_swish, squeeze-and-excitation with hard_sigmoid, the top's conv_2 and logits.
    "mobilenet_v3_small_top_logits": "keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), weights=None, classes=5, classifier_activation=None)",
    # Squeeze-and-excitation in ReLU blocks, width 0.75; odd size (correct_pad).
    "mobilenet_v3_large_features": "keras.applications.MobileNetV3Large(input_shape=(33, 33, 3), alpha=0.75, include_top=False, weights=None)",
    # ReLU everywhere, 3x3 kernels, no squeeze-and-excitation, no Rescaling.
    "mobilenet_v3_small_minimalistic_max": 'keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), minimalistic=True, include_preprocessing=False, include_top=False, weights=None, pooling="max")',
    # Unnamed shortcut convolutions, max pooling with padding "same".
    "xception_top": "keras.applications.Xception(input_shape=(71, 71, 3), weights=None, classes=5)",
    # Every convolution unnamed, BatchNormalization without scale, average pooling not counting the padding.
    "inception_v3_features": "keras.applications.InceptionV3(input_shape=(75, 75, 3), include_top=False, weights=None)",
}


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("call", MORE_FORWARD_CASES.values(), ids=MORE_FORWARD_CASES.keys())
def test_more_applications_match_keras_layer_by_layer(call):
    """The forward pass with Keras's weights transferred, and the plan's layers in Keras's order (what
    ``base.layers[:n]`` picks): Keras lists a graph's layers by depth, not as the builder calls them."""
    import keras
    import numpy as np
    import torch

    from k2t.parity.instrument import convert
    from k2t.translate.dims import static_int
    from k2t.weights import transfer_weights

    conversion = convert(f"import keras\n\nbase = {call}\n", "case.py")
    assert conversion.diagnostics == []
    namespace: dict = {}
    exec(compile(conversion.output, "case_torch.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    torch_base = namespace["base"].cpu().eval()
    keras.utils.set_random_seed(0)
    keras_base = eval(call, {"keras": keras})
    plan = conversion.module_plan(type(torch_base).__name__)
    keras_layers = [(layer.name, type(layer).__name__) for layer in keras_base.layers[1:]]  # the InputLayer aside
    # Keras's own names of the layers it leaves unnamed (conv2d_3, ...) count from the session's start.
    named = zip(plan.keras_layer_names, plan.layers, keras_layers)
    planned = [(name or keras_name, layer.keras_class) for name, layer, (keras_name, _) in named]
    assert planned == keras_layers
    assert (
        tuple(static_int(dim) for dim in plan.layers[-1].output_shape) == keras_base.output_shape[1:]
    )  # base.output_shape
    rng = np.random.RandomState(0)
    _randomize_statistics(keras_base, rng)
    copied = transfer_weights(keras_base, torch_base, plan)
    assert len(copied) == sum(1 for layer in keras_base.layers if layer.weights)
    assert sum(value.numel() for value in torch_base.state_dict().values()) == keras_base.count_params()  # nothing more
    # Pixels in [0, 255] for a model that rescales them itself.
    scale = 255.0 if "MobileNetV3" in call and "include_preprocessing=False" not in call else 1.0
    images = rng.uniform(0, scale, size=(2, *keras_base.input_shape[1:])).astype("float32")
    expected = np.asarray(keras_base(images, training=False))
    with torch.no_grad():
        got = torch_base(torch.from_numpy(images)).numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= LAYER_TOL, np.abs(got - expected).max()


MOBILE_AND_INCEPTION_SPELLINGS = """\
import numpy as np
import keras
import tensorflow as tf
from tensorflow.keras.applications import Xception
from keras.applications.mobilenet import MobileNet

images = np.zeros((2, 75, 75, 3), dtype="float32")
images = keras.applications.inception_v3.preprocess_input(images)
small = keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), include_top=False, weights=None)
large = tf.keras.applications.MobileNetV3Large(input_shape=(32, 32, 3), include_top=False, weights=None)
xception = Xception(input_shape=(71, 71, 3), include_top=False, weights=None)
inception = keras.applications.inception_v3.InceptionV3(input_shape=(75, 75, 3), include_top=False, weights=None)
mobilenet = MobileNet(input_shape=(32, 32, 3), include_top=False, weights=None)
"""


def test_more_applications_convert_from_the_scripts_spellings():
    """MobileNet, MobileNetV3Small/Large, Xception and InceptionV3 by attribute, from-import and module path,
    and a family's preprocess_input: each a generated class or function, no Keras left."""
    result = k2t.convert_source(MOBILE_AND_INCEPTION_SPELLINGS, filename="train.py")
    assert not result.diagnostics
    for name in ("MobileNetV3Small", "MobileNetV3Large", "Xception", "InceptionV3", "MobileNet"):
        assert f"\nclass {name}(nn.Module):" in result.output
    assert "\ndef preprocess_input(x):" in result.output
    assert not re.search(r"^\s*(import|from) (keras|tensorflow)\b", result.output, re.MULTILINE)


@requires_keras
@pytest.mark.parametrize("family", ["mobilenet", "mobilenet_v3", "xception", "inception_v3"])
def test_more_preprocess_input_repeat_kerass_arithmetic(family):
    """ "tf" mode for MobileNet, Xception and InceptionV3; MobileNetV3's returns x (its model rescales)."""
    test_preprocess_input_repeats_keras_arithmetic(family, "float32")


@pytest.mark.parametrize(
    ("call", "at", "message"),
    [
        (
            "keras.applications.Xception(input_shape=(70, 71, 3), include_top=False, weights=None)",
            "70",
            "smaller than 71x71",
        ),
        (
            "keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), minimalistic=1, weights=None)",
            "1,",
            "must be True or False",
        ),
        (
            "keras.applications.MobileNet(input_shape=(32, 32, 3), depth_multiplier=0.5, weights=None)",
            "0.5",
            "a positive integer",
        ),
        (
            "keras.applications.InceptionV3(input_shape=(75, 75, 3), classes=10)",
            "10",
            "its classifier has 1000 classes",
        ),
    ],
    ids=["xception_too_small", "minimalistic_not_bool", "depth_multiplier_float", "inception_default_imagenet_classes"],
)
def test_more_applications_diagnose_what_keras_refuses(call, at, message):
    """At the argument (Keras's default weights are "imagenet", whose classifier has 1000 classes)."""
    result = k2t.convert_source(f"import keras\n\nbase = {call}\n", filename="train.py")
    (diagnostic,) = result.diagnostics
    assert (diagnostic.line, diagnostic.column, diagnostic.code) == (3, len("base = ") + call.index(at) + 1, "K2T102")
    assert message in diagnostic.message


# Keras's own fine-tuning recipe (the applications docs, Keras 2 courses): the head on `base_model.output`, the
# model from `base_model.input`. Keras builds that model from the base's own layers (no nested model: its
# model.layers lists the base's layers one by one), which k2t writes as the base's module called in forward.
OUTPUT_AND_INPUT = """\
import keras
from keras import layers

base_model = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None)
x = base_model.output
x = layers.GlobalAveragePooling2D()(x)
predictions = layers.Dense(3, activation="softmax")(x)
model = keras.models.Model(inputs=base_model.input, outputs=predictions)
"""


@requires_torch
@requires_keras
@pytest.mark.parity
def test_a_head_on_an_applications_output_predicts_as_keras():
    import keras
    import numpy as np
    import torch

    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    conversion = convert(OUTPUT_AND_INPUT, "case.py")
    assert conversion.diagnostics == []
    assert "model = Net(base_model=base_model).to(device)" in conversion.output
    namespace: dict = {}
    exec(compile(conversion.output, "case_torch.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    keras_namespace: dict = {}
    keras.utils.set_random_seed(0)
    exec(compile(OUTPUT_AND_INPUT, "case.py", "exec"), keras_namespace)  # noqa: S102 (the test's own script)
    keras_base, keras_model = keras_namespace["base_model"], keras_namespace["model"]
    assert "Functional" not in [type(layer).__name__ for layer in keras_model.layers]  # the base's layers, flat
    torch_base, torch_model = namespace["base_model"].cpu().eval(), namespace["model"].cpu().eval()
    rng = np.random.RandomState(0)
    _randomize_statistics(keras_base, rng)
    transfer_weights(keras_base, torch_base, conversion.module_plan(type(torch_base).__name__))
    kernel, bias = keras_model.layers[-1].get_weights()
    with torch.no_grad():
        torch_model.dense.weight.copy_(torch.from_numpy(kernel.T))
        torch_model.dense.bias.copy_(torch.from_numpy(bias))
    images = rng.uniform(0, 1, size=(2, 32, 32, 3)).astype("float32")
    expected = np.asarray(keras_model(images, training=False))
    with torch.no_grad():
        got = torch_model(torch.from_numpy(images)).numpy()
    assert got.shape == expected.shape == (2, 3)
    assert np.abs(got - expected).max() <= LAYER_TOL, np.abs(got - expected).max()


@pytest.mark.parametrize("read", ["for layer in model.layers[:100]:\n    layer.trainable = False\n", "print(len(model.layers))\n"])
def test_layers_by_position_of_a_model_built_on_an_applications_output_are_reported(read):
    """Keras lists the base's own layers in such a model (`for layer in model.layers[:249]` of Keras's InceptionV3
    recipe freezes base layers); k2t's module holds the base as one submodule, so it reports those reads."""
    import k2t

    source = OUTPUT_AND_INPUT + read
    result = k2t.convert_source(source, "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T103"], [d.format() for d in result.diagnostics]
    assert "built on `base_model.output`" in result.diagnostics[0].message
