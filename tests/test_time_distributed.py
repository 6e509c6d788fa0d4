"""TimeDistributed over layers other than Dense (k2t/translate/recurrent.py): the video pattern of
TimeDistributed(Conv2D), TimeDistributed(MaxPooling2D), TimeDistributed(Flatten) then an LSTM, exact against
Keras; a wrapped layer k2t cannot translate is a located diagnostic."""

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

import k2t

# Frames of 6x6 images with 2 channels. BatchNormalization runs step by step as Keras 3 runs it (its batch
# statistics are each step's); the other layers on the steps folded into the batch. ReLU(threshold=...) is
# written inline (no submodule), Activation("tanh") and Dropout are submodules.
VIDEO = """\
import numpy as np
import keras
from keras import layers

x = np.random.RandomState(0).uniform(size=(8, 3, 6, 6, 2)).astype("float32")
y = np.random.RandomState(1).randint(0, 2, size=(8, 1)).astype("float32")
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape=(3, 6, 6, 2)),
    layers.TimeDistributed(layers.Conv2D(4, 3, activation="relu")),
    layers.TimeDistributed(layers.BatchNormalization()),
    layers.TimeDistributed(layers.Activation("tanh")),
    layers.TimeDistributed(layers.ReLU(threshold=0.1)),
    layers.TimeDistributed(layers.MaxPooling2D()),
    layers.TimeDistributed(layers.Dropout(0.2)),
    layers.TimeDistributed(layers.Flatten()),
    layers.LSTM(5),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(x, y, batch_size=4, epochs=3, verbose=0)
"""


@requires_torch
@requires_keras
@pytest.mark.parity
def test_video_frames_through_time_distributed_then_lstm_match_keras(tmp_path):
    report = assert_parity(VIDEO, tmp_path)
    assert all(diff <= 1e-5 for _, diff in report.layer_diffs), report.layer_diffs


# A model held in a variable over each frame: a Sequential CNN with BatchNormalization (run step by step, as
# Keras 3 runs it: each frame's batch statistics) inside a Sequential, and a Functional one without (the steps
# folded into the batch) inside a Functional model.
FRAME_MODELS = {
    "sequential_batchnorm_per_step": """\
import numpy as np
import keras
from keras import layers

rng = np.random.default_rng(0)
x = rng.normal(size=(32, 4, 8, 8, 3)).astype("float32")
y = (x.mean(axis=(1, 2, 3, 4)) > 0).astype("float32")
keras.utils.set_random_seed(0)
frame_model = keras.Sequential([
    keras.Input(shape=(8, 8, 3)),
    layers.Conv2D(4, 3, activation="relu"),
    layers.BatchNormalization(),
    layers.GlobalAveragePooling2D(),
])
model = keras.Sequential([keras.Input(shape=(4, 8, 8, 3)), layers.TimeDistributed(frame_model), layers.LSTM(6), layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=3, batch_size=8, verbose=0)
""",
    "functional_folded": """\
import numpy as np
import keras
from keras import layers

rng = np.random.default_rng(1)
x = rng.normal(size=(32, 5, 6, 3)).astype("float32")
y = rng.normal(size=(32, 1)).astype("float32")
keras.utils.set_random_seed(0)
step_in = keras.Input(shape=(6, 3))
step_out = layers.Dense(4, activation="tanh")(layers.Flatten()(layers.Conv1D(2, 3)(step_in)))
encoder = keras.Model(step_in, step_out)
frames = keras.Input(shape=(5, 6, 3))
h = layers.TimeDistributed(layer=encoder)(frames)
out = layers.Dense(1)(layers.GRU(3)(h))
model = keras.Model(frames, out)
model.compile(optimizer="sgd", loss="mse")
model.fit(x, y, epochs=3, batch_size=8, verbose=0)
""",
}


@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("name", FRAME_MODELS)
def test_time_distributed_over_a_model_in_a_variable_matches_keras(name, tmp_path):
    source = FRAME_MODELS[name]
    output = k2t.convert_source(source, "case.py").output
    wrapper = "TimeDistributedPerStep" if "per_step" in name else "TimeDistributed"
    assert f"class {wrapper}(nn.Module):" in output
    report = assert_parity(source, tmp_path)
    assert all(diff <= 1e-5 for _, diff in report.layer_diffs), report.layer_diffs


def _diagnostics(wrapped: str) -> list[str]:
    source = f"import keras\nfrom keras import layers\n\nmodel = keras.Sequential([keras.Input(shape=(3, 4)), layers.TimeDistributed({wrapped})])\n"
    return [d.format() for d in k2t.check_source(source, filename="train.py")]


@pytest.mark.parametrize(
    ("wrapped", "expected"),
    [
        # Located at the wrapped layer (column 77), not at TimeDistributed.
        ("layers.SpectralNormalization(layers.Dense(2))", "train.py:4:77: K2T101 layer keras.layers.SpectralNormalization inside TimeDistributed is not translated"),
        ("keras.Sequential([layers.Dense(2)])", "train.py:4:77: K2T102 TimeDistributed over a model built in the call (Sequential) is not translated: hold it in a variable"),
    ],
    ids=["untranslated_layer", "model"],
)
def test_a_wrapped_layer_k2t_cannot_translate_is_located(wrapped, expected):
    assert _diagnostics(wrapped) == [expected]


FRAMES_LAYER = """\
import keras
from keras import layers


class Frames(layers.Layer):
    def __init__(self):
        super().__init__()
        self.conv = layers.TimeDistributed(layers.Conv2D(2, 3))

    def call(self, x):
        return self.conv(x)


model = keras.Sequential([keras.Input(shape=(3, 6, 6, 2)), Frames(), layers.TimeDistributed(layers.Flatten()), layers.LSTM(3)])
"""


def test_a_custom_layers_time_distributed_sublayer_transfers_its_wrapped_layers_weights():
    """The wrapper has no weights of its own: Keras's ``conv.layer`` goes to torch's ``conv.layer``."""
    from k2t.parity.instrument import convert

    conversion = convert(FRAMES_LAYER, "train.py")
    assert conversion.diagnostics == []
    frames = conversion.plan.modules[0].layers[0]
    assert frames.sublayers == [("conv", "conv", "wrapper"), ("conv.layer", "conv.layer", "conv")]
