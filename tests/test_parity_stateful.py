"""Keras's stateful recurrent layers (``stateful=True``) against real Keras.

Brownlee's "stateful LSTM" scripts fit one epoch at a time with shuffle=False and
reset the states between fits: the states carry over from batch to batch (and
from fit to fit, and into predict) until reset. Keras 3 has no
``model.reset_states()`` nor ``batch_input_shape=``: the Keras side runs the
same script in Keras 3's spelling (``Input(batch_shape=...)``, the layer's
``reset_states()``), the converted side is k2t's conversion of the Keras 2
script. Both start from the same weights (Keras's, transferred); every fit's
loss and the final predictions must agree.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from split_runs import run_both

import k2t
from k2t.parity.exact import _disable_dropout

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

TRAIN_MARKER = "losses = []\n"
SCRIPT = """\
import numpy as np
import keras

rng = np.random.RandomState(0)
x = rng.normal(size=(12, 3, 2)).astype("float32")
y = rng.normal(size=(12, 1)).astype("float32")
x[rng.uniform(size=(12, 3)) < 0.25] = 0.0  # steps that a Masking layer masks
keras.utils.set_random_seed(0)
model = keras.Sequential()
{first}{after}
model.add(keras.layers.Dense(1))
model.compile(loss="mean_squared_error", optimizer="adam")
losses = []
for i in range(4):
    history = model.fit(x, y, epochs=1, batch_size={batch}, verbose=0, shuffle=False)
    losses.append(history.history["loss"][0])
    {reset}
p = model.predict(x, batch_size={batch})
{reset}
fresh = model.predict(x[:{batch}], batch_size={batch})
"""
KERAS2_RESET = "model.reset_states()"
KERAS3_RESET = "model.layers[0].reset_states()"


def _scripts(layer: str, batch: int) -> tuple[str, str]:
    """(the Keras 2 script k2t converts, the same script in Keras 3's spelling that Keras runs). ``layer``:
    the stateful layer, or several layers joined by "; " (a Masking before it), the last one stateful."""
    *before, layer = layer.split("; ")
    after = "\nmodel.add(keras.layers.Flatten())" if "return_sequences=True" in layer else ""  # Dense on the steps
    keras2_layers = [*before, layer]
    keras2_layers[0] = f"{keras2_layers[0][:-1]}, batch_input_shape=({batch}, 3, 2))".replace("(, ", "(")
    keras2_first = "\n".join(f"model.add(keras.layers.{each})" for each in keras2_layers)
    keras2 = SCRIPT.format(first=keras2_first, after=after, batch=batch, reset=KERAS2_RESET)
    keras3_layers = "".join(f"\nmodel.add(keras.layers.{each})" for each in [*before, layer])
    keras3_first = f"model.add(keras.Input(batch_shape=({batch}, 3, 2))){keras3_layers}"
    keras3 = SCRIPT.format(first=keras3_first, after=after, batch=batch, reset=KERAS3_RESET.replace("[0]", f"[{len(before)}]"))
    return keras2, keras3


LAYERS = {
    "lstm_batch_of_one": ("LSTM(4, stateful=True)", 1),
    "gru_batches_of_three": ("GRU(5, stateful=True, return_sequences=True)", 3),
    "simple_rnn_batches_of_four": ('SimpleRNN(3, stateful=True, activation="relu")', 4),
    # The step loop's classes (templates/layers/recurrent_loop.py.j2) keep states too: with dropout (turned off on
    # both sides for training, as the parity harness does), GRU's reset_after=False, and a Keras mask.
    "lstm_dropout": ("LSTM(4, stateful=True, dropout=0.2, recurrent_dropout=0.3)", 2),
    "gru_reset_before_sequences": ("GRU(4, stateful=True, reset_after=False, return_sequences=True)", 3),
    "masking_lstm": ("Masking(); LSTM(4, stateful=True)", 2),
    "masking_simple_rnn_dropout_sequences": ("Masking(); SimpleRNN(3, stateful=True, dropout=0.1, return_sequences=True)", 3),
    # Bidirectional: each direction carries its own states (Keras's forward_layer and backward_layer).
    "bidirectional_lstm": ("Bidirectional(keras.layers.LSTM(4, stateful=True))", 2),
    "bidirectional_gru_sum_sequences": ('Bidirectional(keras.layers.GRU(3, stateful=True, return_sequences=True), merge_mode="sum")', 3),
    "bidirectional_gru_dropout": ("Bidirectional(keras.layers.GRU(3, stateful=True, recurrent_dropout=0.2))", 2),
    "masking_bidirectional_lstm_sequences": ("Masking(); Bidirectional(keras.layers.LSTM(3, stateful=True, return_sequences=True))", 2),
}


# Keras 2's spelling differs from Keras 3's only in how the script says it (parsed before any layer is converted):
# the three fused-layer cases take both spellings, the step-loop and Bidirectional cases Keras 3's (CI time).
SPELLINGS = [(name, "keras2") for name in list(LAYERS)[:3]] + [(name, "keras3") for name in LAYERS]


@pytest.mark.parametrize(("name", "spelling"), SPELLINGS)
def test_states_carry_over_batches_and_fits_until_reset(name, spelling):
    """Keras 2's spelling (batch_input_shape=, model.reset_states()) and Keras 3's (Input(batch_shape=...),
    model.layers[0].reset_states()) convert to the same training."""
    import numpy as np

    keras2, keras3 = _scripts(*LAYERS[name])
    batch = LAYERS[name][1]
    result = k2t.convert_source(keras2 if spelling == "keras2" else keras3, "case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    keras_namespace, torch_namespace = run_both(keras3, result.output, TRAIN_MARKER, prepare=_disable_dropout)
    np.testing.assert_allclose(torch_namespace["losses"], keras_namespace["losses"], rtol=1e-5)
    np.testing.assert_allclose(torch_namespace["p"], keras_namespace["p"], atol=1e-5)
    np.testing.assert_allclose(torch_namespace["fresh"], keras_namespace["fresh"], atol=1e-5)
    # The states did carry over: the first batch's prediction after a reset differs from its prediction in the middle.
    assert np.abs(keras_namespace["fresh"] - keras_namespace["p"][:batch]).max() < 1e-6
    assert np.abs(keras_namespace["p"][batch : 2 * batch] - keras_namespace["fresh"]).max() > 1e-4


def test_stateful_reads_like_torch():
    keras2, _ = _scripts("LSTM(4, stateful=True)", 1)
    output = k2t.convert_source(keras2).output
    assert "self.lstm = KerasLSTMStateful(2, 4)" in output
    assert "    model.lstm.reset_states()\n" in output
    assert "shuffle=False" in output
    assert "self.states = tuple(state.detach() for state in states)" in output


UNSUPPORTED = {
    "keras.layers.LSTM(4, stateful=2)": "stateful=2) is not translated: k2t takes True or False",
}


@pytest.mark.parametrize("layer", UNSUPPORTED)
def test_untranslated_stateful_layers_are_diagnostics(layer):
    source = textwrap.dedent(
        f"""\
        import keras
        model = keras.Sequential([keras.Input(batch_shape=(2, 3, 2)), {layer}, keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer="adam")
        """
    )
    result = k2t.convert_source(source, "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], result.diagnostics
    assert UNSUPPORTED[layer] in result.diagnostics[0].message


def test_layer_resets_read_like_torch():
    """A layer's reset_states() (reset_state() in Keras 3) reached by a variable, model.layers[i] or get_layer:
    the stateful layer's reset; nothing for a recurrent layer without states; a located K2T140 for other layers."""
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras

        x, y = np.zeros((4, 3, 2), "float32"), np.zeros((4, 1), "float32")
        lstm = keras.layers.LSTM(4, stateful=True, return_sequences=True)
        model = keras.Sequential([keras.Input(shape=(3, 2), batch_size=2), lstm, keras.layers.GRU(3), keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer="adam")
        for i in range(2):
            model.fit(x, y, epochs=1, batch_size=2, shuffle=False)
            lstm.reset_states()
        model.layers[1].reset_state()
        model.get_layer("lstm").reset_states()
        model.layers[2].reset_states()
        """
    )
    result = k2t.convert_source(source, "case.py")
    body = result.output.split("for i in range(2):\n")[1]
    assert body.startswith("    fit(model, optimizer, x, y, epochs=1, batch_size=2, shuffle=False)\n    model.lstm.reset_states()\nmodel.lstm.reset_states()\n")
    assert "self.gru = KerasGRU(4, 3)" in result.output  # not stateful: its reset_state() line goes
    [todo] = result.diagnostics
    assert (todo.code, todo.line) == ("K2T140", 13) and "reset_states() on a Dense layer" in todo.message


RESETS = {
    # Two stateful layers inside a nested model: a generated reset_states(model) walks the submodules.
    "nested": (
        (
            "inner = keras.Sequential([keras.Input(batch_shape=(2, 3, 2)), keras.layers.GRU(4, stateful=True, return_sequences=True), keras.layers.LSTM(3, stateful=True)])\n"
            "model = keras.Sequential([keras.Input(batch_shape=(2, 3, 2)), inner, keras.layers.Dense(1)])"
        ),
        ["    reset_states(model)\n", "def reset_states(model):\n"],
    ),
    # No stateful layer: Keras 2's model.reset_states() resets nothing, and the line goes.
    "none": (
        "model = keras.Sequential([keras.Input(shape=(3, 2)), keras.layers.LSTM(3), keras.layers.Dense(1)])",
        ["    fit(model, optimizer, x, y, epochs=1, verbose=0)\n\n"],
    ),
}


@pytest.mark.parametrize("name", RESETS)
def test_model_reset_states_of_nested_or_no_stateful_layers(name):
    build, expected = RESETS[name]
    source = (
        'import numpy as np\nimport keras\n\nx, y = np.zeros((4, 3, 2), "float32"), np.zeros((4, 1), "float32")\n'
        f'{build}\nmodel.compile(loss="mse", optimizer="adam")\n'
        "for i in range(2):\n    model.fit(x, y, epochs=1, verbose=0)\n    model.reset_states()\n"
    )
    result = k2t.convert_source(source, "case.py")
    assert not result.diagnostics, result.diagnostics
    for text in expected:
        assert text in result.output + "\n"
    if name == "none":
        assert "reset_states" not in result.output
