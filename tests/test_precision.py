"""Keras mixed precision -> torch.autocast (k2t.translate.precision).

On the CPU torch's autocast computes in bfloat16 and (torch 2.13) in float16,
so both policies are checked end to end: the converted script trains under
autocast (float16 with Keras's dynamic loss scaling as torch.amp.GradScaler),
and its history matches Keras running the same policy, from the same weights,
within what the precision allows (an MLP and, for float16, a CNN).
"""

import json
import textwrap

import pytest
from conftest import requires_keras, requires_torch, run_standalone

import k2t

# bfloat16 keeps 8 significant bits: each rounding errs by at most u = 2**-8 relative. A layer's output
# on each side goes through at most 4 roundings (its input, its weights, its output, the activation's
# output), so the two frameworks may differ by 2 * 4 * u = 2**-5 relative per value; the loss (a mean of
# such values over float32 arithmetic) and each epoch's metrics carry the same bound.
BFLOAT16_RTOL = 2 * 4 * 2.0**-8
# float16 keeps 11 significant bits: the same count of roundings at u = 2**-11.
FLOAT16_RTOL = 2 * 4 * 2.0**-11

SCRIPT = textwrap.dedent(
    """\
    import json

    import numpy as np
    import keras

    keras.mixed_precision.set_global_policy({policy})
    rng = np.random.RandomState(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(6,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1),
        keras.layers.Activation("sigmoid", dtype="float32"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    print(json.dumps(history.history))
    """
)


CNN_SCRIPT = textwrap.dedent(
    """\
    import numpy as np
    import keras

    keras.mixed_precision.set_global_policy({policy})
    rng = np.random.RandomState(0)
    x = rng.normal(size=(64, 8, 8, 2)).astype("float32")
    y = rng.randint(0, 3, size=(64,))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 2)),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(3),
        keras.layers.Activation("softmax", dtype="float32"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    """
)


def _convert(policy: str) -> str:
    result = k2t.convert_source(SCRIPT.format(policy=policy), "mixed.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    return result.output


@pytest.mark.parametrize(
    "spelling",
    [
        'keras.mixed_precision.set_global_policy("mixed_bfloat16")',
        'keras.mixed_precision.set_global_policy(keras.mixed_precision.Policy("mixed_bfloat16"))',
        'tf.keras.mixed_precision.experimental.set_policy("mixed_bfloat16")',
        'keras.config.set_dtype_policy("mixed_bfloat16")',
    ],
)
def test_every_spelling_of_the_policy_becomes_autocast(spelling):
    source = SCRIPT.replace("keras.mixed_precision.set_global_policy({policy})", spelling).replace(
        "import keras\n", "import keras\nimport tensorflow as tf\n"
    )
    result = k2t.convert_source(source, "mixed.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "mixed_precision" not in result.output and "set_dtype_policy" not in result.output
    assert result.output.count("torch.autocast(device_type=device.type, dtype=torch.bfloat16)") == 1  # the script calls fit only
    assert "GradScaler" not in result.output  # Keras scales the loss under float16 only


def test_float32_policy_and_no_policy_change_nothing():
    plain = k2t.convert_source(SCRIPT.replace("keras.mixed_precision.set_global_policy({policy})\n", ""), "plain.py").output
    assert "autocast" not in plain
    assert "autocast" not in _convert('"float32"')


def test_unknown_policy_is_reported():
    result = k2t.convert_source(SCRIPT.format(policy='"mixed_int8"'), "mixed.py")
    assert [d.code for d in result.diagnostics] == ["K2T100"]


def test_float32_on_a_layer_with_weights_is_reported_not_lowered():
    source = SCRIPT.format(policy='"mixed_bfloat16"').replace('keras.layers.Dense(1),\n', 'keras.layers.Dense(1, dtype="float32"),\n')
    result = k2t.convert_source(source, "mixed.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"]


@requires_torch
def test_float16_policy_scales_the_loss_as_keras(tmp_path):
    output = _convert('"mixed_float16"')
    assert "torch.autocast(device_type=device.type, dtype=torch.float16)" in output
    assert "torch.amp.GradScaler(device.type, init_scale=2.0**15, growth_interval=2000)" in output
    assert "scaler.scale(loss).backward()" in output and "scaler.step(optimizer)" in output
    # torch 2.13's CPU autocast computes in float16 too: the script runs.
    path = tmp_path / "mixed.py"
    path.write_text(output, encoding="utf-8")
    run = run_standalone(path)
    assert run.returncode == 0, run.stderr
    history = json.loads(run.stdout.strip().splitlines()[-1])
    assert history["loss"][-1] < history["loss"][0]


@requires_torch
def test_bfloat16_training_runs_under_autocast(tmp_path):
    output = _convert('"mixed_bfloat16"')
    # A hook on the first Dense records the dtype it computes in during the converted fit.
    hook = (
        "computed = set()\n"
        "model.dense.register_forward_hook(lambda module, args, out: computed.add(str(out.dtype)))\n"
        "history = fit("
    )
    output = output.replace("history = fit(", hook, 1) + 'print(json.dumps(sorted(computed)))\n'
    path = tmp_path / "mixed.py"
    path.write_text(output, encoding="utf-8")
    run = run_standalone(path)
    assert run.returncode == 0, run.stderr
    *_, history_line, dtypes_line = run.stdout.strip().splitlines()
    assert json.loads(dtypes_line) == ["torch.bfloat16"]
    history = json.loads(history_line)
    assert history["loss"][-1] < history["loss"][0]


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize(
    ("script", "policy", "rtol"),
    [
        (SCRIPT, "mixed_bfloat16", BFLOAT16_RTOL),
        (SCRIPT, "mixed_float16", FLOAT16_RTOL),
        (CNN_SCRIPT, "mixed_float16", FLOAT16_RTOL),
    ],
    ids=["mlp-bfloat16", "mlp-float16", "cnn-float16"],
)
def test_mixed_history_matches_keras_mixed_policy(tmp_path, script, policy, rtol):
    """Same initial weights, Keras's mixed policy against the converted autocast (and, for float16,
    Keras's LossScaleOptimizer against GradScaler): the history within the precision's bound."""
    import keras

    from k2t.parity import exact_parity

    try:
        report = exact_parity(
            script.format(policy=f'"{policy}"'),
            epochs=3,
            path=tmp_path / "mixed.py",
            layer_tol=rtol * 4,  # activations of N(0, 1) inputs through these layers stay below 4
            loss_rtol=rtol,
            metric_rtol=rtol,
        )
    finally:
        keras.mixed_precision.set_global_policy("float32")  # the policy is global to this process
    assert report.error is None, report.error
    assert report.ok, "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
