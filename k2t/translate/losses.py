"""Keras losses -> generated loss functions with Keras's exact formulas."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..diagnostics import Unsupported
from ..ir import Value
from .helpers import Helper
from .user_functions import ScriptFunctions, UserFunction

# Every spelling Keras accepts -> one canonical loss name.
_ALIASES = {
    "binary_crossentropy": "binary_crossentropy",
    "BinaryCrossentropy": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "CategoricalCrossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
    "mse": "mean_squared_error",
    "MSE": "mean_squared_error",
    "mean_squared_error": "mean_squared_error",
    "MeanSquaredError": "mean_squared_error",
    "mae": "mean_absolute_error",
    "MAE": "mean_absolute_error",
    "mean_absolute_error": "mean_absolute_error",
    "MeanAbsoluteError": "mean_absolute_error",
    "huber": "huber",
    "Huber": "huber",
    "huber_loss": "huber",
    "msle": "mean_squared_logarithmic_error",
    "MSLE": "mean_squared_logarithmic_error",
    "mean_squared_logarithmic_error": "mean_squared_logarithmic_error",
    "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error",
    "mape": "mean_absolute_percentage_error",
    "MAPE": "mean_absolute_percentage_error",
    "mean_absolute_percentage_error": "mean_absolute_percentage_error",
    "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
    "kld": "kl_divergence",
    "KLD": "kl_divergence",
    "kl_divergence": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "KLDivergence": "kl_divergence",
    "hinge": "hinge",
    "Hinge": "hinge",
    "squared_hinge": "squared_hinge",
    "SquaredHinge": "squared_hinge",
    "log_cosh": "log_cosh",
    "logcosh": "log_cosh",
    "LogCosh": "log_cosh",
    "poisson": "poisson",
    "Poisson": "poisson",
    "cosine_similarity": "cosine_similarity",
    "CosineSimilarity": "cosine_similarity",
}

# Keyword arguments of loss objects that k2t understands, per canonical loss.
_OPTIONS = {
    "binary_crossentropy": ("from_logits", "label_smoothing"),
    "categorical_crossentropy": ("from_logits", "label_smoothing"),
    "sparse_categorical_crossentropy": ("from_logits",),
    "huber": ("delta",),
}
_CROSSENTROPIES = ("binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy")
# Keras's sigmoid and softmax remember their input (`_keras_logits`); every
# crossentropy then uses it with from_logits=True, whichever of the two it was:
# sigmoid + categorical_crossentropy is a softmax crossentropy on the pre-sigmoid values.
_LOGIT_ACTIVATIONS = ("sigmoid", "softmax")


@dataclass(frozen=True)
class LossPlan:
    canonical: str
    helper: Helper
    on_logits: bool  # the model's final activation is folded into the loss
    functions: tuple[UserFunction, ...] = ()  # the script's own functions it calls


# keras.losses.loss.squeeze_or_expand_to_same_rank, which Keras applies before a loss function of the script.
SAME_RANK = Helper("same_rank", "losses/same_rank.py.j2")
# keras.losses.Loss, the base the script's Loss subclasses get in its place.
LOSS_BASE = Helper("Loss", "losses/loss_base.py.j2", requires=(SAME_RANK,))


def snake_case(name: str) -> str:
    """``WeightedBCE`` -> ``weighted_bce``, ``FocalLoss`` -> ``focal_loss``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def loss_spec(value: Value) -> tuple[str, dict[str, object]]:
    """(canonical loss name, literal options) of a compile(loss=...) argument."""
    if value.is_literal and isinstance(value.literal, str):
        name = _ALIASES.get(value.literal)
        if name is None:
            raise Unsupported("K2T120", f"loss {value.literal!r} is not translated", value.pos)
        return name, {}
    call = value.keras_call
    ref = value.keras_ref
    if ref is not None and ref.startswith("keras.losses."):
        name = _ALIASES.get(ref.rsplit(".", 1)[-1])
        if name is not None:
            return name, {}
    if call is not None and call.name.startswith("keras.losses."):
        name = _ALIASES.get(call.short_name)
        if name is None:
            raise Unsupported("K2T120", f"loss `{value.code}` is not translated", value.pos)
        allowed = _OPTIONS.get(name, ())
        options: dict[str, object] = {}
        positional = list(call.args)
        for index, item in enumerate(positional):
            if index >= len(allowed):
                raise Unsupported(
                    "K2T120", f"loss `{value.code}`: positional argument {item.code} is not translated", item.pos
                )
            options[allowed[index]] = item
        for key, item in call.kwargs:
            if (
                key in ("name", "reduction")
                and item.is_literal
                and item.literal in (None, "sum_over_batch_size")
                or key == "name"
            ):
                continue
            if key not in allowed:
                raise Unsupported("K2T120", f"loss argument {key}= of `{value.code}` is not translated", item.pos)
            options[key] = item
        for key, item in list(options.items()):
            if not item.is_literal:
                raise Unsupported("K2T120", f"loss argument {key}={item.code} must be a literal", item.pos)
            options[key] = item.literal
        return name, options
    raise Unsupported("K2T120", f"loss `{value.code}` is not translated", value.pos)


# Keras's reduction of a loss under the output's mask (keras.losses.loss.apply_mask).
MASKED_MEAN = Helper("masked_mean", "losses/masked_mean.py.j2")
# The losses translated on a masked output: one value per step, then MASKED_MEAN.
_MASKED = frozenset({*_CROSSENTROPIES, "mean_squared_error", "mean_absolute_error"})


def plan_loss(
    value: Value,
    final_activation: str,
    spatial: bool = False,
    weighted: bool = False,
    functions: ScriptFunctions | None = None,
    masked: bool = False,
) -> LossPlan:
    """``spatial``: the output has axes between the batch and the classes (a per-pixel head).

    ``masked``: the output carries Keras's mask (ModulePlan.output_mask); the function takes it (``mask``)
    and averages the steps it keeps, as Keras does.

    ``weighted``: the script passes sample or class weights, so the function takes
    one weight per row (``sample_weight=None``) and reduces as Keras does.
    ``functions``: the script's own functions, which compile(loss=...) may name.
    """
    function = functions.resolve(value, "loss", "K2T120") if functions is not None else None
    if function is not None and function.metric_object:
        raise Unsupported(
            "K2T120", f"loss `{value.code}`: a Metric object of the script as a loss is not translated", value.pos
        )
    if function is not None:
        if masked:
            raise Unsupported(
                "K2T102",
                f"the script's loss `{value.code}` on a masked output (Keras hands it the mask) is not translated",
                value.pos,
            )
        return _script_loss(function, weighted)
    name, options = loss_spec(value)
    if masked and name not in _MASKED:
        raise Unsupported("K2T102", f"loss {name} on a masked output (Keras masks it) is not translated", value.pos)
    masking = (("masked", MASKED_MEAN),) if masked else ()  # the templates call it by its (possibly renamed) name
    from_logits = bool(options.get("from_logits", False))
    smoothing = float(options.get("label_smoothing", 0.0) or 0.0)
    if name in _CROSSENTROPIES:
        # Keras (TF backend) computes crossentropy from the logits when the output
        # comes straight from a sigmoid or softmax, without the 1e-7 clipping.
        from_activation = not from_logits and final_activation in _LOGIT_ACTIVATIONS
        on_logits = from_logits or from_activation
        template = f"losses/{name}{'_from_logits' if on_logits else ''}.py.j2"
        args = {
            "label_smoothing": smoothing,
            "from_activation": final_activation if from_activation else "",
            "spatial": spatial,
            "weighted": weighted,
        }
        helper = Helper(name, template, tuple(sorted(args.items())) + masking)
        return LossPlan(name, helper, on_logits and from_activation)
    if name == "huber":
        return LossPlan(
            name,
            Helper(
                "huber", "losses/huber.py.j2", (("delta", float(options.get("delta", 1.0))), ("weighted", weighted))
            ),
            False,
        )
    if name in ("hinge", "squared_hinge"):
        return LossPlan(
            name,
            Helper(name, "losses/hinge.py.j2", (("squared", name == "squared_hinge"), ("weighted", weighted))),
            False,
        )
    # mse/mae losses get their own names: the metric functions of the same name are per-sample.
    function = {"mean_squared_error": "mse_loss", "mean_absolute_error": "mae_loss"}.get(name, name)
    return LossPlan(name, Helper(function, f"losses/{name}.py.j2", (("weighted", weighted), *masking)), False)


def _script_loss(function: UserFunction, weighted: bool) -> LossPlan:
    """A loss function of the script (``def rmse(y_true, y_pred)``, or a factory's ``weighted(2.0)``),
    called as Keras's LossFunctionWrapper calls it, or an object of its keras.losses.Loss subclass, which
    reduces its values itself. Its values are never folded with the final activation."""
    if function.loss_object:
        name = snake_case(function.definition)
        name = name if name.endswith("loss") else f"{name}_loss"
        args = (("construction", function.code), ("weighted", weighted))
        helper = Helper(name, "losses/script_loss_object.py.j2", args, requires=(LOSS_BASE,))
        return LossPlan(f"script:{function.code}", helper, False, (function,))
    base = function.definition
    name = f"{base}_mean" if base.endswith("loss") else f"{base}_loss"
    helper = Helper(
        name,
        "losses/script_function.py.j2",
        (("function", function.code), ("weighted", weighted)),
        requires=(SAME_RANK,),
    )
    return LossPlan(f"script:{function.code}", helper, False, (function,))
