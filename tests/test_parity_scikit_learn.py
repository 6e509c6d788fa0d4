"""Keras 2's scikit-learn wrappers (keras.wrappers.scikit_learn.KerasClassifier / KerasRegressor).

Keras 3 has no wrapper, so the reference is Keras 2's wrapper code written out
here (`Keras2Classifier` / `Keras2Regressor`: keras/wrappers/scikit_learn.py of
tf.keras 2.x, step for step) driving real Keras 3 models; the converted
estimator drives the torch module the converted build function returns, given
the Keras model's initial weights. Both train without shuffling (`shuffle=False`,
an sk_param the wrapper passes to fit), so every fit, predict, predict_proba and
score must agree.
"""

import copy
import functools
import inspect
import textwrap

import numpy as np
import pytest
from conftest import requires_keras, requires_torch

import k2t

HEAD = """\
import numpy as np
from keras.models import Sequential
from keras.layers import Dense
from keras.wrappers.scikit_learn import {kind}


OPTIMIZERS = ["adam", "rmsprop"]  # a grid search's values: the converted create_model looks them up by name


def create_model(units=6, optimizer="adam"):
    model = Sequential()
    model.add(Dense(units, input_dim=4, activation="relu"))
    model.add(Dense({outputs}, activation={last}))
    model.compile(loss={loss}, optimizer=optimizer, metrics={metrics})
    return model


estimator = {kind}(build_fn=create_model, epochs=3, batch_size=8, verbose=0, shuffle=False)
"""


def _source(kind="KerasClassifier", outputs=1, last='"sigmoid"', loss='"binary_crossentropy"', metrics='["accuracy"]'):
    return HEAD.format(kind=kind, outputs=outputs, last=last, loss=loss, metrics=metrics)


def _converted(source):
    """The converted script's names (its estimator class, build function and estimator)."""
    result = k2t.convert_source(source, "case.py")
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace = {}
    exec(compile(result.output, "converted.py", "exec"), namespace)  # noqa: S102 - k2t's own output
    return namespace


# ---------------------------------------------------------------- the reference: Keras 2's wrapper, on Keras 3
def _keras_source_model(source):
    """create_model() as Keras 3 runs it (Keras 2's `input_dim=` is Keras 3's Input)."""
    keras_source = source.replace("from keras.wrappers.scikit_learn import", "# ").replace(
        "model = Sequential()", "model = Sequential([keras.Input(shape=(4,))])"
    )
    keras_source = keras_source.replace("input_dim=4, ", "").split("\nestimator =")[0]
    namespace = {}
    exec("import keras\n" + keras_source, namespace)  # noqa: S102 - the test's own script
    return namespace["create_model"]


class Keras2Wrapper:
    """keras.wrappers.scikit_learn.BaseWrapper (tf.keras 2.x) over Keras 3 models."""

    fit_names = ("batch_size", "epochs", "verbose", "shuffle")

    def __init__(self, build_fn=None, **sk_params):
        self.build_fn = build_fn
        self.sk_params = sk_params

    def filter_sk_params(self, names, override=None):
        res = {name: value for name, value in self.sk_params.items() if name in names}
        res.update(override or {})
        return res

    def fit(self, x, y, **kwargs):
        build_names = inspect.signature(self.build_fn).parameters
        self.model = self.build_fn(**self.filter_sk_params(build_names))
        if self.model.loss == "categorical_crossentropy" and len(y.shape) != 2:
            y = np.eye(int(np.max(y)) + 1, dtype="float32")[y]  # Keras 2's to_categorical
        fit_args = copy.deepcopy(self.filter_sk_params(self.fit_names))
        fit_args.update(kwargs)
        return self.model.fit(x, y, **fit_args)


class Keras2Classifier(Keras2Wrapper):
    def fit(self, x, y, **kwargs):
        y = np.array(y)
        if len(y.shape) == 2 and y.shape[1] > 1:
            self.classes_ = np.arange(y.shape[1])
        elif (len(y.shape) == 2 and y.shape[1] == 1) or len(y.shape) == 1:
            self.classes_ = np.unique(y)
            y = np.searchsorted(self.classes_, y)
        return super().fit(x, y, **kwargs)

    def predict(self, x):
        proba = self.model.predict(x, verbose=0)  # Sequential.predict_classes
        classes = proba.argmax(axis=-1) if proba.shape[-1] > 1 else (proba > 0.5).astype("int32")
        return self.classes_[classes]

    def predict_proba(self, x):
        probs = self.model.predict(x, verbose=0)
        return np.hstack([1 - probs, probs]) if probs.shape[1] == 1 else probs

    def score(self, x, y):
        y = np.searchsorted(self.classes_, y)
        if self.model.loss == "categorical_crossentropy" and len(y.shape) != 2:
            y = np.eye(int(np.max(y)) + 1, dtype="float32")[y]
        # Keras 2's metrics_names entry "accuracy" / "acc" of evaluate()
        return self.model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]


class Keras2Regressor(Keras2Wrapper):
    def predict(self, x):
        preds = np.array(self.model.predict(x, verbose=0))
        return np.squeeze(preds, axis=-1) if preds.shape[-1] == 1 else preds

    def score(self, x, y):
        return -self.model.evaluate(x, y, verbose=0)


def _same_start(torch_build, keras_build, built):
    """torch_build with the signature of the converted build function, its Linear layers given the initial
    weights of the Keras model keras_build makes with the same arguments (kept in ``built``)."""
    import torch

    @functools.wraps(torch_build)
    def build(**kwargs):
        module, model = torch_build(**kwargs), keras_build(**kwargs)
        built.append(model)
        linears = [layer for layer in module.modules() if isinstance(layer, torch.nn.Linear)]
        with torch.no_grad():
            for linear, dense in zip(linears, model.layers, strict=True):
                kernel, bias = dense.get_weights()
                linear.weight.copy_(torch.from_numpy(kernel.T))
                linear.bias.copy_(torch.from_numpy(bias))
        return module

    return build


def _data(labels):
    rng = np.random.RandomState(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = np.asarray(labels)[(x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 0.8).astype(int) * (len(labels) - 2)]
    return x, y


def _fitted_pair(source, reference_class, x, y, **sk_params):
    import keras

    namespace = _converted(source)
    converted = namespace["estimator"]
    keras_build = _keras_source_model(source)
    built = []
    build = _same_start(namespace["create_model"], keras_build, built)
    converted = type(converted)(**{**converted.get_params(), "build_fn": build, **sk_params})
    keras.utils.set_random_seed(0)
    converted.fit(x, y)
    first = built[-1]

    def same_model(**kwargs):
        return first  # the Keras model whose initial weights the converted one received

    same_model.__signature__ = inspect.signature(keras_build)
    reference = reference_class(build_fn=same_model, epochs=3, batch_size=8, verbose=0, shuffle=False, **sk_params)
    reference.fit(x, y)
    return converted, reference


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
@pytest.mark.parametrize(
    ("labels", "outputs", "last", "loss"),
    [
        pytest.param([3, 7], 1, '"sigmoid"', '"binary_crossentropy"', id="binary-sigmoid"),
        pytest.param([0, 2, 5], 3, '"softmax"', '"categorical_crossentropy"', id="categorical-one-hot-by-wrapper"),
        pytest.param(["a", "b", "c"], 3, '"softmax"', '"sparse_categorical_crossentropy"', id="sparse-string-labels"),
    ],
)
def test_the_converted_classifier_is_keras_2s_wrapper(labels, outputs, last, loss, optimizer):
    x, y = _data(labels)
    source = _source(outputs=outputs, last=last, loss=loss)
    converted, reference = _fitted_pair(source, Keras2Classifier, x, y, units=5, optimizer=optimizer)
    assert list(converted.classes_) == list(reference.classes_)
    np.testing.assert_allclose(converted.predict_proba(x), reference.predict_proba(x), atol=1e-5)
    assert converted.predict_proba(x).shape == (len(x), max(outputs, 2))
    np.testing.assert_array_equal(converted.predict(x), reference.predict(x))
    assert converted.score(x, y) == pytest.approx(reference.score(x, y), abs=1e-6)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_the_converted_regressor_is_keras_2s_wrapper():
    rng = np.random.RandomState(1)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = (x[:, 0] - 2 * x[:, 3]).astype("float32")
    source = _source(kind="KerasRegressor", last="None", loss='"mse"', metrics="[]")
    converted, reference = _fitted_pair(source, Keras2Regressor, x, y)
    np.testing.assert_allclose(converted.predict(x), reference.predict(x), rtol=1e-4, atol=1e-5)
    assert converted.predict(x).shape == (len(x),)
    assert converted.score(x, y) == pytest.approx(reference.score(x, y), rel=1e-4)
    assert converted.score(x, y) < 0  # minus the loss


# ---------------------------------------------------------------- scikit-learn's protocol, without scikit-learn
@requires_torch
def test_the_estimator_clones_and_takes_new_parameters_as_keras_2s_does():
    namespace = _converted(_source())
    estimator = namespace["estimator"]
    params = estimator.get_params()
    assert params == {
        "build_fn": namespace["create_model"],
        "epochs": 3,
        "batch_size": 8,
        "verbose": 0,
        "shuffle": False,
    }
    clone = type(estimator)(**params)  # what sklearn.base.clone does
    assert clone.get_params() == params and clone.sk_params is not estimator.sk_params
    # GridSearchCV's set_params: a build_fn argument and a fit argument, used by the next fit
    assert clone.set_params(units=2, epochs=1) is clone
    x, y = _data([0, 1])
    history = clone.fit(x, y)
    assert len(history.history["loss"]) == 1
    assert clone.model.dense.out_features == 2
    assert estimator.get_params()["epochs"] == 3  # the original is untouched
    with pytest.raises(ValueError, match="units_typo is not a legal parameter"):
        clone.set_params(units_typo=3)
    with pytest.raises(NotImplementedError, match="workers"):
        clone.set_params(workers=2)  # Keras 2's fit took it; the converted fit does not
    type(estimator)(build_fn=namespace["create_model"], nb_epoch=5)  # Keras 2 lets Keras 1's name through


@requires_torch
def test_nb_epoch_trains_one_epoch_as_keras_2s_wrapper_did_with_a_warning():
    source = _source().replace("epochs=3", "nb_epoch=3")
    result = k2t.convert_source(source, "case.py")
    [warning] = result.diagnostics
    assert (warning.code, warning.line, warning.severity.value) == ("K2T108", 18, "warning")
    assert "1 epoch" in warning.message and result.ok
    namespace = _converted(source)
    x, y = _data([0, 1])
    assert len(namespace["estimator"].fit(x, y).history["loss"]) == 1


@requires_torch
def test_with_scikit_learn_cross_val_score_and_grid_search():
    pytest.importorskip("sklearn")
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

    namespace = _converted(_source())
    x, y = _data([0, 1])
    scores = cross_val_score(namespace["estimator"], x, y, cv=KFold(3))
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))
    grid = GridSearchCV(namespace["estimator"], {"units": [2, 3], "epochs": [1, 2]}, cv=KFold(2)).fit(x, y)
    assert set(grid.best_params_) == {"units", "epochs"}
    assert grid.best_estimator_.model.dense.out_features == grid.best_params_["units"]


# ---------------------------------------------------------------- the emitted code, and what stays unsupported
def test_the_emitted_estimator_reads_as_keras_2s_wrapper_over_the_converted_functions():
    result = k2t.convert_source(_source(outputs=3, last='"softmax"', loss='"categorical_crossentropy"'), "case.py")
    assert result.ok and not result.diagnostics
    output = result.output
    imported = [line for line in output.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in imported if "keras" in line or "sklearn" in line], imported
    assert "class KerasClassifier:" in output and "def to_categorical(" in output
    assert "return fit(self.model, self.model.optimizer, x, y, **fit_args)" in output
    assert 'fit_arguments = ("batch_size", "epochs", "verbose", "shuffle")' in output
    assert "return outputs[1]" in output  # evaluate's [loss, accuracy]
    assert "estimator = KerasClassifier(build_fn=create_model, epochs=3" in output


@pytest.mark.parametrize(
    ("call", "code", "expected"),
    [
        pytest.param(
            "KerasClassifier(build_fn=make, epochs=2)", "K2T100", "`make` is not one k2t follows", id="not-a-factory"
        ),
        pytest.param("KerasClassifier(epochs=2)", "K2T100", "a subclass's __call__", id="no-build-fn"),
        pytest.param(
            "KerasClassifier(create_model, workers=2)",
            "K2T130",
            "KerasClassifier(workers=...)",
            id="untranslated-fit-argument",
        ),
        pytest.param(
            "KerasClassifier(create_model, callbacks=[])", "K2T130", "KerasClassifier(callbacks=...)", id="callbacks"
        ),
    ],
)
def test_what_stays_unsupported_is_a_located_diagnostic(call, code, expected):
    source = _source().replace(
        "estimator = KerasClassifier(build_fn=create_model, epochs=3, batch_size=8, verbose=0, shuffle=False)",
        "def make():\n    return 3\n\n\nestimator = " + call,
    )
    result = k2t.convert_source(source, "case.py")
    assert not result.ok
    [diagnostic] = [d for d in result.diagnostics if d.code == code]
    assert expected in diagnostic.message and diagnostic.line == source.count("\n", 0, source.index("estimator =")) + 1


def test_scikeras_is_a_located_diagnostic_not_a_torch_module_in_keras_wrapper():
    """SciKeras's KerasClassifier would get the converted torch module (it converted silently before)."""
    source = _source().replace(
        "from keras.wrappers.scikit_learn import KerasClassifier", "from scikeras.wrappers import KerasClassifier"
    )
    source = source.replace("build_fn=create_model", "model=create_model")
    result = k2t.convert_source(textwrap.dedent(source), "case.py")
    assert not result.ok
    [diagnostic] = result.diagnostics
    assert diagnostic.code == "K2T100" and "SciKeras" in diagnostic.message and diagnostic.line == 18


# ---------------------------------------------------------------- a grid search's Keras names, looked up at run time
INITIALIZERS = """\
from keras.models import Sequential
from keras.layers import Dense
from keras.wrappers.scikit_learn import KerasClassifier


def create_model(optimizer="rmsprop", init="glorot_uniform"):
    model = Sequential()
    model.add(Dense(64, input_dim=32, activation="relu", kernel_initializer=init))
    model.add(Dense(1, activation="sigmoid", kernel_initializer=init))
    model.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


param_grid = dict(optimizer=["rmsprop", "adam"], init=["glorot_uniform", "normal", "uniform"])
model = KerasClassifier(build_fn=create_model, verbose=0)
"""


@requires_torch
def test_an_initializer_a_grid_search_names_is_keras_initializer_of_that_name():
    """Brownlee's GridSearchCV over create_model(init=...): each name draws as Keras's initializer of that name
    (random_normal / random_uniform: std 0.05 / limits 0.05; glorot_uniform: limit sqrt(6 / (in + out)))."""
    import torch

    namespace = _converted(INITIALIZERS)
    torch.manual_seed(0)
    normal = namespace["create_model"](init="normal").dense.weight.detach()
    assert normal.std().item() == pytest.approx(0.05, rel=0.05) and abs(normal.mean().item()) < 0.005
    uniform = namespace["create_model"](init="uniform").dense.weight.detach()
    assert uniform.abs().max().item() <= 0.05 and uniform.abs().max().item() > 0.049
    glorot = namespace["create_model"]().dense.weight.detach()
    limit = (6 / (32 + 64)) ** 0.5
    assert glorot.abs().max().item() <= limit and glorot.abs().max().item() > 0.98 * limit
    with pytest.raises(ValueError, match="initializer 'he_normal' is not translated"):
        namespace["create_model"](init="he_normal")  # a name the script never writes


@requires_torch
def test_an_optimizer_a_grid_search_names_is_built_as_its_literal_would_be():
    namespace = _converted(INITIALIZERS)
    assert type(namespace["create_model"]().optimizer).__name__ == "KerasRMSprop"
    assert type(namespace["create_model"](optimizer="adam").optimizer).__name__ == "KerasAdam"
    assert type(namespace["create_model"](optimizer="Adam").optimizer).__name__ == "KerasAdam"  # as Keras reads it
    with pytest.raises(KeyError, match="sgd"):
        namespace["create_model"](optimizer="sgd")


def test_an_optimizer_or_initializer_k2t_cannot_name_stays_a_diagnostic():
    """Only a parameter of the build function is looked up at run time; another expression stays reported."""
    source = INITIALIZERS.replace(
        'def create_model(optimizer="rmsprop", init="glorot_uniform"):\n',
        "def create_model():\n    optimizer, init = pick()\n",
    )
    codes = {d.code for d in k2t.convert_source(source, "case.py").diagnostics}
    assert {"K2T111", "K2T103"} <= codes
    source = INITIALIZERS.replace("kernel_initializer=init", 'kernel_initializer="normal"').replace(
        'def create_model(optimizer="rmsprop", init="glorot_uniform"):\n',
        "def create_model():\n    optimizer = pick()\n",
    )
    codes = {d.code for d in k2t.convert_source(source, "case.py").diagnostics}
    assert {"K2T121", "K2T103"} <= codes


TWO_WRAPPERS = """\
import numpy as np
import tensorflow as tf
from keras.models import Sequential
from keras.layers import Dense
from keras.wrappers.scikit_learn import KerasClassifier as KC


def binary():
    model = Sequential([Dense(1, input_dim=3, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["acc"])
    return model


def multi():
    model = Sequential([Dense(3, input_dim=3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model


a = KC(build_fn=binary, epochs=1, verbose=0)
b = tf.keras.wrappers.scikit_learn.KerasClassifier(multi, epochs=1, verbose=0)
"""


@requires_torch
def test_an_aliased_wrapper_and_two_estimators_of_different_models_each_get_their_class():
    result = k2t.convert_source(TWO_WRAPPERS, "case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "a = KerasClassifier(build_fn=binary, epochs=1, verbose=0)" in result.output
    assert "b = KerasClassifier_2(multi, epochs=1, verbose=0)" in result.output  # one-hot encodes: another class
    namespace = _converted(TWO_WRAPPERS)
    x = np.random.RandomState(0).rand(30, 3).astype("float32")
    namespace["a"].fit(x, (x[:, 0] > 0.5).astype(int))
    namespace["b"].fit(x, np.argmax(x, axis=1))
    assert namespace["a"].predict_proba(x).shape == (30, 2) and namespace["b"].predict_proba(x).shape == (30, 3)
    assert 0 <= namespace["b"].score(x, np.argmax(x, axis=1)) <= 1


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_a_momentum_a_grid_search_sets_trains_as_keras_sgd(momentum):
    """Brownlee's grid over create_model(learn_rate=..., momentum=...): SGD built with the values it receives."""
    source = _source().replace(
        'def create_model(units=6, optimizer="adam"):',
        "def create_model(units=6, learn_rate=0.05, momentum=0.0):",
    )
    source = source.replace(
        "optimizer=optimizer,", "optimizer=SGD(learning_rate=learn_rate, momentum=momentum),"
    ).replace("from keras.layers import Dense\n", "from keras.layers import Dense\nfrom keras.optimizers import SGD\n")
    x, y = _data([0, 1])
    converted, reference = _fitted_pair(source, Keras2Classifier, x, y, momentum=momentum, learn_rate=0.1)
    np.testing.assert_allclose(converted.predict_proba(x), reference.predict_proba(x), atol=1e-5)
    assert converted.score(x, y) == pytest.approx(reference.score(x, y), abs=1e-6)


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("activation", ["tanh", "softsign", "relu"])
def test_a_hidden_activation_a_grid_search_names_is_keras_activation_of_that_name(activation):
    """Brownlee's grid over create_model(activation=...): the hidden layer applies Keras's activation of that name."""
    source = _source().replace(
        'def create_model(units=6, optimizer="adam"):',
        'def create_model(units=6, optimizer="adam", activation="relu"):',
    )
    source = source.replace('activation="relu"))', "activation=activation))").replace(
        "OPTIMIZERS = ", 'ACTIVATIONS = ["relu", "tanh", "softsign"]\nOPTIMIZERS = '
    )
    assert "activation=activation))" in source
    x, y = _data([0, 1])
    converted, reference = _fitted_pair(source, Keras2Classifier, x, y, activation=activation)
    np.testing.assert_allclose(converted.predict_proba(x), reference.predict_proba(x), atol=1e-5)
    assert converted.score(x, y) == pytest.approx(reference.score(x, y), abs=1e-6)
    with pytest.raises(ValueError, match="activation 'elu' is not translated"):
        type(converted)(**{**converted.get_params(), "activation": "elu"}).fit(x, y)


def test_a_build_function_whose_model_k2t_does_not_follow_is_reported_at_the_wrapper_too():
    """keras/examples/mnist_sklearn_wrapper.py: the layers depend on a list a grid search passes."""
    source = (
        _source()
        .replace(
            '    model.add(Dense(units, input_dim=4, activation="relu"))\n',
            '    model.add(Dense(units, input_dim=4, activation="relu"))\n    for size in sizes:\n        model.add(Dense(size))\n',
        )
        .replace(
            'def create_model(units=6, optimizer="adam"):', 'def create_model(units=6, optimizer="adam", sizes=(4,)):'
        )
    )
    result = k2t.convert_source(source, "case.py")
    assert not result.ok
    [at_wrapper] = [d for d in result.diagnostics if d.line == source[: source.index("estimator =")].count("\n") + 1]
    assert at_wrapper.code == "K2T100" and "see the diagnostics in create_model()" in at_wrapper.message
    assert any(d.code == "K2T103" and "sizes" in d.message for d in result.diagnostics)


def test_the_wrapped_keras_model_is_a_located_diagnostic():
    """`estimator.model` was Keras 2's model; the converted estimator holds the torch module (no evaluate)."""
    source = _source() + "estimator.fit(np.zeros((8, 4)), np.arange(8) % 2)\nprint(estimator.model.metrics_names)\n"
    result = k2t.convert_source(source, "case.py")
    assert not result.ok
    [diagnostic] = result.diagnostics
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == ("K2T140", source.count("\n"), 7)
    assert "`estimator.model`" in diagnostic.message and "torch module" in diagnostic.message
