"""Shapes and indexing: reshape, transpose, concat, stack, split, gather, pad, where, one_hot, shape ..."""

from __future__ import annotations

import ast
from collections.abc import Callable

from .spec import Bound, Op, is_atomic, p

NAME = p("name", "None", ignored=True)
X = p("x")
FLOAT32 = "torch.float32"


def _reverse_dims(x: str) -> str:
    return f"{{({x})}}.permute(*range({{({x})}}.dim() - 1, -1, -1))"


def _transpose(x: str, perm: str) -> Callable[[Bound], str]:
    """tf.transpose(x) with no perm reverses every dimension (torch's x.T does so only for 2-D)."""

    def template(bound: Bound) -> str:
        if bound.is_none(perm):
            return _reverse_dims(x)
        return f"torch.permute({{{x}}}, {{{perm}}})"

    return template


def _tf_split(bound: Bound) -> str:
    """tf.split: a number of equal parts, or a list of sizes (torch.split takes sizes)."""
    splits = bound.literal("num_or_size_splits")
    if isinstance(splits, int):
        return "torch.chunk({value}, {num_or_size_splits}{, dim=axis})"
    if isinstance(splits, (list, tuple)) and -1 not in splits:
        return "torch.split({value}, {num_or_size_splits}{, dim=axis})"
    raise bound.fail(f"`num_or_size_splits={bound['num_or_size_splits']}` is not translated")


def _index_along(tensor: str, indices: str, axis: object) -> str:
    """``tensor[:, :, indices]`` (axis 2) or ``tensor[..., indices, :]`` (axis -2): tf.gather along an axis."""
    if not isinstance(axis, int):
        raise TypeError(axis)
    return _indexed(f"{{({tensor})}}", f"{{{indices}}}", axis)


def _indexed(tensor: str, index: str, axis: int) -> str:
    """``tensor[:, :, index]`` (axis 2) or ``tensor[..., index, :]`` (axis -2)."""
    if axis >= 0:
        return f"{tensor}[{':, ' * axis}{index}]"
    return f"{tensor}[..., {index}{', :' * (-axis - 1)}]"


def _tf_gather(bound: Bound) -> str:
    batch_dims = bound.literal("batch_dims")
    if not isinstance(batch_dims, int) or isinstance(batch_dims, bool) or batch_dims < 0:
        raise bound.fail(f"`batch_dims={bound['batch_dims']}`: k2t translates a literal int of 0 or more")
    if bound.is_none("axis"):
        axis = batch_dims  # TensorFlow's default axis is the first after the batch dims
    else:
        axis = bound.literal("axis")
        if not isinstance(axis, int):
            raise bound.fail(f"`axis={bound['axis']}` must be an integer literal")
    if batch_dims == 0:
        return _index_along("params", "indices", axis)
    if 0 <= axis < batch_dims:
        raise bound.fail(f"`axis={axis}` is one of the {batch_dims} batch dims (TensorFlow refuses it too)")
    # Each sample's params indexed by its own indices: torch.vmap once per batch dim; a sample has the batch
    # dims removed, so a non-negative axis moves down by batch_dims (a negative one counts from the end).
    function = f"lambda p, i: {_indexed('p', 'i', axis - batch_dims if axis >= 0 else axis)}"
    for _ in range(batch_dims):
        function = f"torch.vmap({function})"
    return f"{function}({{params}}, {{indices}})"


def _take(bound: Bound) -> str:
    if bound.is_none("axis"):
        return "{(x)}.flatten()[{indices}]"
    axis = bound.literal("axis")
    if not isinstance(axis, int):
        raise bound.fail(f"`axis={bound['axis']}` must be an integer literal")
    return _index_along("x", "indices", axis)


def _torch_pad(bound: Bound, widths_name: str) -> str:
    """TF pads ``[[before, after], ...]`` from the first dim; F.pad takes (before, after) pairs from the last."""
    widths = bound.literal(widths_name)
    if not isinstance(widths, (list, tuple)) or not all(isinstance(w, (list, tuple)) and len(w) == 2 for w in widths):
        raise bound.fail(f"`{widths_name}={bound[widths_name]}` must be a literal list of (before, after) pairs")
    pairs = [tuple(pair) for pair in widths]
    while len(pairs) > 1 and pairs[0] == (0, 0):  # leading dims F.pad need not name
        pairs.pop(0)
    flat = [str(number) for pair in reversed(pairs) for number in pair]
    return "(" + ", ".join(flat) + ("," if len(flat) == 1 else "") + ")"


def _tf_pad(bound: Bound) -> str:
    mode = bound.literal("mode")
    if not isinstance(mode, str) or mode.upper() != "CONSTANT":
        raise bound.fail(f"`mode={bound['mode']}` is not translated (only CONSTANT)")
    value = "" if bound.is_default("constant_values") else ", value={constant_values}"
    return f"F.pad({{tensor}}, {_torch_pad(bound, 'paddings')}{value})"


def _ops_pad(bound: Bound) -> str:
    mode = bound.literal("mode")
    if mode != "constant":
        raise bound.fail(f"`mode={bound['mode']}` is not translated (only constant)")
    value = "" if bound.is_none("constant_values") else ", value={constant_values}"
    return f"F.pad({{x}}, {_torch_pad(bound, 'pad_width')}{value})"


def _temporal_padding(bound: Bound) -> str:
    before, after = bound.literal("padding")  # type: ignore[misc]
    return f"F.pad({{x}}, (0, 0, {before}, {after}))"


def _spatial_2d_padding(bound: Bound) -> str:
    (top, bottom), (left, right) = bound.literal("padding")  # type: ignore[misc]
    if bound.literal("data_format") == "channels_first":
        return f"F.pad({{x}}, ({left}, {right}, {top}, {bottom}))"
    return f"F.pad({{x}}, (0, 0, {left}, {right}, {top}, {bottom}))"


def _one_hot(indices: str, depth: str, dtype: str) -> Callable[[Bound], str]:
    def template(bound: Bound) -> str:
        to = FLOAT32 if bound.is_none(dtype) else f"{{{dtype}}}"
        return f"F.one_hot({{({indices})}}.long(), {{{depth}}}).to({to})"

    return template


def _tf_where(bound: Bound) -> str:
    if bound.is_none("x") and bound.is_none("y"):
        return "torch.nonzero({condition})"
    if bound.is_none("x") or bound.is_none("y"):
        raise bound.fail("tf.where with only one of x and y is not valid")
    return "torch.where({condition}, {x}, {y})"


def _ops_where(bound: Bound) -> str:
    if bound.is_none("x1") and bound.is_none("x2"):
        return "torch.nonzero({condition}, as_tuple=True)"
    if bound.is_none("x1") or bound.is_none("x2"):
        raise bound.fail("keras.ops.where with only one of x1 and x2 is not valid")
    return "torch.where({condition}, {x1}, {x2})"


def _tf_sort(function: str, suffix: str) -> Callable[[Bound], str]:
    def template(bound: Bound) -> str:
        direction = bound.literal("direction")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise bound.fail(f"`direction={bound['direction']}` is not translated")
        descending = ", descending=True" if direction == "DESCENDING" else ""
        return f"{function}({{values}}{{, dim=axis}}{descending}){suffix}"

    return template


def _flip(x: str, axis: str) -> Callable[[Bound], str]:
    def template(bound: Bound) -> str:
        if bound.is_none(axis):
            return f"torch.flip({{{x}}}, tuple(range({{({x})}}.dim())))"
        if isinstance(bound.literal(axis), int):
            return f"torch.flip({{{x}}}, ({{{axis}}},))"
        return f"torch.flip({{{x}}}, {{{axis}}})"

    return template


def _tile_int(bound: Bound) -> str:
    """K.tile(x, 2) repeats the first axis (Keras wraps an int in a list); torch.tile wants a sequence."""
    if isinstance(bound.literal("n"), int):
        return "torch.tile({x}, ({n},))"
    return "torch.tile({x}, {n})"


def _is_python_size(code: str) -> bool:
    """``y.shape[0]``, ``y.shape``, ``len(y)``, ``y.size(0)``, ``y.dim()``, a number: what torch gives as Python
    ints where ``tf.shape`` gives an int32 tensor, so that ``.to(dtype)`` does not apply."""
    try:
        node = ast.parse(code.strip(), mode="eval").body
    except SyntaxError:
        return False
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.Attribute):
        return node.attr in ("shape", "ndim")
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id in ("len", "int", "float")
        return isinstance(func, ast.Attribute) and func.attr in ("size", "dim", "numel")
    return False


def _pair(bound: Bound, name: str) -> tuple[str, str]:
    """An int or an (h, w) pair of Keras's image ops, as the code of each size (an int: the argument itself)."""
    try:
        value = ast.literal_eval(bound[name])
    except (ValueError, SyntaxError):
        return f"{{{name}}}", f"{{{name}}}"  # a name or attribute holding an int (self.patch_size)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return str(value[0]), str(value[1])
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{{{name}}}", f"{{{name}}}"
    raise bound.fail(f"`{name}={bound[name]}`: k2t translates an int or a pair of ints")


def _extract_patches(bound: Bound) -> str:
    """keras.ops.image.extract_patches on channels-last images (a batch or one image): each patch flattened
    in (row, column, channel) order, channels fastest, as Keras's identity-kernel convolution lays it out."""
    height, width = _pair(bound, "size")
    steps = (height, width) if bound.is_none("strides") else _pair(bound, "strides")
    return f"{{(images)}}.unfold(-3, {height}, {steps[0]}).unfold(-3, {width}, {steps[1]}).movedim(-3, -1).flatten(-3)"


def _image_window(bound: Bound, name: str, default: int | None = None) -> tuple[str, str]:
    """tf.image.extract_patches's ``[1, h, w, 1]`` (sizes, strides, rates): the code of h and of w. The batch
    and channel entries must be 1, as TensorFlow requires; h and w may be names (``self.patch_size``)."""
    try:
        node = ast.parse(bound[name], mode="eval").body
    except SyntaxError:
        node = None
    if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) != 4:
        raise bound.fail(f"`{name}={bound[name]}`: k2t translates a list [1, height, width, 1] written out")
    ends = [_int_literal(element) for element in (node.elts[0], node.elts[3])]
    if ends != [1, 1]:
        raise bound.fail(f"`{name}={bound[name]}`: its first and last entries must be 1")
    height, width = (ast.unparse(element) for element in node.elts[1:3])
    if not (is_atomic(height) and is_atomic(width)):
        raise bound.fail(f"`{name}={bound[name]}`: k2t translates sizes that are ints or names")
    if default is not None and {_int_literal(node.elts[1]), _int_literal(node.elts[2])} != {default}:
        raise bound.fail(f"`{name}={bound[name]}`: k2t translates {name}=[1, {default}, {default}, 1]")
    return height, width


def _int_literal(node: ast.expr) -> int | None:
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else None


def _same_padding(images: str, axis: int, size: str, stride: str) -> tuple[str, str]:
    """TensorFlow's SAME padding of one image axis, before and after: ``max(size - (n % stride or stride), 0)``
    in all (``(ceil(n / stride) - 1) * stride + size - n``), the smaller half before."""
    if stride == "1":
        if size.isdigit():
            return str((int(size) - 1) // 2), str(int(size) // 2)
        total = f"({size} - 1)"  # every stride-1 window fits: size - 1 in all, whatever n
    else:
        total = f"max({size} - ({images}.shape[{axis}] % {stride} or {stride}), 0)"
    return f"{total} // 2", f"({total} + 1) // 2"


def _tf_extract_patches(bound: Bound) -> str:
    """tf.image.extract_patches on a batch of channels-last images: the same layout as Keras's op (each patch
    flattened row, column, channel); SAME pads with zeros as TensorFlow does, the smaller half first."""
    height, width = _image_window(bound, "sizes")
    steps = _image_window(bound, "strides")
    _image_window(bound, "rates", default=1)
    padding = bound.literal("padding")
    if padding not in ("VALID", "SAME"):
        raise bound.fail(f'`padding={bound["padding"]}`: TensorFlow takes "VALID" or "SAME"')
    images = "{(images)}"
    if padding == "SAME":
        if not is_atomic(bound["images"]):
            raise bound.fail(
                'padding="SAME" reads the images\' size: k2t translates it on a name (assign the images first)'
            )
        top, bottom = _same_padding(bound["images"], -3, height, steps[0])
        left, right = _same_padding(bound["images"], -2, width, steps[1])
        images = f"F.pad({{images}}, (0, 0, {left}, {right}, {top}, {bottom}))"
    return f"{images}.unfold(-3, {height}, {steps[0]}).unfold(-3, {width}, {steps[1]}).movedim(-3, -1).flatten(-3)"


# tf.image.resize's methods k2t translates -> F.interpolate's mode (on channels-first images). TensorFlow 2
# samples at half-pixel centres, as torch does with align_corners=False; "nearest" is torch's "nearest-exact".
_RESIZE_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact"}


def _tf_resize(bound: Bound) -> str:
    """tf.image.resize of a batch of channels-last images: F.interpolate on channels-first, and back."""
    method = bound.literal("method")
    if method not in _RESIZE_MODES:
        raise bound.fail(f"`method={bound['method']}`: k2t translates {' and '.join(map(repr, _RESIZE_MODES))}")
    # Bilinear gives float32 whatever the images' dtype; nearest keeps it (TensorFlow's documented rule).
    images = "{(images)}.permute(0, 3, 1, 2)" + (".float()" if method == "bilinear" else "")
    return f'F.interpolate({images}, size={{size}}, mode="{_RESIZE_MODES[method]}").permute(0, 2, 3, 1)'


def _sequence_mask(bound: Bound) -> str:
    """``mask[..., j] = j < lengths[...]`` for j below maxlen (the longest length when maxlen is None)."""
    maxlen = "{(lengths)}.max()" if bound.is_none("maxlen") else "{maxlen}"
    mask = f"torch.arange({maxlen}, device={{(lengths)}}.device) < {{(lengths)}}.unsqueeze(-1)"
    return mask if bound["dtype"] == "torch.bool" else f"({mask}).to({{dtype}})"


def _cast(bound: Bound) -> str:
    """A tensor converts with ``.to(dtype)``; a size (``tf.shape(y)[0]`` is ``y.shape[0]``, a Python int in
    torch) becomes a tensor of that dtype, as tf.cast makes one."""
    if _is_python_size(bound["x"]):
        return "torch.tensor({x}, dtype={dtype})"
    return "{(x)}.to({dtype})"


SHAPE_NOTE = (
    "the dynamic shape as the torch.Size of the tensor (Python ints at run time); TensorFlow gives an int32 tensor"
)
ONE_HOT = "F.one_hot fails on a negative or out-of-range index, where TensorFlow writes a row of zeros"
SQUEEZE = "TensorFlow fails when the squeezed axis is not of size 1; torch leaves it"

ROWS: tuple[Op, ...] = (
    Op("keras.backend.reshape", (X, p("shape")), "torch.reshape({x}, {shape})"),
    Op("tensorflow.reshape", (p("tensor"), p("shape"), NAME), "torch.reshape({tensor}, {shape})"),
    Op("keras.ops.reshape", (X, p("newshape")), "torch.reshape({x}, {newshape})"),
    Op(
        "keras.ops.image.extract_patches",
        (
            p("images"),
            p("size"),
            p("strides", "None"),
            p("dilation_rate", "1", only=("1",)),
            p("padding", '"valid"', only=('"valid"',)),
            p("data_format", "None", only=("None", '"channels_last"')),
        ),
        _extract_patches,
    ),
    Op(
        "tensorflow.image.resize",
        (
            p("images"),
            p("size"),
            p("method", "'bilinear'"),
            p("preserve_aspect_ratio", "False", only=("False",)),
            p("antialias", "False", only=("False",)),
            NAME,
        ),
        _tf_resize,
        "a batch of channels-last images (rank 4; torch refuses one image of rank 3); bilinear and nearest, "
        "without antialiasing, sample at the same half-pixel centres",
    ),
    Op(
        "tensorflow.sequence_mask",
        (p("lengths"), p("maxlen", "None"), p("dtype", "'bool'", dtype=True), NAME),
        _sequence_mask,
        "shape lengths.shape + (maxlen,); maxlen=None is the longest length",
    ),
    Op(
        "tensorflow.image.extract_patches",
        (p("images"), p("sizes"), p("strides"), p("rates"), p("padding"), NAME),
        _tf_extract_patches,
        'padding="SAME": zeros, the smaller half before, as TensorFlow pads',
    ),
    Op("keras.backend.flatten", (X,), "torch.reshape({x}, (-1,))"),
    Op("keras.ops.ravel", (X,), "torch.ravel({x})"),
    Op("keras.backend.batch_flatten", (X,), "torch.flatten({x}, 1)"),
    Op("keras.backend.transpose", (X,), _reverse_dims("x"), "K.transpose reverses every dimension"),
    Op(
        "tensorflow.transpose",
        (p("a"), p("perm", "None"), p("conjugate", "False", only=("False",)), NAME),
        _transpose("a", "perm"),
        "no perm: every dimension reversed",
    ),
    Op("keras.ops.transpose", (X, p("axes", "None")), _transpose("x", "axes")),
    Op("tensorflow.linalg.matrix_transpose", (p("a"), NAME), "{(a)}.mT", "the last two dimensions swapped"),
    Op("keras.backend.permute_dimensions", (X, p("pattern")), "torch.permute({x}, {pattern})"),
    Op("keras.ops.moveaxis", (X, p("source"), p("destination")), "torch.movedim({x}, {source}, {destination})"),
    Op("keras.ops.swapaxes", (X, p("axis1"), p("axis2")), "torch.swapaxes({x}, {axis1}, {axis2})"),
    Op(
        "keras.backend.expand_dims",
        (X, p("axis", "-1")),
        "torch.unsqueeze({x}, {axis})",
        "K.expand_dims's axis defaults to -1",
    ),
    Op("tensorflow.expand_dims", (p("input"), p("axis"), NAME), "torch.unsqueeze({input}, {axis})"),
    Op("keras.ops.expand_dims", (X, p("axis")), "torch.unsqueeze({x}, {axis})"),
    Op("keras.backend.squeeze", (X, p("axis")), "torch.squeeze({x}, {axis})", SQUEEZE),
    Op("tensorflow.squeeze", (p("input"), p("axis", "None"), NAME), "torch.squeeze({input}{, axis})", SQUEEZE),
    Op("keras.ops.squeeze", (X, p("axis", "None")), "torch.squeeze({x}{, axis})", SQUEEZE),
    Op(
        "keras.backend.concatenate",
        (p("tensors"), p("axis", "-1")),
        "torch.cat({tensors}, dim={axis})",
        "K.concatenate's axis defaults to -1 (torch.cat's and keras.ops.concatenate's to 0)",
    ),
    Op("tensorflow.concat", (p("values"), p("axis"), NAME), "torch.cat({values}, dim={axis})"),
    Op(
        "keras.ops.concatenate",
        (p("xs"), p("axis", "0")),
        "torch.cat({xs}{, dim=axis})",
        "axis defaults to 0, as torch.cat's",
    ),
    Op("keras.backend.stack", (X, p("axis", "0")), "torch.stack({x}{, dim=axis})"),
    Op("tensorflow.stack", (p("values"), p("axis", "0"), NAME), "torch.stack({values}{, dim=axis})"),
    Op("keras.ops.stack", (X, p("axis", "0")), "torch.stack({x}{, dim=axis})"),
    Op(
        "tensorflow.unstack",
        (p("value"), p("num", "None", ignored=True), p("axis", "0"), NAME),
        "torch.unbind({value}{, dim=axis})",
        "a tuple of tensors (TensorFlow: a list)",
    ),
    Op(
        "keras.ops.unstack",
        (X, p("num", "None", ignored=True), p("axis", "0")),
        "torch.unbind({x}{, dim=axis})",
        "a tuple of tensors (Keras: a list)",
    ),
    Op(
        "tensorflow.split",
        (p("value"), p("num_or_size_splits"), p("axis", "0"), p("num", "None", only=("None",)), NAME),
        _tf_split,
        "a number of equal parts -> torch.chunk; a list of sizes -> torch.split (which takes sizes, not a count)",
    ),
    Op(
        "keras.ops.split",
        (X, p("indices_or_sections"), p("axis", "0")),
        "torch.tensor_split({x}, {indices_or_sections}{, dim=axis})",
        "numpy semantics: a number of sections or the indices to split at, as torch.tensor_split",
    ),
    Op(
        "keras.backend.tile",
        (X, p("n")),
        _tile_int,
        "torch.tile(x, n); an int n (Keras wraps it in a list) becomes (n,)",
    ),
    Op("tensorflow.tile", (p("input"), p("multiples"), NAME), "torch.tile({input}, {multiples})"),
    Op("keras.ops.tile", (X, p("repeats")), "torch.tile({x}, {repeats})"),
    Op("keras.backend.repeat_elements", (X, p("rep"), p("axis")), "torch.repeat_interleave({x}, {rep}, dim={axis})"),
    Op(
        "keras.backend.repeat",
        (X, p("n")),
        "{(x)}.unsqueeze(1).repeat(1, {n}, 1)",
        "(batch, features) -> (batch, n, features)",
    ),
    Op(
        "tensorflow.repeat",
        (p("input"), p("repeats"), p("axis", "None"), NAME),
        "torch.repeat_interleave({input}, {repeats}{, dim=axis})",
        "axis=None repeats the flattened tensor",
    ),
    Op("keras.ops.repeat", (X, p("repeats"), p("axis", "None")), "torch.repeat_interleave({x}, {repeats}{, dim=axis})"),
    Op("keras.backend.gather", (p("reference"), p("indices")), "{(reference)}[{indices}]", "rows along axis 0"),
    Op(
        "tensorflow.gather",
        (
            p("params"),
            p("indices"),
            p("validate_indices", "None", ignored=True),
            p("axis", "None"),
            p("batch_dims", "0"),
            NAME,
        ),
        _tf_gather,
        "indexing along the axis (an integer literal); TensorFlow on CPU fails on an out-of-range index as torch; "
        "batch_dims=k indexes each sample's params with its own indices (torch.vmap, k times)",
    ),
    Op("keras.ops.take", (X, p("indices"), p("axis", "None")), _take, "axis=None indexes the flattened tensor"),
    Op(
        "keras.ops.take_along_axis",
        (X, p("indices"), p("axis", "None")),
        "torch.take_along_dim({x}, {indices}{, dim=axis})",
    ),
    Op(
        "tensorflow.gather_nd",
        (p("params"), p("indices"), p("batch_dims", "0", only=("0",)), NAME),
        "{(params)}[{(indices)}.unbind(-1)]",
        "the last axis of indices indexes the leading dims of params",
    ),
    Op(
        "tensorflow.boolean_mask",
        (p("tensor"), p("mask"), p("axis", "None", only=("None", "0")), NAME),
        "{(tensor)}[{mask}]",
    ),
    Op("keras.backend.reverse", (X, p("axes")), _flip("x", "axes"), "torch.flip(x, axes); an int axis becomes (axis,)"),
    Op("tensorflow.reverse", (p("tensor"), p("axis"), NAME), "torch.flip({tensor}, {axis})"),
    Op("keras.ops.flip", (X, p("axis", "None")), _flip("x", "axis"), "axis=None flips every dimension"),
    Op("tensorflow.roll", (p("input"), p("shift"), p("axis"), NAME), "torch.roll({input}, {shift}, {axis})"),
    Op("keras.ops.roll", (X, p("shift"), p("axis", "None")), "torch.roll({x}, {shift}{, dims=axis})"),
    Op(
        "tensorflow.pad",
        (p("tensor"), p("paddings"), p("mode", "'CONSTANT'"), p("constant_values", "0"), NAME),
        _tf_pad,
        "literal paddings only; F.pad lists (before, after) from the last dimension back",
    ),
    Op(
        "keras.ops.pad",
        (X, p("pad_width"), p("mode", "'constant'"), p("constant_values", "None")),
        _ops_pad,
        "F.pad(x, pairs from the last dim back); literal pad_width and constant mode only",
    ),
    Op(
        "keras.backend.temporal_padding",
        (X, p("padding", "(1, 1)")),
        _temporal_padding,
        "pads axis 1 of (batch, steps, features)",
    ),
    Op(
        "keras.backend.spatial_2d_padding",
        (X, p("padding", "((1, 1), (1, 1))"), p("data_format", "None")),
        _spatial_2d_padding,
        "channels_last unless data_format='channels_first'",
    ),
    Op(
        "tensorflow.one_hot",
        (
            p("indices"),
            p("depth"),
            p("on_value", "None", only=("None",)),
            p("off_value", "None", only=("None",)),
            p("axis", "None", only=("None", "-1")),
            p("dtype", "None", dtype=True),
            NAME,
        ),
        _one_hot("indices", "depth", "dtype"),
        ONE_HOT,
    ),
    Op(
        "keras.backend.one_hot",
        (p("indices"), p("num_classes")),
        "F.one_hot({(indices)}.long(), {num_classes}).to(torch.float32)",
        ONE_HOT,
    ),
    Op(
        "keras.ops.one_hot",
        (
            X,
            p("num_classes"),
            p("axis", "-1", only=("-1",)),
            p("dtype", "None", dtype=True),
            p("sparse", "False", only=("False",)),
        ),
        _one_hot("x", "num_classes", "dtype"),
        ONE_HOT,
    ),
    Op("tensorflow.shape", (p("input"), p("out_type", "None", ignored=True), NAME), "{(input)}.shape", SHAPE_NOTE),
    Op("keras.backend.shape", (X,), "{(x)}.shape", SHAPE_NOTE),
    Op(
        "keras.backend.int_shape",
        (X,),
        "tuple({(x)}.shape)",
        "Keras gives None for dims unknown when the model is built (the batch); torch, the sizes at run time",
    ),
    Op("keras.ops.shape", (X,), "tuple({(x)}.shape)", "a tuple of ints, as Keras 3's (None where unknown there)"),
    Op("keras.backend.ndim", (X,), "{(x)}.dim()"),
    Op("keras.ops.ndim", (X,), "{(x)}.dim()", "Keras 3 returns a tensor, torch a Python int"),
    Op("tensorflow.rank", (p("input"), NAME), "{(input)}.dim()", "TensorFlow returns an int32 tensor, torch an int"),
    Op(
        "tensorflow.size",
        (p("input"), p("out_type", "None", ignored=True), NAME),
        "{(input)}.numel()",
        "TensorFlow returns an int32 tensor, torch an int",
    ),
    Op("keras.ops.size", (X,), "{(x)}.numel()"),
    Op("tensorflow.broadcast_to", (p("input"), p("shape"), NAME), "torch.broadcast_to({input}, {shape})"),
    Op("keras.ops.broadcast_to", (X, p("shape")), "torch.broadcast_to({x}, {shape})"),
    Op(
        "tensorflow.where",
        (p("condition"), p("x", "None"), p("y", "None"), NAME),
        _tf_where,
        "with the condition alone: the (N, rank) int64 indices of the true elements, as torch.nonzero",
    ),
    Op(
        "keras.ops.where",
        (p("condition"), p("x1", "None"), p("x2", "None")),
        _ops_where,
        "with the condition alone: a tuple of index tensors, one per dim (numpy.nonzero)",
    ),
    Op(
        "keras.backend.switch",
        (p("condition"), p("then_expression"), p("else_expression")),
        "torch.where({condition}, {then_expression}, {else_expression})",
        "exact when the condition has the rank of the branches or rank <= 1; Keras 2 appends axes to a condition "
        "of lower rank > 1 (torch broadcasts from the last axis), and a scalar condition picks a branch",
    ),
    Op(
        "tensorflow.sort",
        (p("values"), p("axis", "-1"), p("direction", "'ASCENDING'"), NAME),
        _tf_sort("torch.sort", ".values"),
    ),
    Op(
        "tensorflow.argsort",
        (p("values"), p("axis", "-1"), p("direction", "'ASCENDING'"), p("stable", "False", ignored=True), NAME),
        _tf_sort("torch.argsort", ""),
        "order of ties may differ unless stable",
    ),
    Op("keras.ops.sort", (X, p("axis", "-1")), "torch.sort({x}{, dim=axis}).values"),
    Op("keras.ops.argsort", (X, p("axis", "-1")), "torch.argsort({x}{, dim=axis})"),
    Op(
        "tensorflow.math.top_k",
        (p("input"), p("k", "1"), p("sorted", "True", only=("True",)), p("index_type", "None", ignored=True), NAME),
        "torch.topk({input}, {k})",
        "(values, indices); the order of equal values may differ",
        aliases=("tensorflow.nn.top_k",),
    ),
    Op("keras.ops.top_k", (X, p("k"), p("sorted", "True", only=("True",))), "torch.topk({x}, {k})"),
    Op("keras.ops.tril", (X, p("k", "0")), "torch.tril({x}{, diagonal=k})"),
    Op("keras.ops.triu", (X, p("k", "0")), "torch.triu({x}{, diagonal=k})"),
    Op(
        "tensorflow.cast",
        (X, p("dtype", dtype=True), NAME),
        _cast,
        "float -> int truncates toward 0 in both; a size (tf.shape(y)[0]) is a Python int in torch, made a tensor",
        aliases=("tensorflow.dtypes.cast",),
    ),
    Op("keras.backend.cast", (X, p("dtype", dtype=True)), _cast),
    Op("keras.ops.cast", (X, p("dtype", dtype=True)), _cast),
    Op("tensorflow.identity", (p("input"), NAME), "{input}"),
    Op("tensorflow.stop_gradient", (p("input"), NAME), "{(input)}.detach()"),
    Op("keras.backend.stop_gradient", (p("variables"),), "{(variables)}.detach()"),
    Op("keras.ops.stop_gradient", (p("variable"),), "{(variable)}.detach()"),
)
