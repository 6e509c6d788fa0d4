"""Exact parity against real Keras for sequence layers (k2t/translate/recurrent.py).

Embedding, SimpleRNN, LSTM, GRU, Bidirectional and TimeDistributed(Dense):
Keras's initial weights are copied into torch's fused recurrent layers (GRU's
gates reordered, LSTM's and SimpleRNN's one bias kept on torch's input side)
and every layer's output and every epoch's loss must agree.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity, script

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

OUT = 'keras.layers.Dense(1, activation="sigmoid")'
SEQUENCE = (10, 4)  # steps, features

RECURRENT = {
    "simple_rnn": ["keras.layers.SimpleRNN(5)"],
    "simple_rnn_relu": ['keras.layers.SimpleRNN(5, activation="relu")'],
    "simple_rnn_backwards_sequences": ["keras.layers.SimpleRNN(5, go_backwards=True, return_sequences=True)", "keras.layers.Flatten()"],
    "lstm": ["keras.layers.LSTM(5)"],
    "lstm_stacked": ["keras.layers.LSTM(6, return_sequences=True)", "keras.layers.LSTM(3)"],
    "lstm_backwards": ["keras.layers.LSTM(5, go_backwards=True)"],
    "lstm_no_forget_bias_no_bias": ["keras.layers.LSTM(5, unit_forget_bias=False)", "keras.layers.Dense(3)", "keras.layers.Reshape((3, 1))", "keras.layers.LSTM(2, use_bias=False)"],
    "lstm_initializers_regularizers": [
        ('keras.layers.LSTM(5, kernel_initializer="he_normal", recurrent_initializer="glorot_uniform", bias_initializer="ones",'
        ' kernel_regularizer="l2", recurrent_regularizer=keras.regularizers.L1(0.001), bias_regularizer="l2", unroll=True)')
    ],
    "gru": ["keras.layers.GRU(5)"],
    "gru_sequences_pooled": ["keras.layers.GRU(6, return_sequences=True)", "keras.layers.GlobalAveragePooling1D()"],
    "gru_backwards_no_bias": ["keras.layers.GRU(5, go_backwards=True, use_bias=False)"],
    "gru_bias_regularizer": ['keras.layers.GRU(5, bias_initializer="ones", bias_regularizer="l2")'],
    "bidirectional_lstm": ["keras.layers.Bidirectional(keras.layers.LSTM(5))"],
    "bidirectional_gru_sequences": ["keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True))", "keras.layers.GlobalMaxPooling1D()"],
    "bidirectional_simple_rnn_concat": ['keras.layers.Bidirectional(keras.layers.SimpleRNN(3), merge_mode="concat")'],
    "time_distributed_dense": [
        "keras.layers.LSTM(6, return_sequences=True)",
        'keras.layers.TimeDistributed(keras.layers.Dense(3, activation="relu"))',
        "keras.layers.Flatten()",
    ],
    # dropout / recurrent_dropout: the step-by-step loop (templates/layers/recurrent_loop.py.j2), identity at
    # inference; the parity harness turns the rates off on both sides for training, as it does Dropout's.
    "lstm_dropout": ["keras.layers.LSTM(5, dropout=0.3)"],
    "lstm_recurrent_dropout_sequences": ["keras.layers.LSTM(6, dropout=0.2, recurrent_dropout=0.3, return_sequences=True)", "keras.layers.LSTM(3, recurrent_dropout=0.1)"],
    "gru_dropout_no_bias_backwards": ["keras.layers.GRU(5, dropout=0.2, recurrent_dropout=0.2, use_bias=False, go_backwards=True)"],
    "gru_recurrent_dropout_bias": ['keras.layers.GRU(5, recurrent_dropout=0.25, bias_initializer="ones")'],
    "simple_rnn_relu_dropout": ['keras.layers.SimpleRNN(5, activation="relu", dropout=0.1, recurrent_dropout=0.4)'],
    "bidirectional_lstm_dropout_sequences": ["keras.layers.Bidirectional(keras.layers.LSTM(4, dropout=0.2, recurrent_dropout=0.2, return_sequences=True))", "keras.layers.Flatten()"],
    "bidirectional_gru_dropout": ["keras.layers.Bidirectional(keras.layers.GRU(4, recurrent_dropout=0.3))"],
    # Bidirectional merge modes: the two directions summed, multiplied or averaged (class KerasLSTMSummed, ...).
    "bidirectional_lstm_sum": ['keras.layers.Bidirectional(keras.layers.LSTM(5), merge_mode="sum")'],
    "bidirectional_gru_mul_sequences": ['keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True), merge_mode="mul")', "keras.layers.Flatten()"],
    "bidirectional_simple_rnn_ave_dropout": ['keras.layers.Bidirectional(keras.layers.SimpleRNN(4, dropout=0.2, return_sequences=True), "ave")', "keras.layers.LSTM(3)"],
    # GRU(reset_after=False), Keras's GRU v1: the reset gate before the recurrent product, one bias (a step loop).
    "gru_reset_before": ["keras.layers.GRU(5, reset_after=False)"],
    "gru_reset_before_sequences_backwards": ['keras.layers.GRU(5, reset_after=False, return_sequences=True, go_backwards=True, bias_initializer="ones")', "keras.layers.Flatten()"],
    "gru_reset_before_no_bias": ["keras.layers.GRU(5, reset_after=False, use_bias=False)"],
    "gru_reset_before_dropout": ["keras.layers.GRU(5, reset_after=False, dropout=0.2, recurrent_dropout=0.3, bias_regularizer=\"l2\")"],
    "bidirectional_gru_reset_before_sum": ['keras.layers.Bidirectional(keras.layers.GRU(4, reset_after=False, return_sequences=True), merge_mode="sum")', "keras.layers.Flatten()"],
    # Activations torch's fused kernels do not compute (tanh, sigmoid gates, SimpleRNN's relu): the step loop.
    "lstm_relu": ['keras.layers.LSTM(5, activation="relu")'],
    "lstm_hard_sigmoid_gates_sequences": ['keras.layers.LSTM(5, recurrent_activation="hard_sigmoid", return_sequences=True)', "keras.layers.Flatten()"],
    "gru_linear_reset_before": ["keras.layers.GRU(5, activation=None, reset_after=False)"],
    "gru_elu_hard_sigmoid_gates": ['keras.layers.GRU(4, activation="elu", recurrent_activation=keras.activations.hard_sigmoid)'],
    "simple_rnn_sigmoid": ['keras.layers.SimpleRNN(5, activation="sigmoid")'],
    "bidirectional_lstm_relu_dropout": ['keras.layers.Bidirectional(keras.layers.LSTM(4, activation="relu", dropout=0.2))'],
    "conv1d_then_lstm": ['keras.layers.Conv1D(6, 3, padding="same", activation="relu")', "keras.layers.MaxPooling1D()", "keras.layers.LSTM(4)"],
}


@pytest.mark.parametrize("name", RECURRENT)
def test_recurrent(name, tmp_path):
    report = assert_parity(script([*RECURRENT[name], OUT], shape=SEQUENCE), tmp_path)
    assert all(diff <= 1e-5 for _, diff in report.layer_diffs), report.layer_diffs


@pytest.mark.parametrize("name", ["lstm", "gru", "bidirectional_lstm"])
def test_recurrent_with_sgd_momentum_on_sparse_classes(name, tmp_path):
    """Softmax head and a momentum optimizer: the frozen recurrent bias must stay out of every update."""
    source = script([*RECURRENT[name], 'keras.layers.Dense(3, activation="softmax")'], shape=SEQUENCE, targets="sparse",
                    loss='"sparse_categorical_crossentropy"', optimizer="keras.optimizers.SGD(0.05, momentum=0.9)")
    assert_parity(source, tmp_path)


TEXT = """\
import numpy as np
import keras

VOCAB, STEPS = {vocab}, 7
rng = np.random.RandomState(0)
x = {ids}
y = (x[:, 0] > VOCAB // 2).astype("float32")
keras.utils.set_random_seed(0)
inputs = keras.Input(shape=(STEPS,))
h = keras.layers.Embedding(VOCAB, 8{embedding_extra})(inputs)
{body}
outputs = keras.layers.Dense(1, activation="sigmoid")(h)
model = keras.Model(inputs, outputs)
model.compile(optimizer={optimizer}, loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""


def _text(body, optimizer='"sgd"', vocab=40, ids="rng.randint(0, VOCAB, size=(96, STEPS))", embedding_extra=""):
    return TEXT.format(body=textwrap.dedent(body).strip(), optimizer=optimizer, vocab=vocab, ids=ids, embedding_extra=embedding_extra)


def test_embedding_lstm_text_classifier(tmp_path):
    """The Functional text classifier: integer ids -> Embedding -> Bidirectional LSTM -> Dense."""
    body = """
        h = keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True))(h)
        h = keras.layers.GRU(4)(h)
    """
    assert_parity(_text(body, optimizer="keras.optimizers.SGD(0.1, momentum=0.9)"), tmp_path)


def test_embedding_initializer_and_regularizer(tmp_path):
    body = "h = keras.layers.GlobalAveragePooling1D()(h)"
    source = _text(body, embedding_extra=', embeddings_initializer="glorot_uniform", embeddings_regularizer="l2"')
    assert_parity(source, tmp_path)


@pytest.mark.parametrize(
    "optimizer",
    [
        '"adam"',
        "keras.optimizers.AdamW(0.01, amsgrad=True)",
        "keras.optimizers.Adam(0.01, weight_decay=0.1, clipnorm=0.5)",
        "keras.optimizers.Adam(0.01, clipvalue=0.01)",
        "keras.optimizers.Adam(0.01, global_clipnorm=0.2)",
    ],
    ids=["adam", "adamw_amsgrad", "weight_decay_clipnorm", "clipvalue", "global_clipnorm"],
)
def test_embedding_rows_under_adam_with_repeated_ids(optimizer, tmp_path):
    """Keras hands Adam an Embedding's gradient as one row per lookup and squares each before repeats are summed.

    With 40 ids in 16 x 7 lookups per batch, ids repeat: torch's dense
    gradient would square the summed rows and drift by 1e-2 within 3 epochs.
    """
    body = "h = keras.layers.Flatten()(h)"
    source = _text(body, optimizer=optimizer)
    assert "sparse=True" in k2t.convert_source(source).output
    assert_parity(source, tmp_path)


def test_embedding_under_rmsprop_converts_with_a_located_warning():
    """Other adaptive optimizers keep torch's dense update: converted, and the drift is said."""
    source = _text("h = keras.layers.Flatten()(h)", optimizer="keras.optimizers.RMSprop()")
    result = k2t.convert_source(source, "case.py")
    assert result.ok  # a warning: converted, exit code 0
    [warning] = result.diagnostics
    assert (warning.code, warning.severity.value, warning.line) == ("K2T124", "warning", 14)
    assert "# NOTE(k2t): K2T124 RMSprop on an Embedding" in result.output
    assert "optimizer = KerasRMSprop(model.parameters(), lr=0.001)" in result.output
    assert "sparse=True" not in result.output and "TODO" not in result.output


def test_sequential_embedding_with_input_length_and_no_input(tmp_path):
    """Keras 2 style: the first layer's input_length gives the sequence length (Embedding's input_dim is its vocabulary)."""
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras

        rng = np.random.RandomState(0)
        x = rng.randint(0, 30, size=(96, 7))
        y = (x[:, 0] > 15).astype("float32")
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.layers.Embedding(input_dim=30, output_dim=4, input_length=7),
            keras.layers.SimpleRNN(3),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    output = k2t.convert_source(source).output
    assert "nn.Embedding(30, 4)" in output and "self.input_shapes = [(7,)]" not in output  # no summary(): no input shapes kept
    assert_parity(source, tmp_path)


# --------------------------------------------------------------------------- generated code


def _converted(layers, shape=SEQUENCE) -> str:
    result = k2t.convert_source(script([*layers, OUT], shape=shape), "case.py")
    assert not result.diagnostics, result.diagnostics
    return result.output


def test_generated_recurrent_layers_read_like_torch():
    output = _converted(["keras.layers.LSTM(8, return_sequences=True)", "keras.layers.Bidirectional(keras.layers.GRU(4))"])
    assert "self.lstm = KerasLSTM(4, 8, return_sequences=True)" in output
    assert "self.bidirectional = KerasGRU(8, 4, bidirectional=True)" in output
    assert "class KerasLSTM(nn.LSTM):" in output and "class KerasGRU(nn.GRU):" in output
    assert "nn.init.ones_(self.lstm.bias_ih_l0[8 : 2 * 8])" in output  # unit_forget_bias
    assert "bias.requires_grad_(False)" in output.split("class KerasGRU")[0]  # LSTM: torch's extra bias frozen
    assert "requires_grad_" not in output.split("class KerasGRU")[1].split("class ")[0]  # GRU: two biases on both sides
    assert "class KerasSimpleRNN" not in output
    assert "Loop" not in output  # without dropout: torch's fused kernels


def test_dropout_generates_the_step_loop_only_where_set():
    output = _converted(["keras.layers.LSTM(8, dropout=0.2, return_sequences=True)", "keras.layers.LSTM(4)"])
    assert "self.lstm = KerasLSTMLoop(4, 8, return_sequences=True, dropout=0.2)" in output
    assert "self.lstm_1 = KerasLSTM(8, 4)" in output
    assert "class KerasLSTMLoop(nn.LSTM):" in output and "class KerasLSTM(nn.LSTM):" in output
    assert "for t in range(x.shape[1]):" in output


def test_go_backwards_flips_the_sequence():
    output = _converted(["keras.layers.GRU(4, go_backwards=True)"])
    assert "x = x.flip(1)" in output


UNSUPPORTED = {
    "keras.layers.LSTM(4, recurrent_dropout=1.0)": "recurrent_dropout=1.0",
    "keras.layers.SimpleRNN(4, dropout=1)": "dropout=1",
    "keras.layers.GRU(4, return_state=True)": "return_state=True",
    'keras.layers.SimpleRNN(4, recurrent_activation="sigmoid")': "SimpleRNN(recurrent_activation=...) is not translated",
    "keras.layers.LSTM(4, reset_after=False)": "LSTM(reset_after=...) is not translated: a GRU argument",
    "keras.layers.Bidirectional(keras.layers.LSTM(4), merge_mode=None)": "merge_mode=None) is translated where its 2 outputs are unpacked",
    "keras.layers.Bidirectional(keras.layers.Dense(4))": "Bidirectional(keras.layers.Dense(4))",
    # The wrapped layer's own diagnostic: each step of (10, 4) is a vector, which Conv1D refuses (Keras too).
    "keras.layers.TimeDistributed(keras.layers.Conv1D(2, 1))": "Conv1D expects 2-D inputs per sample",
}


@pytest.mark.parametrize("layer", UNSUPPORTED)
def test_untranslated_recurrent_arguments_are_located_diagnostics(layer):
    result = k2t.convert_source(script([layer, OUT], shape=SEQUENCE), "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], result.diagnostics
    assert UNSUPPORTED[layer] in result.diagnostics[0].message
    assert result.diagnostics[0].line == 10  # the layer's own line in the script
    assert "# TODO(k2t): K2T102" in result.output


def _run_until(source: str, marker: str) -> dict:
    """The names a script defines before ``marker``: its model built, not yet trained."""
    namespace: dict = {}
    exec(compile(source.split(marker)[0], "<script>", "exec"), namespace)  # noqa: S102 - the test runs generated code
    return namespace


def test_recurrent_initial_weights_are_distributed_as_keras():
    """Glorot-uniform input kernel, orthogonal recurrent kernel, forget-gate bias 1."""
    import numpy as np

    source = script(["keras.layers.LSTM(64)", OUT], shape=(10, 48))
    namespace = _run_until(k2t.convert_source(source).output, "\noptimizer = ")
    lstm = namespace["model"].lstm
    kernel = lstm.weight_ih_l0.detach().numpy()
    limit = np.sqrt(6 / (48 + 4 * 64))  # Keras glorot_uniform on the (48, 256) kernel
    assert kernel.max() <= limit and kernel.min() >= -limit
    assert abs(kernel.std() - limit / np.sqrt(3)) < 0.03 * limit / np.sqrt(3)
    recurrent = lstm.weight_hh_l0.detach().numpy()  # (256, 64): orthonormal columns, as Keras's (64, 256) rows
    np.testing.assert_allclose(recurrent.T @ recurrent, np.eye(64), atol=1e-5)
    bias = lstm.bias_ih_l0.detach().numpy()
    np.testing.assert_array_equal(bias, np.r_[np.zeros(64), np.ones(64), np.zeros(128)])
    assert not lstm.bias_hh_l0.requires_grad and not lstm.bias_hh_l0.detach().numpy().any()


# --------------------------------------------------------------------------- dropout masks in training

# Keras's gates in the order of its masks, as indices of torch's gates (GRU: Keras z, r, h; torch r, z, n).
_KERAS_GATES = {"LSTM": [0, 1, 2, 3], "GRU": [1, 0, 2], "SimpleRNN": [0]}
DROPOUT_LAYERS = {
    "lstm_both": "keras.layers.LSTM(5, dropout=0.3, recurrent_dropout=0.2, return_sequences=True)",
    "lstm_input_only": "keras.layers.LSTM(5, dropout=0.3)",
    "gru_both": "keras.layers.GRU(5, dropout=0.3, recurrent_dropout=0.2, return_sequences=True)",
    "gru_recurrent_only": 'keras.layers.GRU(5, recurrent_dropout=0.2, bias_initializer="ones")',
    "gru_reset_before_both": 'keras.layers.GRU(5, reset_after=False, dropout=0.3, recurrent_dropout=0.2, bias_initializer="ones", return_sequences=True)',
    "simple_rnn_both": "keras.layers.SimpleRNN(5, dropout=0.3, recurrent_dropout=0.2, return_sequences=True)",
}


def _keras_and_torch_layers(layer: str):
    """The Keras layer built by the script and the converted script's module for it, with Keras's weights."""
    from k2t.weights import TRANSFERS

    source = script([layer, OUT], shape=SEQUENCE)
    keras_namespace = _run_until(source, "\nmodel.compile(")
    torch_namespace = _run_until(k2t.convert_source(source).output, "\noptimizer = ")
    keras_layer, torch_layer = keras_namespace["model"].layers[0], next(torch_namespace["model"].children())
    TRANSFERS[type(keras_layer).__name__.lower()](keras_layer, torch_layer, "case")
    return keras_namespace["x"][:16], keras_layer, torch_layer


@pytest.mark.parametrize("name", DROPOUT_LAYERS)
def test_training_with_the_same_dropout_masks_matches_keras(name):
    """Training mode with rates > 0: given the same masks, the step loop computes what Keras computes.

    Keras draws one mask per sequence (per gate when recurrent_dropout > 0, LSTM
    and GRU); both sides are handed the same masks through their one drawing function.
    """
    import numpy as np
    import torch

    x, keras_layer, torch_layer = _keras_and_torch_layers(DROPOUT_LAYERS[name])
    kind, cell = type(keras_layer).__name__, keras_layer.cell
    per_gate = kind != "SimpleRNN" and cell.recurrent_dropout > 0
    rng = np.random.RandomState(1)
    masks = {}  # rate -> (batch, masks, size), in torch's gate order
    for rate, size in ((cell.dropout, x.shape[-1]), (cell.recurrent_dropout, cell.units)):
        count = len(_KERAS_GATES[kind]) if per_gate else 1
        masks[rate] = ((rng.uniform(size=(len(x), count, size)) >= rate) / (1 - rate)).astype("float32")

    def keras_masks(step_input, rate):
        if per_gate:
            return [keras.ops.convert_to_tensor(masks[rate][:, gate]) for gate in _KERAS_GATES[kind]]
        return keras.ops.convert_to_tensor(masks[rate][:, 0])

    import keras

    cell._create_dropout_mask = keras_masks
    torch_layer.dropout_mask = lambda inputs, size, rate: torch.from_numpy(masks[rate]) if rate else None
    expected = np.asarray(keras_layer(x, training=True))
    torch_layer.train()
    actual = torch_layer(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(actual, expected, atol=1e-5)
    assert np.abs(actual - np.asarray(keras_layer(x, training=False))).max() > 1e-2  # the masks did change the outputs


def test_dropout_masks_are_drawn_as_keras_draws_them():
    """One mask per sequence and gate, entries 0 or 1 / (1 - rate) with P(0) = rate; none at inference."""
    import torch

    _, _, lstm = _keras_and_torch_layers("keras.layers.LSTM(5, dropout=0.3, recurrent_dropout=0.2)")
    lstm.train()
    torch.manual_seed(0)
    mask = lstm.dropout_mask(torch.zeros(20_000, 10, 4), 4, 0.3)
    assert mask.shape == (20_000, 4, 4)  # (batch, gates, features): Keras's implementation=1 masks each gate
    assert mask.unique().tolist() == pytest.approx([0.0, 1 / 0.7])
    assert abs((mask == 0).float().mean().item() - 0.3) < 0.01
    lstm.recurrent_dropout = 0.0
    assert lstm.dropout_mask(torch.zeros(8, 10, 4), 4, 0.3).shape == (8, 1, 4)  # one mask shared by the gates
    lstm.eval()
    assert lstm.dropout_mask(torch.zeros(8, 10, 4), 4, 0.3) is None


# --------------------------------------------------------------------------- return_state / initial_state

FUNCTIONAL = """\
import numpy as np
import keras

rng = np.random.RandomState(0)
a = rng.normal(size=(96, 7, 3)).astype("float32")
b = rng.normal(size=(96, 5, 2)).astype("float32")
y = rng.randint(0, 4, size=(96, {steps}))
keras.utils.set_random_seed(0)
enc_in = keras.Input(shape=(7, 3))
dec_in = keras.Input(shape=(5, 2))
{body}
outputs = keras.layers.Dense(4, activation="softmax")(h)
model = keras.Model([enc_in, dec_in], outputs)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit([a, b], y, batch_size=16, epochs=3, verbose=0)
"""


def _functional(body: str, steps: int = 5) -> str:
    return FUNCTIONAL.format(body=textwrap.dedent(body).strip(), steps=steps)


STATES = {
    # The encoder-decoder: the encoder's final states start the decoder.
    "lstm_encoder_decoder": """
        encoder_outputs, state_h, state_c = keras.layers.LSTM(6, return_state=True)(enc_in)
        h = keras.layers.LSTM(6, return_sequences=True)(dec_in, initial_state=[state_h, state_c])
    """,
    "gru_sequences_and_state_shared_object": """
        encoder = keras.layers.GRU(6, return_sequences=True, return_state=True, go_backwards=True)
        sequence, state = encoder(enc_in)
        pooled = keras.layers.GlobalAveragePooling1D()(sequence)
        decoded = keras.layers.GRU(6, return_sequences=True)(dec_in, initial_state=state)
        h = keras.layers.Add()([decoded, keras.layers.RepeatVector(5)(pooled)])
    """,
    "simple_rnn_state_with_dropout": """
        _, state = keras.layers.SimpleRNN(5, return_state=True, dropout=0.2)(enc_in)
        h = keras.layers.SimpleRNN(5, return_sequences=True, recurrent_dropout=0.3)(dec_in, initial_state=[state])
    """,
    "gru_reset_before_states": """
        _, state = keras.layers.GRU(6, reset_after=False, return_state=True)(enc_in)
        h = keras.layers.GRU(6, reset_after=False, return_sequences=True)(dec_in, initial_state=state)
    """,
    # Bidirectional(merge_mode=None): Keras returns the two directions apart, unpacked into two names.
    "bidirectional_lstm_apart_sequences": """
        forward, backward = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True), merge_mode=None)(dec_in)
        h = keras.layers.Concatenate()([keras.layers.Multiply()([forward, backward]), backward])
    """,
    "bidirectional_gru_apart_last_step_dropout": """
        forward, backward = keras.layers.Bidirectional(keras.layers.GRU(3, dropout=0.2), None)(enc_in)
        h = keras.layers.RepeatVector(5)(keras.layers.Subtract()([forward, backward]))
    """,
    "lstm_dropout_states_both_ends": """
        _, state_h, state_c = keras.layers.LSTM(6, return_state=True, recurrent_dropout=0.2)(enc_in)
        h, _, _ = keras.layers.LSTM(6, return_sequences=True, return_state=True, dropout=0.1)(dec_in, initial_state=[state_h, state_c])
    """,
    # Bidirectional(return_state=True): the output, then the forward direction's states, then the backward's.
    "bidirectional_lstm_encoder_decoder": """
        encoder_outputs, forward_h, forward_c, backward_h, backward_c = keras.layers.Bidirectional(keras.layers.LSTM(3, return_state=True))(enc_in)
        state_h = keras.layers.Concatenate()([forward_h, backward_h])
        state_c = keras.layers.Concatenate()([forward_c, backward_c])
        h = keras.layers.LSTM(6, return_sequences=True)(dec_in, initial_state=[state_h, state_c])
    """,
    "bidirectional_gru_sum_sequences_states_dropout": """
        sequence, forward_h, backward_h = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True, return_state=True, dropout=0.2), merge_mode="sum")(enc_in)
        decoded = keras.layers.GRU(3, return_sequences=True)(dec_in, initial_state=[keras.layers.Subtract()([forward_h, backward_h])])
        h = keras.layers.Concatenate()([decoded, keras.layers.RepeatVector(5)(keras.layers.GlobalAveragePooling1D()(sequence))])
    """,
    # A helper applied twice: its calls stay inline (one line computes the several outputs of a call).
    "helper_with_states_applied_twice": """
        def encode(t):
            _, state_h, state_c = keras.layers.LSTM(4, return_state=True)(t)
            return keras.layers.Concatenate()([state_h, state_c])

        h = keras.layers.Add()([encode(enc_in), encode(enc_in)])
        h = keras.layers.Concatenate()([keras.layers.RepeatVector(5)(h), dec_in])
    """,
}


@pytest.mark.parametrize("name", STATES)
def test_return_state_and_initial_state(name, tmp_path):
    report = assert_parity(_functional(STATES[name]), tmp_path)
    assert all(diff <= 1e-5 for _, diff in report.layer_diffs), report.layer_diffs


def test_encoder_decoder_reads_like_torch():
    output = k2t.convert_source(_functional(STATES["lstm_encoder_decoder"]), "case.py").output
    assert "self.lstm = KerasLSTMWithState(3, 6, return_state=True)" in output
    assert "_, state_h, state_c = self.lstm(enc_in)" in output  # the unused sequence output is `_`
    assert "h = self.lstm_1(dec_in, initial_state=[state_h, state_c])" in output
    assert "class KerasLSTM(" not in output  # one class, with states, for both


UNSUPPORTED_STATES = {
    "output = keras.layers.LSTM(4, return_state=True)(enc_in)\nh = output": "unpacked into names",
    "h, c = keras.layers.LSTM(4, return_state=True, return_sequences=True)(enc_in)": "unpacked into names",
    "h, c = keras.layers.Dense(4)(enc_in)": "unpacking Dense's output into 2 names",
    "_, s = keras.layers.GRU(4, return_state=True)(enc_in)\nh = keras.layers.Dense(3)(dec_in, initial_state=[s])": "Dense(..., initial_state=...)",
    "_, s = keras.layers.GRU(4, return_state=True)(enc_in)\nh = keras.layers.LSTM(4, return_sequences=True)(dec_in, initial_state=[s])": "LSTM takes 2 initial state tensors",
    "h = keras.layers.Bidirectional(keras.layers.LSTM(4, return_state=True, return_sequences=True))(enc_in)": "its 5 outputs are unpacked into names",
    "h = keras.layers.Bidirectional(keras.layers.LSTM(4, return_state=True), merge_mode=None)(enc_in)": "LSTM(return_state=True) inside Bidirectional(merge_mode=None) is not translated",
}


@pytest.mark.parametrize("body", UNSUPPORTED_STATES)
def test_untranslated_states_are_diagnostics(body):
    result = k2t.convert_source(_functional(body), "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], result.diagnostics
    assert UNSUPPORTED_STATES[body] in result.diagnostics[0].message


# --------------------------------------------------------------------------- Keras masks

MASKED = """\
import numpy as np
import keras

VOCAB, STEPS = 30, 7
rng = np.random.RandomState(0)
x = rng.randint(1, VOCAB, size=(96, STEPS))
x[np.arange(STEPS) >= rng.randint(2, STEPS + 1, size=(96, 1))] = 0  # right padding
x[rng.uniform(size=(96, STEPS)) < 0.15] = 0  # and zeros anywhere, as a mask may have them
x[:, 0] = np.maximum(x[:, 0], 1)  # no sequence all masked: Keras's masked average would divide by zero
y = (x[:, 0] > VOCAB // 2).astype("float32")
{features}
keras.utils.set_random_seed(0)
inputs = keras.Input(shape={input_shape})
{body}
outputs = keras.layers.Dense(1, activation="sigmoid")(h)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""
# Float steps for Masking: the padded ids' steps become all-zero feature vectors.
FLOAT_STEPS = 'x = np.where(x[..., None] > 0, rng.normal(size=(96, STEPS, 3)), 0.0).astype("float32")'


def _masked(body: str, floats: bool = False) -> str:
    features, shape = (FLOAT_STEPS, "(STEPS, 3)") if floats else ("", "(STEPS,)")
    return MASKED.format(body=textwrap.dedent(body).strip(), features=features, input_shape=shape)


MASKS = {
    "embedding_lstm_gru_backwards_average": """
        h = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(inputs)
        h = keras.layers.Dropout(0.1)(h)
        h = keras.layers.LSTM(6, return_sequences=True)(h)
        h = keras.layers.GRU(5, go_backwards=True, return_sequences=True)(h)
        h = keras.layers.GlobalAveragePooling1D()(h)
    """,
    "embedding_bidirectional": """
        h = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(inputs)
        h = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))(h)
        h = keras.layers.Bidirectional(keras.layers.GRU(3, dropout=0.2))(h)
    """,
    "embedding_gru_reset_before": """
        h = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(inputs)
        h = keras.layers.GRU(5, reset_after=False, return_sequences=True)(h)
        h = keras.layers.Bidirectional(keras.layers.GRU(3, reset_after=False))(h)
    """,
    "embedding_or_of_two_masks": """
        a = keras.layers.Embedding(VOCAB, 4, mask_zero=True)(inputs)
        b = keras.layers.Embedding(VOCAB, 4, mask_zero=True)(keras.layers.Lambda(lambda t: t * keras.ops.cast(t % 3 != 0, t.dtype), output_shape=(STEPS,))(inputs))
        h = keras.layers.LSTM(4)(keras.layers.Add()([a, b]))
    """,
    "embedding_average": """
        h = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(inputs)
        h = keras.layers.Dense(4, activation="relu")(h)
        h = keras.layers.GlobalAveragePooling1D()(h)
    """,
    "embedding_flatten_drops_the_mask": """
        h = keras.layers.Embedding(VOCAB, 4, mask_zero=True)(inputs)
        h = keras.layers.Flatten()(h)
    """,
    "masking_simple_rnn_lstm_states": """
        h = keras.layers.Masking(mask_value=0.0)(inputs)
        h = keras.layers.SimpleRNN(5, return_sequences=True)(h)
        h, state_h, state_c = keras.layers.LSTM(4, recurrent_dropout=0.2, return_state=True)(h)
        h = keras.layers.Concatenate()([h, state_c])
    """,
}


@pytest.mark.parametrize("name", MASKS)
def test_masked_sequences(name, tmp_path):
    """Masked steps keep the states and output of the step before; the masked average skips them."""
    source = _masked(MASKS[name], floats="Masking" in MASKS[name])
    report = assert_parity(source, tmp_path)
    assert all(diff <= 1e-5 for _, diff in report.layer_diffs), report.layer_diffs


def test_masking_on_sequences_of_any_length(tmp_path):
    """`Input(shape=(None, num_tokens))` then Masking (keras.io's seq2seq with padded batches): the mask is made per
    step whatever the number of steps, which k2t refused as a size Masking would need."""
    body = """
        h = keras.layers.Masking()(inputs)
        h = keras.layers.LSTM(4)(h)
    """
    source = MASKED.format(body=textwrap.dedent(body).strip(), features=FLOAT_STEPS, input_shape="(None, 3)")
    report = assert_parity(source, tmp_path)
    assert all(diff <= 1e-5 for _, diff in report.layer_diffs), report.layer_diffs


def test_masked_sequential_reads_like_torch(tmp_path):
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras

        x = np.random.RandomState(0).randint(0, 30, size=(96, 7))
        x[:, 0] = 1
        y = (x[:, 1] > 15).astype("float32")
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input(shape=(7,)),
            keras.layers.Embedding(30, 4, mask_zero=True),
            keras.layers.GRU(3, go_backwards=True),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    output = k2t.convert_source(source).output
    assert "x, mask = self.embedding(x.long()), x != 0" in output
    assert "x = self.gru(x, mask=mask.flip(1))" in output
    assert "class KerasGRUMasked(nn.GRU):" in output
    assert_parity(source, tmp_path)


UNMASKED = {
    # The mask reaching the model's output from a layer that is not the input's (tests/test_masked_loss.py: from the input).
    "h = keras.layers.Masking()(keras.layers.Embedding(VOCAB, 4)(inputs))\nh = keras.layers.LSTM(3, return_sequences=True)(h)": "model's output carries",
    "h = keras.layers.Embedding(VOCAB, 4, mask_zero=True)(inputs)\nh = keras.layers.BatchNormalization()(h)\nh = keras.layers.LSTM(3)(h)": "BatchNormalization on a masked sequence",
    "e = keras.layers.Embedding(VOCAB, 4, mask_zero=True)(inputs)\nh = keras.layers.LSTM(3)(keras.layers.Concatenate()([e, e]))": "Concatenate of masked sequences",
    "h = keras.layers.Embedding(VOCAB, 4, mask_zero=True)(inputs)\nh = keras.layers.GlobalAveragePooling1D(keepdims=True)(h)\nh = keras.layers.Flatten()(h)": "keepdims=True",
}


@pytest.mark.parametrize("body", UNMASKED)
def test_untranslated_masks_are_diagnostics(body):
    result = k2t.convert_source(_masked(body), "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], result.diagnostics
    assert UNMASKED[body] in result.diagnostics[0].message
