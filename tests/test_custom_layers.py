"""Custom layers (k2t/translate/custom_layers.py): the class as it is ported, the module that builds it,
the output shape the layers after it see, and the diagnostics for what is not translated. Parity against
Keras is in tests/test_parity_custom_layers.py."""

import math
import textwrap

from unwrapped import unwrapped

import k2t

HEAD = """\
import numpy as np
import keras
import tensorflow as tf
from keras import layers

x = np.zeros((8, 6), dtype="float32")
y = np.zeros((8, 1), dtype="float32")
"""

SCALE = """\
class Scale(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units){extra})

    def call(self, inputs):
        return {body}
{methods}
"""


def convert(body: str):
    return k2t.convert_source(HEAD + textwrap.dedent(body), filename="case.py")


def line_of(body: str, text: str) -> int:
    """The line of the converted source where ``text`` first stands."""
    return next(number for number, line in enumerate((HEAD + body).splitlines(), 1) if text in line)


def codes(result) -> list[tuple[int, str]]:
    return [(d.line, d.code) for d in result.diagnostics]


def scale_class(body="tf.matmul(inputs, self.kernel)", extra="", methods="") -> str:
    return SCALE.format(body=body, extra=extra, methods=methods)


def sequential(*layer_codes: str) -> str:
    listed = "".join(f"    {code},\n" for code in layer_codes)
    return f"model = keras.Sequential([\n    keras.Input(shape=(6,)),\n{listed}])\nmodel.compile(optimizer='sgd', loss='mse')\n"


def test_class_becomes_an_nn_module_built_by_the_model():
    source = "@keras.saving.register_keras_serializable()\n" + scale_class(
        methods="\n    def get_config(self):\n        return {**super().get_config(), 'units': self.units}\n"
    )
    result = convert(source + sequential("Scale(4, name='scale')", "layers.Dense(1)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    output = result.output
    assert "class Scale(nn.Module):" in output
    assert "        super().__init__()\n" in output
    assert "    def forward(self, inputs):\n        return torch.matmul(inputs, self.kernel)\n" in output
    assert (
        "# Keras add_weight 'kernel', glorot_uniform\n"
        "        self.kernel = nn.Parameter(torch.empty((input_shape[-1], self.units)))\n"
    ) in output
    assert "nn.init.xavier_uniform_(self.kernel)" in output  # Keras 3's add_weight default for a float weight
    assert (
        "        self.scale = Scale(4)\n"
        "        # Keras's input shape: batch, then channels-last sizes\n"
        "        self.scale.build((None, 6))\n"
    ) in output
    assert "nn.Linear(4, 1)" in output  # the output shape, derived through the matmul
    assert "get_config" not in output and "register_keras_serializable" not in output and "import keras" not in output


def test_output_shape_from_compute_output_shape():
    methods = "\n    def compute_output_shape(self, input_shape):\n        return (input_shape[0], self.units * 2)\n"
    result = convert(scale_class(body="tf.concat([tf.matmul(inputs, self.kernel)] * 2, axis=-1)", methods=methods)
                     + sequential("Scale(3)", "layers.Dense(1)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "nn.Linear(6, 1)" in result.output
    assert "compute_output_shape" not in result.output


def test_attributes_set_by_a_tuple_assignment_give_the_output_shape():
    # `self.height, self.width = height, width` in __init__: compute_output_shape reads both.
    body = textwrap.dedent(
        """\
        class Tile(layers.Layer):
            def __init__(self, height, width, **kwargs):
                super().__init__(**kwargs)
                self.height, self.width = height, width

            def call(self, x):
                return tf.tile(x, [1, 2, 1])

            def compute_output_shape(self, s):
                return (s[0], self.height, self.width)
        """
    )
    source = body + "model = keras.Sequential([keras.Input(shape=(3, 2)), Tile(6, 2), layers.Flatten(), layers.Dense(1)])\n"
    result = convert(source)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "self.height, self.width = height, width" in result.output
    assert "return torch.tile(x, [1, 2, 1])" in result.output
    assert "nn.Linear(12, 1)" in result.output


def test_size_from_a_script_variable_is_a_constructor_parameter():
    result = convert("UNITS = 5\n" + scale_class() + sequential("Scale(UNITS)", "layers.Dense(1)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "self.scale = Scale(units)" in result.output and "nn.Linear(units, 1)" in result.output
    assert "model = Net(units=UNITS)" in result.output


def test_keras_fans_for_a_weight_in_keras_layout():
    # torch's kaiming_uniform_ would take the fan from axis 1 (the units); Keras takes it from the axis before the last.
    result = convert(scale_class(extra=', initializer="he_uniform"') + sequential("Scale(4)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "limit = math.sqrt(3 * 2 / input_shape[-1])" in result.output
    assert "kaiming" not in result.output


def test_weight_not_trained_and_regularized():
    extra = ', trainable=False, regularizer=keras.regularizers.l2(0.01)'
    result = convert(scale_class(extra=extra) + sequential("Scale(4)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert unwrapped("nn.Parameter(torch.empty((input_shape[-1], self.units)), requires_grad=False)") in unwrapped(result.output)
    assert "return 0.01 * self.scale.kernel.square().sum()" in result.output


def test_shape_unknown_is_refused_only_when_a_later_layer_needs_it():
    body = "tf.gather(inputs, [0, 1], axis=1)"
    source = scale_class(body=body) + sequential("Scale(4)", "layers.Dense(1)")
    result = convert(source)
    refused = [d for d in result.diagnostics if d.code == "K2T103"]
    assert [(d.line, d.column) for d in refused] == [(line_of(source, "Scale(4)"), 5)], [d.format() for d in result.diagnostics]
    assert "Dense after the custom layer Scale needs its output shape" in refused[0].message
    last = convert(scale_class(body=body) + sequential("layers.Dense(3)", "Scale(4)"))
    assert last.ok, [d.format() for d in last.diagnostics]


def test_add_weight_argument_not_translated_is_located():
    source = scale_class(extra=", constraint=lambda w: w / 2") + sequential("Scale(4)")
    result = convert(source)
    assert (line_of(source, "self.add_weight"), "K2T102") in codes(result), [d.format() for d in result.diagnostics]
    assert any("constraint `lambda w: w / 2` is not translated" in d.message for d in result.diagnostics)


def test_weight_constraint_is_held_by_the_parameter_and_applied_after_each_step():
    """Keras projects a constrained weight after each optimizer step: the parameter holds the constraint, and one
    step post-hook registered for every torch optimizer applies it. An InputSpec (Keras's check of the input's
    shape) goes."""
    extra = ", constraint=keras.constraints.MaxNorm(3, axis=[0])"
    source = scale_class(extra=extra).replace(
        "    def build(self, input_shape):\n",
        "    def build(self, input_shape):\n        self.input_spec = [layers.InputSpec(min_ndim=2)]\n",
    ) + sequential("Scale(4)")
    result = convert(source)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "self.kernel.constraint = MaxNormConstraint(max_value=3, axis=(0,))" in result.output
    assert "class MaxNormConstraint:" in result.output
    assert "register_optimizer_step_post_hook(apply_constraints)" in result.output
    assert "from torch.optim.optimizer import register_optimizer_step_post_hook" in result.output
    assert "input_spec" not in result.output and "InputSpec" not in result.output


def test_constraint_a_use_passes_other_than_the_class_holds_is_located():
    body = textwrap.dedent(
        """\
        class Scale(layers.Layer):
            def __init__(self, units, kernel_constraint=None, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.kernel_constraint = keras.constraints.get(kernel_constraint)

            def build(self, input_shape):
                self.kernel = self.add_weight(shape=(input_shape[-1], self.units), constraint=self.kernel_constraint)

            def call(self, inputs):
                return tf.matmul(inputs, self.kernel)
        """
    )
    plain = convert(body + sequential("Scale(4)"))
    assert plain.ok, [d.format() for d in plain.diagnostics]
    assert ".constraint" not in plain.output
    source = body + sequential("Scale(4, kernel_constraint=keras.constraints.NonNeg())")
    result = convert(source)
    assert (line_of(source, "kernel_constraint=keras.constraints.NonNeg()"), "K2T102") in codes(result), [d.format() for d in result.diagnostics]


def test_op_outside_the_vocabulary_is_located_in_call():
    source = scale_class(body="tf.raw_ops.Relu(features=inputs)") + sequential("Scale(4)")
    result = convert(source)
    assert codes(result) == [(line_of(source, "tf.raw_ops"), "K2T150")], [d.format() for d in result.diagnostics]
    assert "tf.raw_ops" in result.output and "class Scale(nn.Module)" in result.output


BLOCK = """\
class Block(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(units, activation="relu")
        self.norm = layers.LayerNormalization()
        self.drop = layers.Dropout(0.25)

    def call(self, inputs, training=None):
        h = self.drop(self.dense(inputs), training=training)
        return self.norm(h)
"""


def test_sublayers_made_in_init_become_torch_modules_sized_from_the_input():
    result = convert(BLOCK + sequential("Block(5)", "layers.Dense(1)"))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    # Dense's input size is the model's 6 features, its units the __init__ parameter the use passes 5 to.
    assert "        self.dense = nn.Linear(6, units)\n        nn.init.xavier_uniform_(self.dense.weight)" in result.output
    assert "self.norm = nn.LayerNorm(units, eps=0.001)" in result.output
    assert "h = self.drop(F.relu(self.dense(inputs)))" in result.output  # training=training: module.training
    assert "self.dense = nn.Linear(5, 1)" in result.output  # the layer after sees Block's output shape
    assert "layers.Dense" not in result.output.split("class Block")[1].split("\nmodel")[0]


def test_sublayer_sized_by_a_size_the_class_cannot_name_is_located():
    # The model's input size is the script's variable `n_features`, which the class's __init__ does not receive
    # and k2t does not know (rebound at the top level): its Dense would need it in __init__.
    model = (
        "n_features = 6\n"
        "n_features = x.shape[1]\n"
        "model = keras.Sequential([keras.Input(shape=(n_features,)), Block(5)])\n"
        "model.compile(optimizer='sgd', loss='mse')\n"
    )
    result = convert(BLOCK + model)
    [diagnostic] = [d for d in result.diagnostics if d.code == "K2T103"]
    assert diagnostic.line == line_of(BLOCK, "self.dense(inputs)"), diagnostic.format()
    assert "n_features" in diagnostic.message and "__init__" in diagnostic.message


def test_sublayer_sized_by_a_module_level_constant_takes_its_number():
    # `n_features = 6`, bound once at the top level: the class's Dense is built with 6 inputs, as Keras builds it.
    model = (
        "n_features = 6\n"
        "model = keras.Sequential([keras.Input(shape=(n_features,)), Block(5), layers.Dense(1)])\n"
        "model.compile(optimizer='sgd', loss='mse')\n"
    )
    result = convert(BLOCK + model)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "self.dense = nn.Linear(6, units)" in result.output


def test_sublayer_sized_by_a_size_passed_to_the_class_is_its_parameter():
    source = BLOCK.replace("def __init__(self, units, **kwargs)", "def __init__(self, units, features, **kwargs)")
    model = (
        "n_features = 6\n"
        "model = keras.Sequential([keras.Input(shape=(n_features,)), Block(5, n_features)])\n"
        "model.compile(optimizer='sgd', loss='mse')\n"
    )
    result = convert(source + model)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "self.dense = nn.Linear(features, units)" in result.output


def test_sublayer_called_with_a_fixed_training_flag_is_located():
    source = BLOCK.replace("training=training", "training=True")
    result = convert(source + sequential("Block(5)"))
    assert (line_of(source, "training=True"), "K2T103") in codes(result), [d.format() for d in result.diagnostics]


def test_sublayer_called_in_a_loop_is_located():
    source = BLOCK.replace("        h = self.drop(", "        for _ in range(2):\n            inputs = self.dense(inputs)\n        h = self.drop(")
    result = convert(source + sequential("Block(6)"))
    assert (line_of(source, "for _ in range(2)"), "K2T103") in codes(result), [d.format() for d in result.diagnostics]


def test_second_use_needing_other_sublayer_sizes_is_located():
    model = (
        "inputs = keras.Input(shape=(6,))\n"
        "h = Block(5)(inputs)\n"
        "outputs = Block(3)(h)\n"
        "model = keras.Model(inputs, outputs)\nmodel.compile(optimizer='sgd', loss='mse')\n"
    )
    result = convert(BLOCK + model)
    assert (line_of(BLOCK + model, "Block(3)(h)"), "K2T103") in codes(result), [d.format() for d in result.diagnostics]
    assert any("other sizes" in d.message for d in result.diagnostics)


def test_keras_layer_keyword_not_translated_is_reported():
    result = convert(scale_class() + sequential("Scale(4, trainable=False)"))
    assert any(d.code == "K2T102" and "trainable" in d.message for d in result.diagnostics)


def test_class_no_model_uses_stays_as_written():
    result = convert(scale_class() + "layer = 3\n")
    assert "class Scale(layers.Layer):" in result.output
    assert {d.code for d in result.diagnostics} == {"K2T100", "K2T150"}  # the base, and tf.matmul kept as written


def test_a_tensor_made_from_nothing_in_call_goes_where_the_input_is():
    """`tf.ones(...)` in call(): on the input's device, where TensorFlow would place it."""
    shape = "\n    def compute_output_shape(self, input_shape):\n        return (input_shape[0], self.units)\n"
    result = convert(scale_class(body="tf.matmul(inputs, self.kernel) + tf.ones((4,))", methods=shape) + sequential("Scale(4)", "layers.Dense(1)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "torch.ones((4,), device=inputs.device)" in result.output


ACTIVATED = """\
class Act(layers.Layer):
    def __init__(self, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.activation = keras.activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)
"""


def test_activations_get_of_a_parameter_every_use_agrees_on():
    result = convert(ACTIVATED + sequential("Act()", "Act('relu')", "layers.Dense(1)"))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "self.activation = F.relu" in result.output


def test_activations_get_of_a_parameter_the_uses_disagree_on_maps_their_names():
    # Each use passes its name; the class looks its torch function up among the names the uses pass.
    result = convert(ACTIVATED + sequential("Act()", "Act('tanh')", "layers.Dense(1)"))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert 'self.activation = {"relu": F.relu, "tanh": torch.tanh}[activation]' in result.output


def test_activations_get_of_a_parameter_a_use_passes_a_variable_is_located():
    result = convert("NAME = input()\n" + ACTIVATED + sequential("Act()", "Act(NAME)", "layers.Dense(1)"))
    assert any(d.code == "K2T100" and "keras.activations.get" in d.message for d in result.diagnostics), [d.format() for d in result.diagnostics]


def test_sublayer_made_in_build_is_located():
    source = """\
class Block(layers.Layer):
    def build(self, input_shape):
        self.dense = layers.Dense(input_shape[-1])

    def call(self, inputs):
        return self.dense(inputs)
"""
    result = convert(source + sequential("Block()"))
    assert (line_of(source, "layers.Dense(input_shape[-1])"), "K2T103") in codes(result), [d.format() for d in result.diagnostics]
    assert "build()" in next(d.message for d in result.diagnostics if d.code == "K2T103")


def test_sublayer_call_inside_an_op_composes_with_the_op_rewrite():
    source = """\
class Pool(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.score = layers.Dense(3, activation="relu")

    def call(self, inputs):
        return tf.reduce_sum(self.score(inputs), axis=-1, keepdims=True) * inputs
"""
    result = convert(source + sequential("Pool()", "layers.Dense(1)"))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "return torch.sum(F.relu(self.score(inputs)), dim=-1, keepdim=True) * inputs" in result.output
    assert "self.dense = nn.Linear(6, 1)" in result.output  # the shape through the op and the sublayer: (None, 6)


PATCHES = """\
class Patches(layers.Layer):
    def __init__(self, patch_size):
        super().__init__()
        self.patch_size = patch_size

    def call(self, images):
        input_shape = keras.ops.shape(images)
        batch_size = input_shape[0]
        num_patches_h = input_shape[1] // self.patch_size
        num_patches_w = input_shape[2] // self.patch_size
        patches = keras.ops.image.extract_patches(images, size=self.patch_size)
        return keras.ops.reshape(
            patches, (batch_size, num_patches_h * num_patches_w, self.patch_size * self.patch_size * input_shape[3])
        )
"""


def images_model(patches: str, after: str = "layers.Dense(2)") -> str:
    return (
        f"model = keras.Sequential([keras.Input(shape=(8, 8, 3)), {patches}, {after}])\n"
        "model.compile(optimizer='sgd', loss='mse')\n"
    )


def test_output_shape_derived_from_sizes_call_reads_off_its_input():
    # As Keras's symbolic call computes it: ops.shape gives (None, 8, 8, 3), the reshape (None, 4, 48).
    result = convert(PATCHES + images_model("Patches(4)"))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "nn.Linear(48, 2)" in result.output
    knob = convert(PATCHES + "patch_size = 4\n" + images_model("Patches(patch_size)", "layers.Flatten()") + "model.add(layers.Dense(2))\n")
    assert knob.ok and not knob.diagnostics, [d.format() for d in knob.diagnostics]
    # The script's variable stays the module's constructor parameter, the sizes derived from it follow it.
    assert unwrapped("nn.Linear(8 // patch_size * (8 // patch_size) * (patch_size * patch_size * 3), 2)") in unwrapped(knob.output)


# The keras.io ViT example's Patches layer, TensorFlow spelling: tf.image.extract_patches and a reshape whose
# middle size is open, its last read off the patches' static shape.
TF_PATCHES = """\
class Patches(layers.Layer):
    def __init__(self, patch_size):
        super().__init__()
        self.patch_size = patch_size

    def call(self, images):
        batch_size = tf.shape(images)[0]
        patches = tf.image.extract_patches(
            images=images,
            sizes=[1, self.patch_size, self.patch_size, 1],
            strides=[1, self.patch_size, self.patch_size, 1],
            rates=[1, 1, 1, 1],
            padding="VALID",
        )
        patch_dims = patches.shape[-1]
        patches = tf.reshape(patches, [batch_size, -1, patch_dims])
        return patches
"""


def test_tf_extract_patches_converts_and_gives_its_output_shape():
    result = convert(TF_PATCHES + images_model("Patches(4)"))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "nn.Linear(48, 2)" in result.output  # (None, None, 48): 4 * 4 * 3 values per patch
    assert unwrapped("images.unfold(-3, self.patch_size, self.patch_size).unfold(-3, self.patch_size, self.patch_size)") in unwrapped(result.output)
    keywords = convert(TF_PATCHES.replace("tf.reshape(patches, [", "tf.reshape(tensor=patches, shape=[") + images_model("Patches(4)"))
    assert keywords.ok and "nn.Linear(48, 2)" in keywords.output, [d.format() for d in keywords.diagnostics]
    same = convert(TF_PATCHES.replace('"VALID"', '"SAME"') + images_model("Patches(3)"))
    assert same.ok and not same.diagnostics, [d.format() for d in same.diagnostics]
    assert "nn.Linear(27, 2)" in same.output  # 3 * 3 * 3 values; 8 padded to 9 rows and columns of windows


def test_reshape_with_an_open_size_leaves_it_open_as_keras_does():
    body = PATCHES.replace("(batch_size, num_patches_h * num_patches_w,", "(-1, num_patches_h * num_patches_w,").replace(
        "self.patch_size * self.patch_size * input_shape[3])", "-1)"
    )
    result = convert(body + images_model("Patches(4)"))
    [refused] = [d for d in result.diagnostics if d.code == "K2T103"]
    # The -1 after a size of the reshape: Keras's shape has None there (its batch is), and Dense refuses it.
    assert "None in (None, 4, None)" in refused.message, refused.format()


ENCODER = """\
class PatchEncoder(layers.Layer):
    def __init__(self, num_patches, projection_dim):
        super().__init__()
        self.num_patches = num_patches
        self.projection = layers.Dense(units=projection_dim)
        self.position_embedding = layers.Embedding(input_dim=num_patches, output_dim=projection_dim)

    def call(self, patch):
        positions = keras.ops.expand_dims(keras.ops.arange(start=0, stop=self.num_patches, step=1), axis=0)
        return self.projection(patch) + self.position_embedding(positions)
"""


def test_positions_of_arange_over_an_attribute_broadcast_against_the_batch():
    # (None, 4, 48) patches + (1, 4, 8) position embeddings: (None, 4, 8), as Keras's symbolic call gives.
    source = PATCHES + ENCODER + images_model("Patches(4)", "PatchEncoder(4, 8), layers.Flatten(), layers.Dense(2)")
    result = convert(source)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "self.position_embedding = nn.Embedding(num_patches, projection_dim" in result.output
    assert "self.projection = nn.Linear(48, projection_dim)" in result.output
    assert "nn.Linear(32, 2)" in result.output  # Flatten of (4, 8)


def test_positions_of_another_count_than_the_patches_do_not_broadcast():
    source = PATCHES + ENCODER + images_model("Patches(4)", "PatchEncoder(5, 8), layers.Flatten(), layers.Dense(2)")
    result = convert(source)
    [refused] = [d for d in result.diagnostics if d.code == "K2T103"]  # Keras fails on (4, 8) + (5, 8) too
    assert "Flatten after the custom layer PatchEncoder needs its output shape" in refused.message, refused.format()


def test_sublayer_after_ops_over_the_weights_gets_their_shape():
    """Issue 12: `self.drop(ops.matmul(inputs, self.kernel))`: the sublayer's input shape through the weight build() makes."""
    body = scale_class(body="self.drop(tf.matmul(inputs, self.kernel))").replace(
        "        self.units = units\n", "        self.units = units\n        self.drop = layers.Dropout(0.1)\n"
    ) + sequential("Scale(4)", "layers.Dense(1)")
    result = convert(body)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "return self.drop(torch.matmul(inputs, self.kernel))" in result.output
    assert "nn.Linear(4, 1)" in result.output


def test_list_of_sublayers_becomes_a_module_list():
    """``self.hidden = [layers.Dense(s, ...) for s in sizes]`` iterated in call: an nn.ModuleList of the layers this
    use makes (each sized from the one before it), and the loop calls each as the converter writes it."""
    body = textwrap.dedent(
        """\
        class Stack(layers.Layer):
            def __init__(self, sizes=(8, 4)):
                super().__init__()
                self.hidden = [layers.Dense(s, activation="relu") for s in sizes]

            def call(self, inputs):
                for layer in self.hidden:
                    inputs = layer(inputs)
                return inputs
        """
    ) + sequential("Stack()", "layers.Dense(1)")
    result = convert(body)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "self.hidden = nn.ModuleList([nn.Linear(6, 8), nn.Linear(8, 4)])" in result.output
    assert "nn.init.xavier_uniform_(self.hidden[1].weight)" in result.output
    assert "for layer in self.hidden:\n            inputs = F.relu(layer(inputs))" in result.output
    assert "nn.Linear(4, 1)" in result.output  # the list's last layer gives the class's output shape


def test_list_of_sublayers_over_range_of_an_argument_and_by_index():
    body = textwrap.dedent(
        """\
        class Block(layers.Layer):
            def __init__(self, units, n_layers=2, **kwargs):
                super().__init__(**kwargs)
                self.n_layers = n_layers
                self.denses = [layers.Dense(units) for _ in range(self.n_layers)]
                self.out = [layers.Dense(3), layers.Dense(2)]

            def call(self, x):
                for d in self.denses:
                    x = d(x)
                return self.out[1](self.out[0](x))
        """
    ) + sequential("Block(5, n_layers=3)", "layers.Dense(1)")
    result = convert(body)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "self.denses = nn.ModuleList([nn.Linear(6, units), nn.Linear(units, units), nn.Linear(units, units)])" in unwrapped(result.output)
    assert "self.out = nn.ModuleList([nn.Linear(units, 3), nn.Linear(3, 2)])" in result.output
    assert "return self.out[1](self.out[0](x))" in result.output
    assert "nn.Linear(2, 1)" in result.output


def test_list_of_sublayers_over_values_k2t_cannot_tell_is_located():
    body = textwrap.dedent(
        """\
        class Stack(layers.Layer):
            def __init__(self, sizes):
                super().__init__()
                self.hidden = [layers.Dense(s) for s in sizes if s > 1]

            def call(self, inputs):
                for layer in self.hidden:
                    inputs = layer(inputs)
                return inputs
        """
    ) + sequential("Stack([8, 4])", "layers.Dense(1)")
    result = convert(body)
    assert (line_of(body, "self.hidden = ["), "K2T103") in codes(result), [d.format() for d in result.diagnostics]
    assert any("without conditions" in d.message for d in result.diagnostics)


def test_a_weight_assigned_a_number_in_call_is_filled():
    """`self.seen.assign(0.0)`: torch's copy_ takes a tensor only, so a number fills (as in the script's Metric
    classes, one rule for both: script_metrics.variable_update); the converted script runs."""
    import pytest

    pytest.importorskip("torch")
    source = textwrap.dedent("""\
        import numpy as np
        import keras
        from keras import layers

        class Counter(layers.Layer):
            def build(self, input_shape):
                self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False)

            def call(self, x, training=None):
                if training:
                    self.seen.assign_add(1.0)
                else:
                    self.seen.assign(0.0)
                return x * 2.0

            def compute_output_shape(self, input_shape):
                return input_shape

        x = np.ones((8, 4), "float32")
        model = keras.Sequential([keras.Input((4,)), Counter(), layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, np.ones((8, 1), "float32"), epochs=1, verbose=0)
        loss = model.evaluate(x, np.ones((8, 1), "float32"), verbose=0)
        """)
    result = k2t.convert_source(source, "counter.py")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "self.seen.data.add_(1.0)" in result.output and "self.seen.data.fill_(0.0)" in result.output
    namespace: dict = {}
    exec(compile(result.output, "counter_torch.py", "exec"), namespace)  # noqa: S102 - the test runs k2t's output
    assert math.isfinite(float(namespace["loss"]))


INHERITANCE = """\
class ClippedDense(layers.Dense):
    def call(self, inputs):
        out = super().call(inputs)
        return tf.clip_by_value(out, -3.0, 3.0)


class Base(layers.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor


class Shifted(Base):
    def call(self, x):
        return super().call(x) + 1.0


class MCDropout(layers.Dropout):
    def call(self, inputs):
        return super().call(inputs, training=True)
"""


def test_subclasses_of_keras_layers_and_of_the_scripts_layer_classes():
    """A subclass of Keras's Dense subclasses nn.Linear, `super().call(x)` Dense's forward with its activation; a
    subclass of the script's class subclasses the parent's port; MC dropout drops in every mode."""
    source = INHERITANCE + sequential('ClippedDense(16, activation="relu")', "Shifted(0.5)", "MCDropout(0.1)", "layers.Dense(1)")
    result = convert(source)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    output = result.output
    assert "class ClippedDense(nn.Linear):\n    def forward(self, inputs):\n        out = F.relu(super().forward(inputs))" in output
    assert "return torch.clamp(out, -3.0, 3.0)" in output
    assert "class Base(nn.Module):" in output
    assert "class Shifted(Base):\n    def forward(self, x):\n        return super().forward(x) + 1.0" in output
    assert "class MCDropout(nn.Dropout):\n    def forward(self, inputs):\n        return F.dropout(inputs, self.p, training=True)" in output
    assert "self.clipped_dense = ClippedDense(6, 16)" in output
    assert "self.shifted = Shifted(0.5)" in output and "self.mc_dropout = MCDropout(0.1)" in output
    assert "nn.Linear(16, 1)" in output  # Shifted keeps the shape: x * a number, plus one
    assert "import keras" not in output and "layers.Dense" not in output


def test_subclass_of_a_keras_layer_used_with_other_activations_is_located():
    source = INHERITANCE + sequential('ClippedDense(8, activation="relu")', 'ClippedDense(4, activation="tanh")')
    result = convert(source)
    assert (line_of(source, 'ClippedDense(4, activation="tanh")'), "K2T103") in codes(result), [d.format() for d in result.diagnostics]


def test_subclass_of_a_keras_layer_reading_its_keras_attributes_is_located():
    body = textwrap.dedent(
        """\
        class MyDense(layers.Dense):
            def call(self, inputs):
                return tf.matmul(inputs, self.kernel)
        """
    )
    source = body + sequential("MyDense(4)")
    result = convert(source)
    assert (line_of(source, "self.kernel"), "K2T103") in codes(result), [d.format() for d in result.diagnostics]
    assert any("`self.kernel` is Dense's in Keras" in d.message for d in result.diagnostics)


def test_subclass_overriding_more_than_call_of_a_keras_layer_is_located():
    body = textwrap.dedent(
        """\
        class MyDense(layers.Dense):
            def build(self, input_shape):
                super().build(input_shape)

            def call(self, inputs):
                return super().call(inputs) * 2.0
        """
    )
    source = body + sequential("MyDense(4)")
    result = convert(source)
    assert (line_of(source, "def build"), "K2T103") in codes(result), [d.format() for d in result.diagnostics]


def test_subclass_and_parent_both_defining_init_is_located():
    body = INHERITANCE.replace(
        "class Shifted(Base):\n",
        "class Shifted(Base):\n    def __init__(self, shift, **kwargs):\n        super().__init__(**kwargs)\n        self.shift = shift\n\n",
    )
    source = body + sequential("Shifted(1.0)")
    result = convert(source)
    assert any(d.code == "K2T103" and "both define __init__()" in d.message for d in result.diagnostics), [d.format() for d in result.diagnostics]


def test_list_of_weights_made_with_add_weight_becomes_a_parameter_list():
    body = textwrap.dedent(
        """\
        class L(layers.Layer):
            def __init__(self, units=8, **kwargs):
                super().__init__(**kwargs)
                self.units = units

            def build(self, input_shape):
                self.cs = [self.add_weight(shape=(self.units,), initializer="ones", name=f"c{i}") for i in range(2)]

            def call(self, inputs):
                for c in self.cs:
                    inputs = inputs * c
                return inputs

            def compute_output_shape(self, input_shape):
                return input_shape[:-1] + (self.units,)
        """
    )
    result = convert(body + sequential("L(6)", "layers.Dense(1)"))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert unwrapped("self.cs = nn.ParameterList([nn.Parameter(torch.empty((self.units,))) for i in range(2)])") in unwrapped(result.output)
    assert "for weight in self.cs:\n            nn.init.ones_(weight)" in result.output
    bad = convert(body.replace("shape=(self.units,)", "shape=(self.units + i,)") + sequential("L(6)", "layers.Dense(1)"))
    assert any(d.code == "K2T103" and "differ by `i`" in d.message for d in bad.diagnostics), [d.format() for d in bad.diagnostics]


def test_keras3_layer_with_a_sublayer_after_its_weights_used_twice_with_other_sizes():
    """keras.io-style ScaledDense: a LayerNormalization sized by the weight's `self.units` is written in the class's
    terms (nn.LayerNorm(units)), so two uses with other units share the class; l2(self.l2) follows the attribute
    to each use's value; Constant(2.0); the decorator goes."""
    body = textwrap.dedent(
        """\
        @keras.saving.register_keras_serializable()
        class ScaledDense(layers.Layer):
            def __init__(self, units=16, activation="relu", l2=1e-4, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.activation = keras.activations.get(activation)
                self.l2 = l2
                self.norm = layers.LayerNormalization()

            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], self.units), regularizer=keras.regularizers.l2(self.l2))
                self.scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.l2), trainable=False)

            def call(self, inputs):
                y = self.norm(tf.matmul(inputs, self.w))
                return self.activation(y) * self.scale

            def compute_output_shape(self, input_shape):
                return input_shape[:-1] + (self.units,)
        """
    )
    result = convert(body + sequential("ScaledDense(8)", 'ScaledDense(4, activation="tanh", l2=0.5)', "layers.Dense(1)"))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    output = result.output
    assert "self.norm = nn.LayerNorm(units, eps=0.001)" in output
    assert 'self.activation = {"relu": F.relu, "tanh": torch.tanh}[activation]' in output
    assert "nn.init.constant_(self.scale, self.l2)" in output
    assert "0.0001 * self.scaled_dense.w.square().sum()" in unwrapped(output)
    assert "0.5 * self.scaled_dense_1.w.square().sum()" in unwrapped(output)
    assert "register_keras_serializable" not in output and "import keras" not in output


def test_property_tf_function_and_build_locals_in_a_keras2_layer():
    body = textwrap.dedent(
        """\
        class Gate(layers.Layer):
            def __init__(self, units, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.units = units

            @property
            def out_dim(self):
                return self.units

            def build(self, input_shape):
                dim = input_shape[-1]
                self.kernel = self.add_weight(name="kernel", shape=[dim, self.out_dim], initializer="he_normal")
                self.built = True

            @tf.function
            def call(self, inputs, **kwargs):
                z = tf.matmul(inputs, self.kernel)
                return tf.sigmoid(z) * z

            def compute_output_shape(self, input_shape):
                return (*input_shape[:-1], self.out_dim)
        """
    )
    result = convert(body + sequential("Gate(5)", "layers.Dense(1)"))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "tf.function" not in result.output and "@" not in result.output.split("class Gate")[1].split("def forward")[0].replace("@property", "")
    assert "std = math.sqrt(2 / dim)" in result.output
    assert "nn.Linear(5, 1)" in result.output


def test_a_layer_class_no_code_reads_is_noted_at_its_definition():
    source = INHERITANCE + sequential("layers.Dense(2)")
    result = convert(source)
    unused = [d for d in result.diagnostics if "no model of the script builds it" in d.message]
    assert {(d.line, d.message.split(":")[0]) for d in unused} == {
        (line_of(source, "class ClippedDense"), "custom layer ClippedDense"),
        (line_of(source, "class Shifted"), "custom layer Shifted"),
        (line_of(source, "class MCDropout"), "custom layer MCDropout"),
    }, [d.format() for d in result.diagnostics]


def test_a_weight_rebuilt_from_itself_in_build_is_reported_not_followed_forever():
    """`self.kernel = self.kernel + noise` in build() (a TensorFlow 1 tutorial): the attribute is built from itself;
    k2t reads what it can and reports the rest, instead of recursing (it was an internal error)."""
    source = textwrap.dedent(
        """\
        import numpy as np
        import tensorflow as tf


        class DenseWithNoise(tf.keras.layers.Layer):
            def __init__(self, output_dim, **kwargs):
                self.output_dim = output_dim
                super().__init__(**kwargs)

            def build(self, input_shape):
                shape = (input_shape[1], self.output_dim)
                self.kernel = self.add_weight(name="kernel", shape=shape, initializer="uniform", trainable=True)
                self.kernel = self.kernel + 1e-5 * tf.random.normal(shape=shape)

            def call(self, inputs):
                return tf.matmul(inputs, self.kernel)


        inputs = tf.keras.Input(shape=(8,))
        outputs = tf.keras.layers.Dense(1)(DenseWithNoise(4)(inputs))
        model = tf.keras.Model(inputs, outputs)
        model.compile(optimizer="sgd", loss="mse")
        model.fit(np.zeros((4, 8)), np.zeros((4, 1)), epochs=1)
        """
    )
    result = k2t.convert_source(source, "noise.py")
    assert "K2T999" not in {d.code for d in result.diagnostics}
    # Keras computes with the tensor, the weight never trains: a torch module cannot hold a tensor under a
    # parameter's name, and the output crashed when it ran.
    (rebound,) = [d for d in result.diagnostics if d.code == "K2T103"]
    assert (rebound.line, rebound.message.split(",")[0]) == (13, "`self.kernel`")
    assert not result.ok
