"""Exact parity against real Keras for every supported layer, activation, loss, optimizer and metric.

Each case is a tiny Keras script; k2t converts it, the harness copies Keras's
initial weights into the torch module, switches shuffle and dropout off, and
compares every layer's forward output (max abs diff <= 1e-4) and every
epoch's loss (relative diff <= 1e-3) and metrics.
"""


import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

from parity_cases import assert_parity, script

OUT = 'keras.layers.Dense(1, activation="sigmoid")'
ACTIVATIONS = [
    "relu", "sigmoid", "softmax", "log_softmax", "tanh", "elu", "selu", "gelu", "swish", "silu", "softplus",
    "softsign", "exponential", "hard_sigmoid", "hard_swish", "relu6", "leaky_relu", "mish", "linear", None,
]


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=str)
def test_dense_activation(activation, tmp_path):
    act = repr(activation)
    assert_parity(script([f"keras.layers.Dense(5, activation={act})", OUT]), tmp_path)


LAYERS = {
    "dense_no_bias": ["keras.layers.Dense(5, use_bias=False)"],
    "dense_activation_function": ["keras.layers.Dense(5, activation=keras.activations.relu)"],
    "dense_l2": ['keras.layers.Dense(5, activation="relu", kernel_regularizer="l2")'],
    "dense_l1": ["keras.layers.Dense(5, kernel_regularizer=keras.regularizers.l1(0.02), bias_regularizer=keras.regularizers.L2(0.1))"],
    "dense_l1_l2": ["keras.layers.Dense(5, kernel_regularizer=keras.regularizers.l1_l2(l1=0.01, l2=0.02))"],
    "activation_layers": ['keras.layers.Dense(5)', 'keras.layers.Activation("tanh")', "keras.layers.Dense(4)", "keras.layers.Activation(keras.activations.elu)"],
    "relu_layer": ["keras.layers.Dense(5)", "keras.layers.ReLU()"],
    "relu_max_value": ["keras.layers.Dense(5)", "keras.layers.ReLU(max_value=6.0)"],
    "relu_max_value_1": ["keras.layers.Dense(5)", "keras.layers.ReLU(max_value=1.0)"],
    "relu_negative_slope": ["keras.layers.Dense(5)", "keras.layers.ReLU(negative_slope=0.1)"],
    "relu_threshold": ["keras.layers.Dense(5)", "keras.layers.ReLU(threshold=0.5)"],
    "relu_threshold_slope": ["keras.layers.Dense(5)", "keras.layers.ReLU(negative_slope=0.1, threshold=0.3)"],
    "relu_max_value_slope": ["keras.layers.Dense(5)", "keras.layers.ReLU(max_value=1.5, negative_slope=0.2)"],
    "relu_max_value_slope_threshold": ["keras.layers.Dense(5)", "keras.layers.ReLU(1.0, 0.1, 0.2)"],
    "leaky_relu_default": ["keras.layers.Dense(5)", "keras.layers.LeakyReLU()"],
    "leaky_relu_slope": ["keras.layers.Dense(5)", "keras.layers.LeakyReLU(negative_slope=0.05)"],
    "elu_layer": ["keras.layers.Dense(5)", "keras.layers.ELU(alpha=0.5)"],
    "prelu": ["keras.layers.Dense(5)", "keras.layers.PReLU()"],
    "dropout": ['keras.layers.Dense(8, activation="relu")', "keras.layers.Dropout(0.5)"],
    "batchnorm": ["keras.layers.Dense(8)", "keras.layers.BatchNormalization()"],
    "batchnorm_args": ["keras.layers.Dense(8)", "keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)"],
    "batchnorm_no_center_scale": ["keras.layers.Dense(8)", "keras.layers.BatchNormalization(center=False, scale=False)"],
    "batchnorm_first": ["keras.layers.BatchNormalization()", 'keras.layers.Dense(4, activation="relu")'],
    "named_layers": ['keras.layers.Dense(5, activation="relu", name="hidden")', 'keras.layers.Dropout(0.1, name="drop")'],
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer(name, tmp_path):
    assert_parity(script([*LAYERS[name], OUT]), tmp_path)


def test_flatten_of_2d_inputs(tmp_path):
    source = script(
        ["keras.layers.Flatten()", 'keras.layers.Dense(5, activation="relu")', OUT],
        features=12,
        x_shape=".reshape(96, 4, 3)",
        input_shape="(4, 3)",
    )
    assert_parity(source, tmp_path)


def test_softmax_layer_with_categorical_crossentropy(tmp_path):
    source = script(
        ["keras.layers.Dense(3)", "keras.layers.Softmax()"],
        loss='"categorical_crossentropy"',
        targets="categorical",
    )
    assert_parity(source, tmp_path)


HIDDEN = 'keras.layers.Dense(6, activation="tanh")'
LOSSES = {
    "binary_crossentropy": (["keras.layers.Dense(1, activation='sigmoid')"], '"binary_crossentropy"', "binary", '["accuracy"]'),
    "bce_after_activation_layer": (["keras.layers.Dense(1)", "keras.layers.Activation('sigmoid')"], '"binary_crossentropy"', "binary", '["accuracy"]'),
    "bce_on_linear_output": (["keras.layers.Dense(1, activation='hard_sigmoid')"], '"binary_crossentropy"', "binary", '["accuracy"]'),
    "bce_from_logits": (["keras.layers.Dense(1)"], "keras.losses.BinaryCrossentropy(from_logits=True)", "binary", '["accuracy"]'),
    "bce_label_smoothing": (["keras.layers.Dense(1, activation='sigmoid')"], "keras.losses.BinaryCrossentropy(label_smoothing=0.2)", "binary", "[]"),
    "categorical": (["keras.layers.Dense(3, activation='softmax')"], '"categorical_crossentropy"', "categorical", '["accuracy"]'),
    "categorical_on_probabilities": (["keras.layers.Dense(3, activation='sigmoid')"], '"categorical_crossentropy"', "categorical", '["acc"]'),
    "categorical_from_logits_smoothing": (["keras.layers.Dense(3)"], "keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)", "categorical", '["accuracy"]'),
    "categorical_smoothing": (["keras.layers.Dense(3, activation='softmax')"], "keras.losses.CategoricalCrossentropy(label_smoothing=0.1)", "categorical", '["accuracy"]'),
    "sparse": (["keras.layers.Dense(3, activation='softmax')"], '"sparse_categorical_crossentropy"', "sparse", '["accuracy"]'),
    "sparse_from_logits": (["keras.layers.Dense(3)"], "keras.losses.SparseCategoricalCrossentropy(from_logits=True)", "sparse", '["accuracy"]'),
    "sparse_on_probabilities": (["keras.layers.Dense(3, activation='sigmoid')"], '"sparse_categorical_crossentropy"', "sparse", '["accuracy"]'),
    "mse": (["keras.layers.Dense(1)"], '"mse"', "regression", '["mae"]'),
    "mae": (["keras.layers.Dense(1)"], '"mean_absolute_error"', "regression", '["mse"]'),
    "huber": (["keras.layers.Dense(1)"], "keras.losses.Huber(delta=0.5)", "regression", '["mean_absolute_error"]'),
    "huber_string": (["keras.layers.Dense(1)"], '"huber"', "regression", '["mean_squared_error"]'),
    "msle": (["keras.layers.Dense(1, activation='softplus')"], '"msle"', "positive", "[]"),
    "mape": (["keras.layers.Dense(1, activation='softplus')"], '"mape"', "positive", "[]"),
    "kl_divergence": (["keras.layers.Dense(3, activation='softmax')"], '"kl_divergence"', "distribution", "[]"),
    "hinge": (["keras.layers.Dense(1, activation='tanh')"], '"hinge"', "signs", "[]"),
    "hinge_binary_labels": (["keras.layers.Dense(1, activation='tanh')"], "keras.losses.Hinge()", "binary", "[]"),
    "squared_hinge": (["keras.layers.Dense(1, activation='tanh')"], '"squared_hinge"', "signs", "[]"),
    "log_cosh": (["keras.layers.Dense(1)"], '"log_cosh"', "regression", "[]"),
    "poisson": (["keras.layers.Dense(1, activation='softplus')"], '"poisson"', "positive", "[]"),
    "cosine_similarity": (["keras.layers.Dense(3)"], '"cosine_similarity"', "distribution", "[]"),
}


@pytest.mark.parametrize("name", LOSSES)
def test_loss(name, tmp_path):
    out, loss, targets, metrics = LOSSES[name]
    assert_parity(script([HIDDEN, *out], loss=loss, targets=targets, metrics=metrics), tmp_path)


OPTIMIZERS = [
    '"sgd"', '"adam"', '"rmsprop"', '"adagrad"', '"adadelta"', '"adamax"', '"nadam"', '"adamw"',
    "keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)",
    "keras.optimizers.SGD(0.05, momentum=0.8, nesterov=True)",
    "keras.optimizers.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-4)",
    "keras.optimizers.Adam(learning_rate=0.01, amsgrad=True)",
    "keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.05)",
    "keras.optimizers.RMSprop(learning_rate=0.01, rho=0.8, momentum=0.5)",
    "keras.optimizers.RMSprop(learning_rate=0.01, centered=True)",
    "keras.optimizers.Adagrad(learning_rate=0.05, initial_accumulator_value=0.2)",
    "keras.optimizers.Adadelta(learning_rate=1.0)",
    "keras.optimizers.Adamax(learning_rate=0.01)",
    "keras.optimizers.Nadam(learning_rate=0.01)",
]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_optimizer(optimizer, tmp_path):
    assert_parity(script([HIDDEN, OUT], optimizer=optimizer), tmp_path)


METRICS = {
    "binary_accuracy_strings": (OUT, '"binary_crossentropy"', "binary", '["accuracy", "binary_accuracy", "mae", "mse"]'),
    "acc_alias": (OUT, '"binary_crossentropy"', "binary", '["acc"]'),
    "metric_objects": (OUT, '"binary_crossentropy"', "binary", '[keras.metrics.BinaryAccuracy(), keras.metrics.MeanSquaredError(name="sq")]'),
    "categorical_accuracy": ("keras.layers.Dense(3, activation='softmax')", '"categorical_crossentropy"', "categorical", '["accuracy", "categorical_accuracy"]'),
    "sparse_accuracy": ("keras.layers.Dense(3, activation='softmax')", '"sparse_categorical_crossentropy"', "sparse", '["acc", "sparse_categorical_accuracy"]'),
    "accuracy_with_mse_loss": ("keras.layers.Dense(3, activation='softmax')", '"mse"', "categorical", '["accuracy"]'),
    "regression_metrics": ("keras.layers.Dense(1)", '"mse"', "regression", '["mean_absolute_error", "mean_squared_error"]'),
}


@pytest.mark.parametrize("name", METRICS)
def test_metrics(name, tmp_path):
    out, loss, targets, metrics = METRICS[name]
    assert_parity(script([HIDDEN, out], loss=loss, targets=targets, metrics=metrics), tmp_path)


@pytest.mark.parametrize(
    "fit_extra",
    [", validation_split=0.25", ", validation_data=(x[:20], y[:20])", ", batch_size=None", ", shuffle=False"],
    ids=["validation_split", "validation_data", "default_batch", "no_shuffle"],
)
def test_fit_options(fit_extra, tmp_path):
    source = script([HIDDEN, OUT], fit_extra=fit_extra).replace("batch_size=16, ", "" if "batch_size" in fit_extra else "batch_size=16, ")
    report = assert_parity(source, tmp_path)
    if "validation" in fit_extra:
        assert "val_loss" in report.torch_history


def test_models_sharing_a_generated_fit_that_takes_the_loss(tmp_path):
    """Two compiles that differ only in the loss share fit(model, optimizer, loss_fn, ...)."""
    from k2t.parity import exact_parity

    source = script([HIDDEN, "keras.layers.Dense(1)"], loss='"mse"', metrics="[]", targets="regression")
    source += """
other = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(1)])
other.compile(optimizer="adam", loss="mae")
other.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""
    import k2t

    assert "loss_fn" in k2t.convert_source(source).output
    for index in (0, 1):
        report = exact_parity(source, epochs=3, path=tmp_path / "case.py", fit_index=index)
        assert report.ok, report.failures
