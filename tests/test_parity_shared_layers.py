"""Layer objects shared by several models (k2t/translate/shared_layers.py) against real Keras.

A model built after training from the trained layers (a feature extractor, keras.io's
seq2seq encoder_model / decoder_model) holds the same weights in Keras: its predictions
after training must be those of Keras, not of freshly initialised layers.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from split_runs import run_both

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

FEATURES = textwrap.dedent(
    """\
    import numpy as np
    import keras

    rng = np.random.RandomState(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(6, activation="relu")
    h = hidden(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(h)
    model = keras.Model(inputs, outputs)
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.5))
    feature_model = keras.Model(inputs, h)
    before = feature_model.predict(x, verbose=0)
    history = model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    features = feature_model.predict(x, verbose=0)
    """
)


def test_a_model_of_trained_layers_shares_their_weights():
    import numpy as np

    output = k2t.convert_source(FEATURES).output
    assert "feature_model = FeatureModel(dense=model.dense).to(device)" in output
    assert "self.dense = dense  # the layer of `model`, with its weights (Keras shares them)" in output
    keras_namespace, torch_namespace = run_both(FEATURES, output, "\nhistory = ")
    np.testing.assert_allclose(torch_namespace["history"].history["loss"], keras_namespace["history"].history["loss"], rtol=1e-5)
    np.testing.assert_allclose(torch_namespace["features"], keras_namespace["features"], atol=1e-5)
    assert np.abs(keras_namespace["features"] - keras_namespace["before"]).max() > 1e-2  # training did move them


# keras.io's "character-level recurrent sequence-to-sequence model", small: an LSTM encoder-decoder trained with
# teacher forcing, then encoder_model / decoder_model built from the trained layers and a greedy decode loop.
SEQ2SEQ = """\
import numpy as np
import keras

num_encoder_tokens, num_decoder_tokens, latent_dim = 6, 5, 16
max_encoder_seq_length, max_decoder_seq_length = 4, 5
rng = np.random.RandomState(0)
encoder_input_data = np.eye(num_encoder_tokens, dtype="float32")[rng.randint(0, num_encoder_tokens, size=(32, max_encoder_seq_length))]
decoder_input_data = np.eye(num_decoder_tokens, dtype="float32")[rng.randint(0, num_decoder_tokens, size=(32, max_decoder_seq_length))]
decoder_target_data = np.zeros_like(decoder_input_data)
decoder_target_data[:, :-1] = decoder_input_data[:, 1:]
decoder_target_data[:, -1, 0] = 1.0  # the step after the end: token 0, as keras.io pads with " "

keras.utils.set_random_seed(0)
encoder_inputs = keras.Input(shape=(None, num_encoder_tokens))
encoder = keras.layers.LSTM(latent_dim, return_state=True)
encoder_outputs, state_h, state_c = encoder(encoder_inputs)
encoder_states = [state_h, state_c]

decoder_inputs = keras.Input(shape=(None, num_decoder_tokens))
decoder_lstm = keras.layers.LSTM(latent_dim, return_sequences=True, return_state=True)
decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
decoder_dense = keras.layers.Dense(num_decoder_tokens, activation="softmax")
decoder_outputs = decoder_dense(decoder_outputs)

model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit([encoder_input_data, decoder_input_data], decoder_target_data, batch_size=8, epochs=3, shuffle=False, verbose=0)

# Inference: the trained layers, rebuilt into an encoder and a one-step decoder.
encoder_model = keras.Model(encoder_inputs, encoder_states)

decoder_state_input_h = keras.Input(shape=(latent_dim,))
decoder_state_input_c = keras.Input(shape=(latent_dim,))
decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
decoder_outputs, state_h, state_c = decoder_lstm(decoder_inputs, initial_state=decoder_states_inputs)
decoder_states = [state_h, state_c]
decoder_outputs = decoder_dense(decoder_outputs)
decoder_model = keras.Model([decoder_inputs] + decoder_states_inputs, [decoder_outputs] + decoder_states)


def decode_sequence(input_seq):
    states_value = encoder_model.predict(input_seq, verbose=0)
    target_seq = np.zeros((1, 1, num_decoder_tokens))
    target_seq[0, 0, 0] = 1.0
    decoded, probabilities = [], []
    while len(decoded) < max_decoder_seq_length:
        output_tokens, h, c = decoder_model.predict([target_seq] + states_value, verbose=0)
        probabilities.append(output_tokens[0, -1])
        sampled_token_index = np.argmax(output_tokens[0, -1, :])
        decoded.append(int(sampled_token_index))
        target_seq = np.zeros((1, 1, num_decoder_tokens))
        target_seq[0, 0, sampled_token_index] = 1.0
        states_value = [h, c]
    return decoded, np.array(probabilities)


decoded = [decode_sequence(encoder_input_data[i : i + 1]) for i in range(6)]
"""


def test_seq2seq_inference_loop_decodes_as_keras():
    """The decode loop calls decoder_model.predict([target_seq] + states_value) step by step: the same tokens
    and the same probabilities at every step as Keras, after the same training from the same weights."""
    import numpy as np

    result = k2t.convert_source(SEQ2SEQ, "seq2seq.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "encoder_model = EncoderModel(lstm=model.lstm).to(device)" in result.output
    assert "decoder_model = DecoderModel(lstm=model.lstm_1, dense=model.dense).to(device)" in result.output
    keras_namespace, torch_namespace = run_both(SEQ2SEQ, result.output, "\nhistory = ")
    np.testing.assert_allclose(torch_namespace["history"].history["loss"], keras_namespace["history"].history["loss"], rtol=1e-5)
    for (keras_tokens, keras_steps), (torch_tokens, torch_steps) in zip(keras_namespace["decoded"], torch_namespace["decoded"]):
        assert torch_tokens == keras_tokens
        np.testing.assert_allclose(torch_steps, keras_steps, atol=1e-5)
    assert len({tuple(tokens) for tokens, _ in keras_namespace["decoded"]}) > 1  # the decoder does depend on the input


# keras.io's lstm_seq2seq as it reads today: the trained model saved, loaded back, and the inference models
# built from the loaded model's tensors and layers by position (`model.input[0]`, `model.layers[2].output`).
SEQ2SEQ_RESTORED = SEQ2SEQ.replace(
    """# Inference: the trained layers, rebuilt into an encoder and a one-step decoder.
encoder_model = keras.Model(encoder_inputs, encoder_states)
""",
    """model.save("s2s_model.keras")
model = keras.models.load_model("s2s_model.keras")

encoder_inputs = model.input[0]  # input_1
encoder_outputs, state_h_enc, state_c_enc = model.layers[2].output  # lstm_1
encoder_states = [state_h_enc, state_c_enc]
encoder_model = keras.Model(encoder_inputs, encoder_states)

decoder_inputs = model.input[1]  # input_2
decoder_lstm = model.layers[3]
decoder_dense = model.layers[4]
""",
)


def test_seq2seq_inference_models_from_the_restored_models_layers(tmp_path, monkeypatch):
    """Keras lists the model's layers by depth ([enc_in, dec_in, encoder LSTM, decoder LSTM, dense]); k2t picks
    the same layers from the loaded model, and the decode loop gives Keras's tokens and probabilities."""
    import numpy as np

    assert SEQ2SEQ_RESTORED != SEQ2SEQ
    monkeypatch.chdir(tmp_path)
    result = k2t.convert_source(SEQ2SEQ_RESTORED, "seq2seq.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "encoder_model = EncoderModel(lstm=model.lstm).to(device)" in result.output
    assert "decoder_model = DecoderModel(lstm=model.lstm_1, dense=model.dense).to(device)" in result.output
    keras_namespace, torch_namespace = run_both(SEQ2SEQ_RESTORED, result.output, "\nhistory = ")
    layers = keras_namespace["model"].layers
    assert [type(layer).__name__ for layer in layers] == ["InputLayer", "InputLayer", "LSTM", "LSTM", "Dense"]
    assert not layers[2].return_sequences and layers[3].return_sequences  # the encoder's LSTM, then the decoder's
    for (keras_tokens, keras_steps), (torch_tokens, torch_steps) in zip(keras_namespace["decoded"], torch_namespace["decoded"]):
        assert torch_tokens == keras_tokens
        np.testing.assert_allclose(torch_steps, keras_steps, atol=1e-5)
    assert len({tuple(tokens) for tokens, _ in keras_namespace["decoded"]}) > 1
