"""Exact parity of subclassed models (``class MyModel(keras.Model)``) against Keras: layers made in
__init__, applied in call() with ``training`` passed to Dropout and BatchNormalization; the same initial weights (copied from
Keras's layers in creation order), every layer's output and every epoch's loss within the usual tolerances."""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

DATA = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 8)).astype("float32")
y = (x.sum(axis=1) > 0).astype("int32")
images = rng.normal(size=(64, 8, 8, 1)).astype("float32")
labels = rng.randint(0, 3, size=(64,))
keras.utils.set_random_seed(0)
"""


def case(body: str) -> str:
    return DATA + textwrap.dedent(body)


def test_mlp_with_dropout(tmp_path):
    source = case(
        """\
        class MLP(keras.Model):
            def __init__(self, hidden=16):
                super().__init__()
                self.dense1 = layers.Dense(hidden, activation="relu")
                self.dropout = layers.Dropout(0.3)
                self.out = layers.Dense(2, activation="softmax")

            def call(self, inputs, training=None):
                x = self.dense1(inputs)
                x = self.dropout(x, training=training)
                return self.out(x)


        model = MLP(hidden=12)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=3, batch_size=32, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_small_cnn_with_batch_normalization(tmp_path):
    source = case(
        """\
        class SmallCNN(keras.Model):
            def __init__(self):
                super().__init__()
                self.conv = layers.Conv2D(4, 3, activation="relu")
                self.norm = layers.BatchNormalization()
                self.pool = layers.MaxPooling2D()
                self.flatten = layers.Flatten()
                self.out = layers.Dense(3)

            def call(self, x, training=False):
                x = self.conv(x)
                x = self.norm(x, training=training)
                x = self.pool(x)
                x = self.flatten(x)
                return self.out(x)


        model = SmallCNN()
        model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        history = model.fit(images, labels, epochs=3, batch_size=16, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_layers_in_a_list_and_a_dict_with_an_if_on_a_known_flag(tmp_path):
    # `for block in self.blocks` unrolled over the three layers the comprehension made, `if self.use_dropout`
    # decided on __init__'s value; Keras lists the layers in creation order (the list's, then the dict's).
    source = case(
        """\
        class Tower(keras.Model):
            def __init__(self, depth=3, use_dropout=True):
                super().__init__()
                self.blocks = [layers.Dense(12, activation="relu") for _ in range(depth)]
                self.use_dropout = use_dropout
                self.dropout = layers.Dropout(0.3)
                self.heads = {"label": layers.Dense(2, activation="softmax")}

            def call(self, inputs, training=None):
                h = inputs
                for block in self.blocks:
                    h = block(h)
                if self.use_dropout:
                    h = self.dropout(h, training=training)
                return self.heads["label"](h)


        model = Tower(depth=2)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=3, batch_size=32, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_call_with_ops_two_branches_concatenated_and_a_mean(tmp_path):
    # ops between the layer calls (issue 12): each a line of forward, rewritten through the op vocabulary, its
    # shape derived for the Dense after it (concatenation adds the last sizes, the mean and the index drop axis 1).
    source = case(
        """\
        sequences = rng.normal(size=(96, 5, 8)).astype("float32")
        target = sequences[:, :, :2].sum(axis=(1, 2))[:, None].astype("float32")


        class TwoBranch(keras.Model):
            def __init__(self):
                super().__init__()
                self.left = layers.Dense(8, activation="relu")
                self.right = layers.Dense(4, activation="tanh")
                self.out = layers.Dense(1)

            def call(self, inputs, training=False):
                a = self.left(inputs)
                b = self.right(inputs)
                h = keras.ops.concatenate([a, b], axis=-1)
                h = keras.ops.mean(h, axis=1) + h[:, 0] * 0.5
                return self.out(keras.ops.relu(h))


        model = TwoBranch()
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        history = model.fit(sequences, target, epochs=3, batch_size=16, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_zip_of_two_layer_lists_and_an_activation_op(tmp_path):
    # `for dense, norm in zip(self.denses, self.norms)` unrolled pair by pair; creation order is the lists' order.
    source = case(
        """\
        class Tower(keras.Model):
            def __init__(self, sizes=(16, 8)):
                super().__init__()
                self.denses = [layers.Dense(n) for n in sizes]
                self.norms = [layers.LayerNormalization() for _ in sizes]
                self.head = layers.Dense(2)

            def call(self, inputs, training=False):
                h = inputs
                for dense, norm in zip(self.denses, self.norms):
                    h = keras.ops.relu(norm(dense(h)))
                return self.head(h)


        model = Tower()
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        history = model.fit(x, y, epochs=3, batch_size=32, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_call_ending_in_a_softmax_op_trains_on_its_logits(tmp_path):
    # Keras's crossentropy reads the logits that keras.activations.softmax keeps on its result (_keras_logits); the
    # large kernel saturates the probabilities, where a loss on clipped probabilities would differ.
    source = case(
        """\
        class Heads(keras.Model):
            def __init__(self):
                super().__init__()
                self.hidden = layers.Dense(16, activation="relu")
                self.heads = {"logits": layers.Dense(3, kernel_initializer=keras.initializers.RandomNormal(stddev=20.0))}

            def call(self, inputs, training=False):
                return keras.activations.softmax(self.heads["logits"](self.hidden(inputs)))


        model = Heads()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=3, batch_size=32, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_call_ending_in_a_tf_sigmoid_trains_on_its_logits(tmp_path):
    # In fit's graph the output is a Sigmoid op: Keras's binary crossentropy takes that op's input, `score * 30`,
    # as the logits (forward computes them apart from the sigmoid).
    source = case(
        """\
        import tensorflow as tf


        class Scorer(keras.Model):
            def __init__(self):
                super().__init__()
                self.hidden = layers.Dense(16, activation="relu")
                self.score = layers.Dense(1)

            def call(self, inputs):
                return tf.sigmoid(self.score(self.hidden(inputs)) * 30.0)


        model = Scorer()
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y[:, None].astype("float32"), epochs=3, batch_size=32, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_a_layer_made_in_init_and_never_called(tmp_path):
    # Keras lists `unused` in model.layers, unbuilt and without weights; the module has no counterpart for it.
    source = case(
        """\
        class WithSpare(keras.Model):
            def __init__(self):
                super().__init__()
                self.hidden = layers.Dense(16, activation="relu")
                self.unused = layers.Dense(5)
                self.out = layers.Dense(2)

            def call(self, inputs):
                return self.out(self.hidden(inputs))


        model = WithSpare()
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        history = model.fit(x, y, epochs=3, batch_size=32, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_a_cnn_built_with_build_before_compile(tmp_path):
    # model.build((None, 8, 8, 1)) sizes the module; the torch module is built at construction, so the line goes.
    source = case(
        """\
        class SmallCNN(keras.Model):
            def __init__(self):
                super().__init__()
                self.conv = layers.Conv2D(4, 3, activation="relu")
                self.flatten = layers.Flatten()
                self.out = layers.Dense(3)

            def call(self, inputs):
                return self.out(self.flatten(self.conv(inputs)))


        model = SmallCNN()
        model.build((None, 8, 8, 1))
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        history = model.fit(images, labels, epochs=3, batch_size=16, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_a_cnn_built_by_a_call_on_tf_zeros(tmp_path):
    # `_ = model(tf.zeros((1, 8, 8, 1)))` only builds the model: it sizes the module, and the line goes.
    source = case(
        """\
        import tensorflow as tf


        class SmallCNN(keras.Model):
            def __init__(self):
                super().__init__()
                self.conv = layers.Conv2D(4, 3, activation="relu")
                self.flatten = layers.Flatten()
                self.out = layers.Dense(3)

            def call(self, inputs):
                return self.out(self.flatten(self.conv(inputs)))


        model = SmallCNN()
        _ = model(tf.zeros((1, 8, 8, 1)))
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        history = model.fit(images, labels, epochs=3, batch_size=16, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_array_made_after_the_model_as_in_keras_demo_subclass(tmp_path):
    """keras/examples/demo_subclass.py: ``model = MyModel(...)``, then ``x = np.random.random((n, 128))``, then
    fit: the module is sized from the shape the script writes, before the array exists."""
    source = case(
        """\
        class MyModel(keras.Model):
            def __init__(self, hidden_dim, output_dim):
                super().__init__()
                self.dense1 = layers.Dense(hidden_dim, activation="relu")
                self.dense2 = layers.Dense(hidden_dim, activation="relu")
                self.dense3 = layers.Dense(output_dim)

            def call(self, x):
                x = self.dense1(x)
                x = self.dense2(x)
                return self.dense3(x)


        model = MyModel(hidden_dim=16, output_dim=3)

        x = np.random.random((64, 12))
        y = np.random.random((64, 3))
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss=keras.losses.MeanSquaredError())
        history = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_sizes_known_only_when_the_script_runs_as_in_keras_io_collaborative_filtering(tmp_path):
    """keras.io's structured_data/collaborative_filtering_movielens.py: the vocabulary sizes are computed from the
    data and given to __init__ (constructor parameters of the module, passed where the script makes the model); the
    model is built on a keras.Input whose result nothing reads; call() slices float ids for its Embeddings (Keras
    casts them to int) and merges two of them with a Dot it makes there."""
    source = case(
        """\
        import tensorflow as tf

        ids = np.stack([rng.randint(0, 23, size=256), rng.randint(0, 37, size=256)], axis=1).astype("float32")
        ratings = rng.uniform(size=(256,)).astype("float32")
        num_users = int(ids[:, 0].max()) + 1
        num_movies = int(ids[:, 1].max()) + 1
        min_rating = float(ratings.min())
        EMBEDDING_SIZE = 6


        class RecommenderNet(keras.Model):
            def __init__(self, num_users, num_movies, embedding_size, min_rating, **kwargs):
                super().__init__(**kwargs)
                self.num_users = num_users
                self.min_rating = min_rating
                self.user_embedding = layers.Embedding(
                    num_users,
                    embedding_size,
                    embeddings_initializer="he_normal",
                    embeddings_regularizer=keras.regularizers.l2(1e-3),
                )
                self.user_bias = layers.Embedding(num_users, 1)
                self.movie_embedding = layers.Embedding(
                    num_movies,
                    embedding_size,
                    embeddings_initializer="he_normal",
                    embeddings_regularizer=keras.regularizers.l2(1e-3),
                )
                self.movie_bias = layers.Embedding(num_movies, 1)

            def call(self, inputs):
                user_vector = self.user_embedding(inputs[:, 0])
                user_bias = self.user_bias(inputs[:, 0])
                movie_vector = self.movie_embedding(inputs[:, 1])
                movie_bias = self.movie_bias(inputs[:, 1])
                dot_user_movie = layers.Dot(axes=1)([user_vector, movie_vector])
                x = dot_user_movie + user_bias + movie_bias
                return tf.nn.sigmoid(x)


        inputs = layers.Input(shape=(2,))
        model = RecommenderNet(num_users, num_movies, EMBEDDING_SIZE, min_rating)
        outputs = model(inputs)
        model.compile(loss=tf.keras.losses.BinaryCrossentropy(), optimizer=keras.optimizers.Adam(learning_rate=0.01))
        history = model.fit(x=ids, y=ratings, batch_size=32, epochs=3, verbose=0, validation_data=(ids[:64], ratings[:64]))
        """
    )
    assert_parity(source, tmp_path)
