"""keras.applications with weights="imagenet" (Keras's default): the converted script builds the architecture and
loads Keras's ImageNet weights, which `k2t weights --imagenet SCRIPT` ports once from the weight file Keras
downloads and caches, into Keras's cache ($KERAS_HOME/models). The tests never download: Keras's download is
replaced by a weight file the test writes (random weights, saved by Keras itself)."""

import textwrap

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import requires_keras, requires_torch

import k2t
from k2t.cli import main

SCRIPT = textwrap.dedent(
    """\
    import keras

    IMAGE_SIZE = 32
    base = keras.applications.MobileNetV2(input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3), include_top=False, alpha=0.35, pooling="avg")
    base.trainable = False
    model = keras.Sequential([base, keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    """
)
FILE = "MobileNetV2_imagenet_32x32_notop_alpha-0.35.pt"


def test_the_converted_script_loads_the_ported_weights_after_building_the_architecture():
    result = k2t.convert_source(SCRIPT, "train.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    lines = result.output.splitlines()
    built = lines.index("base = MobileNetV2().to(device)")
    assert lines[built + 1 : built + 3] == ["# Keras's ImageNet weights", f'base.load_state_dict(imagenet_weights("{FILE}"))']
    assert "--imagenet train.py" in result.output  # the message names the script


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('weights="imagenet", classes=10', "Keras refuses it (its classifier has 1000 classes)"),
        ("weights=3", "k2t takes None, \"imagenet\" or the path of Keras's weight file"),
        ('weights="imagenet", include_top=False, input_shape=(32, 32, 1)', "on 1 channels: Keras refuses it"),
    ],
)
def test_what_keras_refuses_or_k2t_does_not_port_is_located(arguments, message):
    result = k2t.convert_source(f"import keras\n\nbase = keras.applications.MobileNetV2({arguments})\n", "train.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], [d.format() for d in result.diagnostics]
    assert message in result.diagnostics[0].message


def _loader(tmp_path, monkeypatch):
    """The converted script's imagenet_weights(), with Keras's cache in tmp_path."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    namespace: dict = {}
    output = k2t.convert_source(SCRIPT, "train.py").output
    start = output.index("def imagenet_weights(")
    end = output.index("\n\n\n", start)
    exec("import os\nimport sys\nimport torch\n" + output[start:end], namespace)  # noqa: S102 - k2t's generated function
    return namespace["imagenet_weights"]


def test_missing_weights_stop_the_script_with_one_line(tmp_path, monkeypatch):
    with pytest.raises(SystemExit) as stopped:
        _loader(tmp_path, monkeypatch)(FILE)
    message = str(stopped.value.code)
    assert "\n" not in message and FILE in message and "port them once with `k2t weights --imagenet train.py`" in message


@requires_keras
@requires_torch
def test_k2t_weights_ports_kerass_imagenet_file_into_its_cache(tmp_path, monkeypatch):
    import keras
    import torch
    from keras.src.utils import file_utils

    # Keras's own weight file for this model, as its download would leave it (random weights here).
    keras.utils.set_random_seed(1)
    reference = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, alpha=0.35, pooling="avg", weights=None)
    weight_file = tmp_path / "mobilenet_v2.weights.h5"
    reference.save_weights(weight_file)
    asked = []

    def get_file(fname=None, origin=None, **kwargs):
        asked.append(fname)
        return str(weight_file)

    monkeypatch.setattr(file_utils, "get_file", get_file)
    script = tmp_path / "train.py"
    script.write_text(SCRIPT, encoding="utf-8")
    load = _loader(tmp_path, monkeypatch)
    result = CliRunner().invoke(main, ["weights", "--imagenet", "--script", str(script)])
    assert result.exit_code == 0, result.output
    assert asked and "-> OK" in result.output
    ported = tmp_path / "keras_home" / "models" / FILE
    assert f"wrote {ported}" in result.output
    # The converted script's loader reads it; the module then predicts as Keras's model with those weights.
    state = load(FILE)
    namespace: dict = {}
    output = k2t.convert_source(SCRIPT, "train.py").output
    exec(output[: output.index("base = MobileNetV2().to(device)")], namespace)  # noqa: S102 - the generated definitions
    module = namespace["MobileNetV2"]()
    module.load_state_dict(state)
    module.eval()
    x = np.random.default_rng(0).normal(size=(4, 32, 32, 3)).astype("float32")
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.as_tensor(x)).numpy(), np.asarray(reference(x, training=False)), atol=1e-4)


@requires_keras
@requires_torch
def test_a_scripts_own_copy_of_kerass_weight_file_is_ported_beside_it(tmp_path, monkeypatch):
    """weights=<path> (Kaggle's copy of resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5): Keras loads that
    file; the port lies beside it (.pt), where the converted script reads it, the path as the script computes it."""
    import keras

    monkeypatch.chdir(tmp_path)
    keras.utils.set_random_seed(2)
    reference = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, alpha=0.35, weights=None)
    reference.save_weights("mobilenet_v2.weights.h5")
    source = SCRIPT.replace('pooling="avg")', 'pooling="avg", weights=WEIGHTS)').replace("IMAGE_SIZE = 32\n", 'IMAGE_SIZE = 32\nWEIGHTS = "mobilenet_v2.weights.h5"\n')
    result = k2t.convert_source(source, "train.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "base.load_state_dict(imagenet_weights(path=WEIGHTS))" in result.output
    (tmp_path / "train.py").write_text(source, encoding="utf-8")
    ported = CliRunner().invoke(main, ["weights", "--imagenet", "--script", "train.py"])
    assert ported.exit_code == 0, ported.output
    assert "wrote mobilenet_v2.weights.pt" in ported.output and (tmp_path / "mobilenet_v2.weights.pt").is_file()


def test_imagenet_takes_no_model_file(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT, encoding="utf-8")
    result = CliRunner().invoke(main, ["weights", "--imagenet", "--script", str(script), "-o", str(tmp_path / "w.pt")])
    assert result.exit_code == 2 and "--imagenet takes no MODEL and no --output" in result.output


def test_an_application_made_inside_the_model_is_built_right_before_it():
    """Kaggle's transfer-learning course: `model.add(ResNet50(include_top=False, pooling="avg", weights=path))`."""
    source = (
        "import keras\n\nresnet50 = 3\nweights_path = 'resnet50_notop.h5'\nmodel = keras.Sequential()\n"
        'model.add(keras.applications.ResNet50(include_top=False, pooling="avg", weights=weights_path))\n'
        "model.add(keras.layers.Dense(2))\nmodel.layers[0].trainable = False\n"
    )
    result = k2t.convert_source(source, "train.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    # Named beside the script's own `resnet50`; its weights loaded before the model that holds it is built.
    lines = result.output[result.output.index("\nresnet50_2 = ") + 1 :].splitlines()
    assert lines[:4] == [
        "resnet50_2 = ResNet50().to(device)",
        "# Keras's ImageNet weights",
        "resnet50_2.load_state_dict(imagenet_weights(path=weights_path))",
        "model = Net(resnet50_2=resnet50_2).to(device)",
    ], lines
    assert "model.resnet50_2.requires_grad_(False)" in result.output
