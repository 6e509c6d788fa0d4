"""The op vocabulary as a table (k2t/ops): translations of representative calls, refusals, table hygiene.

Pure: neither torch nor TensorFlow is imported. The numbers are proven in test_parity_ops.py.
"""

from __future__ import annotations

import ast

import pytest

from k2t.diagnostics import Unsupported
from k2t.names import IMPORTED_BY_OUTPUT
from k2t.ops import CONSTANT_NAMES, OPS, ROWS, OpArgumentError, UnknownOp, translate_constant, translate_op
from k2t.ops.spec import Op, p
from k2t.ops.table import DuplicateOp, _index


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "expected"),
    [
        pytest.param("keras.backend.mean", ["x"], {"axis": "1", "keepdims": "True"},
                     "torch.mean(x, dim=1, keepdim=True)", id="mean-axis-keepdims"),
        pytest.param("keras.backend.mean", ["x"], {}, "torch.mean(x)", id="mean-defaults-left-out"),
        pytest.param("keras.backend.mean", ["x"], {"keepdims": "True"}, "torch.mean(x, dim=None, keepdim=True)",
                     id="mean-keepdim-needs-dim"),
        pytest.param("keras.backend.mean", ["x", "None", "False"], {}, "torch.mean(x)", id="explicit-defaults"),
        pytest.param("tensorflow.reduce_sum", ["t", "[1, 2]"], {}, "torch.sum(t, dim=[1, 2])", id="reduce-axis-list"),
        pytest.param("keras.backend.max", ["x", "-1"], {}, "torch.amax(x, dim=-1)", id="max-is-amax"),
        pytest.param("tensorflow.math.reduce_std", ["x"], {"axis": "0"}, "torch.std(x, dim=0, correction=0)",
                     id="reduce_std-population"),
        pytest.param("tensorflow.argmax", ["x"], {}, "torch.argmax(x, dim=0)", id="tf-argmax-axis-none-is-0"),
        pytest.param("keras.backend.argmax", ["x"], {}, "torch.argmax(x, dim=-1)", id="K-argmax-axis-minus-1"),
        pytest.param("keras.backend.sqrt", ["s"], {}, "torch.sqrt(torch.clamp(s, min=0.0))", id="K-sqrt-clips"),
        pytest.param("keras.backend.maximum", ["torch.sum(x)", "1e-07"], {}, "torch.clamp(torch.sum(x), min=1e-07)",
                     id="maximum-with-number"),
        pytest.param("keras.backend.maximum", ["a", "b"], {}, "torch.maximum(a, b)", id="maximum-of-tensors"),
        pytest.param("keras.backend.clip", ["x", "0.5", "0.1"], {}, "torch.clamp(x, 0.5, 0.5)", id="K-clip-max-below"),
        pytest.param("keras.backend.clip", ["x", "None", "1.0"], {}, "torch.clamp(x, max=1.0)", id="K-clip-no-min"),
        pytest.param("tensorflow.clip_by_value", ["x", "0.0", "1.0"], {}, "torch.clamp(x, 0.0, 1.0)", id="clip"),
        pytest.param("tensorflow.concat", ["[a, b]", "1"], {}, "torch.cat([a, b], dim=1)",
                     id="concat"),
        pytest.param("keras.backend.concatenate", ["[a, b]"], {}, "torch.cat([a, b], dim=-1)",
                     id="K-concatenate-last-axis"),
        pytest.param("tensorflow.one_hot", ["y", "10"], {}, "F.one_hot(y.long(), 10).to(torch.float32)",
                     id="one_hot-float"),
        pytest.param("tensorflow.cast", ["a > b", "tf.float32"], {}, "(a > b).to(torch.float32)", id="cast-parens"),
        pytest.param("keras.backend.cast", ["x", "'int64'"], {}, "x.to(torch.int64)", id="cast-string-dtype"),
        pytest.param("keras.backend.cast", ["x", "keras.backend.floatx()"], {}, "x.to(torch.float32)",
                     id="cast-floatx"),
        pytest.param("keras.ops.cast", ["x", "y.dtype"], {}, "x.to(y.dtype)", id="cast-like-another"),
        pytest.param("tensorflow.where", ["m"], {}, "torch.nonzero(m)", id="where-one-arg"),
        pytest.param("tensorflow.where", ["m", "a", "b"], {}, "torch.where(m, a, b)", id="where-three-args"),
        pytest.param("tensorflow.shape", ["x"], {}, "x.shape", id="shape"),
        pytest.param("keras.backend.int_shape", ["x"], {}, "tuple(x.shape)", id="int_shape"),
        pytest.param("keras.backend.epsilon", [], {}, "1e-07", id="epsilon"),
        pytest.param("keras.activations.softmax", ["x"], {}, "F.softmax(x, dim=-1)", id="softmax-axis"),
        pytest.param("tensorflow.nn.softmax", ["x"], {}, "F.softmax(x, dim=-1)", id="tf-softmax-axis-none"),
        pytest.param("keras.ops.gelu", ["x"], {}, 'F.gelu(x, approximate="tanh")', id="ops-gelu-tanh"),
        pytest.param("keras.activations.gelu", ["x"], {}, "F.gelu(x)", id="activations-gelu-exact"),
        pytest.param("keras.activations.leaky_relu", ["x"], {}, "F.leaky_relu(x, 0.2)", id="leaky-slope-written"),
        pytest.param("tensorflow.math.l2_normalize", ["x"], {"axis": "-1"}, "F.normalize(x, dim=-1, eps=1e-06)",
                     id="l2_normalize-eps-squared"),
        pytest.param("tensorflow.pad", ["x", "[[0, 0], [1, 2]]"], {}, "F.pad(x, (1, 2))", id="pad-reversed"),
        pytest.param("tensorflow.gather", ["p", "i"], {"axis": "1"}, "p[:, i]", id="gather-axis"),
        pytest.param("tensorflow.linalg.matmul", ["a", "b"], {"transpose_b": "True"}, "torch.matmul(a, b.mT)",
                     id="matmul-transpose-b"),
        pytest.param("tensorflow.einsum", ["'ij,jk->ik'", "a", "b"], {}, "torch.einsum('ij,jk->ik', a, b)",
                     id="einsum-variadic"),
        pytest.param("tensorflow.random.normal", ["(2, 3)"], {"seed": "1"}, "torch.randn((2, 3))",
                     id="random-seed-dropped"),
        pytest.param("tensorflow.random.uniform", ["(2,)"], {"maxval": "5"}, "torch.empty((2,)).uniform_(0, 5)",
                     id="uniform-range"),
        pytest.param("tensorflow.zeros", ["(2, 3)"], {"dtype": "tf.float32"}, "torch.zeros((2, 3))",
                     id="dtype-at-default-left-out"),
        pytest.param("keras.backend.transpose", ["x[0]"], {}, "x[0].permute(*range(x[0].dim() - 1, -1, -1))",
                     id="subscript-may-repeat"),
        pytest.param("tensorflow.gather", ["p", "i"], {"batch_dims": "1"}, "torch.vmap(lambda p, i: p[i])(p, i)",
                     id="gather-batch-dims-axis-after-them"),
        pytest.param("tensorflow.gather", ["p", "i"], {"axis": "2", "batch_dims": "1"},
                     "torch.vmap(lambda p, i: p[:, i])(p, i)", id="gather-batch-dims-axis-moves-down"),
        pytest.param("tensorflow.gather", ["p", "i"], {"batch_dims": "2"},
                     "torch.vmap(torch.vmap(lambda p, i: p[i]))(p, i)", id="gather-two-batch-dims"),
        pytest.param("tensorflow.image.resize", ["images", "(32, 32)"], {},
                     'F.interpolate(images.permute(0, 3, 1, 2).float(), size=(32, 32), mode="bilinear")'
                     ".permute(0, 2, 3, 1)", id="resize-bilinear-float32"),
        pytest.param("tensorflow.image.resize", ["images", "size"], {"method": "'nearest'"},
                     'F.interpolate(images.permute(0, 3, 1, 2), size=size, mode="nearest-exact").permute(0, 2, 3, 1)',
                     id="resize-nearest-exact"),
        pytest.param("tensorflow.sequence_mask", ["lengths"], {},
                     "torch.arange(lengths.max(), device=lengths.device) < lengths.unsqueeze(-1)",
                     id="sequence_mask-longest"),
        pytest.param("tensorflow.sequence_mask", ["lengths", "10", "tf.float32"], {},
                     "(torch.arange(10, device=lengths.device) < lengths.unsqueeze(-1)).to(torch.float32)",
                     id="sequence_mask-float"),
        pytest.param("tensorflow.random.gamma", [], {"shape": "[size]", "alpha": "concentration_1"},
                     "torch.distributions.Gamma(concentration_1, 1.0).rsample([size])", id="gamma-keras-io-mixup"),
        pytest.param("tensorflow.random.gamma", ["(2,)", "a", "b"], {}, "torch.distributions.Gamma(a, b).rsample((2,))",
                     id="gamma-rate"),
        pytest.param("keras.backend.batch_dot", ["x", "y"], {"axes": "(2, 2)"},
                     "torch.vmap(lambda x_i, y_i: torch.atleast_1d(torch.tensordot(x_i, y_i, dims=([1], [1]))))(x, y)",
                     id="batch_dot-per-sample-axes"),
        pytest.param("keras.backend.batch_dot", ["x", "y", "-1"], {},
                     "torch.vmap(lambda x_i, y_i: torch.atleast_1d(torch.tensordot(x_i, y_i, dims=([-1], [-1]))))(x, y)",
                     id="batch_dot-negative-axis"),
    ],
)
def test_translation(name: str, args: list[str], kwargs: dict[str, str], expected: str) -> None:
    assert translate_op(name, args, kwargs).code == expected


def test_imports_name_what_the_expression_uses() -> None:
    assert translate_op("keras.backend.mean", ["x"]).imports == {"torch"}
    assert translate_op("keras.activations.relu", ["x"]).imports == {"F"}
    assert translate_op("tensorflow.one_hot", ["y", "3"]).imports == {"F", "torch"}
    assert translate_op("tensorflow.math.l2_normalize", ["x", "1"], {"epsilon": "eps"}).imports == {"F", "math"}
    assert translate_op("keras.backend.cast", ["x", "'float32'"]).imports == {"torch"}  # the dtype argument's torch
    assert translate_op("tensorflow.shape", ["x"]).imports == frozenset()
    # An argument's own names are the caller's business, not the op's.
    assert translate_op("tensorflow.shape", ["F.relu(x)"]).imports == frozenset()


def test_every_import_is_one_the_output_can_write() -> None:
    for row in ROWS:
        if isinstance(row.torch, str):
            assert translate_op(row.name, _sample_args(row)).imports <= IMPORTED_BY_OUTPUT, row.name


def _sample_args(row: Op) -> list[str]:
    """A name for each required argument ("'float32'" for a dtype)."""
    return [
        "'float32'" if param.dtype else f"a{index}" for index, param in enumerate(row.params) if param.required
    ]


def test_unknown_op_is_a_diagnostic_naming_it() -> None:
    with pytest.raises(UnknownOp, match="`keras.backend.ctc_batch_cost` is not in k2t's op vocabulary") as raised:
        translate_op("keras.backend.ctc_batch_cost", ["a", "b", "c", "d"])
    assert isinstance(raised.value, Unsupported)
    assert raised.value.code == "K2T100"
    with pytest.raises(UnknownOp) as raised:
        translate_op("tensorflow.math.bincount", ["a"])
    assert raised.value.code == "K2T150"


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "message"),
    [
        pytest.param("tensorflow.cumsum", ["x"], {"reverse": "True"}, "argument `reverse=True` is not translated",
                     id="value-not-translated"),
        pytest.param("keras.backend.mean", ["x"], {"axes": "1"}, "argument `axes` is not translated",
                     id="unknown-keyword"),
        pytest.param("keras.backend.mean", ["x", "1", "True", "4"], {}, "at most 3 positional", id="too-many"),
        pytest.param("tensorflow.concat", ["[a, b]"], {}, "missing argument `axis`", id="missing"),
        pytest.param("keras.backend.mean", ["x", "1"], {"axis": "2"}, "argument `axis` given twice", id="twice"),
        pytest.param("keras.backend.cast", ["x", "my_dtype"], {}, "dtype `my_dtype` is not one", id="dtype-unknown"),
        pytest.param("keras.backend.transpose", ["a + b"], {}, "argument `x` is used twice", id="repeated-expression"),
        pytest.param("tensorflow.pad", ["x", "p"], {}, "must be a literal", id="pad-needs-literal"),
        pytest.param("tensorflow.pad", ["x", "[[1, 1]]"], {"mode": "'REFLECT'"}, "`mode='REFLECT'`", id="pad-mode"),
        pytest.param("keras.activations.relu", ["x"], {"threshold": "0.5"}, "`threshold` is not translated",
                     id="relu-threshold"),
        pytest.param("keras.backend.prod", ["x", "[0, 1]"], {}, "a list of axes", id="prod-axes"),
        pytest.param("tensorflow.split", ["x", "n"], {}, "must be a literal", id="split-count-unknown"),
        pytest.param("keras.backend.binary_crossentropy", ["y", "f(x)"], {}, "argument `output` is used twice",
                     id="bce-output-expression"),
        pytest.param("tensorflow.image.extract_patches", ["x", "[1, 2, 2, 1]", "[1, 2, 2, 1]", "[1, 2, 2, 1]", "'VALID'"], {},
                     "rates=[1, 1, 1, 1]", id="patches-dilated"),
        pytest.param("keras.backend.batch_dot", ["x", "y"], {"axes": "[1, 2, 3]"}, "`axes=[1, 2, 3]`: k2t translates an int or a pair",
                     id="batch_dot-axes-needed"),
        pytest.param("keras.backend.batch_dot", ["x", "y", "(0, 1)"], {}, "batch axis 0", id="batch_dot-axis-0"),
        pytest.param("tensorflow.gather", ["p", "i"], {"batch_dims": "-1"}, "`batch_dims=-1`", id="gather-batch-dims-neg"),
        pytest.param("tensorflow.gather", ["p", "i"], {"axis": "0", "batch_dims": "1"}, "one of the 1 batch dims",
                     id="gather-axis-in-batch-dims"),
        pytest.param("tensorflow.image.resize", ["x", "(4, 4)"], {"method": "'bicubic'"}, "`method='bicubic'`",
                     id="resize-bicubic"),
        pytest.param("tensorflow.image.resize", ["x", "(4, 4)"], {"antialias": "True"},
                     "`antialias=True` is not translated", id="resize-antialias"),
        pytest.param("tensorflow.sequence_mask", ["f(n)"], {}, "argument `lengths` is used twice",
                     id="sequence_mask-expression"),
        pytest.param("tensorflow.image.extract_patches", ["f(x)", "[1, 2, 2, 1]", "[1, 2, 2, 1]", "[1, 1, 1, 1]", "'SAME'"], {},
                     "padding=\"SAME\" reads the images' size", id="patches-same-on-an-expression"),
    ],
)
def test_refusals_name_the_op_and_the_argument(name: str, args: list[str], kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(OpArgumentError, match=f"^`{name}`: .*") as raised:
        translate_op(name, args, kwargs)
    assert message in str(raised.value)
    assert raised.value.code == ("K2T150" if name.startswith("tensorflow.") else "K2T100")


def test_constants() -> None:
    assert translate_constant("tensorflow.float32").code == "torch.float32"
    assert translate_constant("tensorflow.dtypes.int64").code == "torch.int64"
    assert translate_constant("tensorflow.newaxis").code == "None"
    with pytest.raises(UnknownOp):
        translate_constant("tensorflow.string")


def test_no_name_is_in_the_table_twice() -> None:
    names = [name for row in ROWS for name in row.names]
    assert len(names) == len(set(names)) == len(OPS)
    assert not set(OPS) & set(CONSTANT_NAMES)
    row = Op("keras.backend.mean", (p("x"),), "torch.mean({x})")
    with pytest.raises(DuplicateOp, match="keras.backend.mean"):
        _index([row, Op("keras.ops.mean", (p("x"),), "torch.mean({x})", aliases=("keras.backend.mean",))], [])


def test_rows_are_well_formed() -> None:
    for row in ROWS:
        names = [param.name for param in row.params]
        assert len(names) == len(set(names)), row.name
        assert all(name.startswith(("keras.", "tensorflow.")) for name in row.names), row.name
        seen_default = False
        for param in row.params:
            if param.required and not param.variadic:
                assert not seen_default, f"{row.name}: required {param.name} after a default"
            else:
                seen_default = True
            if not param.required and isinstance(param.default, str):
                ast.parse(param.default, mode="eval")  # every default is Python source


def test_every_template_translates_and_is_python() -> None:
    """Each row with a fixed template renders from names alone into a valid expression."""
    for row in ROWS:
        if isinstance(row.torch, str):
            ast.parse(translate_op(row.name, _sample_args(row)).code, mode="eval")


def test_the_table_is_large_enough_to_be_useful() -> None:
    # The issue asks for the ops real scripts use; a drop here means a family lost its import.
    assert len(OPS) >= 450
    assert {"keras.backend.mean", "keras.ops.einsum", "tensorflow.reduce_mean", "tensorflow.nn.softmax",
            "keras.activations.relu", "tensorflow.random.normal", "tensorflow.linalg.matmul"} <= set(OPS)


def test_docs_ops_md_is_generated_from_the_table() -> None:
    from pathlib import Path

    from k2t.ops import doc

    written = (Path(__file__).resolve().parent.parent / "docs" / "ops.md").read_text(encoding="utf-8")
    assert written == doc.render(), "docs/ops.md is stale: run `python -m k2t.ops.doc`"


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("tensorflow.range", ["n"], "torch.arange(n, device=x.device)"),
        ("keras.backend.zeros", ["(2, 3)"], "torch.zeros((2, 3), device=x.device)"),
        ("tensorflow.square", ["t"], "torch.square(t)"),  # made from an input: already where it is
    ],
)
def test_tensors_made_from_nothing_go_to_the_given_device(name, args, expected):
    """TensorFlow makes `tf.range(n)` where the computation runs; torch on the CPU unless told, which fails
    next to a CUDA input. A forward passes its input's device."""
    assert translate_op(name, args, device="x.device").code == expected
    assert "device" not in translate_op(name, args).code
