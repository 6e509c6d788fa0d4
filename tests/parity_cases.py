"""Tiny Keras scripts for exact-parity tests, and the assertion they share.

`script()` writes a Sequential model over the given layer expressions,
compiled and fitted on deterministic data; `assert_parity()` converts it,
copies Keras's initial weights into the torch module and requires every
layer's output within 1e-4 (max abs diff) and every epoch's loss within
1e-3 relative, with the same history keys.
"""

import textwrap

SCRIPT = """\
import numpy as np
import keras

rng = np.random.RandomState(0)
x = rng.normal(size=(96, {features})).astype("float32"){x_shape}
{targets}
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape={input_shape}),
{layers}
])
model.compile(optimizer={optimizer}, loss={loss}, metrics={metrics})
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0{fit_extra})
"""

TARGETS = {
    "binary": 'y = (x.reshape(len(x), -1).sum(axis=1) > 0).astype("float32")',
    "sparse": "y = np.argmax(x.reshape(len(x), -1)[:, :3], axis=1)",
    "categorical": 'y = np.eye(3, dtype="float32")[np.argmax(x.reshape(len(x), -1)[:, :3], axis=1)]',
    "regression": 'y = x.reshape(len(x), -1)[:, :2].sum(axis=1, keepdims=True).astype("float32")',
    "positive": 'y = np.abs(x.reshape(len(x), -1)[:, :2]).sum(axis=1, keepdims=True).astype("float32") + 0.5',
    "distribution": 'y = np.abs(x.reshape(len(x), -1)[:, :3]) + 0.1\ny = (y / y.sum(axis=1, keepdims=True)).astype("float32")',
    "signs": 'y = np.where(x.reshape(len(x), -1)[:, :1] > 0, 1.0, -1.0).astype("float32")',
}


def script(layers, loss='"binary_crossentropy"', optimizer='"adam"', metrics='["accuracy"]', targets="binary",
           features=6, x_shape="", input_shape=None, fit_extra="", shape=None):
    """A Sequential model over ``layers``; ``shape=(12, 12, 3)`` gives image-like channels-last inputs."""
    if shape is not None:
        features = 1
        for n in shape:
            features *= n
        x_shape, input_shape = f".reshape(96, *{tuple(shape)!r})", repr(tuple(shape))
    return SCRIPT.format(
        features=features,
        x_shape=x_shape,
        input_shape=input_shape or f"({features},)",
        targets=TARGETS[targets],
        layers=textwrap.indent(",\n".join(layers), "    ") + ",",
        optimizer=optimizer,
        loss=loss,
        metrics=metrics,
        fit_extra=fit_extra,
    )


def assert_parity(source, tmp_path):
    from k2t.parity import exact_parity

    report = exact_parity(source, epochs=3, path=tmp_path / "case.py")
    assert report.error is None, report.error
    details = "\n".join(report.failures) + f"\nlayers: {report.layer_diffs}\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert report.ok, details
    # Same history keys, one float per epoch.
    assert list(report.torch_history) == list(report.keras_history), details
    for key, values in report.keras_history.items():
        assert len(report.torch_history[key]) == len(values) == 3, details
    return report


def assert_converted_parity(keras1_source, keras_source, tmp_path):
    """Exact parity of k2t's conversion of ``keras1_source`` against Keras running ``keras_source``.

    For scripts in Keras 1/2 spellings, which Keras 3 rejects (``output_dim=``,
    optimizer ``decay=``): ``keras_source`` is the same script in the spelling
    Keras 2 turned them into, which Keras 3 runs. The conversion must be clean;
    the layer-by-layer plan comes from ``keras_source``, so both must build the same module.
    """
    import k2t
    from k2t.parity import exact_parity

    result = k2t.convert_source(keras1_source, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    report = exact_parity(keras_source, epochs=3, path=tmp_path / "case.py", converted=result.output)
    assert report.error is None, report.error
    details = "\n".join(report.failures) + f"\nlayers: {report.layer_diffs}\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert report.ok, details
    assert list(report.torch_history) == list(report.keras_history), details
    return report
