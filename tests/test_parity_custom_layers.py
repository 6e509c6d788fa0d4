"""Exact parity of custom layers (``class X(keras.layers.Layer)``) against Keras: the same initial weights
(copied from Keras's ``layer.weights`` in order), every layer's output and every epoch's loss within the
usual tolerances. A dense layer made with add_weight in a Sequential (its output shape derived through
the matmul), a Kaggle-style attention pooling after an LSTM in a Functional model, and a layer whose call
reads ``training``."""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

DATA = """\
import numpy as np
import keras
import tensorflow as tf
from keras import layers
from tensorflow.keras import backend as K

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 8)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
sequences = rng.normal(size=(96, 10, 4)).astype("float32")
keras.utils.set_random_seed(0)
"""


def case(body: str) -> str:
    return DATA + textwrap.dedent(body)


def test_dense_made_with_add_weight_in_a_sequential(tmp_path):
    source = case(
        """\
        class MyDense(layers.Layer):
            def __init__(self, units=32, **kwargs):
                super().__init__(**kwargs)
                self.units = units

            def build(self, input_shape):
                self.w = self.add_weight(name="kernel", shape=(input_shape[-1], self.units), initializer="he_uniform", trainable=True)
                self.b = self.add_weight(name="bias", shape=(self.units,), initializer="zeros", trainable=True)

            def call(self, inputs):
                return tf.nn.relu(tf.matmul(inputs, self.w) + self.b)

            def get_config(self):
                config = super().get_config()
                config.update({"units": self.units})
                return config


        model = keras.Sequential([
            keras.Input(shape=(8,)),
            MyDense(16, name="hidden"),
            layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_attention_pooling_after_an_lstm_in_a_functional_model(tmp_path):
    source = case(
        """\
        @keras.saving.register_keras_serializable()
        class Attention(layers.Layer):
            def __init__(self, **kwargs):
                super(Attention, self).__init__(**kwargs)

            def build(self, input_shape):
                self.W = self.add_weight(name="att_weight", shape=(input_shape[-1], 1), initializer="normal")
                self.b = self.add_weight(name="att_bias", shape=(input_shape[1], 1), initializer="zeros")
                super(Attention, self).build(input_shape)

            def call(self, x):
                et = K.squeeze(K.tanh(K.dot(x, self.W) + self.b), axis=-1)
                at = K.softmax(et)
                at = K.expand_dims(at, axis=-1)
                output = x * at
                return K.sum(output, axis=1)

            def compute_output_shape(self, input_shape):
                return (input_shape[0], input_shape[-1])

            def get_config(self):
                return super(Attention, self).get_config()


        inputs = keras.Input(shape=(10, 4))
        h = layers.LSTM(8, return_sequences=True)(inputs)
        h = Attention()(h)
        outputs = layers.Dense(1, activation="sigmoid")(h)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(sequences, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_call_reading_training(tmp_path):
    # Keras calls the layer with training=True in fit, False in predict and evaluate: the module passes
    # its own mode. The per-layer pass runs in inference mode, the training losses in training mode.
    source = case(
        """\
        class TrainingScale(layers.Layer):
            def __init__(self, factor, **kwargs):
                super().__init__(**kwargs)
                self.factor = factor

            def call(self, inputs, training=None):
                if training:
                    return inputs * self.factor
                return inputs

            def compute_output_shape(self, input_shape):
                return input_shape


        model = keras.Sequential([
            keras.Input(shape=(8,)),
            layers.Dense(6, activation="tanh"),
            TrainingScale(0.5),
            layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


TRANSFORMER = """\
vocab_size = 50
maxlen = 10
embed_dim = 8
ids = rng.randint(0, vocab_size, size=(96, maxlen))
labels = rng.randint(0, 2, size=(96,))


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs, training=False):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output, training=training)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output, training=training)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = tf.shape(x)[-1]
        positions = tf.range(start=0, limit=maxlen, delta=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


inputs = layers.Input(shape=(maxlen,))
x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
x = TransformerBlock(embed_dim, 2, 12)(x)
x = layers.GlobalAveragePooling1D()(x)
outputs = layers.Dense(2, activation="softmax")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(ids, labels, batch_size=16, epochs=3, verbose=0)
"""


def test_sublayers_made_in_init_keras_io_transformer(tmp_path):
    # The keras.io text classifier's two layers: MultiHeadAttention, a Sequential feed-forward, layer
    # normalisations and dropouts made in __init__, embeddings of the tokens and of tf.range positions;
    # each sublayer sized from the shapes k2t follows through call, its weights copied from Keras's.
    assert_parity(DATA + TRANSFORMER, tmp_path)


def test_activation_from_keras_activations_get_of_an_init_parameter(tmp_path):
    # keras.activations.get(activation): every use passes "tanh", so the class's __init__ holds torch's tanh;
    # its call's shape is derived through `self.activation(...)`.
    source = case(
        """\
        class MyDense(layers.Layer):
            def __init__(self, units, activation=None, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.activation = keras.activations.get(activation)

            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform")
                self.b = self.add_weight(shape=(self.units,), initializer="zeros")

            def call(self, inputs):
                return self.activation(keras.ops.matmul(inputs, self.w) + self.b)


        model = keras.Sequential([
            keras.Input(shape=(8,)),
            MyDense(6, activation="tanh"),
            MyDense(4, activation="tanh"),
            layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_weight_made_under_an_if_in_build_and_a_moving_statistic_assigned_in_call(tmp_path):
    """The Kaggle attention layer's `if self.bias: self.b = self.add_weight(...)`, and a non-trainable weight that
    call() updates with `.assign(...)` in training (a running mean, as BatchNormalization keeps one): torch's
    in-place copy into the parameter's data, which autograd does not record, as Keras does not differentiate it."""
    source = case(
        """\
        class RunningCenter(layers.Layer):
            def __init__(self, momentum=0.9, bias=True, **kwargs):
                super().__init__(**kwargs)
                self.momentum = momentum
                self.bias = bias

            def build(self, input_shape):
                self.moving_mean = self.add_weight(
                    shape=(input_shape[-1],), initializer="zeros", trainable=False, name="moving_mean"
                )
                if self.bias:
                    self.b = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="b")
                else:
                    self.b = None

            def call(self, inputs, training=None):
                if training:
                    batch_mean = keras.ops.mean(inputs, axis=0)
                    self.moving_mean.assign(self.momentum * self.moving_mean + (1 - self.momentum) * batch_mean)
                    centered = inputs - batch_mean
                else:
                    centered = inputs - self.moving_mean
                if self.b is not None:
                    centered = centered * self.b
                return centered

            def compute_output_shape(self, input_shape):
                return input_shape


        model = keras.Sequential([
            keras.Input(shape=(8,)),
            RunningCenter(),
            layers.Dense(6, activation="tanh"),
            layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x * 3 + 1, y, batch_size=16, epochs=3, verbose=0, validation_data=(x * 3 + 1, y))
        """
    )
    assert_parity(source, tmp_path)


def test_dropout_sublayer_after_a_matmul_over_the_layer_weights(tmp_path):
    # Issue 12: the sublayer's input shape comes through ops over the weights build() makes (x @ w + b).
    source = case(
        """\
        class DenseDrop(layers.Layer):
            def __init__(self, units=8, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.dr = layers.Dropout(0.2)

            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", trainable=True)
                self.b = self.add_weight(shape=(self.units,), initializer="zeros")

            def call(self, inputs, training=None):
                h = keras.ops.matmul(inputs, self.w) + self.b
                return self.dr(h, training=training)


        model = keras.Sequential([keras.Input(shape=(8,)), DenseDrop(6), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


KAGGLE_ATTENTION = """\
from tensorflow.keras import initializers, regularizers, constraints
from tensorflow.keras.layers import Layer


class Attention(Layer):
    def __init__(self, step_dim, W_regularizer=None, b_regularizer=None, W_constraint=None, b_constraint=None,
                 bias=True, **kwargs):
        self.supports_masking = True
        self.init = initializers.get("glorot_uniform")
        self.W_regularizer = regularizers.get(W_regularizer)
        self.b_regularizer = regularizers.get(b_regularizer)
        self.W_constraint = constraints.get(W_constraint)
        self.b_constraint = constraints.get(b_constraint)
        self.bias = bias
        self.step_dim = step_dim
        self.features_dim = 0
        super(Attention, self).__init__(**kwargs)

    def build(self, input_shape):
        assert len(input_shape) == 3
        self.W = self.add_weight(shape=(input_shape[-1],), initializer=self.init, name="{}_W".format(self.name),
                                 regularizer=self.W_regularizer, constraint=self.W_constraint)
        self.features_dim = input_shape[-1]
        if self.bias:
            self.b = self.add_weight(shape=(input_shape[1],), initializer="zero", name="{}_b".format(self.name),
                                     regularizer=self.b_regularizer, constraint=self.b_constraint)
        else:
            self.b = None
        self.built = True

    def compute_mask(self, input, input_mask=None):
        return None

    def call(self, x, mask=None):
        features_dim = self.features_dim
        step_dim = self.step_dim
        eij = K.reshape(K.dot(K.reshape(x, (-1, features_dim)), K.reshape(self.W, (features_dim, 1))), (-1, step_dim))
        if self.bias:
            eij += self.b
        eij = K.tanh(eij)
        a = K.exp(eij)
        if mask is not None:
            a *= K.cast(mask, K.floatx())
        a /= K.cast(K.sum(a, axis=1, keepdims=True) + K.epsilon(), K.floatx())
        a = K.expand_dims(a)
        weighted_input = x * a
        return K.sum(weighted_input, axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape[0], self.features_dim


maxlen = 12
ids = rng.randint(1, 200, size=(96, maxlen))
ids[:, 9:] = 0  # padding, masked by the Embedding
labels = rng.randint(0, 2, size=(96,))
inp = keras.Input(shape=(maxlen,))
h = layers.Embedding(200, 8, mask_zero=True)(inp)
h = layers.Bidirectional(layers.LSTM(6, return_sequences=True))(h)
h = Attention(maxlen, W_regularizer=keras.regularizers.l2(1e-3))(h)
h = layers.Dense(8, activation="relu")(h)
model = keras.Model(inp, layers.Dense(1, activation="sigmoid")(h))
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(ids, labels, batch_size=16, epochs=3, verbose=0, validation_split=0.25)
"""


def test_kaggle_attention_layer_with_initializer_getters_a_regularizer_and_the_mask(tmp_path):
    """The Kaggle kernels' Attention layer as written for Keras 2: its initializer, regularizers and constraints held
    through keras's getters in __init__, the regularizer passed by the model, `features_dim` set in build() and read
    by compute_output_shape, the Embedding's mask passed to call() and dropped by compute_mask, and `a *= mask` on
    tensors (a new tensor, as TensorFlow's `*=` makes: torch's in-place `*=` breaks autograd on exp's output)."""
    import k2t

    source = case(KAGGLE_ATTENTION)
    output = k2t.convert_source(source, "attention.py").output
    assert "a = a * mask.to(torch.float32)" in output and "eij = eij + self.b" in output
    assert "self.attention(h, mask=h_mask)" in output and "initializers" not in output
    assert "self.attention.W.square().sum()" in output  # W_regularizer=l2(1e-3), applied by the model
    assert_parity(source, tmp_path)


def test_lists_of_sublayers_iterated_in_call_and_a_weight_sized_by_a_name_build_binds(tmp_path):
    # A list of Dense layers made by a comprehension in __init__ (over range() of an argument, and over a tuple
    # parameter's default), called one after the other in a `for` loop: an nn.ModuleList, each item's weights
    # copied from Keras's list. The noise drawn under `if training:` is 0 here: TensorFlow's random stream is not
    # torch's, and parity --exact turns off dropout only.
    source = case(
        """\
        class GaussianBlock(layers.Layer):
            def __init__(self, units, n_layers=2, noise=0.1, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.noise = noise
                self.denses = [layers.Dense(units, activation="relu") for _ in range(n_layers)]
                self.dropout = layers.Dropout(0.2)

            def call(self, inputs, training=None):
                x = inputs
                if training:
                    x = x + tf.random.normal(tf.shape(x), stddev=self.noise)
                for d in self.denses:
                    x = d(x)
                x = self.dropout(x, training=training)
                return x

            def get_config(self):
                cfg = super().get_config()
                cfg.update(units=self.units, noise=self.noise)
                return cfg


        class Tapered(layers.Layer):
            def __init__(self, sizes=(12, 6)):
                super().__init__()
                self.hidden = [layers.Dense(s, activation="tanh") for s in sizes]

            def call(self, x):
                for layer in self.hidden:
                    x = layer(x)
                return x


        class GatedResidual(layers.Layer):
            def build(self, input_shape):
                dim = input_shape[-1]
                self.gate_w = self.add_weight(name="gate_w", shape=(dim, dim), initializer="random_normal", trainable=True)
                self.gate_b = self.add_weight(name="gate_b", shape=(dim,), initializer="zeros", trainable=True)
                super().build(input_shape)

            def call(self, inputs):
                g = tf.nn.sigmoid(tf.matmul(inputs, self.gate_w) + self.gate_b)
                return g * inputs + (1.0 - g) * tf.reduce_mean(inputs, axis=-1, keepdims=True)


        inputs = keras.Input(shape=(8,))
        h = GaussianBlock(16, n_layers=3, noise=0.0)(inputs)
        h = Tapered()(h)
        h = GatedResidual()(h)
        outputs = layers.Dense(1, activation="sigmoid")(h)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_weight_constraints_applied_after_each_optimizer_step(tmp_path):
    # The Keras 2 guide's layer: attributes set before super().__init__, an InputSpec (a check of the input's
    # shape, which the model's shapes satisfy: dropped), K.dot, compute_output_shape through tf.TensorShape, and
    # constraints on add_weight that bind from the first step on (a kernel of ones has column norms sqrt(8) > 2):
    # Keras's optimizer projects each weight after applying its gradient, torch's step post-hook does the same.
    source = case(
        """\
        from keras import constraints
        from keras.layers import InputSpec


        class MyLayer(layers.Layer):
            def __init__(self, output_dim, **kwargs):
                self.output_dim = output_dim
                super(MyLayer, self).__init__(**kwargs)

            def build(self, input_shape):
                self.input_spec = InputSpec(min_ndim=2, axes={-1: input_shape[-1]})
                self.kernel = self.add_weight(name="kernel", shape=(input_shape[1], self.output_dim),
                                              initializer="ones", trainable=True,
                                              constraint=constraints.MaxNorm(2.0))
                self.bias = self.add_weight(name="bias", shape=(self.output_dim,), initializer="random_normal",
                                            constraint="non_neg")
                self.mix = self.add_weight(name="mix", shape=(self.output_dim, self.output_dim),
                                           initializer="random_normal", constraint=constraints.UnitNorm(axis=1))
                self.gain = self.add_weight(name="gain", shape=(self.output_dim,), initializer="ones",
                                            constraint=constraints.MinMaxNorm(0.5, 1.5, rate=0.5, axis=0))
                super(MyLayer, self).build(input_shape)

            def call(self, x):
                return K.dot(K.dot(x, self.kernel) + self.bias, self.mix) * self.gain

            def compute_output_shape(self, input_shape):
                shape = tf.TensorShape(input_shape).as_list()
                shape[-1] = self.output_dim
                return tf.TensorShape(shape)


        model = keras.Sequential([
            keras.Input(shape=(8,)),
            MyLayer(6),
            layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    from torch.optim import optimizer

    hooks = dict(optimizer._global_optimizer_post_hooks)
    assert_parity(source, tmp_path)
    # The converted script's hook ends with its run: it would apply to every later optimizer of this process.
    assert dict(optimizer._global_optimizer_post_hooks) == hooks


def test_subclasses_of_keras_layers_and_of_a_layer_class_of_the_script(tmp_path):
    # ClippedDense(layers.Dense): nn.Linear's subclass, `super().call(x)` Dense's forward with its activation (tanh,
    # then the clip, which binds: tanh reaches past 0.5); Shifted(Scaled): the parent's __init__ and build (its
    # weight) inherited, `super().call(x)` the parent's forward; MCDropout(layers.Dropout) with training=True
    # (dropout off on both sides here, as parity --exact turns it off).
    source = case(
        """\
        class ClippedDense(layers.Dense):
            def call(self, inputs):
                out = super().call(inputs)
                return tf.clip_by_value(out, -0.5, 0.5)


        class Scaled(layers.Layer):
            def __init__(self, factor=1.0, **kwargs):
                super().__init__(**kwargs)
                self.factor = factor

            def build(self, input_shape):
                self.gain = self.add_weight(name="gain", shape=(input_shape[-1],), initializer="random_uniform")

            def call(self, x):
                return x * self.gain * self.factor


        class Shifted(Scaled):
            def call(self, x):
                return super().call(x) + 0.1


        class MCDropout(layers.Dropout):
            def call(self, inputs):
                return super().call(inputs, training=True)


        model = keras.Sequential([
            keras.Input(shape=(8,)),
            ClippedDense(12, activation="tanh"),
            Shifted(0.5),
            MCDropout(0.2),
            layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_a_list_of_weights_made_with_add_weight(tmp_path):
    # `self.cs = [self.add_weight(...) for i in range(n)]`: an nn.ParameterList, each weight initialised as Keras
    # does and copied from Keras's list one by one; their L2 terms join the loss.
    source = case(
        """\
        class L(layers.Layer):
            def __init__(self, units=8, n=3, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.n = n

            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", trainable=True)
                self.cs = [
                    self.add_weight(shape=(self.units,), initializer="random_normal", name=f"c{i}",
                                    regularizer=keras.regularizers.l2(0.01))
                    for i in range(self.n)
                ]
                self.b = self.add_weight(shape=(self.units,), initializer="random_uniform")

            def call(self, inputs):
                y = tf.matmul(inputs, self.w) + self.b
                for c in self.cs:
                    y = y * tf.nn.sigmoid(c)
                return y

            def compute_output_shape(self, input_shape):
                return input_shape[:-1] + (self.units,)


        model = keras.Sequential([keras.Input(shape=(8,)), L(6), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_keras3_layer_used_twice_with_a_sublayer_sized_by_its_weights(tmp_path):
    # A LayerNormalization made in __init__ and called on `matmul(inputs, self.w)`: nn.LayerNorm(units) in the class's
    # terms, one class for both uses; l2(self.l2) at each use's value, an activation name per use, a Constant(2.0)
    # weight not trained. With compute_output_shape Keras builds the model without calling call(), so the sublayer
    # gets its weights at the first call (the harness makes it before copying them).
    source = case(
        """\
        @keras.saving.register_keras_serializable()
        class ScaledDense(layers.Layer):
            def __init__(self, units=16, activation="relu", l2=1e-4, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.activation = keras.activations.get(activation)
                self.l2 = l2
                self.norm = layers.LayerNormalization()

            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                         regularizer=keras.regularizers.l2(self.l2), trainable=True, name="kernel")
                self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True, name="bias")
                self.scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(2.0), trainable=False)

            def call(self, inputs, training=None, mask=None):
                y = keras.ops.matmul(inputs, self.w) + self.b
                y = self.norm(y)
                return self.activation(y) * self.scale

            def compute_output_shape(self, input_shape):
                return input_shape[:-1] + (self.units,)


        model = keras.Sequential([
            keras.Input(shape=(8,)),
            ScaledDense(12),
            ScaledDense(6, activation="tanh", l2=0.01),
            layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)
