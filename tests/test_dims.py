"""The typed sizes of shapes (k2t.translate.dims): numbers fold, code keeps Python's meaning."""

from __future__ import annotations

import itertools
import random

import pytest

from k2t.translate.dims import Size, check_shape, keras_shape, known, product, static_int
from k2t.translate.model import LayerContext


def _evaluate(size: Size, names: dict[str, int]) -> int:
    return eval(size.code, {}, names)  # the test evaluates the code a Size holds


def test_numbers_fold_and_code_stays_code():
    n = Size("n")
    assert (Size.of(28) - 2) // 2 + 1 == 14
    assert ((Size.of(28) - 2) // 2 + 1).code == "14"
    assert ((n - 2) // 2 + 1).code == "(n - 2) // 2 + 1"
    assert (n * 2 + 3).code == "n * 2 + 3"
    assert (Size.of(2) * (n + 1)).code == "2 * (n + 1)"
    assert (n - (Size("m") - 1)).code == "n - (m - 1)"
    assert (n + 0) is n and (n * 1) is n and (n // 1) is n
    assert (n + -3).code == "n - 3"


def test_size_expression_reads_numbers_names_and_operators():
    assert Size.expression("28").value == 28
    assert Size.expression(" -3 ").value == -3
    assert Size.expression("x_train.shape[1]").code == "x_train.shape[1]"
    compound = Size.expression("(n_readings * n_sensors)")
    assert compound.code == "n_readings * n_sensors"
    assert (compound // 2).code == "n_readings * n_sensors // 2"
    assert (Size.of(3) * Size.expression("a - b")).code == "3 * (a - b)"


OPERATIONS = [
    ("+", lambda a, b: a + b),
    ("-", lambda a, b: a - b),
    ("*", lambda a, b: a * b),
    ("//", lambda a, b: a // b),
]


@pytest.mark.parametrize("seed", range(20))
def test_random_arithmetic_means_what_python_computes(seed):
    """Chains of operations on a symbolic size and on numbers: the code, evaluated, equals the arithmetic."""
    rng = random.Random(seed)
    names = {"n": rng.randint(30, 300), "m": rng.randint(30, 300)}
    symbolic, numeric = Size("n"), names["n"]
    for _ in range(6):
        symbol, apply = rng.choice(OPERATIONS)
        if rng.random() < 0.3:
            operand, operand_value = Size("m"), names["m"]
        else:
            operand_value = rng.randint(1, 5)
            operand = operand_value
        symbolic, numeric = apply(symbolic, operand), apply(numeric, operand_value)
        assert _evaluate(symbolic, names) == numeric, (symbol, symbolic.code)
        if rng.random() < 0.5:
            # as the left or right operand of another expression
            other = Size.of(7) - symbolic
            assert _evaluate(other, names) == 7 - numeric, other.code


def test_product_and_keras_shape():
    assert product(known([4, 5, 6])) == 120
    assert product([Size("a"), Size("b") - 1]).code == "a * (b - 1)"
    assert product([Size("a"), None]) is None
    assert keras_shape([None, Size.of(8)]) == "(None, None, 8)"
    assert static_int(Size("a")) is None and static_int(None) is None and static_int(Size.of(3)) == 3


def test_a_size_is_never_mistaken_for_code_text():
    with pytest.raises(TypeError):
        _ = Size.of(1) == "1"
    with pytest.raises(TypeError):
        check_shape(["28", Size.of(1)])
    with pytest.raises(TypeError):
        Size("")
    assert check_shape([None, Size.of(1)]) == [None, Size.of(1)]


def test_a_layer_context_refuses_a_shape_of_strings():
    context = LayerContext.__new__(LayerContext)
    context.shape = known([28, None])
    with pytest.raises(TypeError):
        context.shape = ["28", None]


def test_conv_output_sizes_match_keras_formula_for_numbers_and_code():
    from k2t.translate.conv import conv_output_size

    for n, kernel, stride, dilation, padding in itertools.product((7, 28, 31), (1, 3, 5), (1, 2, 3), (1, 2), ("valid", "same")):
        span = dilation * (kernel - 1) + 1
        if n < span:
            continue
        expected = -(-n // stride) if padding == "same" else (n - span) // stride + 1
        assert conv_output_size(Size.of(n), kernel, stride, dilation, padding) == expected
        code = conv_output_size(Size("n"), kernel, stride, dilation, padding)
        assert _evaluate(code, {"n": n}) == expected, code.code
