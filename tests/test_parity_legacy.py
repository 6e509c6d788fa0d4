"""Exact parity of scripts in Keras 1/2 spellings, converted, against Keras 3 running their Keras 2 spelling.

Keras 3 rejects ``output_dim=``, ``nb_filter=``, ``border_mode=`` and optimizer
``decay=``; Keras 2 read them through keras/legacy/interfaces.py and
keras/optimizers.py. Keras therefore runs each script in the spelling Keras 2
turned it into: ``decay=d`` with ``lr=r`` is ``learning_rate=InverseTimeDecay(r,
decay_steps=1, decay_rate=d)``, since Keras 2 used ``r / (1 + d * iterations)``
at each update and Keras 3 evaluates a schedule at the updates done before each
one. The decays here are large, so that the rate changes visibly within the
18 updates of a case.
"""

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

from parity_cases import assert_converted_parity, script

HIDDEN = 'keras.layers.Dense(5, activation="relu")'
OUT = 'keras.layers.Dense(1, activation="sigmoid")'
DECAY = "keras.optimizers.schedules.InverseTimeDecay({lr}, decay_steps=1, decay_rate={decay})"


@pytest.mark.parametrize(
    ("keras2", "keras3"),
    [
        pytest.param("SGD(lr=0.1, decay=0.3, momentum=0.9, nesterov=True)", "SGD(learning_rate={schedule}, momentum=0.9, nesterov=True)", id="SGD-nesterov"),
        pytest.param("RMSprop(lr=0.01, decay=0.5)", "RMSprop(learning_rate={schedule})", id="RMSprop"),
        pytest.param("Adagrad(lr=0.1, decay=0.5)", "Adagrad(learning_rate={schedule})", id="Adagrad"),
        pytest.param("Adadelta(lr=1.0, decay=0.5)", "Adadelta(learning_rate={schedule})", id="Adadelta"),
        pytest.param("Adam(lr=0.01, decay=0.5)", "Adam(learning_rate={schedule})", id="Adam"),
        pytest.param("Adamax(lr=0.01, decay=0.5)", "Adamax(learning_rate={schedule})", id="Adamax"),
    ],
)
def test_optimizer_decay_matches_inverse_time_decay(keras2, keras3, tmp_path):
    lr, decay = keras2.split("lr=")[1].split(",")[0], keras2.split("decay=")[1].split(",")[0].rstrip(")")
    keras3 = keras3.format(schedule=DECAY.format(lr=lr, decay=decay))
    layers = [HIDDEN, OUT]
    assert_converted_parity(
        script(layers, optimizer=f"keras.optimizers.{keras2}"), script(layers, optimizer=f"keras.optimizers.{keras3}"), tmp_path
    )


IMDB_CNN = """\
import numpy as np
import keras
from keras.models import Sequential
from keras.layers import Embedding, Convolution1D, MaxPooling1D, Flatten, Dense, Activation
from keras.regularizers import l2

rng = np.random.RandomState(0)
x = rng.randint(1, 40, size=(96, 12))
y = (x[:, :3].sum(axis=1) > 60).astype("float32")
keras.utils.set_random_seed(0)
model = Sequential()
model.add(Embedding(40, 8, input_length=12))
model.add(Convolution1D(nb_filter=6, filter_length=3, border_mode='valid', activation='relu', subsample_length=1, init='he_normal'))
model.add(MaxPooling1D(pool_length=2))
model.add(Flatten())
model.add(Dense(output_dim=5, W_regularizer=l2(0.01), b_regularizer=l2(0.01)))
model.add(Activation('relu'))
model.add(Dense(1))
model.add(Activation('sigmoid'))
model.compile(loss='binary_crossentropy', optimizer=keras.optimizers.SGD(lr=0.05, decay=0.2, momentum=0.9, nesterov=True), metrics=['accuracy'])
model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""

IMDB_CNN_KERAS3 = (
    IMDB_CNN.replace("Embedding(40, 8, input_length=12)", "Embedding(40, 8)")
    .replace("model = Sequential()\n", "model = Sequential()\nmodel.add(keras.Input(shape=(12,)))\n")
    .replace("nb_filter=6, filter_length=3, border_mode=", "filters=6, kernel_size=3, padding=")
    .replace("subsample_length=1, init=", "strides=1, kernel_initializer=")
    .replace("pool_length=2", "pool_size=2")
    .replace("output_dim=5, W_regularizer=l2(0.01), b_regularizer=", "units=5, kernel_regularizer=l2(0.01), bias_regularizer=")
    .replace("SGD(lr=0.05, decay=0.2,", f"SGD(learning_rate={DECAY.format(lr=0.05, decay=0.2)},")
)

CIFAR_CNN = """\
import numpy as np
import keras
from keras.models import Sequential
from keras.layers import Convolution2D, MaxPooling2D, Flatten, Dense, Activation, Dropout

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 10, 10, 3)).astype("float32")
y = np.eye(3, dtype="float32")[np.argmax(x.reshape(96, -1)[:, :3], axis=1)]
keras.utils.set_random_seed(0)
model = Sequential()
model.add(Convolution2D(6, 3, 3, border_mode='same', input_shape=(10, 10, 3)))
model.add(Activation('relu'))
model.add(Convolution2D(8, 3, 3, subsample=(2, 2), init='glorot_normal'))
model.add(Activation('relu'))
model.add(MaxPooling2D(pool_size=(2, 2), border_mode='same'))
model.add(Dropout(p=0.25))
model.add(Flatten())
model.add(Dense(output_dim=3))
model.add(Activation('softmax'))
opt = keras.optimizers.rmsprop(lr=0.001, decay=0.1)
model.compile(loss='categorical_crossentropy', optimizer=opt, metrics=['accuracy'])
model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""

CIFAR_CNN_KERAS3 = (
    CIFAR_CNN.replace("Convolution2D(6, 3, 3, border_mode=", "Convolution2D(6, (3, 3), padding=")
    .replace("Convolution2D(8, 3, 3, subsample=(2, 2), init=", "Convolution2D(8, (3, 3), strides=(2, 2), kernel_initializer=")
    .replace("pool_size=(2, 2), border_mode=", "pool_size=(2, 2), padding=")
    .replace("Dropout(p=0.25)", "Dropout(rate=0.25)")
    .replace("output_dim=3", "units=3")
    .replace("keras.optimizers.rmsprop(lr=0.001, decay=0.1)", f"keras.optimizers.RMSprop(learning_rate={DECAY.format(lr=0.001, decay=0.1)})")
)

IRNN = """\
import numpy as np
import keras
from keras import initializers
from keras.models import Sequential
from keras.layers import SimpleRNN, Dense, Activation
from keras.optimizers import RMSprop

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 8, 4)).astype("float32")
y = np.eye(3, dtype="float32")[np.argmax(x[:, -1, :3], axis=1)]
keras.utils.set_random_seed(0)
model = Sequential()
model.add(SimpleRNN(output_dim=6, init=initializers.RandomNormal(stddev=0.1), inner_init=initializers.Identity(gain=1.0), activation='relu', input_shape=x.shape[1:]))
model.add(Dense(3))
model.add(Activation('softmax'))
model.compile(loss='categorical_crossentropy', optimizer=RMSprop(lr=1e-3), metrics=['accuracy'])
model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""

IRNN_KERAS3 = IRNN.replace("output_dim=6, init=", "units=6, kernel_initializer=").replace("inner_init=", "recurrent_initializer=").replace(
    "RMSprop(lr=1e-3)", "RMSprop(learning_rate=1e-3)"
)


@pytest.mark.parametrize(
    ("keras1", "keras3"),
    [
        pytest.param(IMDB_CNN, IMDB_CNN_KERAS3, id="imdb_cnn"),
        pytest.param(CIFAR_CNN, CIFAR_CNN_KERAS3, id="cifar10_cnn"),
        pytest.param(IRNN, IRNN_KERAS3, id="mnist_irnn"),
    ],
)
def test_legacy_script_matches_keras(keras1, keras3, tmp_path):
    assert keras1 != keras3
    assert_converted_parity(keras1, keras3, tmp_path)
