"""The Functional API: Keras tensors, the layers called on them, keras.Model(inputs, outputs)."""

from __future__ import annotations

import builtins
import dataclasses

import libcst as cst

from ..cst_walk import Visitor
from ..ir import OP_EXPRESSION, Graph, Instance, KerasCall, ModelSpec, OpExpression, TensorNode
from ..ops import NOT_ONE_TENSOR
from ..values import Unknown, bind_target, is_constant
from . import model_access
from .batch_shapes import batch_shape_input
from .graph import _graph_nodes, _sources
from .makers import returned_function
from .scope import _Scope, _Unfollowable
from .syntax import _INPUT_SHAPE_NEEDED, _TENSOR_OPERATORS, LAYERS_CALLED_ON_DATA, MERGE_FUNCTIONS, _mark_subtree


class FunctionalMixin:
    """The Functional API: Keras tensors, the layers called on them, keras.Model(inputs, outputs). Mixed into k2t.parse.parser._Parser."""

    # ------------------------------------------------------------ Functional API
    def functional_statement(self, line, small, scope: _Scope) -> bool:
        """``x = keras.Input(...)``, ``x = layer(...)(tensors)``, ``layer = layers.Dense(8)``, ``m = keras.Model(...)``."""
        if self.input_tuple(line, small, scope):
            return True
        if self.helper_tuple(line, small, scope):
            return True
        if self.unpacked_layer_call(line, small, scope):
            return True
        if self.unpacked_model_tensors(line, small, scope):
            return True
        if self.tensor_arithmetic(line, small, scope):
            return True
        if self.layer_objects_tuple(line, small, scope):
            return True
        if not (
            isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
        ):
            return False
        target = small.targets[0].target.value
        value = self.live_branch(small.value, scope)
        if isinstance(value, cst.Name) and scope.tensor(value.value) is not None:
            # `x = inputs`: another name for the same Keras tensor; the statement goes with the model.
            if self.outer(scope, tensor=target):
                self.carried(f"`{target} = {value.value}`", value)
            self.consumed.add(id(value))
            scope.tensors[target] = scope.tensor(value.value)
            self.script.tensor_aliases.append((line, scope.tensors[target]))
            return True
        if self.tensor_list_statement(line, target, value, scope):
            return True
        if self.tensor_dict_statement(line, target, value, scope):
            return True
        read = model_access.model_tensors(self, value, scope) or model_access.model_tensor_items(self, value, scope)
        if read is not None:
            # `features = model.get_layer("d2").output`, `encoder_inputs = model.input[0]`: tensors of the model's
            # graph; the statement goes with the model that holds them.
            tensors, as_list = read
            if as_list:
                scope.tensor_lists[target] = tuple(tensors)
            else:
                scope.tensors[target] = tensors[0]
            for tensor in tensors:
                self.script.tensor_aliases.append((line, tensor))
            return True
        item = self.model_output_item(line, target, value, scope)  # `z = encoder(inputs)[2]`
        if item is not None:
            if self.outer(scope, tensor=target):
                self.carried(f"`{target} = ...` (a Keras tensor made before it)", value)
            scope.tensors[target] = item
            return True
        if not isinstance(value, cst.Call):
            if not self.is_op_expression(value, scope):
                return False
            if self.outer(scope, tensor=target):
                self.carried(f"`{target} = ...` (a Keras tensor made before it)", value)
            scope.tensors[target] = self.op_expression(line, target, value, scope)
            return True
        name = self.keras_name(value.func)
        alias = (
            value.func.value
            if name is None and isinstance(value.func, cst.Name) and scope.layer_class(value.func.value) is not None
            else None
        )
        if alias is not None:
            name = scope.layer_class(alias)  # `lookup = lookup_class(output_mode="binary")`
        if name == "keras.Input":
            node = self.made(self.input_node(line, target, value, scope))  # made: dropped when nothing uses it
            scope.tensors[target] = node
            return True
        if name == "keras.Model":
            model = self.functional_model(line, target, value, scope)
            scope.models[target] = Instance(model)
            return True
        if name is not None and name.startswith("keras.layers.") and name[len("keras.layers.") :][:1].isupper():
            # A layer object kept for later calls (shared layers).
            layer = self.bind_layer_object(target, self.call(value, name, scope), line)
            layer.bound.class_alias = alias
            scope.layer_objects[target] = (layer, self.layer_key(value), line)
            self.script.removed.add(id(line))
            return True
        if self.is_tensor_expression(value, scope):
            if self.outer(scope, tensor=target):
                self.carried(f"`{target} = ...` (a Keras tensor made before it)", value)
            node = self.tensor_expression(line, target, value, scope)
            scope.tensors[target] = node
            return True
        if self.is_op_expression(value, scope):
            if self.outer(scope, tensor=target):
                self.carried(f"`{target} = ...` (a Keras tensor made before it)", value)
            scope.tensors[target] = self.op_expression(line, target, value, scope)
            return True
        return False

    def layer_class_name(self, node: cst.BaseExpression, scope: _Scope) -> str | None:
        """The Keras name ``node`` calls: a Keras symbol, or a name holding a layer class in a function walked for
        one call (``cell`` of ``def make_rnn(cell=layers.GRU)``, ``lookup_class``)."""
        name = self.keras_name(node)
        if name is None and isinstance(node, cst.Name):
            name = scope.layer_class(node.value)
        return name

    def layer_objects_tuple(self, line, small, scope: _Scope) -> bool:
        """``conv1, conv2 = layers.Conv1D(8, 3), layers.Conv1D(8, 3)``: a layer object per name, as if each were
        assigned on its own line."""
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
            return False
        target, value = small.targets[0].target, small.value
        if not (
            isinstance(target, (cst.Tuple, cst.List))
            and isinstance(value, (cst.Tuple, cst.List))
            and len(target.elements) == len(value.elements)
            and all(isinstance(el, cst.Element) and isinstance(el.value, cst.Name) for el in target.elements)
            and all(isinstance(el, cst.Element) and isinstance(el.value, cst.Call) for el in value.elements)
        ):
            return False
        names = [self.keras_name(el.value.func) or "" for el in value.elements]
        if not all(
            name.startswith("keras.layers.") and name[len("keras.layers.") :][:1].isupper() and "." not in name[13:]
            for name in names
        ):
            return False
        for element, call, name in zip(target.elements, value.elements, names):
            layer = self.bind_layer_object(element.value.value, self.call(call.value, name, scope), line)
            scope.layer_objects[element.value.value] = (layer, self.layer_key(call.value), line)
        self.script.removed.add(id(line))
        return True

    def live_branch(self, value: cst.BaseExpression, scope: _Scope) -> cst.BaseExpression:
        """``layers.Bidirectional(rnn)(inputs) if bidirectional else rnn(inputs)`` of Keras tensors, its test known
        (a factory's argument at this call): the branch that runs; the test and the other go with the statement.
        Any other expression: itself."""
        if not isinstance(value, cst.IfExp) or not (
            self._symbolic(value.body, scope) or self._symbolic(value.orelse, scope)
        ):
            return value
        test, _ = self.evaluate(value.test, scope)
        if isinstance(test, Unknown):
            return value
        self.consumed.update(id(name) for name in self.last_tensor_reads)
        _mark_subtree(value.test, self.consumed)
        _mark_subtree(value.orelse if test else value.body, self.consumed)
        return self.live_branch(value.body if test else value.orelse, scope)

    def tensor_list_statement(self, line, target: str, value: cst.BaseExpression, scope: _Scope) -> bool:
        """``encoder_states = [state_h, state_c]``, ``inputs = [decoder_inputs] + decoder_states_inputs``: a list of
        Keras tensors, for a model's inputs or outputs and a recurrent layer's initial_state (keras.io's seq2seq)."""
        if isinstance(value, cst.Name) or not self._tensor_items(value, scope):
            return False
        nodes = tuple(
            self.tensor_argument(line, target, item, scope) if isinstance(item, cst.BaseExpression) else item
            for item in self._tensor_items(value, scope)
        )
        _mark_subtree(value, self.consumed)
        scope.tensor_lists[target] = nodes
        for node in nodes:
            self.script.tensor_aliases.append((line, node))  # the statement goes with the model holding them
        return True

    def tensor_dict_statement(self, line, target: str, value: cst.BaseExpression, scope: _Scope) -> bool:
        """``inputs = {name: keras.Input(shape=(n,), name=name) for name, n in FEATURES.items()}`` (or a dict
        display of Inputs or tensor names): Keras tensors by key, for ``keras.Model(inputs=inputs, ...)``, which
        Keras feeds a dict of arrays by key, and ``list(inputs.values())``."""
        held: dict[object, TensorNode] = {}

        def take(key_node: cst.BaseExpression, item: cst.BaseExpression, inner: _Scope) -> None:
            key = self.evaluate(key_node, inner)[0]
            if not isinstance(key, str):
                raise _Unfollowable(
                    key_node,
                    f"k2t needs the keys of a dict of Keras tensors as strings it knows (`{self.code(key_node)}`)",
                )
            if isinstance(item, cst.Call):
                node = self.input_node(line, key if key.isidentifier() else target, item, inner)
                node = self.made(dataclasses.replace(node, layer_id=self.layer_key(item)))
                _mark_subtree(item, self.consumed)
            else:
                node = scope.tensor(item.value)
                self.consumed.add(id(item))
            if node.layer is None and node.input_name is not None and node.input_name != key:
                # Keras feeds a dict-structured model by key, and warns where a key is not its Input's name.
                raise _Unfollowable(item, f"the Input under {key!r} is named {node.input_name!r}: give it name={key!r}")
            held[key] = node

        if isinstance(value, cst.DictComp):
            if not self._dict_tensor(value.value, scope) or not isinstance(value.value, cst.Call):
                return False
            for_in = value.for_in
            items = self.unrolled_items(value, "a dict comprehension of Inputs", "Inputs", scope)
            for index, item in enumerate(items):
                inner = _Scope(scope, scope.function)
                bind_target(inner.env, for_in.target, item, transient=True)
                self.iteration = (*self.iteration, (id(value), index))
                try:
                    take(value.key, value.value, inner)
                finally:
                    self.iteration = self.iteration[:-1]
        elif isinstance(value, cst.Dict) and value.elements:
            if not all(isinstance(el, cst.DictElement) and self._dict_tensor(el.value, scope) for el in value.elements):
                return False
            for element in value.elements:
                take(element.key, element.value, scope)
        else:
            return False
        if self.outer(scope, tensor=target):
            self.carried(f"`{target} = ...` (Keras tensors)", value)
        _mark_subtree(value, self.consumed)
        scope.tensor_dicts[target] = held
        for node in held.values():
            self.script.tensor_aliases.append((line, node))  # the statement goes with the model holding them
        return True

    def _dict_tensor(self, node: cst.BaseExpression, scope: _Scope) -> bool:
        """A keras.Input(...) call or the name of a Keras tensor: what a dict of tensors holds."""
        if isinstance(node, cst.Name):
            return scope.tensor(node.value) is not None
        return isinstance(node, cst.Call) and self.keras_name(node.func) == "keras.Input"

    def _dict_values(self, node: cst.BaseExpression, scope: _Scope) -> dict[object, TensorNode] | None:
        """The dict of tensors ``node`` reads whole: ``inputs.values()``, ``list(inputs.values())``; None otherwise."""
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and node.func.value in ("list", "tuple")
            and len(node.args) == 1
            and node.args[0].keyword is None
            and not node.args[0].star
        ):
            node = node.args[0].value
        if (
            isinstance(node, cst.Call)
            and not node.args
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "values"
            and isinstance(node.func.value, cst.Name)
        ):
            return scope.tensor_dict(node.func.value.value)
        return None

    def _dict_item(self, node: cst.BaseExpression, scope: _Scope) -> TensorNode | None:
        """``inputs["age"]`` of a dict of tensors, with a key k2t knows; None for anything else."""
        if not (
            isinstance(node, cst.Subscript)
            and isinstance(node.value, cst.Name)
            and scope.tensor_dict(node.value.value) is not None
            and len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
        ):
            return None
        held = scope.tensor_dict(node.value.value)
        key = self.evaluate(node.slice[0].slice.value, scope)[0]
        if key not in held:
            raise _Unfollowable(node, f"`{self.code(node)}`: the dict holds no Keras tensor under that key")
        _mark_subtree(node, self.consumed)
        return held[key]

    def _tensor_items(self, value: cst.BaseExpression, scope: _Scope) -> list | None:
        """The items of a list of Keras tensors (names of tensors, as expressions; a named list's, as TensorNodes):
        a list display, a name bound to one, or their concatenation with `+`; None for anything else."""
        if isinstance(value, (cst.List, cst.Tuple)):
            items = [el.value for el in value.elements]
            if items and all(isinstance(item, cst.Name) and scope.tensor(item.value) is not None for item in items):
                return items
            return None
        if isinstance(value, cst.Name):
            held = scope.tensor_list(value.value)
            return list(held) if held is not None else None
        held = self._dict_values(value, scope)
        if held is not None:
            return list(held.values())  # `list(inputs.values())`: in the dict's order
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
            left, right = self._tensor_items(value.left, scope), self._tensor_items(value.right, scope)
            return left + right if left is not None and right is not None else None
        return None

    def unpacked_layer_call(self, line, small, scope: _Scope) -> bool:
        """``out, state_h, state_c = layers.LSTM(8, return_state=True)(x)``: one layer call, one tensor node per name."""
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.value, cst.Call)):
            return False
        target, value = small.targets[0].target, small.value
        if not isinstance(target, (cst.Tuple, cst.List)) or not self.is_tensor_expression(value, scope):
            return False
        is_layer_object = isinstance(value.func, cst.Name) and scope.layer_object(value.func.value) is not None
        if not (isinstance(value.func, cst.Call) or is_layer_object):
            return False  # helpers (helper_tuple), models and merge functions: not a layer's several outputs
        names = [el.value for el in target.elements]
        if not all(isinstance(n, cst.Name) for n in names):
            raise _Unfollowable(target, "k2t follows a layer's outputs unpacked into plain names")
        for name in names:
            if self.outer(scope, tensor=name.value):
                self.carried(f"`{name.value}` updated", value)
        unpacked = tuple(name.value for name in names)
        first = self.tensor_expression(line, unpacked[0], value, scope)
        first.unpacked, first.output_index = unpacked, 0
        scope.tensors[unpacked[0]] = first
        for index, name in enumerate(unpacked[1:], 1):
            scope.tensors[name] = self.made(dataclasses.replace(first, var=name, output_index=index))
        return True

    def unpacked_model_tensors(self, line, small, scope: _Scope) -> bool:
        """``out, state_h, state_c = model.layers[2].output``: the tensors of a model's graph, one per name."""
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
            return False
        target = small.targets[0].target
        if not isinstance(target, (cst.Tuple, cst.List)):
            return False
        read = model_access.model_tensors(self, small.value, scope) or model_access.model_tensor_items(
            self, small.value, scope
        )
        if read is None:
            return False
        tensors, as_list = read
        names = [element.value for element in target.elements]
        if not as_list:
            raise _Unfollowable(target, f"`{self.code(small.value)}` is one Keras tensor: k2t does not unpack it")
        if not all(isinstance(name, cst.Name) for name in names):
            raise _Unfollowable(target, "k2t follows a model's tensors unpacked into plain names")
        if len(names) != len(tensors):
            raise _Unfollowable(
                target, f"{len(tensors)} Keras tensors unpacked into {len(names)} names (Python raises ValueError)"
            )
        for name, tensor in zip(names, tensors):
            if self.outer(scope, tensor=name.value):
                self.carried(f"`{name.value}` updated", small.value)
            scope.tensors[name.value] = tensor
            self.script.tensor_aliases.append((line, tensor))
        return True

    def tensor_arithmetic(self, line, small, scope: _Scope) -> bool:
        """``x += residual``, ``x = a + b``, ``x = a * gate``: Keras applies add / subtract / multiply to
        Keras tensors, as its Add / Subtract / Multiply layers do. With a number or another operator
        (``x = h * 2.0``, ``x /= 4.0``, ``x = a / b``) it is an op on the tensor (``op_expression``)."""
        if (
            isinstance(small, cst.AugAssign)
            and isinstance(small.target, cst.Name)
            and scope.tensor(small.target.value) is not None
        ):
            operator = type(small.operator).__name__.removesuffix("Assign")
            merge = _TENSOR_OPERATORS.get(operator)
            target, left, right, node = small.target.value, small.target, small.value, small
            if (merge is None or not self._merge_operand(right, scope)) and operator in _BINARY_OPERATORS:
                # `x *= 2.0`: the op `x * 2.0`, located at the statement
                expression = cst.BinaryOperation(left, getattr(cst, operator)(), right)
                if not isinstance(right, (cst.List, cst.Tuple)):
                    if self.outer(scope, tensor=target):
                        self.carried(f"`{target}` updated", node)
                    scope.tensors[target] = self.op_expression(line, target, expression, scope, at=small)
                    return True
        elif (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and isinstance(small.value, cst.BinaryOperation)
            and (self._symbolic(small.value.left, scope) or self._symbolic(small.value.right, scope))
        ):
            merge = _TENSOR_OPERATORS.get(type(small.value.operator).__name__)
            target, left, right, node = small.targets[0].target.value, small.value.left, small.value.right, small.value
            if not (
                merge is not None and self._merge_operand(left, scope) and self._merge_operand(right, scope)
            ) and self.is_op_expression(node, scope):
                return False  # functional_statement's op expression
        else:
            return False
        if merge is None or not (self._symbolic(left, scope) and self._symbolic(right, scope)):
            raise _Unfollowable(
                node,
                f"`{self.code(node).strip()}` on a Keras tensor is not translated (k2t follows +, -, *, /, //, %, ** and @)",
            )
        if self.outer(scope, tensor=target):
            self.carried(f"`{target}` updated", node)
        scope.tensors[target] = self.tensor_operation(line, target, node, merge, left, right, scope)
        return True

    def input_tuple(self, line, small, scope: _Scope) -> bool:
        """``left, right = keras.Input(shape=(8,)), keras.Input(shape=(8,))``."""
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
            return False
        target, value = small.targets[0].target, small.value
        if not (isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List))):
            return False
        names = [el.value for el in target.elements]
        values = [el.value for el in value.elements]
        if len(names) != len(values) or not all(isinstance(n, cst.Name) for n in names):
            return False
        if not all(isinstance(v, cst.Call) and self.keras_name(v.func) == "keras.Input" for v in values):
            return False
        for name, call in zip(names, values):
            scope.tensors[name.value] = self.input_node(line, name.value, call, scope)
        return True

    def is_tensor_expression(self, node: cst.BaseExpression, scope: _Scope) -> bool:
        """A call of a layer (``layers.Dense(8)(x)``, ``shared(x)``, ``layers.add([a, b])``) on symbolic tensors."""
        if not isinstance(node, cst.Call):
            return False
        func = node.func
        if isinstance(func, cst.Call):
            if self.applied_maker(func, scope) is not None:  # `conv(16, 3)(x)`, `residual_unit(64)(x)`
                return any(self._symbolic(arg.value, scope) for arg in node.args)
            name = self.layer_class_name(func.func, scope)
            return name is not None and name.startswith("keras.layers.")
        if isinstance(func, cst.Name) and scope.layer_object(func.value) is not None:
            if scope.layer_object(func.value)[0].short_name in LAYERS_CALLED_ON_DATA:
                # `vectorize_layer(texts)` on data (not Keras tensors): a call of the generated class.
                return bool(node.args) and self._symbolic(node.args[0].value, scope)
            return True
        if self.helper_call(node, scope) is not None:
            return any(self._symbolic(arg.value, scope) for arg in node.args)
        if isinstance(func, cst.Name) and scope.model(func.value) is not None:
            # `base(inputs)` on symbolic tensors nests the model; `model(x_test)` on arrays does not.
            return bool(node.args) and self._symbolic(node.args[0].value, scope)
        name = self.keras_name(func)
        return name is not None and name.startswith("keras.layers.") and name.rsplit(".", 1)[-1] in MERGE_FUNCTIONS

    def _symbolic(self, node: cst.BaseExpression, scope: _Scope) -> bool:
        """Whether ``node`` is a Keras tensor or a list of them. Memoized for one outermost question: its checks
        ask again about the same operands (``a + b`` as a merge, then as an op expression), which on a long sum
        (``1 + 1 + ... + 1``) would double at every term."""
        memo = getattr(self, "_symbolic_memo", None)
        outermost = memo is None
        if outermost:
            memo = self._symbolic_memo = {}
        try:
            key = (id(node), id(scope))
            if key not in memo:
                memo[key] = self._symbolic_uncached(node, scope)
            return memo[key]
        finally:
            if outermost:
                self._symbolic_memo = None

    def _symbolic_uncached(self, node: cst.BaseExpression, scope: _Scope) -> bool:
        if (
            isinstance(node, cst.BinaryOperation)
            and type(node.operator).__name__ in _TENSOR_OPERATORS
            and self._symbolic(node.left, scope)
            and self._symbolic(node.right, scope)
        ):
            return True
        if isinstance(node, (cst.List, cst.Tuple)):
            return bool(node.elements) and all(self._symbolic(el.value, scope) for el in node.elements)
        if isinstance(node, cst.Name):
            return scope.tensor(node.value) is not None
        if model_access.names_model_tensor(self, node, scope):
            return True  # `model.output`, `model.get_layer("d2").output`
        if (
            isinstance(node, cst.Subscript)
            and isinstance(node.value, cst.Name)
            and scope.tensor_dict(node.value.value) is not None
        ):
            return True  # `inputs["age"]`
        return self.is_tensor_expression(node, scope) or self.is_op_expression(node, scope)

    # ------------------------------------------------------------ ops on Keras tensors
    def is_op_expression(self, node: cst.BaseExpression, scope: _Scope) -> bool:
        """``ops.mean(h, axis=1)``, ``tf.concat([a, b], axis=1)``, ``ops.relu(z) * 2.0``, ``-h``, ``h[:, 0]``: ops
        applied to Keras tensors, no layer call (Keras 3 records each as an op of the graph, tf.keras 2 as a
        TFOpLambda layer); ``op_expression`` makes the node."""
        if isinstance(node, cst.Call):
            name = self.keras_name(node.func)
            return (
                name is not None
                and name.startswith(_OP_MODULES)
                and name not in NOT_ONE_TENSOR
                and self._reads_tensor(node, scope)
            )
        if isinstance(node, cst.BinaryOperation):
            return type(node.operator).__name__ in _BINARY_OPERATORS and (
                self._one_tensor(node.left, scope) or self._one_tensor(node.right, scope)
            )
        if isinstance(node, cst.UnaryOperation):
            return isinstance(node.operator, (cst.Minus, cst.Plus)) and self._one_tensor(node.expression, scope)
        if isinstance(node, cst.Subscript):
            return self._one_tensor(node.value, scope)
        return False

    def _merge_operand(self, node: cst.BaseExpression, scope: _Scope) -> bool:
        """A side of ``a + b`` that makes it Keras's Add of two tensors: a tensor's name, a layer call, such a
        merge; with an op on either side (``ops.relu(a) + b``, ``a ** 2 + b``) the whole is one op expression."""
        if isinstance(node, cst.Name):
            return scope.tensor(node.value) is not None
        if isinstance(node, cst.BinaryOperation):
            return (
                type(node.operator).__name__ in _TENSOR_OPERATORS
                and self._merge_operand(node.left, scope)
                and self._merge_operand(node.right, scope)
            )
        return self.is_tensor_expression(node, scope)

    def _one_tensor(self, node: cst.BaseExpression, scope: _Scope) -> bool:
        """A Keras tensor (not a list of them): a name of one, a layer call, a merge of two, an op expression."""
        return not isinstance(node, (cst.List, cst.Tuple)) and self._symbolic(node, scope)

    def _reads_tensor(self, node: cst.BaseExpression, scope: _Scope) -> bool:
        """Whether ``node`` reads a Keras tensor (its name; attributes' and keywords' names are no reads)."""
        found: list[cst.Name] = []

        class Reads(Visitor):
            def visit_Attribute(self, attribute: cst.Attribute) -> bool:
                attribute.value.visit(self)
                return False

            def visit_Arg(self, arg: cst.Arg) -> bool:
                arg.value.visit(self)
                return False

            def visit_Name(self, name: cst.Name) -> bool:
                if scope.tensor(name.value) is not None:
                    found.append(name)
                return False

        node.visit(Reads())
        return bool(found)

    def op_expression(self, line, target: str, node: cst.BaseExpression, scope: _Scope, at=None) -> TensorNode:
        """One graph node for ops over Keras tensors, translated as a subclassed model's call() expressions are
        (k2t.translate.op_nodes): its inputs the tensors it reads (a layer call inside it is a node of its own),
        the other names it reads the script's values (a local's known value written in, since forward does not
        see the function's locals)."""
        parser = self
        inputs: list[TensorNode] = []
        tensors: list[int] = []
        values: list[cst.Name] = []
        refused: list[tuple[cst.CSTNode, str]] = []

        class Reads(Visitor):
            def visit_Call(self, call: cst.Call) -> bool:
                if parser.is_tensor_expression(call, scope):
                    inputs.append(parser.tensor_expression(line, target, call, scope))
                    tensors.append(id(call))
                    return False
                return True

            def visit_Subscript(self, item: cst.Subscript) -> bool:
                output = parser.model_output_item(line, target, item, scope)  # `encoder(x)[0] * 2`
                if output is None:
                    return True
                inputs.append(output)
                tensors.append(id(item))
                return False

            def visit_Attribute(self, attribute: cst.Attribute) -> bool:
                if parser.keras_name(attribute) is None:
                    attribute.value.visit(self)  # `h.shape`: the tensor, not the attribute's name
                return False

            def visit_Arg(self, arg: cst.Arg) -> bool:
                arg.value.visit(self)  # a keyword is no read
                return False

            def visit_Lambda(self, function: cst.Lambda) -> bool:
                refused.append((function, "a lambda"))
                return False

            def visit_Name(self, name: cst.Name) -> bool:
                if scope.tensor(name.value) is not None:
                    inputs.append(scope.tensor(name.value))
                    tensors.append(id(name))
                elif scope.tensor_list(name.value) is not None:
                    refused.append((name, f"the list of Keras tensors `{name.value}` (write its items out)"))
                elif parser.keras_name(name) is None and not hasattr(builtins, name.value):
                    values.append(name)
                return False

        node.visit(Reads())
        if refused:
            where, what = refused[0]
            raise _Unfollowable(
                where, f"`{self.code(node).strip()}` on Keras tensors reads {what}, which k2t does not translate"
            )
        constants: dict[int, str] = {}
        scalars: set[int] = set()
        local = self.script.function_locals.get(scope.function, set()) if scope.function is not None else set()
        for name in values:
            value = self.value(name, scope)  # a loop variable or a helper's unknown parameter: _Unfollowable
            known = value.is_literal and is_constant(value.literal)
            if known and isinstance(value.literal, (int, float)) and not isinstance(value.literal, bool):
                scalars.add(id(name))
            if known and (scope.function is not None or value.rebound):
                constants[id(name)] = repr(value.literal)
            elif not known and name.value in local:
                raise _Unfollowable(
                    name,
                    f"`{self.code(node).strip()}` reads `{name.value}`, a local variable of `{scope.function}` whose value "
                    f"k2t does not know; the generated module's forward cannot see it (define `{name.value}` at the script's top level)",
                )
        _mark_subtree(node, self.consumed)
        pos = self.pos(at if at is not None else node)
        layer = KerasCall(OP_EXPRESSION, (), (), pos)
        expression = OpExpression(node, tuple(tensors), constants, self.keras_name, frozenset(scalars))
        return self.made(
            TensorNode(target, pos, layer, self.layer_key(node), tuple(inputs), statement=line, expression=expression)
        )

    def tensor_argument(self, line, target: str, node: cst.BaseExpression, scope: _Scope) -> TensorNode:
        # `layers.Dense(3)(model.layers[-2].output)`, `keras.Model(model.input[0], ...)`
        read = model_access.model_tensors(self, node, scope) or model_access.model_tensor_items(self, node, scope)
        if read is not None and not read[1]:
            return read[0][0]
        item = self._dict_item(node, scope)  # `inputs["age"]`
        if item is not None:
            return item
        item = self.model_output_item(line, target, node, scope)  # `encoder(inputs)[2]`
        if item is not None:
            return item
        if isinstance(node, cst.Name):
            tensor = scope.tensor(node.value)
            if tensor is None:
                raise _Unfollowable(node, f"`{node.value}` is not a Keras tensor k2t can follow")
            self.consumed.add(id(node))
            return tensor
        if self.is_tensor_expression(node, scope):
            return self.tensor_expression(line, target, node, scope)
        if (
            isinstance(node, cst.BinaryOperation)
            and type(node.operator).__name__ in _TENSOR_OPERATORS
            and self._merge_operand(node.left, scope)
            and self._merge_operand(node.right, scope)
        ):
            return self.tensor_operation(
                line, target, node, _TENSOR_OPERATORS[type(node.operator).__name__], node.left, node.right, scope
            )
        if self.is_op_expression(node, scope):
            return self.op_expression(line, target, node, scope)
        raise _Unfollowable(node, f"`{self.code(node)}` is not a Keras tensor k2t can follow")

    def model_output_item(self, line, target: str, node: cst.BaseExpression, scope: _Scope) -> TensorNode | None:
        """``encoder(inputs)[2]``: one output of a Functional model of several outputs called like a layer (Keras
        returns their list), as ``_, _, z = encoder(inputs)`` takes it; None for any other expression."""
        if not (
            isinstance(node, cst.Subscript)
            and len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
            and isinstance(node.value, cst.Call)
            and isinstance(node.value.func, cst.Name)
        ):
            return None
        held = scope.model(node.value.func.value)
        if held is None or held.model.graph is None or id(held.model) in self.model_api.pipelines:
            return None
        count = len(held.model.graph.outputs)
        if count < 2 or not self.is_tensor_expression(node.value, scope):
            return None
        index = self.evaluate(node.slice[0].slice.value, scope)[0]
        if not isinstance(index, int) or isinstance(index, bool) or not -count <= index < count:
            raise _Unfollowable(
                node.slice[0], f"`{self.code(node).strip()}`: k2t follows a model's outputs by a known index"
            )
        made = self.tensor_expression(line, target, node.value, scope)
        made.unpacked, made.output_index = ("_",) * count, index % count
        _mark_subtree(node, self.consumed)
        return made

    def tensor_operation(self, line, target: str, node, merge: str, left, right, scope: _Scope) -> TensorNode:
        inputs = (self.tensor_argument(line, target, left, scope), self.tensor_argument(line, target, right, scope))
        layer = KerasCall(f"keras.layers.{merge}", (), (), self.pos(node), operator=True)
        model_access.operation_named(self, node, merge, scope)  # Keras's op takes a name of the layer's count
        return self.made(TensorNode(target, self.pos(node), layer, self.layer_key(node), inputs, True, statement=line))

    def tensor_expression(self, line, target: str, node: cst.Call, scope: _Scope) -> TensorNode:
        func = node.func
        helper = self.helper_call(node, scope)
        maker = self.applied_maker(func, scope) if isinstance(func, cst.Call) else None
        if maker is not None and maker.node is not None and returned_function(maker.node) is not None:
            helper = self.made_function(func, maker, scope)  # `residual_unit(64)(x)`: the closure, walked for x
        if helper is not None:
            returned = self.inline_helper(line, node, helper, scope, target)
            if not isinstance(returned, TensorNode):
                raise _Unfollowable(node, f"{helper.name}() does not return one Keras tensor here")
            self.script.tensor_aliases.append((line, returned))  # the call's statement goes with the model
            return returned
        if maker is not None:  # `conv(16, 3)(x)`: the layer conv() returns for these arguments
            layer = self.made_layer(func, maker, scope)
            layer_id = self.layer_key(func)
        elif isinstance(func, cst.Call):
            layer = self.call(func, self.layer_class_name(func.func, scope), scope)
            layer_id = self.layer_key(func)
        elif isinstance(func, cst.Name) and scope.layer_object(func.value) is not None:
            layer, layer_id, _ = scope.layer_object(func.value)
            self.consumed.add(id(func))
        elif (
            isinstance(func, cst.Name)
            and scope.model(func.value) is not None
            and id(scope.model(func.value).model) in self.model_api.pipelines
        ):
            return self.pipeline_call(line, target, node, scope.model(func.value).model, scope)
        elif isinstance(func, cst.Name) and scope.model(func.value) is not None:
            layer = self.nested_model(func, scope)  # `features = base(inputs)`: a model called like a layer
            layer_id = id(layer.model)
        else:
            # layers.add([a, b]) and friends (`from keras.layers import add` too): the function form of a merge layer.
            short = self.keras_name(func).rsplit(".", 1)[-1]
            _mark_subtree(func, self.consumed)
            args = [a for a in node.args if a.keyword is None][:1]
            kwargs = tuple((a.keyword.value, self.value(a.value, scope)) for a in node.args if a.keyword is not None)
            merged = "keras.layers." + MERGE_FUNCTIONS[short]
            # `layers.add([a, b])` makes an Add layer, named as Keras counts them (`add_1`) or by name=.
            keras_name = model_access.keras_layer_name(self, node, merged, kwargs, scope)
            layer = KerasCall(merged, (), kwargs, self.pos(node), keras_name=keras_name)
            layer_id = self.layer_key(node)
            node_args = args
            return self._apply(line, target, node, layer, layer_id, node_args, scope)
        positional = [a for a in node.args if a.keyword is None]
        states: list[TensorNode] = []
        keywords = []
        training = None
        for a in node.args:
            if a.keyword is None:
                continue
            if a.keyword.value == "initial_state":
                states = self.initial_state(line, target, a.value, scope)
            elif a.keyword.value == "training":
                training = self.value(a.value, scope)
            else:  # mask= stays: the translation says whether it takes one
                keywords.append(a)
        if len(positional) > 1 or keywords:
            if states:
                raise _Unfollowable(node, "initial_state= together with other tensor arguments is not translated")
            made = self._apply_several(line, target, node, layer, layer_id, positional, keywords, scope)
        else:
            made = self._apply(line, target, node, layer, layer_id, positional, scope, states)
        made.training = (
            training if training is None or training.literal is not None else None
        )  # training=None: the default
        return made

    def pipeline_call(self, line, target: str, node: cst.Call, model, scope: _Scope) -> TensorNode:
        """``x = data_augmentation(inputs)`` of a function applying a layer list in turn: each layer applied to the
        tensor, as the function's loop applies them in Keras's graph (no model of their own there)."""
        self.consumed.add(id(node))
        self.consumed.add(id(node.func))
        if len(node.args) != 1 or node.args[0].keyword is not None or node.args[0].star:
            raise _Unfollowable(node, f"{self.code(node.func)}() takes one tensor")
        tensor = self.tensor_argument(line, target, node.args[0].value, scope)
        self.model_api.inlined[id(model)] = self.model_api.inlined.get(id(model), 0) + 1
        for layer in model.layers:
            tensor = self.made(TensorNode(target, self.pos(node), layer, id(layer), (tensor,), statement=line))
        return tensor

    def initial_state(self, line, target: str, value: cst.BaseExpression, scope: _Scope) -> list[TensorNode]:
        """``initial_state=[state_h, state_c]`` (or one tensor) of a recurrent layer call: the tensors, in order."""
        listed = self._tensor_items(value, scope)
        if listed is not None and not isinstance(value, (cst.List, cst.Tuple)):
            _mark_subtree(value, self.consumed)
            return [
                item if isinstance(item, TensorNode) else self.tensor_argument(line, target, item, scope)
                for item in listed
            ]
        items = [el.value for el in value.elements] if isinstance(value, (cst.List, cst.Tuple)) else [value]
        return [self.tensor_argument(line, target, item, scope) for item in items]

    def _apply_several(self, line, target, node, layer, layer_id, positional, keywords, scope) -> TensorNode:
        """``mha(query, value, key=k, use_causal_mask=True)``: a layer called on several tensors by position and
        keyword; whether the layer takes them is the translation's to say."""
        self.consumed.add(id(node))
        # `attention([query, value], use_causal_mask=True)`: one list of tensors, as the merge-like layers take them.
        as_list = len(positional) == 1 and isinstance(positional[0].value, (cst.List, cst.Tuple))
        items = [el.value for el in positional[0].value.elements] if as_list else [a.value for a in positional]
        inputs = [self.tensor_argument(line, target, item, scope) for item in items]
        tensors = sorted((a for a in keywords if self._symbolic(a.value, scope)), key=lambda a: a.keyword.value)
        # Keras's order: its node's input_tensors flatten the positional arguments, then the keyword ones by name,
        # which parity's graph matching (k2t.parity.functional) follows.
        inputs += [self.tensor_argument(line, target, a.value, scope) for a in tensors]
        names = (None,) * len(items) + tuple(a.keyword.value for a in tensors)
        passed = {id(a) for a in tensors}
        others = tuple((a.keyword.value, self.value(a.value, scope)) for a in keywords if id(a) not in passed)
        return self.made(
            TensorNode(
                target,
                self.pos(node),
                layer,
                layer_id,
                tuple(inputs),
                as_list,
                keywords=names,
                call_kwargs=others,
                statement=line,
            )
        )

    def _apply(self, line, target, node, layer, layer_id, positional, scope, states=()) -> TensorNode:
        self.consumed.add(id(node))
        if len(positional) != 1:
            raise _Unfollowable(node, "a layer is called on one tensor or one list of tensors")
        arg = positional[0].value
        listed = None if isinstance(arg, (cst.List, cst.Tuple, cst.Name)) else self._dict_values(arg, scope)
        if isinstance(arg, (cst.List, cst.Tuple)):
            inputs = tuple(self.tensor_argument(line, target, el.value, scope) for el in arg.elements)
            as_list = True
        elif listed is not None:  # `layers.concatenate(list(inputs.values()))`
            _mark_subtree(arg, self.consumed)
            inputs = tuple(listed.values())
            as_list = True
        else:
            inputs = (self.tensor_argument(line, target, arg, scope),)
            as_list = False
        inputs += tuple(states)  # Keras's node lists the initial state after the sequence, as its call arguments come
        return self.made(
            TensorNode(
                target, self.pos(node), layer, layer_id, inputs, as_list, statement=line, initial_states=len(states)
            )
        )

    def made(self, node: TensorNode) -> TensorNode:
        node.invocations = tuple(self.invocations)
        self.script.tensor_nodes.append(node)
        return node

    def input_node(self, line, target: str, call: cst.Call, scope: _Scope) -> TensorNode:
        spec = self.call(call, "keras.Input", scope)
        shape = spec.arg(0, "shape")
        if shape is None:
            shape = batch_shape_input(call, spec)
        if shape is None or shape.elements is None and shape.shape_of is None:
            raise _Unfollowable(call, _INPUT_SHAPE_NEEDED)
        name = spec.kwarg("name")
        for key, value in spec.kwargs:
            if key not in ("shape", "name", "dtype", "batch_shape", "batch_size"):
                raise _Unfollowable(call, f"Input({key}=...) is not translated")
        return TensorNode(
            target,
            self.pos(call),
            None,
            id(call),
            input_shape=shape,
            input_name=name.literal if name is not None and isinstance(name.literal, str) else None,
            statement=line,
            keras_name=spec.keras_name,
        )

    def functional_model(self, line, target: str | None, call: cst.Call, scope: _Scope) -> ModelSpec:
        self.script.uses_keras = True
        self.consumed.add(id(call))
        _mark_subtree(call.func, self.consumed)
        given: dict[str, cst.BaseExpression] = {}
        for index, arg in enumerate(call.args):
            key = arg.keyword.value if arg.keyword is not None else ("inputs", "outputs")[index] if index < 2 else None
            # Keras 1's `Model(input=x, output=y)`, which Keras 2 still took (legacy_model_constructor_support).
            key = _KERAS1_MODEL_KEYWORDS.get(key, key)
            if key in given:
                raise _Unfollowable(call, f"keras.Model() given `{key}` twice (Keras refuses it too)")
            if key is None:
                raise _Unfollowable(call, "keras.Model() with more than two positional arguments")
            given[key] = arg.value
        if "inputs" not in given or "outputs" not in given:
            raise _Unfollowable(
                call, "k2t follows keras.Model(inputs=..., outputs=...) (subclassed models are not translated)"
            )
        inputs, _ = self.tensor_list(given["inputs"], scope)
        outputs, outputs_as_list = self.tensor_list(given["outputs"], scope, line)
        kwargs = []
        for key, value in given.items():
            if key == "name":
                kwargs.append((key, self.value(value, scope)))
            elif key not in ("inputs", "outputs"):
                raise _Unfollowable(call, f"keras.Model({key}=...) is not translated")
        nodes = _graph_nodes(inputs, outputs)
        for source in _sources(outputs):
            if not any(source is given_input for given_input in inputs):
                # Keras refuses it too ("Output ... is not connected to `inputs`").
                raise _Unfollowable(
                    call, f"the outputs depend on the Input `{source.var}`, which is not among the model's inputs"
                )
        model = ModelSpec(
            var=target,
            pos=self.pos(call),
            call=KerasCall("keras.Model", (), tuple(kwargs), self.pos(call)),
            statement=line,
            graph=Graph(inputs, outputs, nodes, outputs_as_list),
        )
        model.factory = scope.function
        self.script.models.append(model)
        return model

    def tensor_list(self, node: cst.BaseExpression, scope: _Scope, line=None) -> tuple[list[TensorNode], bool]:
        """Tensors named by variables; with ``line``, also layer calls written in place (``outputs=layers.Dense(1)(x)``)."""
        # `model.inputs`, `model.get_layer("d2").output`, `model.input[0]`
        read = model_access.model_tensors(self, node, scope) or model_access.model_tensor_items(self, node, scope)
        if read is not None:
            return read
        if isinstance(node, cst.Name) and scope.tensor_dict(node.value) is not None:
            # keras.Model(inputs={...}): Keras flattens a dict by sorted key (model.inputs) and feeds it by key.
            self.consumed.add(id(node))
            held = scope.tensor_dict(node.value)
            return [held[key] for key in sorted(held)], True
        listed = self._tensor_items(node, scope)
        if listed is not None and not isinstance(node, (cst.List, cst.Tuple)):  # a named list, or lists added
            _mark_subtree(node, self.consumed)
            return [
                item if isinstance(item, TensorNode) else self.tensor_argument(None, "outputs", item, scope)
                for item in listed
            ], True
        if isinstance(node, (cst.List, cst.Tuple)):
            items = [el.value for el in node.elements]
            as_list = True
        else:
            items = [node]
            as_list = False
        tensors = []
        for item in items:
            if line is not None and self.is_tensor_expression(item, scope):
                tensors.append(self.tensor_expression(line, "outputs", item, scope))
                continue
            read = model_access.model_tensors(self, item, scope)
            if read is not None and not read[1]:
                tensors.extend(read[0])  # `[model.input]`
                continue
            if line is not None and self.is_op_expression(item, scope):
                tensors.append(self.op_expression(line, "outputs", item, scope))
                continue
            if not isinstance(item, cst.Name) or scope.tensor(item.value) is None:
                raise _Unfollowable(item, f"`{self.code(item)}` is not a Keras tensor k2t can follow")
            self.consumed.add(id(item))
            tensors.append(scope.tensor(item.value))
        return tensors, as_list


_KERAS1_MODEL_KEYWORDS = {"input": "inputs", "output": "outputs"}
# The modules whose functions are ops on tensors (k2t.ops): applied to Keras tensors, op nodes of the graph.
_OP_MODULES = ("keras.ops.", "keras.backend.", "keras.activations.", "keras.random.", "tensorflow.")
# Python's operators on Keras tensors that are ops (KerasTensor's __mul__, __truediv__, ...; @ is matmul).
_BINARY_OPERATORS = frozenset(
    {"Add", "Subtract", "Multiply", "Divide", "FloorDivide", "Modulo", "Power", "MatrixMultiply"}
)
