"""Optimizer features without frameworks: what the generated optimizer looks like, and what is reported.

Exact parity with Keras for all of it is in test_parity_optimizers.py.
"""

import ast
import re
import textwrap

import pytest
from unwrapped import unwrapped

import k2t

HEAD = """\
import numpy as np
import keras
from keras import layers

x = np.zeros((8, 4), dtype="float32")
y = np.zeros((8, 1), dtype="float32")
model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(1)])
"""


def convert(body, ok=True):
    result = k2t.convert_source(HEAD + textwrap.dedent(body), "script.py")
    if ok:
        assert result.ok, [d.format() for d in result.diagnostics]
        ast.parse(result.output)
        assert not re.search(r"^\s*(import|from) (keras|tensorflow)\b", result.output, flags=re.MULTILINE)
    return result


def codes(result):
    return [(d.line - HEAD.count("\n"), d.code) for d in result.diagnostics]


def test_optimizer_without_features_is_torch_sgd():
    output = convert("""\
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
        model.fit(x, y, verbose=0)
    """).output
    assert "optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)" in output
    assert "class Keras" not in output


def test_schedule_bound_to_a_variable_is_inlined():
    output = convert("""\
        schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.96, name="decay")
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=0.9), loss="mse")
        model.fit(x, y, verbose=0)
    """).output
    assert unwrapped("optimizer = KerasSGD(model.parameters(), lr=ExponentialDecay(0.1, decay_steps=100, decay_rate=0.96), momentum=0.9)") in unwrapped(output)
    assert "class ExponentialDecay:" in output
    assert "\nschedule =" not in output
    # Only what the script uses: no clipping, no weight decay.
    assert "clip" not in output and "weight_decay" not in output


@pytest.mark.parametrize(
    ("optimizer", "expected"),
    [
        ('keras.optimizers.Adam(0.01, clipnorm=1.0)', "KerasAdam(model.parameters(), lr=0.01, betas=(0.9, 0.999), eps=1e-07, clipnorm=1.0)"),
        ('keras.optimizers.Adam(weight_decay=0.1)', "KerasAdamW(model.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-07, weight_decay=0.1)"),
        ('keras.optimizers.Adagrad(global_clipnorm=2.0)', "KerasAdagrad(model.parameters(), lr=0.001, initial_accumulator_value=0.10000010000000001, eps=0.0, global_clipnorm=2.0)"),
        ('keras.optimizers.Nadam(clipvalue=0.5, weight_decay=0.01)', "KerasNadam(model.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-07, momentum_decay=1.0, clipvalue=0.5, weight_decay=0.01)"),
        ('keras.optimizers.RMSprop(clipnorm=None, weight_decay=None)', "KerasRMSprop(model.parameters(), lr=0.001)"),
    ],
)
def test_features_become_constructor_arguments(optimizer, expected):
    output = convert(f"""\
        model.compile(optimizer={optimizer}, loss="mse")
        model.fit(x, y, verbose=0)
    """).output
    assert unwrapped(f"optimizer = {expected}") in unwrapped(output)


def test_learning_rate_reads_and_writes():
    output = convert("""\
        model.compile(optimizer="sgd", loss="mse")
        print(model.optimizer.learning_rate, float(model.optimizer.lr))
        print(f"lr={model.optimizer.learning_rate.numpy()}")
        model.optimizer.learning_rate.assign(model.optimizer.learning_rate * 0.5)
        model.optimizer.learning_rate = 0.01
        model.optimizer.learning_rate /= 2
        keras.backend.set_value(model.optimizer.lr, 0.001)
        print(keras.backend.get_value(model.optimizer.learning_rate))
        model.fit(x, y, verbose=0)
    """).output
    body = output[output.index("model = Net()") :]
    assert body.splitlines()[1:9] == [
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)",
        'print(optimizer.param_groups[0]["lr"], float(optimizer.param_groups[0]["lr"]))',
        "print(f\"lr={optimizer.param_groups[0]['lr']}\")",  # the f-string's quote is taken
        'optimizer.param_groups[0]["lr"] = optimizer.param_groups[0]["lr"] * 0.5',
        'optimizer.param_groups[0]["lr"] = 0.01',
        'optimizer.param_groups[0]["lr"] /= 2',
        'optimizer.param_groups[0]["lr"] = 0.001',
        'print(optimizer.param_groups[0]["lr"])',
    ]


def test_a_learning_rate_change_makes_sgd_keep_keras_velocity():
    output = convert("""\
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True), loss="mse")
        model.fit(x, y, verbose=0)
        model.optimizer.learning_rate = 0.01
        model.fit(x, y, verbose=0)
    """).output
    assert "optimizer = KerasSGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)" in output
    assert "velocity.mul_(momentum).sub_(grad * lr)" in output


def test_callbacks_make_sgd_keep_keras_velocity():
    result = convert(
        """\
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
        model.fit(x, y, verbose=0, callbacks=[keras.callbacks.ReduceLROnPlateau()])
        """,
        ok=False,
    )
    assert "KerasSGD(model.parameters(), lr=0.1, momentum=0.9)" in result.output


def test_learning_rate_of_a_model_compiled_in_a_function():
    result = k2t.convert_source(
        textwrap.dedent("""\
            import keras

            def build():
                model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
                model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
                return model

            net = build()
            net.optimizer.learning_rate = 0.05
        """),
        "script.py",
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    assert 'net.optimizer.param_groups[0]["lr"] = 0.05' in result.output
    assert "model.optimizer = KerasSGD(" in result.output


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('model.compile(optimizer=keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1)), loss="mse")', [(1, "K2T123")]),
        ('model.compile(optimizer=keras.optimizers.SGD(keras.optimizers.schedules.CosineDecay(0.1, 10, beta=1)), loss="mse")', [(1, "K2T123")]),
        ('model.compile(optimizer=keras.optimizers.Adam(learning_rate=lambda: 0.1), loss="mse")', [(1, "K2T123")]),
        ('model.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0, clipvalue=0.5), loss="mse")', [(1, "K2T121")]),
        ('model.compile(optimizer=keras.optimizers.Adam(use_ema=True), loss="mse")', [(1, "K2T121")]),
        (
            ('model.compile(optimizer=keras.optimizers.SGD(keras.optimizers.schedules.PolynomialDecay(0.1, 10)), loss="mse")\n'
            "model.optimizer.learning_rate = 0.01"),
            [(2, "K2T140")],
        ),
        ('model.compile(optimizer="sgd", loss="mse")\nrates = [model.optimizer.learning_rate.assign(0.1)]', [(2, "K2T140")]),
        ("print(model.optimizer.learning_rate)", [(1, "K2T140")]),
        ('model.compile(optimizer="sgd", loss="mse")\nprint(model.optimizer.iterations)', [(2, "K2T140")]),
    ],
)
def test_unsupported_is_located(body, expected):
    result = convert(body + "\n", ok=False)
    assert codes(result) == expected


def test_schedule_arguments_after_name_become_keywords():
    output = convert("""\
        model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.0, 100, 0.0, "warm", 0.1, 10)), loss="mse")
        model.fit(x, y, verbose=0)
    """).output
    assert "lr=CosineDecay(0.0, 100, 0.0, warmup_target=0.1, warmup_steps=10)" in output
