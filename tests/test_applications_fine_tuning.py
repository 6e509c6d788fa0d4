"""Partial unfreezing of a keras.applications base (the fine-tuning guides' ``base.layers[:N]`` and
``base.layers[-20:]`` loops): the same weights train on both sides, and what k2t cannot map is a located
diagnostic."""

import textwrap

import pytest
from conftest import requires_keras, requires_torch

import k2t

UNFREEZING = {
    # keras.io's transfer-learning guide: the whole base unfrozen, then its first layers frozen again.
    "efficientnet_first_layers_frozen": """\
        base = keras.applications.EfficientNetB0(input_shape=(32, 32, 3), include_top=False, weights=None)
        base.trainable = False
        model = keras.Sequential([base, layers.GlobalAveragePooling2D(), layers.Dense(3)])
        base.trainable = True
        for layer in base.layers[:100]:
            layer.trainable = False
        """,
    # keras.io's EfficientNet fine-tuning example: the last 20 layers unfrozen but their BatchNormalization.
    "efficientnet_top_layers_but_batch_norm": """\
        base = keras.applications.EfficientNetB0(input_shape=(32, 32, 3), include_top=False, weights=None)
        base.trainable = False
        base.trainable = True
        for layer in base.layers[:-20]:
            layer.trainable = False
        for layer in base.layers[-20:]:
            if isinstance(layer, layers.BatchNormalization):
                layer.trainable = False
        """,
    # TensorFlow's transfer-learning tutorial (fine_tune_at = 100), one layer by name and one by index.
    "mobilenet_v2_fine_tune_at": """\
        base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None)
        base.trainable = False
        base.trainable = True
        fine_tune_at = 100
        for layer in base.layers[:fine_tune_at]:
            layer.trainable = False
        base.get_layer("Conv_1").trainable = False
        base.layers[-2].trainable = False
        """,
    # Keras lists a first residual block's shortcut beside its third convolution (by depth).
    "resnet50_slice": """\
        base = keras.applications.ResNet50(input_shape=(32, 32, 3), include_top=False, weights=None)
        for layer in base.layers[:15]:
            layer.trainable = False
        """,
}


def _trainable_layers_keras(base) -> tuple[set[str], int]:
    import numpy as np

    names = {layer.name for layer in base.layers if layer.trainable_weights}
    return names, int(sum(np.prod(weight.shape) for weight in base.trainable_weights))


def _trainable_layers_torch(base, plan) -> tuple[set[str], int]:
    from k2t.weights import submodule

    names = set()
    for name, layer in zip(plan.keras_layer_names, plan.layers):
        if layer.attr and any(p.requires_grad for p in submodule(base, layer.attr).parameters()):
            names.add(name)
    return names, sum(p.numel() for p in base.parameters() if p.requires_grad)


@requires_torch
@requires_keras
@pytest.mark.parametrize("body", UNFREEZING.values(), ids=UNFREEZING.keys())
def test_unfreezing_trains_the_weights_keras_trains(body):
    """Which layers hold trainable weights, by Keras's names, and how many trainable values in all."""
    from k2t.parity.instrument import convert

    source = "import keras\nfrom keras import layers\n\n" + textwrap.dedent(body)
    conversion = convert(source, "train.py")
    assert conversion.diagnostics == []
    keras_side: dict = {}
    exec(compile(source, "train.py", "exec"), keras_side)  # noqa: S102 (the Keras script itself)
    torch_side: dict = {}
    exec(compile(conversion.output, "train_torch.py", "exec"), torch_side)  # noqa: S102 (the test runs k2t's output)
    plan = conversion.module_plan(type(torch_side["base"]).__name__)
    expected = _trainable_layers_keras(keras_side["base"])
    assert expected[0], "the case trains some layers"
    assert _trainable_layers_torch(torch_side["base"], plan) == expected


@requires_torch
def test_frozen_batch_norm_of_a_partly_unfrozen_base_runs_in_inference_mode():
    """Keras's rule: a BatchNormalization whose layer is frozen uses its moving statistics in training too,
    while the unfrozen ones normalise with the batch's statistics."""
    import torch

    source = textwrap.dedent(UNFREEZING["efficientnet_first_layers_frozen"])
    result = k2t.convert_source("import keras\nfrom keras import layers\n\n" + source, filename="train.py")
    assert not result.diagnostics
    namespace: dict = {}
    exec(compile(result.output, "train_torch.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    base = namespace["base"].cpu().train()
    with torch.no_grad():
        base(torch.rand(2, 32, 32, 3) * 255)
    assert base.stem_bn.running_var.eq(1).all()  # frozen (layer 4 of 100): not updated
    assert not base.top_bn.running_var.eq(1).all()  # trainable: updated from the batch


@pytest.mark.parametrize(
    ("statement", "column", "message"),
    [
        ("base.layers[400].trainable = False", 1, "EfficientNetB0 has 237 layers (Keras raises IndexError)"),
        ('base.get_layer("block9a_dwconv").trainable = False', 1, "EfficientNetB0 has no layer named 'block9a_dwconv'"),
        ("for layer in base.layers[:n]:\n    layer.trainable = False", 14, "k2t needs the bounds of `base.layers[:n]`"),
    ],
    ids=["index", "name", "unknown_bound"],
)
def test_layers_k2t_cannot_pick_are_located_diagnostics(statement, column, message):
    source = (
        "import keras\n\nn = int(input())\n"
        "base = keras.applications.EfficientNetB0(input_shape=(32, 32, 3), include_top=False, weights=None)\n"
        f"{statement}\n"
    )
    result = k2t.convert_source(source, filename="train.py")
    (diagnostic,) = result.diagnostics
    assert (diagnostic.line, diagnostic.column) == (5, column)
    assert message in diagnostic.message


def test_unfreezing_layers_of_a_frozen_base_changes_nothing():
    """Keras trains no weight of a model whose own flag is False (a warning, the loop left out); a
    BatchNormalization made trainable there would normalise with batch statistics (a located K2T140)."""
    source = textwrap.dedent("""\
        import keras
        from keras import layers

        base = keras.applications.EfficientNetB0(input_shape=(32, 32, 3), include_top=False, weights=None)
        base.trainable = False
        for layer in base.layers[-20:]:
            if not isinstance(layer, layers.BatchNormalization):
                layer.trainable = True
        base.layers[-2].trainable = True
        """)
    result = k2t.convert_source(source, filename="train.py")
    found = [(d.line, d.column, d.code, d.severity.value) for d in result.diagnostics]
    assert found == [(6, 1, "K2T142", "warning"), (9, 1, "K2T140", "error")]
    assert "for layer in" not in result.output


# ------------------------------------------------- a loop body deciding each layer's flag
PROGRAM_HEAD = """\
import numpy as np
import keras
from keras import layers

conv_base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
model = keras.Sequential([conv_base, layers.Flatten(), layers.Dense(1, activation="sigmoid")])
"""
PROGRAM_TAIL = """\
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(np.zeros((4, 32, 32, 3)), np.zeros(4), epochs=1)
"""


def _program(body: str):
    return k2t.convert_source(PROGRAM_HEAD + textwrap.dedent(body) + PROGRAM_TAIL, "train.py")


def test_a_flag_per_layer_becomes_one_freezing_loop_per_flag():
    result = _program(
        """\
        set_trainable = False
        for layer in conv_base.layers:
            if layer.name == "block5_conv1":
                set_trainable = True
            layer.trainable = set_trainable
        """
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    frozen, trained = result.output.split("layer.requires_grad_(False)")
    frozen = frozen[frozen.rindex("for layer in (") :]
    assert frozen.count("conv_base.block") == 10 and "block5" not in frozen  # block1-4's ten convolutions
    trained = "".join(trained.split())  # black may wrap the tuple
    assert "forlayerin(conv_base.block5.convs[0],conv_base.block5.convs[1],conv_base.block5.convs[2]):" in trained
    assert "conv_base.layers" not in result.output and "layer.trainable" not in result.output
    assert "set_trainable = False" in result.output  # the script's own variable stays


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            "for layer in conv_base.layers:\n    if layer.name in SCRIPT_NAMES:\n        layer.trainable = False\n",
            "K2T103",
            "reads `SCRIPT_NAMES`, which k2t cannot know",
        ),
        (
            "for i, layer in enumerate(conv_base.layers):\n    layer.trainable = i < layer.name\n",
            "K2T140",
            "Python raises TypeError here",
        ),
        (
            "for layer in conv_base.layers:\n    if flag_after:\n        layer.trainable = False\n    flag_after = True\n",
            "K2T140",
            "`flag_after` is read before the loop gives it a value",
        ),
    ],
    ids=["unknown_name", "type_error", "read_before_bound"],
)
def test_what_a_flag_loop_cannot_run_is_reported(body, code, message):
    source_body = "SCRIPT_NAMES = set(open('names.txt').read().split())\n" + body
    result = _program(source_body)
    assert any(d.code == code and message in d.message for d in result.diagnostics), [
        d.format() for d in result.diagnostics
    ]


def test_a_flag_loop_in_a_function_called_with_other_flags_is_reported():
    # Written once in build(), the loop's lines would run both calls' flags at each call.
    source = (
        "import numpy as np\nimport keras\nfrom keras import layers\n\n\n"
        "def build(first_trained):\n"
        "    conv_base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))\n"
        "    for layer in conv_base.layers:\n"
        "        layer.trainable = layer.name >= first_trained\n"
        "    model = keras.Sequential([conv_base, layers.Flatten(), layers.Dense(1, activation='sigmoid')])\n"
        "    model.compile(optimizer='adam', loss='binary_crossentropy')\n"
        "    return model\n\n\n"
        "a = build('block5_conv1')\nb = build('block4_conv1')\n"
    )
    result = k2t.convert_source(source, "train.py")
    assert any(d.code == "K2T103" and d.line == 8 for d in result.diagnostics), [d.format() for d in result.diagnostics]
    assert "requires_grad_" not in result.output.split("def build(")[1]


CALLED_TWICE = """\
import numpy as np
import keras
from keras import layers


def build(fine_tune_from):
    conv_base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    set_trainable = False
    for layer in conv_base.layers:
        if layer.name == fine_tune_from:
            set_trainable = True
        layer.trainable = set_trainable
    model = keras.Sequential([conv_base, layers.Flatten(), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


model = build("block5_conv1")
other = build("block4_conv1")
model.fit(np.zeros((4, 32, 32, 3)), np.zeros(4), epochs=1)
"""


def test_a_flag_loop_walked_per_call_with_other_flags_is_reported():
    result = k2t.convert_source(CALLED_TWICE, "train.py")
    assert any(d.code == "K2T103" and "other flags at each walk" in d.message for d in result.diagnostics), [
        d.format() for d in result.diagnostics
    ]
