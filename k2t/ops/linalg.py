"""Products and linear algebra: matmul, dot, einsum, tensordot, norms, inverse, determinant ..."""

from __future__ import annotations

from .spec import Bound, Op, p

NAME = p("name", "None", ignored=True)
FALSE = ("False",)


def _tf_matmul(bound: Bound) -> str:
    for flag in ("transpose_a", "transpose_b"):
        if bound.literal(flag) not in (True, False):
            raise bound.fail(f"`{flag}={bound[flag]}` must be True or False")
    a = "{(a)}.mT" if bound.literal("transpose_a") else "{a}"
    b = "{(b)}.mT" if bound.literal("transpose_b") else "{b}"
    return f"torch.matmul({a}, {b})"


def _tf_norm(bound: Bound) -> str:
    """tf.norm: the euclidean (Frobenius) norm over the axis or axes given, or over everything."""
    order = bound.literal("ord")
    keepdim = "" if bound.is_none("keepdims") or bound.literal("keepdims") is False else ", keepdim={keepdims}"
    if order in ("euclidean", "fro"):
        return f"torch.linalg.vector_norm({{tensor}}{{, dim=axis}}{keepdim})"
    if order in (1, 2) and (bound.is_none("axis") or isinstance(bound.literal("axis"), int)):
        return f"torch.linalg.vector_norm({{tensor}}, ord={{ord}}{{, dim=axis}}{keepdim})"
    raise bound.fail(f"`ord={bound['ord']}` is not translated for axis `{bound['axis']}`")


def _batch_dot(bound: Bound) -> str:
    """Keras 2's K.batch_dot: per sample, x's axis axes[0] contracted with y's axes[1] (tensordot, x's other axes
    then y's); two rank-2 inputs give (batch, 1). In torch: tensordot per sample (torch.vmap), atleast_1d for
    the (batch, 1) case."""
    if bound.is_none("axes"):
        # Keras's default: x's last axis with y's second-to-last (its last where y is (batch, n)), per sample.
        return (
            "torch.vmap(lambda x_i, y_i: torch.atleast_1d(torch.tensordot(x_i, y_i, "
            "dims=([-1], [-1 if y_i.dim() == 1 else -2]))))({x}, {y})"
        )
    axes = bound.literal("axes")
    if isinstance(axes, int) and not isinstance(axes, bool):
        axes = (axes, axes)
    if not (
        isinstance(axes, (tuple, list))
        and len(axes) == 2
        and all(isinstance(a, int) and not isinstance(a, bool) for a in axes)
    ):
        raise bound.fail(f"`axes={bound['axes']}`: k2t translates an int or a pair of ints written out")
    if 0 in axes:
        raise bound.fail("batch_dot over the batch axis 0 is refused by Keras too")
    # A sample lacks the batch axis: a positive axis moves down by one, a negative one counts from the end.
    x_axis, y_axis = (a - 1 if a > 0 else a for a in axes)
    return (
        f"torch.vmap(lambda x_i, y_i: torch.atleast_1d(torch.tensordot(x_i, y_i, dims=([{x_axis}], [{y_axis}]))))"
        "({x}, {y})"
    )


ROWS: tuple[Op, ...] = (
    Op(
        "tensorflow.linalg.matmul",
        (
            p("a"),
            p("b"),
            p("transpose_a", "False"),
            p("transpose_b", "False"),
            p("adjoint_a", "False", only=FALSE),
            p("adjoint_b", "False", only=FALSE),
            p("a_is_sparse", "False", ignored=True),
            p("b_is_sparse", "False", ignored=True),
            p("output_type", "None", only=("None",)),
            NAME,
        ),
        _tf_matmul,
        "transpose_a/b transpose the last two dims (.mT)",
        aliases=("tensorflow.matmul",),
    ),
    Op("keras.ops.matmul", (p("x1"), p("x2")), "torch.matmul({x1}, {x2})"),
    Op(
        "keras.backend.batch_dot",
        (p("x"), p("y"), p("axes", "None")),
        _batch_dot,
        "axes an int or a pair written out, or None (x's last axis with y's second-to-last, or y's last where y "
        "has one axis per sample); per sample a tensordot, as Keras 2 computes it by matmul",
    ),
    Op(
        "keras.backend.dot",
        (p("x"), p("y")),
        "torch.tensordot({x}, {y}, dims=([-1], [-2]))",
        "K.dot contracts x's last axis with y's second-to-last (numpy.dot): torch.matmul for a 2-D y, but a y "
        "of rank 3+ is not batched as torch.matmul would",
    ),
    Op(
        "tensorflow.linalg.matvec",
        (
            p("a"),
            p("b"),
            p("transpose_a", "False", only=FALSE),
            p("adjoint_a", "False", only=FALSE),
            p("a_is_sparse", "False", ignored=True),
            p("b_is_sparse", "False", ignored=True),
            NAME,
        ),
        "torch.matmul({a}, {(b)}.unsqueeze(-1)).squeeze(-1)",
    ),
    Op(
        "tensorflow.einsum",
        (p("equation"), p("inputs", "()", variadic=True)),
        "torch.einsum({equation}, {inputs})",
        aliases=("tensorflow.linalg.einsum",),
    ),
    Op(
        "keras.ops.einsum",
        (p("subscripts"), p("operands", "()", variadic=True)),
        "torch.einsum({subscripts}, {operands})",
    ),
    Op(
        "tensorflow.tensordot",
        (p("a"), p("b"), p("axes"), NAME),
        "torch.tensordot({a}, {b}, dims={axes})",
        aliases=("tensorflow.linalg.tensordot",),
    ),
    Op("keras.ops.tensordot", (p("x1"), p("x2"), p("axes", "2")), "torch.tensordot({x1}, {x2}{, dims=axes})"),
    Op(
        "keras.ops.outer",
        (p("x1"), p("x2")),
        "torch.outer({(x1)}.flatten(), {(x2)}.flatten())",
        "numpy's outer flattens its inputs",
    ),
    Op(
        "tensorflow.norm",
        (p("tensor"), p("ord", "'euclidean'"), p("axis", "None"), p("keepdims", "None"), NAME),
        _tf_norm,
        "the euclidean norm over all elements by default (a matrix's Frobenius norm)",
        aliases=("tensorflow.linalg.norm",),
    ),
    Op(
        "keras.ops.norm",
        (p("x"), p("ord", "None"), p("axis", "None"), p("keepdims", "False")),
        "torch.linalg.norm({x}{, ord}{, dim=axis}{, keepdim=keepdims})",
        "numpy's norm, as torch.linalg.norm",
    ),
    Op("tensorflow.linalg.inv", (p("input"), p("adjoint", "False", only=FALSE), NAME), "torch.linalg.inv({input})"),
    Op("tensorflow.linalg.det", (p("input"), NAME), "torch.linalg.det({input})"),
    Op(
        "tensorflow.linalg.diag_part",
        (p("input"), NAME, p("k", "0", only=("0",))),
        "torch.diagonal({input}, dim1=-2, dim2=-1)",
        "the diagonal of the last two dims",
    ),
    Op("tensorflow.linalg.diag", (p("diagonal"), NAME, p("k", "0", only=("0",))), "torch.diag_embed({diagonal})"),
    Op("tensorflow.linalg.trace", (p("x"), NAME), "torch.diagonal({x}, dim1=-2, dim2=-1).sum(-1)"),
    Op("tensorflow.linalg.cholesky", (p("input"), NAME), "torch.linalg.cholesky({input})"),
    Op(
        "tensorflow.linalg.solve",
        (p("matrix"), p("rhs"), p("adjoint", "False", only=FALSE), NAME),
        "torch.linalg.solve({matrix}, {rhs})",
    ),
)
