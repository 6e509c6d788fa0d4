"""Exact parity of the keras.io-style Vision Transformer fixture: patches cut by a custom layer whose output
shape k2t derives from its call(), a patch encoder whose Dense is sized by the script's module-level
constants and whose position embeddings come from ops.arange, then Transformer blocks and an MLP head."""

import pytest
from conftest import requires_keras, requires_torch
from test_parity_real_scripts import fixture_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]


def test_vit_image_classifier_matches_keras():
    report = fixture_parity("vit_image_classifier")
    names = [name for name, _ in report.layer_diffs]
    assert names[:2] == ["patches", "patch_encoder"], names
    assert {"multi_head_attention", "multi_head_attention_1"} <= set(names), names
