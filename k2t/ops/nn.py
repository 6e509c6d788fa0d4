"""Activations, normalisation and cross-entropies: keras.activations, keras.ops, K.*, tf.nn."""

from __future__ import annotations

from collections.abc import Callable

from .spec import Bound, Op, p

NAME = p("name", "None", ignored=True)
X = p("x")
FEATURES = p("features")
EPSILON = "1e-07"  # keras.backend.epsilon()
CLIPPED = f"torch.clamp({{output}}, {EPSILON}, 1 - {EPSILON})"


def _keras_relu(slope: str) -> Callable[[Bound], str]:
    """relu(x, negative_slope/alpha, max_value, threshold): the variants torch names, the others refused."""

    def template(bound: Bound) -> str:
        if not bound.is_default("threshold"):
            raise bound.fail("`threshold` is not translated")
        plain_slope = bound.is_default(slope)
        if bound.is_none("max_value"):
            return "F.relu({x})" if plain_slope else f"F.leaky_relu({{x}}, {{{slope}}})"
        if not plain_slope:
            raise bound.fail(f"`{slope}` together with `max_value` is not translated")
        return "torch.clamp({x}, 0.0, {max_value})"

    return template


def _gelu(x: str) -> Callable[[Bound], str]:
    def template(bound: Bound) -> str:
        approximate = bound.literal("approximate")
        if approximate is True:
            return f'F.gelu({{{x}}}, approximate="tanh")'
        if approximate is False:
            return f"F.gelu({{{x}}})"
        raise bound.fail(f"`approximate={bound['approximate']}` must be True or False")

    return template


def _activation_get(bound: Bound) -> str:
    """keras.activations.get("relu") -> the torch function of that activation (``F.relu``), or a lambda where
    the activation is an expression (``lambda x: F.softmax(x, dim=-1)``); None is the identity, as in Keras."""
    from ..translate.activations import ACTIVATIONS  # the one table of activation names (layers use it too)

    name = bound.literal("identifier")
    if name is None:
        name = "linear"
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise bound.fail(f"activation {bound['identifier']} is not translated")
    template = ACTIVATIONS[name].template
    function = template.removesuffix("({x})")
    if function != template and "(" not in function and "{" not in function:
        return function
    return "lambda x: " + template.replace("{x}", "x")


def _softmax(function: str, x: str) -> Callable[[Bound], str]:
    """tf.nn.softmax's axis=None is the last axis."""

    def template(bound: Bound) -> str:
        axis = "-1" if bound.is_none("axis") else "{axis}"
        return f"{function}({{{x}}}, dim={axis})"

    return template


def _l2_normalize(x: str) -> Callable[[Bound], str]:
    """x * rsqrt(max(sum(x**2), eps)) == x / max(norm, sqrt(eps)): F.normalize with eps = sqrt(epsilon)."""

    def template(bound: Bound) -> str:
        if "epsilon" not in bound.values or bound.is_default("epsilon"):
            eps = "1e-06"  # sqrt(1e-12), TensorFlow's default epsilon on the squared norm
        else:
            eps = "math.sqrt({epsilon})"
        if bound.is_none("axis"):
            return f"{{({x})}} / torch.clamp(torch.linalg.vector_norm({{{x}}}), min={eps})"
        return f"F.normalize({{{x}}}, dim={{axis}}, eps={eps})"

    return template


def _moments(x: str, axes: str) -> str:
    # torch.var_mean returns (variance, mean); TensorFlow (mean, variance).
    return f"torch.var_mean({{{x}}}, dim={{{axes}}}, correction=0{{, keepdim=keepdims}})[::-1]"


def _batch_normalization(bound: Bound) -> str:
    expression = "({(x)} - {(mean)}) * torch.rsqrt({(variance)} + {variance_epsilon})"
    if not bound.is_none("scale"):
        expression += " * {(scale)}"
    if not bound.is_none("offset"):
        expression += " + {(offset)}"
    return expression


def _from_logits(logits: str, probabilities: str) -> Callable[[Bound], str]:
    def template(bound: Bound) -> str:
        from_logits = bound.literal("from_logits")
        if from_logits is True:
            return logits
        if from_logits is False:
            return probabilities
        raise bound.fail(f"`from_logits={bound['from_logits']}` must be True or False")

    return template


BCE_LOGITS = 'F.binary_cross_entropy_with_logits({output}, {target}, reduction="none")'
CCE_LOGITS = "-torch.sum({(target)} * F.log_softmax({output}, dim={axis}), dim={axis})"
SPARSE_LOGITS = 'F.cross_entropy({(output)}.movedim({axis}, 1), {(target)}.long(), reduction="none")'

Y_TRUE_PRED = (p("y_true"), p("y_pred"))
NO_SMOOTHING = p("label_smoothing", "0.0", only=("0.0", "0"))
LAST_AXIS = p("axis", "-1", only=("-1",))


def _y(template: str) -> str:
    """A template of (target, output) written for keras.losses' (y_true, y_pred)."""
    for old, new in (("target", "y_true"), ("output", "y_pred")):
        template = template.replace("{" + old + "}", "{" + new + "}").replace("{(" + old + ")}", "{(" + new + ")}")
    return template


def _per_sample(inner: Callable[[Bound], str]) -> Callable[[Bound], str]:
    def template(bound: Bound) -> str:
        return f"torch.mean({inner(bound)}, dim=-1)"

    return template


ROWS: tuple[Op, ...] = (
    # activations
    Op(
        "keras.activations.relu",
        (X, p("negative_slope", "0.0"), p("max_value", "None"), p("threshold", "0.0")),
        _keras_relu("negative_slope"),
    ),
    Op(
        "keras.backend.relu",
        (X, p("alpha", "0.0"), p("max_value", "None"), p("threshold", "0.0")),
        _keras_relu("alpha"),
    ),
    Op("tensorflow.nn.relu", (FEATURES, NAME), "F.relu({features})"),
    Op("keras.ops.relu", (X,), "F.relu({x})"),
    Op(
        "keras.activations.get",
        (p("identifier"),),
        _activation_get,
        "a function of a tensor; k2t translates a literal activation name (or None)",
    ),
    Op("keras.activations.relu6", (X,), "F.relu6({x})", aliases=("keras.ops.relu6",)),
    Op("tensorflow.nn.relu6", (FEATURES, NAME), "F.relu6({features})"),
    Op(
        "keras.activations.elu",
        (X, p("alpha", "1.0")),
        "F.elu({x}{, alpha=alpha})",
        aliases=("keras.backend.elu", "keras.ops.elu"),
    ),
    Op("tensorflow.nn.elu", (FEATURES, NAME), "F.elu({features})"),
    Op("keras.activations.selu", (X,), "F.selu({x})", aliases=("keras.ops.selu",)),
    Op("tensorflow.nn.selu", (FEATURES, NAME), "F.selu({features})"),
    Op(
        "keras.activations.gelu",
        (X, p("approximate", "False")),
        _gelu("x"),
        "the exact (erf) form by default, as F.gelu",
    ),
    Op(
        "keras.ops.gelu",
        (X, p("approximate", "True")),
        _gelu("x"),
        "keras.ops.gelu defaults to the tanh approximation (keras.activations.gelu to the exact form)",
    ),
    Op("tensorflow.nn.gelu", (FEATURES, p("approximate", "False"), NAME), _gelu("features")),
    Op(
        "keras.activations.silu",
        (X,),
        "F.silu({x})",
        aliases=("keras.activations.swish", "keras.ops.silu", "keras.ops.swish"),
    ),
    Op(
        "tensorflow.nn.silu",
        (FEATURES, p("beta", "1.0", only=("1.0", "1")), NAME),
        "F.silu({features})",
        aliases=("tensorflow.nn.swish",),
    ),
    Op(
        "keras.activations.softmax",
        (X, p("axis", "-1")),
        "F.softmax({x}, dim={axis})",
        aliases=("keras.ops.softmax", "keras.backend.softmax"),
    ),
    Op(
        "tensorflow.nn.softmax",
        (p("logits"), p("axis", "None"), NAME),
        _softmax("F.softmax", "logits"),
        "axis=None is the last axis",
        aliases=("tensorflow.math.softmax",),
    ),
    Op(
        "keras.activations.log_softmax",
        (X, p("axis", "-1")),
        "F.log_softmax({x}, dim={axis})",
        aliases=("keras.ops.log_softmax",),
    ),
    Op(
        "tensorflow.nn.log_softmax",
        (p("logits"), p("axis", "None"), NAME),
        _softmax("F.log_softmax", "logits"),
        aliases=("tensorflow.math.log_softmax",),
    ),
    Op(
        "keras.activations.leaky_relu",
        (X, p("negative_slope", "0.2")),
        "F.leaky_relu({x}, {negative_slope})",
        "Keras's slope defaults to 0.2, torch's to 0.01: always written",
        aliases=("keras.ops.leaky_relu",),
    ),
    Op(
        "tensorflow.nn.leaky_relu",
        (FEATURES, p("alpha", "0.2"), NAME),
        "F.leaky_relu({features}, {alpha})",
        "slope 0.2 by default (torch: 0.01)",
    ),
    Op(
        "keras.activations.hard_sigmoid",
        (X,),
        "F.hardsigmoid({x})",
        "Keras 3: relu6(x + 3) / 6, as torch",
        aliases=("keras.ops.hard_sigmoid",),
    ),
    Op(
        "keras.backend.hard_sigmoid",
        (X,),
        "torch.clamp(0.2 * {(x)} + 0.5, 0.0, 1.0)",
        "Keras 2's hard sigmoid has slope 0.2 (torch's F.hardsigmoid 1/6)",
    ),
    Op(
        "keras.activations.hard_silu",
        (X,),
        "F.hardswish({x})",
        aliases=("keras.activations.hard_swish", "keras.ops.hard_silu", "keras.ops.hard_swish"),
    ),
    Op("keras.activations.mish", (X,), "F.mish({x})"),
    Op("keras.activations.exponential", (X,), "torch.exp({x})"),
    Op("keras.activations.linear", (X,), "{x}"),
    Op("keras.activations.celu", (X, p("alpha", "1.0")), "F.celu({x}{, alpha=alpha})", aliases=("keras.ops.celu",)),
    Op("keras.activations.glu", (X, p("axis", "-1")), "F.glu({x}, dim={axis})", aliases=("keras.ops.glu",)),
    Op("keras.activations.hard_tanh", (X,), "F.hardtanh({x})", aliases=("keras.ops.hard_tanh",)),
    Op(
        "keras.activations.hard_shrink",
        (X, p("threshold", "0.5")),
        "F.hardshrink({x}{, lambd=threshold})",
        aliases=("keras.ops.hard_shrink",),
    ),
    Op(
        "keras.activations.soft_shrink",
        (X, p("threshold", "0.5")),
        "F.softshrink({x}{, lambd=threshold})",
        aliases=("keras.ops.soft_shrink",),
    ),
    Op("keras.activations.tanh_shrink", (X,), "F.tanhshrink({x})", aliases=("keras.ops.tanh_shrink",)),
    Op(
        "keras.activations.threshold",
        (X, p("threshold"), p("default_value")),
        "F.threshold({x}, {threshold}, {default_value})",
        aliases=("keras.ops.threshold",),
    ),
    Op(
        "keras.activations.squareplus",
        (X, p("b", "4")),
        "({(x)} + torch.sqrt(torch.square({x}) + {b})) / 2",
        aliases=("keras.ops.squareplus",),
    ),
    # normalisation
    Op(
        "keras.backend.l2_normalize",
        (X, p("axis", "None")),
        _l2_normalize("x"),
        "TensorFlow bounds the squared norm by 1e-12, F.normalize the norm: eps=1e-6 is the same bound",
    ),
    Op(
        "tensorflow.math.l2_normalize",
        (X, p("axis", "None"), p("epsilon", "1e-12"), NAME, p("dim", "None", only=("None",))),
        _l2_normalize("x"),
        "epsilon bounds the squared norm: F.normalize's eps is its square root",
        aliases=("tensorflow.linalg.l2_normalize", "tensorflow.nn.l2_normalize"),
    ),
    Op(
        "keras.ops.normalize",
        (X, p("axis", "-1"), p("order", "2", only=("2",)), p("epsilon", "None")),
        lambda bound: (
            "F.normalize({x}, dim={axis}, eps=" + (EPSILON if bound.is_none("epsilon") else "{epsilon}") + ")"
        ),
        "x / max(norm, epsilon), epsilon = keras.backend.epsilon() = 1e-7",
    ),
    Op(
        "tensorflow.nn.moments",
        (X, p("axes"), p("shift", "None", ignored=True), p("keepdims", "False"), NAME),
        _moments("x", "axes"),
        "(mean, population variance); torch.var_mean returns (variance, mean)",
    ),
    Op(
        "keras.ops.moments",
        (X, p("axes"), p("keepdims", "False"), p("synchronized", "False", only=("False",))),
        _moments("x", "axes"),
        "(mean, population variance)",
    ),
    Op(
        "tensorflow.nn.batch_normalization",
        (X, p("mean"), p("variance"), p("offset"), p("scale"), p("variance_epsilon"), NAME),
        _batch_normalization,
    ),
    Op(
        "tensorflow.nn.bias_add",
        (p("value"), p("bias"), p("data_format", "None", only=("None", "'NHWC'")), NAME),
        "torch.add({value}, {bias})",
        "channels last: the bias is added along the last axis",
    ),
    Op(
        "tensorflow.nn.dropout",
        (X, p("rate"), p("noise_shape", "None", only=("None",)), p("seed", "None", ignored=True), NAME),
        "F.dropout({x}, p={rate})",
        "always active, scaled by 1 / (1 - rate), as F.dropout in training; the random stream differs",
    ),
    Op(
        "keras.backend.dropout",
        (X, p("level"), p("noise_shape", "None", only=("None",)), p("seed", "None", ignored=True)),
        "F.dropout({x}, p={level})",
        "always active; the random stream differs",
    ),
    Op(
        "tensorflow.nn.embedding_lookup",
        (p("params"), p("ids"), p("max_norm", "None", only=("None",)), NAME),
        "F.embedding({ids}, {params})",
    ),
    Op("tensorflow.nn.l2_loss", (p("t"), NAME), "torch.sum(torch.square({t})) / 2"),
    # cross-entropies
    Op(
        "tensorflow.nn.sigmoid_cross_entropy_with_logits",
        (p("labels", "None"), p("logits", "None"), NAME),
        'F.binary_cross_entropy_with_logits({logits}, {labels}, reduction="none")',
    ),
    Op(
        "tensorflow.nn.softmax_cross_entropy_with_logits",
        (p("labels"), p("logits"), p("axis", "-1"), NAME),
        "-torch.sum({(labels)} * F.log_softmax({logits}, dim={axis}), dim={axis})",
        "per example, not averaged (reduction none)",
    ),
    Op(
        "tensorflow.nn.sparse_softmax_cross_entropy_with_logits",
        (p("labels", "None"), p("logits", "None"), NAME),
        'F.cross_entropy({(logits)}.movedim(-1, 1), {(labels)}.long(), reduction="none")',
        "classes on the last axis (torch's cross_entropy wants them on axis 1: movedim)",
    ),
    Op(
        "keras.backend.binary_crossentropy",
        (p("target"), p("output"), p("from_logits", "False")),
        _from_logits(
            BCE_LOGITS,
            f"-({{(target)}} * torch.log({CLIPPED} + {EPSILON})"
            f" + (1 - {{(target)}}) * torch.log(1 - {CLIPPED} + {EPSILON}))",
        ),
        "Keras 2 clips to [1e-7, 1 - 1e-7] and adds 1e-7 inside both logs (keras.ops does not add it)",
    ),
    Op(
        "keras.ops.binary_crossentropy",
        (p("target"), p("output"), p("from_logits", "False")),
        _from_logits(BCE_LOGITS, f'F.binary_cross_entropy({CLIPPED}, {{target}}, reduction="none")'),
        "probabilities clipped to [1e-7, 1 - 1e-7]",
    ),
    Op(
        "keras.backend.categorical_crossentropy",
        (p("target"), p("output"), p("from_logits", "False"), p("axis", "-1")),
        _from_logits(
            CCE_LOGITS,
            "-torch.sum({(target)} * torch.log(torch.clamp({(output)} / torch.sum({output}, "
            f"dim={{axis}}, keepdim=True), {EPSILON}, 1 - {EPSILON})), dim={{axis}})",
        ),
        "probabilities renormalised to sum 1, then clipped to [1e-7, 1 - 1e-7]",
        aliases=("keras.ops.categorical_crossentropy",),
    ),
    Op(
        "keras.backend.sparse_categorical_crossentropy",
        (
            p("target"),
            p("output"),
            p("from_logits", "False"),
            p("axis", "-1"),
            p("ignore_class", "None", only=("None",)),
        ),
        _from_logits(
            SPARSE_LOGITS,
            "F.cross_entropy(torch.log(" + CLIPPED + ').movedim({axis}, 1), {(target)}.long(), reduction="none")',
        ),
        "probabilities clipped to [1e-7, 1 - 1e-7], their log renormalised (log_softmax) as Keras does;"
        " the target has the output's shape without the class axis",
    ),
    Op(
        "keras.ops.sparse_categorical_crossentropy",
        (p("target"), p("output"), p("from_logits", "False"), p("axis", "-1", only=("-1",))),
        _from_logits(
            SPARSE_LOGITS,
            "F.cross_entropy(torch.log(" + CLIPPED + ').movedim({axis}, 1), {(target)}.long(), reduction="none")',
        ),
        "as keras.backend's; Keras 3 takes only axis=-1",
    ),
    *(
        # keras.losses' functions called directly (`return keras.losses.mse(y_true, y_pred) * 2` in a custom
        # loss): one value per sample, the mean over the last axis, y_true the shape of y_pred.
        Op(
            "keras.losses.mean_squared_error",
            Y_TRUE_PRED,
            "torch.mean(torch.square({(y_pred)} - {(y_true)}), dim=-1)",
            "per sample: the mean over the last axis",
            aliases=("keras.metrics.mean_squared_error",),
        ),
        Op(
            "keras.losses.mean_absolute_error",
            Y_TRUE_PRED,
            "torch.mean(torch.abs({(y_pred)} - {(y_true)}), dim=-1)",
            "per sample: the mean over the last axis",
            aliases=("keras.metrics.mean_absolute_error",),
        ),
        Op(
            "keras.losses.binary_crossentropy",
            (*Y_TRUE_PRED, p("from_logits", "False"), NO_SMOOTHING, LAST_AXIS),
            _per_sample(
                _from_logits(_y(BCE_LOGITS), f'F.binary_cross_entropy({_y(CLIPPED)}, {{y_true}}, reduction="none")')
            ),
            "per sample: the mean over the last axis of the crossentropy of probabilities clipped to [1e-7, 1 - 1e-7]",
            aliases=("keras.metrics.binary_crossentropy",),  # Keras 2's VAE: metrics.binary_crossentropy(x, x_decoded)
        ),
        Op(
            "keras.losses.categorical_crossentropy",
            (*Y_TRUE_PRED, p("from_logits", "False"), NO_SMOOTHING, LAST_AXIS),
            _from_logits(
                _y(CCE_LOGITS).replace("{axis}", "-1"),
                "-torch.sum({(y_true)} * torch.log(torch.clamp({(y_pred)} / torch.sum({y_pred}, dim=-1, "
                f"keepdim=True), {EPSILON}, 1 - {EPSILON})), dim=-1)",
            ),
            "per sample; probabilities renormalised to sum 1, then clipped to [1e-7, 1 - 1e-7]",
        ),
        Op(
            "keras.losses.sparse_categorical_crossentropy",
            (*Y_TRUE_PRED, p("from_logits", "False"), p("ignore_class", "None", only=("None",)), LAST_AXIS),
            _from_logits(
                _y(SPARSE_LOGITS).replace("{axis}", "-1"),
                "F.cross_entropy(torch.log(" + _y(CLIPPED) + ').movedim(-1, 1), {(y_true)}.long(), reduction="none")',
            ),
            "per sample; the target has the output's shape without the class axis",
        ),
    ),
)
