"""Training helpers: functions that compile and fit the model they receive (TensorFlow's tutorials'
``compile_and_fit(model, name)``, keras/examples/mnist_transfer_cnn.py's ``train_model(model, train, test)``).

k2t walks such a function's body at each call, with the model passed, and translates its compile/fit/
evaluate lines in place: the function stays, and so do its calls. Every model it receives must give
those lines the same translation, or the line is reported.
"""

import pytest
from conftest import requires_keras, requires_torch
from undefined import assert_no_undefined_names

import k2t

COMPILE_AND_FIT = """\
import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.RandomState(0)
x = rng.normal(size=(96, 6)).astype("float32")
y = (x[:, :2].sum(1, keepdims=True) > 0).astype("float32")


def compile_and_fit(model, name, epochs=3):
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
    model.summary()
    history = model.fit(x, y, batch_size=16, epochs=epochs, validation_split=0.25, verbose=0)
    print(name, history.history["val_loss"][-1])
    return history


tiny = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="elu"), layers.Dense(1)])
small = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(16, activation="elu"), layers.Dense(16, activation="elu"), layers.Dense(1)])
size_histories = {}
size_histories["Tiny"] = compile_and_fit(tiny, "sizes/Tiny")
size_histories["Small"] = compile_and_fit(small, "sizes/Small", epochs=3)
"""

TRANSFER = """\
import numpy as np
import keras
from keras.layers import Activation, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from keras.models import Sequential

keras.utils.set_random_seed(0)
input_shape = (8, 8, 1)
num_classes = 3


def train_model(model, train, test, num_classes):
    x_train = train[0].reshape((train[0].shape[0],) + input_shape).astype("float32")
    x_test = test[0].reshape((test[0].shape[0],) + input_shape).astype("float32")
    y_train = keras.utils.to_categorical(train[1], num_classes)
    y_test = keras.utils.to_categorical(test[1], num_classes)
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(0.01), metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=16, epochs=2, verbose=1, validation_data=(x_test, y_test))
    score = model.evaluate(x_test, y_test, verbose=0)
    print("Test score:", score[0])


rng = np.random.RandomState(0)
x = rng.rand(240, 8, 8)
y = rng.randint(0, 6, 240)
low, high = y < 3, y >= 3

feature_layers = [
    Conv2D(4, 3, padding="valid", input_shape=input_shape),
    Activation("relu"),
    Conv2D(4, 3),
    Activation("relu"),
    MaxPooling2D(pool_size=(2, 2)),
    Dropout(0.25),
    Flatten(),
]
classification_layers = [Dense(16), Activation("relu"), Dropout(0.5), Dense(num_classes), Activation("softmax")]
model = Sequential(feature_layers + classification_layers)

train_model(model, (x[low][:64], y[low][:64]), (x[low][64:], y[low][64:]), num_classes)

for layer in feature_layers:
    layer.trainable = False

train_model(model, (x[high][:64], y[high][:64] - 3), (x[high][64:], y[high][64:] - 3), num_classes)
"""


def convert_clean(source: str) -> str:
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert not [line for line in result.output.splitlines() if line.startswith(("import keras", "from keras"))]
    assert_no_undefined_names(result.output)
    return result.output


def test_the_helper_stays_a_function_whose_lines_are_translated_once_for_every_model():
    output = convert_clean(COMPILE_AND_FIT)
    body = output[output.index("def compile_and_fit(model, name, epochs=3):") :]
    # One optimizer per call, named once; the function's parameters stay its code.
    assert body.count("optimizer = KerasAdam(model.parameters(), lr=0.01") == 1
    assert "epochs=epochs" in body and "summary(model" in body
    assert 'size_histories["Tiny"] = compile_and_fit(tiny, "sizes/Tiny")' in output
    assert 'size_histories["Small"] = compile_and_fit(small, "sizes/Small", epochs=3)' in output


def test_calls_written_as_statements_stay_and_freezing_a_layer_list_reaches_the_model():
    output = convert_clean(TRANSFER)
    assert output.count("train_model(model, (x[") == 2  # neither call goes with the model's construction
    assert "for layer in (model.conv2d, model.conv2d_1):\n    layer.requires_grad_(False)" in output


def test_models_that_need_different_code_in_the_helper_are_reported():
    """A sigmoid output trains from its logits in Keras, a linear one from the clipped outputs: two fit loops."""
    source = COMPILE_AND_FIT.replace(
        'layers.Dense(16, activation="elu"), layers.Dense(1)])',
        'layers.Dense(16, activation="elu"), layers.Dense(1, activation="sigmoid")])',
    ).replace("BinaryCrossentropy(from_logits=True)", "BinaryCrossentropy()")
    result = k2t.convert_source(source, filename="case.py")
    fit_line = (
        source.splitlines().index(
            "    history = model.fit(x, y, batch_size=16, epochs=epochs, validation_split=0.25, verbose=0)"
        )
        + 1
    )
    assert [(d.code, d.line) for d in result.diagnostics] == [("K2T103", fit_line)], [
        d.format() for d in result.diagnostics
    ]
    assert "runs on models that k2t translates differently here" in result.diagnostics[0].message
    assert not result.ok


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("fit_index", [0, 1])
@pytest.mark.parametrize("source", [COMPILE_AND_FIT, TRANSFER], ids=["compile_and_fit", "transfer_after_freezing"])
def test_each_call_trains_as_keras_trains(source, fit_index, tmp_path):
    from k2t.parity import exact_parity

    path = tmp_path / "case.py"
    path.write_text(source)
    report = exact_parity(source, epochs=2, path=path, fit_index=fit_index)
    assert report.error is None, report.error
    details = "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert report.ok, details
    assert set(report.torch_history) == set(report.keras_history), details


RETURNS_THE_MODEL = """\
import numpy as np
import tensorflow as tf

rng = np.random.RandomState(0)
x = rng.normal(size=(128, 6)).astype("float32")
y = x[:, :1] * 0.5


def compile_fit(model, X, y, batch_size=32, epochs=10, sgd=0.01):
    train_dataset = tf.data.Dataset.from_tensor_slices((X, y))
    train_dataset = train_dataset.batch(batch_size).prefetch(tf.data.experimental.AUTOTUNE)
    optimizer = tf.keras.optimizers.SGD(sgd)
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    model.fit(train_dataset, epochs=epochs)
    return model


net = tf.keras.Sequential([tf.keras.Input(shape=(6,)), tf.keras.layers.Dense(units=1)])
trained = compile_fit(net, x, y, epochs=3)
print(trained.predict(x[:4]))
"""


def test_a_helper_returning_the_model_it_trained_gives_that_model_to_its_caller():
    output = convert_clean(RETURNS_THE_MODEL)
    assert "return model\n" in output and "fit_batches(model, optimizer" in output
    assert "print(predict(trained, x[:4]))" in output
