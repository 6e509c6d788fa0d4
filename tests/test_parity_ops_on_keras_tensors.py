"""Exact parity of ops applied to Keras tensors in Functional models, and of Lambda layers over the script's
named functions (issue 12), against Keras with the same weights:

- Keras 3's ``keras.ops`` on symbolic tensors (``ops.mean(h, axis=1)``, ``ops.concatenate``, ``ops.relu(z) * 2.0``):
  ops of Keras's graph, lines of forward;
- tf.keras 2's TensorFlow ops on Keras tensors (``tf.reduce_mean(e, axis=1)``, ``tf.concat``), which it wrapped in
  TFOpLambda layers; Keras 3 refuses them, so the Keras side runs them as such layers (tests/keras2_api.py);
- ``Lambda(scale, arguments={"factor": 0.5})`` and ``Lambda(channel_mean)`` with shapes derived through slicing;
- the Keras 2 siamese network: ``Lambda(euclidean_distance, output_shape=eucl_dist_output_shape)`` on two tensors of
  a shared base, a lambda on the list without ``output_shape``."""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]


def test_keras_ops_on_keras_tensors(tmp_path):
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras
        from keras import layers, ops

        SCALE = 2.0
        rng = np.random.RandomState(0)
        x = rng.rand(96, 10, 4).astype("float32")
        y = (x.mean(axis=(1, 2)) > 0.5).astype("float32").reshape(96, 1)
        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(10, 4))
        h = layers.Dense(8, activation="relu")(inputs)
        pooled = ops.mean(h, axis=1)
        mx = ops.max(h, axis=1)
        z = ops.concatenate([pooled, mx], axis=-1)
        z = ops.relu(z) * SCALE
        z -= 0.25
        first = z[:, :4]
        z = ops.concatenate([first * ops.sigmoid(z[:, 4:8]), -z[:, 8:]], axis=-1)
        outputs = layers.Dense(1, activation="sigmoid")(layers.Dense(5)(z) / 4.0)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        """
    )
    report = assert_parity(source, tmp_path)
    assert [name for name, _ in report.layer_diffs] == ["dense", "dense_2", "dense_1", "output"]  # Dense(1) is made first


def test_keras_ops_softmax_output_trains_on_its_logits(tmp_path):
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras
        from keras import layers, ops

        rng = np.random.RandomState(0)
        x = rng.normal(size=(96, 6)).astype("float32")
        y = np.argmax(x[:, :3], axis=1)
        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(6,))
        h = layers.Dense(8)(inputs)
        outputs = ops.softmax(layers.Dense(3)(ops.tanh(h)) * 3.0)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


@pytest.fixture
def tf_op_layers(monkeypatch):
    """tf.keras 2's TFOpLambda layers for the TensorFlow ops the test applies to Keras tensors."""
    import keras2_api

    keras2_api.tf_op_layers(monkeypatch.setattr, ("reduce_mean", "reduce_max", "concat", "math.square"))


def test_tensorflow_ops_on_keras_tensors_as_tf_keras_2_ran_them(tf_op_layers, tmp_path):
    source = textwrap.dedent(
        """\
        import numpy as np
        import tensorflow as tf
        from tensorflow import keras
        from tensorflow.keras import layers

        rng = np.random.RandomState(0)
        x = rng.randint(0, 50, size=(96, 12))
        y = (x.mean(axis=1) > 25).astype("float32").reshape(96, 1)
        keras.utils.set_random_seed(0)
        inp = layers.Input(shape=(12,))
        e = layers.Embedding(50, 8)(inp)
        avg = tf.reduce_mean(e, axis=1)
        mx = tf.reduce_max(e, axis=1)
        z = tf.concat([avg, tf.math.square(mx)], axis=1)
        out = layers.Dense(1, activation="sigmoid")(z)
        model = keras.Model(inp, out)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        """
    )
    report = assert_parity(source, tmp_path)
    assert [name for name, _ in report.layer_diffs] == ["embedding", "dense", "output"]


def test_lambda_of_named_functions_with_arguments(tmp_path):
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras
        from keras import layers, ops


        def channel_mean(t):
            return ops.mean(t, axis=1)


        def scale(t, factor=1.0, shift=0.0):
            return t * factor + shift


        rng = np.random.RandomState(0)
        x_data = rng.rand(96, 8, 6).astype("float32")
        y_data = rng.rand(96, 1).astype("float32")
        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(8, 6))
        x = layers.Lambda(lambda t: ops.square(t) - 0.5)(inputs)
        x = layers.Lambda(lambda t: t[:, 1:, :])(x)
        x = layers.Lambda(scale, arguments={"factor": 0.5, "shift": 0.25})(x)
        x = layers.Lambda(lambda t, k: t * k, arguments={"k": 3.0})(x)
        m = layers.Lambda(channel_mean)(x)
        mx = layers.Lambda(lambda t: ops.max(t, axis=1), name="max_pool")(x)
        h = layers.Concatenate()([m, mx])
        h = layers.Dense(16, activation="relu")(h)
        outputs = layers.Dense(1)(h)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="rmsprop", loss="mae")
        model.fit(x_data, y_data, epochs=3, batch_size=32, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_keras2_siamese_network_with_named_distance_function(tmp_path):
    source = textwrap.dedent(
        """\
        import numpy as np
        from tensorflow import keras
        from tensorflow.keras import backend as K
        from tensorflow.keras.layers import Input, Dense, Lambda, Flatten
        from tensorflow.keras.models import Model, Sequential


        def euclidean_distance(vects):
            x, y = vects
            sum_square = K.sum(K.square(x - y), axis=1, keepdims=True)
            return K.sqrt(K.maximum(sum_square, K.epsilon()))


        def eucl_dist_output_shape(shapes):
            shape1, shape2 = shapes
            return (shape1[0], 1)


        def contrastive_loss(y_true, y_pred):
            margin = 1
            square_pred = K.square(y_pred)
            margin_square = K.square(K.maximum(margin - y_pred, 0))
            return K.mean(y_true * square_pred + (1 - y_true) * margin_square)


        rng = np.random.RandomState(0)
        pa = rng.rand(96, 4, 4).astype("float32")
        pb = rng.rand(96, 4, 4).astype("float32")
        lab = rng.randint(0, 2, size=(96, 1)).astype("float32")
        keras.utils.set_random_seed(0)
        base = Sequential([Flatten(input_shape=(4, 4)), Dense(32, activation="relu"), Dense(16)])
        base.add(Lambda(lambda v: K.l2_normalize(v, axis=1)))

        in_a = Input(shape=(4, 4))
        in_b = Input(shape=(4, 4))
        ea = base(in_a)
        eb = base(in_b)
        dist = Lambda(euclidean_distance, output_shape=eucl_dist_output_shape)([ea, eb])
        l1 = Lambda(lambda t: K.abs(t[0] - t[1]))([ea, eb])
        l1m = Lambda(lambda t: K.mean(t, axis=-1, keepdims=True))(l1)
        merged = keras.layers.concatenate([dist, l1m])
        out = Dense(1, activation="sigmoid")(merged)
        model = Model([in_a, in_b], out)
        model.compile(loss=contrastive_loss, optimizer="adam", metrics=["accuracy"])
        model.fit([pa, pb], lab, batch_size=32, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)
