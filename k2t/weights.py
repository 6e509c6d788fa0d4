"""Copy a Keras model's weights into its k2t-generated torch module, layer by layer.

The generated module has one submodule per Keras layer, in ``model.layers``
order; the plan (``k2t.translate.plan.ModulePlan``) says, for each layer, which
submodule attribute holds it and what kind of weights it has (``LayerPlan.weights``).
Values are copied in place (``param.copy_``), so an optimizer that already
holds the torch parameters keeps working.

torch is imported lazily: ``import k2t`` never imports it (nor TensorFlow).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any


class WeightTransferError(ValueError):
    """The Keras model and the torch module do not line up."""


def _numpy(variable) -> Any:
    import numpy as np

    if variable is None:
        return None
    if hasattr(variable, "numpy"):
        return np.asarray(variable.numpy())
    return np.asarray(variable)


def _copy(target, value, what: str) -> None:
    """Copy the numpy ``value`` into the torch tensor ``target`` (same number of elements)."""
    import numpy as np
    import torch

    if target is None and value is None:
        return
    if target is None or value is None:
        have = "torch has none" if target is None else "Keras has none"
        raise WeightTransferError(f"{what}: present on one side only ({have})")
    value = np.asarray(value)
    if tuple(target.shape) != tuple(value.shape):
        if target.numel() != value.size:
            raise WeightTransferError(f"{what}: Keras shape {tuple(value.shape)} vs torch shape {tuple(target.shape)}")
        value = value.reshape(tuple(target.shape))
    with torch.no_grad():
        # reshape: np.ascontiguousarray makes a 0-d weight (Attention's scale) 1-d.
        target.copy_(torch.as_tensor(np.ascontiguousarray(value).reshape(value.shape), dtype=target.dtype))


def _dense(layer, module, name: str) -> None:
    _copy(module.weight, _numpy(layer.kernel).T, f"{name}.weight")
    _copy(getattr(module, "bias", None), _numpy(getattr(layer, "bias", None)), f"{name}.bias")


def _batchnorm(layer, module, name: str) -> None:
    _copy(getattr(module, "weight", None), _numpy(getattr(layer, "gamma", None)), f"{name}.weight (gamma)")
    _copy(getattr(module, "bias", None), _numpy(getattr(layer, "beta", None)), f"{name}.bias (beta)")
    _copy(module.running_mean, _numpy(layer.moving_mean), f"{name}.running_mean")
    _copy(module.running_var, _numpy(layer.moving_variance), f"{name}.running_var")


def _prelu(layer, module, name: str) -> None:
    _copy(module.weight, _numpy(layer.alpha), f"{name}.weight (alpha)")


def _layer_norm(layer, module, name: str) -> None:
    _copy(getattr(module, "weight", None), _numpy(getattr(layer, "gamma", None)), f"{name}.weight (gamma)")
    _copy(getattr(module, "bias", None), _numpy(getattr(layer, "beta", None)), f"{name}.bias (beta)")


def _normalization(layer, module, name: str) -> None:
    """Normalization's adapted statistics (Keras: adapt_mean / adapt_variance of shape (features,)).

    A torch layer never adapted (built to receive trained weights) has no
    statistics yet: it gets buffers in Keras's broadcast shape (``layer.mean``,
    e.g. (1, features)), the shape its own adapt() would give them.
    """
    import torch

    for buffer in ("mean", "variance"):
        keras_value = getattr(layer, buffer, None)
        if getattr(module, buffer, None) is None and keras_value is not None:
            setattr(module, buffer, torch.zeros(tuple(_numpy(keras_value).shape)))
    _copy(module.mean, _numpy(layer.adapt_mean), f"{name}.mean")
    _copy(module.variance, _numpy(layer.adapt_variance), f"{name}.variance")


def _embedding(layer, module, name: str) -> None:
    _copy(module.weight, _numpy(layer.embeddings), f"{name}.weight")


def _conv(layer, module, name: str) -> None:
    """Conv1D/2D/3D: Keras kernel (k..., in, out) -> torch (out, in, k...)."""
    kernel = _numpy(layer.kernel)
    spatial = kernel.ndim - 2
    _copy(module.weight, kernel.transpose(spatial + 1, spatial, *range(spatial)), f"{name}.weight")
    _copy(getattr(module, "bias", None), _numpy(getattr(layer, "bias", None)), f"{name}.bias")


def _conv_transpose(layer, module, name: str) -> None:
    """Conv*DTranspose: Keras kernel (k..., out, in) -> torch (in, out, k...)."""
    kernel = _numpy(layer.kernel)
    spatial = kernel.ndim - 2
    _copy(module.weight, kernel.transpose(spatial + 1, spatial, *range(spatial)), f"{name}.weight")
    _copy(getattr(module, "bias", None), _numpy(getattr(layer, "bias", None)), f"{name}.bias")


def _depthwise_weight(kernel):
    """Keras depthwise kernel (k..., in, dm) -> torch grouped-conv weight (in * dm, 1, k...).

    Both sides number the output channels c * dm + m (input channel c, filter m).
    """
    spatial = kernel.ndim - 2
    flat = kernel.reshape(*kernel.shape[:spatial], -1)  # (k..., in * dm)
    return flat.transpose(spatial, *range(spatial))[:, None]


def _depthwise_conv(layer, module, name: str) -> None:
    """DepthwiseConv1D/2D -> a torch conv with groups=in."""
    _copy(module.weight, _depthwise_weight(_numpy(layer.kernel)), f"{name}.weight")
    _copy(getattr(module, "bias", None), _numpy(getattr(layer, "bias", None)), f"{name}.bias")


def _separable_conv(layer, module, name: str) -> None:
    """SeparableConv1D/2D -> module.depthwise (groups=in, no bias) and module.pointwise (1x1, the bias)."""
    _copy(module.depthwise.weight, _depthwise_weight(_numpy(layer.depthwise_kernel)), f"{name}.depthwise.weight")
    _copy(getattr(module.depthwise, "bias", None), None, f"{name}.depthwise.bias")
    pointwise = _numpy(layer.pointwise_kernel)  # (1..., in * dm, filters)
    spatial = pointwise.ndim - 2
    _copy(
        module.pointwise.weight, pointwise.transpose(spatial + 1, spatial, *range(spatial)), f"{name}.pointwise.weight"
    )
    _copy(getattr(module.pointwise, "bias", None), _numpy(getattr(layer, "bias", None)), f"{name}.pointwise.bias")


def _gru_order(value, axis: int = -1):
    """Keras's GRU gate blocks z, r, h -> torch's r, z, n along ``axis``."""
    import numpy as np

    z, r, h = np.split(value, 3, axis=axis)
    return np.concatenate((r, z, h), axis=axis)


def _recurrent_cell(cell, module, name: str, suffix: str, gru: bool) -> None:
    """One direction of a SimpleRNN / LSTM / GRU: kernel (in, G*H) -> weight_ih (G*H, in), and so on."""
    import numpy as np

    kernel, recurrent = _numpy(cell.kernel), _numpy(cell.recurrent_kernel)
    bias = _numpy(getattr(cell, "bias", None))
    if gru:
        kernel, recurrent = _gru_order(kernel), _gru_order(recurrent)
    _copy(getattr(module, f"weight_ih{suffix}"), kernel.T, f"{name}.weight_ih{suffix}")
    _copy(getattr(module, f"weight_hh{suffix}"), recurrent.T, f"{name}.weight_hh{suffix}")
    if bias is None:
        _copy(getattr(module, f"bias_ih{suffix}", None), None, f"{name}.bias_ih{suffix}")
        return
    if gru and bias.ndim == 2:  # Keras's GRU bias is (2, 3H): the input bias, then the recurrent one
        input_bias, recurrent_bias = _gru_order(bias[0]), _gru_order(bias[1])
    elif gru:  # reset_after=False: one bias, (3H,); torch's recurrent bias stays zero
        input_bias, recurrent_bias = _gru_order(bias), np.zeros_like(bias)
    else:  # one bias: torch's recurrent bias stays zero
        input_bias, recurrent_bias = bias, np.zeros_like(bias)
    _copy(getattr(module, f"bias_ih{suffix}"), input_bias, f"{name}.bias_ih{suffix}")
    _copy(getattr(module, f"bias_hh{suffix}"), recurrent_bias, f"{name}.bias_hh{suffix}")


def _recurrent(layer, module, name: str) -> None:
    """SimpleRNN / LSTM / GRU, and RNN over one such cell: the cell holds the weights."""
    _recurrent_cell(layer.cell, module, name, "_l0", type(layer.cell).__name__ == "GRUCell")


def _stacked_rnn(layer, module, name: str) -> None:
    """RNN over stacked cells (a list, StackedRNNCells): cell i -> the i-th module of the nn.Sequential."""
    for index, cell in enumerate(layer.cell.cells):
        _recurrent_cell(cell, module[index], f"{name}.{index}", "_l0", type(cell).__name__ == "GRUCell")


def _bidirectional(layer, module, name: str) -> None:
    gru = type(layer.forward_layer).__name__ == "GRU"
    _recurrent_cell(layer.forward_layer.cell, module, name, "_l0", gru)
    _recurrent_cell(layer.backward_layer.cell, module, name, "_l0_reverse", gru)


def _conv_lstm(layer, module, name: str) -> None:
    """ConvLSTM1D/2D/3D: kernel and recurrent kernel (k..., in, 4 * filters) -> torch convs (4 * filters, in, k...), gates in order."""
    cell = layer.cell
    for keras_kernel, conv in ((cell.kernel, module.input_conv), (cell.recurrent_kernel, module.recurrent_conv)):
        kernel = _numpy(keras_kernel)
        spatial = kernel.ndim - 2
        _copy(
            conv.weight,
            kernel.transpose(spatial + 1, spatial, *range(spatial)),
            f"{name}.{'input' if conv is module.input_conv else 'recurrent'}_conv.weight",
        )
    _copy(getattr(module.input_conv, "bias", None), _numpy(getattr(cell, "bias", None)), f"{name}.input_conv.bias")


def _multi_head_attention(layer, module, name: str) -> None:
    """MultiHeadAttention: the generated class keeps Keras's EinsumDense kernels and biases as they are."""
    for projection, dense in (
        ("query", layer.query_dense),
        ("key", layer.key_dense),
        ("value", layer.value_dense),
        ("output", layer.output_dense),
    ):
        _copy(getattr(module, f"{projection}_kernel"), _numpy(dense.kernel), f"{name}.{projection}_kernel")
        _copy(getattr(module, f"{projection}_bias"), _numpy(dense.bias), f"{name}.{projection}_bias")


def _attention(layer, module, name: str) -> None:
    """Attention's scalars scale and concat_score_weight, AdditiveAttention's scale vector: copied as they are."""
    for weight in ("scale", "concat_score_weight"):
        _copy(getattr(module, weight, None), _numpy(getattr(layer, weight, None)), f"{name}.{weight}")


def _einsum_dense(layer, module, name: str) -> None:
    """EinsumDense: the generated class keeps Keras's kernel and bias shapes."""
    _copy(module.kernel, _numpy(layer.kernel), f"{name}.kernel")
    _copy(module.bias, _numpy(layer.bias), f"{name}.bias")


def _time_distributed_dense(layer, module, name: str) -> None:
    _dense(layer.layer, module, name)


def _wrapper(layer, module, name: str) -> None:
    """A wrapper with no weights of its own (TimeDistributed): its layer's go by LayerPlan.sublayers."""


def _custom(layer, module, name: str) -> None:
    """A custom layer's own weights (add_weight), in creation order: Keras lists the trainable ones first
    (Layer.weights), torch registers them as build() makes them; a weight is copied as it is (same layout). The
    weights the layer holds in a list (``[self.add_weight(...) for i in range(2)]``, an nn.ParameterList) go one by
    one (LayerPlan.sublayers, kind "variable")."""
    listed = {
        id(item)
        for key, value in vars(layer).items()
        if not key.startswith("_") and isinstance(value, (list, tuple))
        for item in value
    }
    keras_weights = [
        variable
        for variable in [*layer._trainable_variables, *layer._non_trainable_variables]
        if id(variable) not in listed
    ]
    own = [parameter for _, parameter in module.named_parameters(recurse=False)]
    torch_weights = [p for p in own if p.requires_grad] + [p for p in own if not p.requires_grad]
    if len(keras_weights) != len(torch_weights):
        raise WeightTransferError(f"{name}: Keras has {len(keras_weights)} weights, torch {len(torch_weights)}")
    for variable, parameter in zip(keras_weights, torch_weights):
        _copy(parameter, _numpy(variable), f"{name}.{variable.name}")


def _variable(variable, parameter, name: str) -> None:
    """One weight of a custom layer's list of weights: copied as it is."""
    _copy(parameter, _numpy(variable), name)


# LayerPlan.weights -> copier(keras_layer, torch_submodule, display_name). Extend as layers are translated.
TRANSFERS: dict[str, Callable[[Any, Any, str], None]] = {
    "dense": _dense,
    "batchnorm": _batchnorm,
    "prelu": _prelu,
    "layernorm": _layer_norm,
    "normalization": _normalization,
    "embedding": _embedding,
    "conv": _conv,
    "conv_transpose": _conv_transpose,
    "depthwise_conv": _depthwise_conv,
    "separable_conv": _separable_conv,
    "simplernn": _recurrent,
    "lstm": _recurrent,
    "gru": _recurrent,
    "stacked_rnn": _stacked_rnn,
    "bidirectional_simplernn": _bidirectional,
    "bidirectional_lstm": _bidirectional,
    "bidirectional_gru": _bidirectional,
    "time_distributed_dense": _time_distributed_dense,
    "wrapper": _wrapper,
    "conv_lstm": _conv_lstm,
    "multi_head_attention": _multi_head_attention,
    "attention": _attention,
    "einsum_dense": _einsum_dense,
    "custom": _custom,
    "variable": _variable,
}


def _keras_path(layer, path: str):
    """``ffn.layers.0`` of a Keras layer: attributes, and indexes where a part is a number."""
    for part in path.split("."):
        layer = layer[int(part)] if part.isdigit() else getattr(layer, part)
    return layer


def submodule(torch_model, attr: str):
    """The submodule at ``attr`` (dotted paths allowed)."""
    return operator.attrgetter(attr)(torch_model)


def transfer_weights(keras_model, torch_model, module_plan, keras_layers: Sequence[Any] | None = None) -> list[str]:
    """Copy every Keras layer's weights into the matching torch submodule; returns the layers copied.

    Layers are matched by index: ``keras_model.layers[i]`` <-> ``module_plan.layers[i]``.
    Raises WeightTransferError when the layer lists differ, when a Keras layer
    with weights has no transfer kind in the plan, or when shapes do not match.
    """
    if module_plan.keras_layer_names:
        return _transfer_by_name(keras_model, torch_model, module_plan)
    layers = list(keras_layers if keras_layers is not None else keras_model.layers)
    plans = list(module_plan.layers)
    if len(layers) != len(plans):
        raise WeightTransferError(
            f"Keras model has {len(layers)} layers ({', '.join(type(layer).__name__ for layer in layers)}), "
            f"the plan of {module_plan.class_name} has {len(plans)} ({', '.join(p.keras_class for p in plans)})"
        )
    copied = []
    for index, (layer, plan) in enumerate(zip(layers, plans)):
        keras_class = type(layer).__name__
        name = f"layer {index} {layer.name!r} ({keras_class})"
        if keras_class != plan.keras_class:
            raise WeightTransferError(f"{name}: the plan has a {plan.keras_class} at this index")
        if plan.weights is None:
            if layer.weights:
                raise WeightTransferError(
                    f"{name} has {len(layer.weights)} weights but the plan has no transfer kind for it"
                )
            continue
        if plan.weights == "nested" and plan.nested is not None and plan.attr is not None:
            # A model used as a layer: its own module, transferred layer by layer (inside TimeDistributed, the
            # wrapper's `layer` on both sides).
            attr = f"{plan.attr}.layer" if keras_class == "TimeDistributed" else plan.attr
            layer = layer.layer if keras_class == "TimeDistributed" else layer
            inner_layers = None
            if plan.nested.forward_lines is not None:
                from .parity.functional import keras_layers_for

                inner_layers = keras_layers_for(layer, plan.nested)
            inner = transfer_weights(layer, submodule(torch_model, attr), plan.nested, inner_layers)
            copied.extend(f"{attr}.{name}" for name in inner)
            continue
        copier = TRANSFERS.get(plan.weights)
        if copier is None:
            raise WeightTransferError(f"{name}: unknown weight-transfer kind {plan.weights!r}")
        if plan.attr is None:
            raise WeightTransferError(f"{name}: weights of kind {plan.weights!r} but no torch submodule")
        copier(layer, submodule(torch_model, plan.attr), f"{name} -> {plan.attr}")
        copied.append(plan.attr)
        for keras_path, torch_path, kind in plan.sublayers:  # a custom layer's sublayers, each by its own kind
            TRANSFERS[kind](
                _keras_path(layer, keras_path),
                submodule(torch_model, f"{plan.attr}.{torch_path}"),
                f"{name}.{keras_path} -> {plan.attr}.{torch_path}",
            )
            copied.append(f"{plan.attr}.{torch_path}")
    return copied


def _transfer_by_name(keras_model, torch_model, module_plan) -> list[str]:
    """A keras.applications model: each Keras layer found by its name (Keras lists a graph's layers in an order
    of its own), and every Keras layer with weights must be one of them."""
    named = {name: plan for name, plan in zip(module_plan.keras_layer_names, module_plan.layers) if name}
    # A layer Keras does not name (EfficientNet's input Normalization: normalization_3, by the session's count)
    # is the layer of its class that the plan does not name, in order.
    unnamed = [
        plan for name, plan in zip(module_plan.keras_layer_names, module_plan.layers) if not name and plan.weights
    ]
    others = [layer for layer in keras_model.layers if layer.weights and layer.name not in named]
    pairs = []
    for plan in unnamed:
        match = next((layer for layer in others if type(layer).__name__ == plan.keras_class), None)
        if match is None:
            raise WeightTransferError(
                f"{module_plan.class_name}: the Keras model has no {plan.keras_class} layer for {plan.attr}"
            )
        others.remove(match)
        pairs.append((match, plan))
    if others:
        missing = ", ".join(layer.name for layer in others)
        raise WeightTransferError(
            f"{module_plan.class_name}: Keras layers with weights the plan does not hold: {missing}"
        )
    pairs += [(keras_model.get_layer(name), plan) for name, plan in named.items() if plan.weights is not None]
    copied = []
    for layer, plan in pairs:
        name = f"layer {layer.name!r} ({type(layer).__name__})"
        if type(layer).__name__ != plan.keras_class:
            raise WeightTransferError(f"{name}: the plan has a {plan.keras_class} of that name")
        if plan.weights != "sequential":
            TRANSFERS[plan.weights](layer, submodule(torch_model, plan.attr), f"{name} -> {plan.attr}")
        # A Keras Sequential inside the application (ConvNeXt's stem): its layers, each by its own kind.
        for keras_path, torch_path, kind in plan.sublayers:
            TRANSFERS[kind](
                _keras_path(layer, keras_path),
                submodule(torch_model, f"{plan.attr}.{torch_path}"),
                f"{name}.{keras_path} -> {plan.attr}.{torch_path}",
            )
        copied.append(plan.attr)
    return copied
