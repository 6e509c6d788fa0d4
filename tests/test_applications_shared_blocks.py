"""Two keras.applications models in one script: each block class is written once (two sizes of one family
share theirs), and two different definitions of one name stay apart (the second is renamed, and what uses it
follows)."""

import pytest
from conftest import requires_torch
from undefined import ruff_findings

import k2t
from k2t.emit import render
from k2t.translate import ScriptPlan
from k2t.translate.helpers import Helper

# Two sizes of ResNet and two MobileNets: same-family blocks shared, both families' BatchNorm and same_padding.
TWO_OF_A_KIND = """\
import keras
import numpy as np

resnet50 = keras.applications.ResNet50(input_shape=(32, 32, 3), include_top=False, weights=None, pooling="avg")
resnet101 = keras.applications.ResNet101(input_shape=(32, 32, 3), include_top=False, weights=None, pooling="avg")
mobilenet = keras.applications.MobileNet(input_shape=(32, 32, 3), include_top=False, weights=None, pooling="avg")
mobilenet_v2 = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None, pooling="avg")
x = np.zeros((1, 32, 32, 3), dtype="float32")
shapes = [resnet50.predict(x).shape, resnet101.predict(x).shape, mobilenet.predict(x).shape, mobilenet_v2.predict(x).shape]
"""


@pytest.fixture(scope="module")
def converted() -> str:
    result = k2t.convert_source(TWO_OF_A_KIND, filename="train.py")
    assert not result.diagnostics
    return result.output


def test_each_block_class_is_defined_once(converted):
    for definition in ("class Bottleneck(", "class DepthwiseSeparable(", "class InvertedResidual(", "class BatchNorm("):
        assert converted.count(definition) == 1, definition


def test_output_is_ruff_clean(converted):
    assert ruff_findings(converted, "F") == []  # F811 (redefinition) before each block class was a definition


@requires_torch
def test_all_models_build_and_run(converted):
    namespace: dict = {}
    exec(compile(converted, "train_torch.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    # Keras's feature widths: ResNet 2048, MobileNet 1024, MobileNetV2 1280, each over a batch of one.
    assert [tuple(shape) for shape in namespace["shapes"]] == [(1, 2048), (1, 2048), (1, 1024), (1, 1280)]


def test_a_different_block_of_the_same_name_is_renamed_where_it_is_used():
    plan = ScriptPlan()
    first = Helper("Block", "applications/blocks/vgg_block.py.j2")
    other = Helper("Block", "applications/blocks/xception_separable.py.j2")
    plan.add_helper(first)
    user = plan.with_uses(Helper("Model", "applications/blocks/convnext_block.py.j2", (("layer_scale", other),)))
    assert [helper.name for helper in plan.helpers] == ["Block", "Block_2"]
    assert "self.layer_scale = Block_2(channels)" in render(user.template, **user.context())
    # Each definition again is the one registered, under its name, not another copy.
    assert plan.add_helper(first) == first
    assert plan.add_helper(other).name == "Block_2"
    assert [helper.name for helper in plan.helpers] == ["Block", "Block_2"]
