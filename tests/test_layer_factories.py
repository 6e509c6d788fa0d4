"""A function that builds a model around the layer it receives (TensorFlow's regression tutorial):

    def build_and_compile_model(norm):
        model = keras.Sequential([norm, layers.Dense(64, activation="relu"), ...])

called with layers of different input sizes. Its body is walked at each call; the calls share one
class taking the layer as a constructor argument, and a size that differs by call becomes a keyword
parameter of the function that each call passes. What one class cannot build faithfully for every
call is a located K2T103, never a silently different model.
"""

import ast
import textwrap

import k2t

HEADER = """\
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

train_features = np.zeros((64, 5), dtype="float32")
train_labels = np.zeros((64,), dtype="float32")
horsepower = train_features[:, :1]

normalizer = tf.keras.layers.Normalization(axis=-1)
normalizer.adapt(np.array(train_features))
horsepower_normalizer = layers.Normalization(input_shape=[1], axis=None)
horsepower_normalizer.adapt(horsepower)
"""

FACTORY = """
def build_and_compile_model(norm):
    model = keras.Sequential([norm, layers.Dense(64, activation="relu"), layers.Dense(1)])
    model.compile(loss="mean_absolute_error", optimizer=tf.keras.optimizers.Adam(0.001))
    return model

"""

TWO_CALLS = """
dnn_horsepower_model = build_and_compile_model(horsepower_normalizer)
dnn_horsepower_model.fit(horsepower, train_labels, epochs=2, verbose=0)
dnn_model = build_and_compile_model(normalizer)
dnn_model.fit(train_features, train_labels, epochs=2, verbose=0)
"""


def convert(source: str):
    result = k2t.convert_source(textwrap.dedent(source), filename="case.py")
    return result, [d.format() for d in result.diagnostics]


def line_of(source: str, text: str) -> int:
    return next(number for number, line in enumerate(source.splitlines(), 1) if text in line)


def test_calls_with_different_input_sizes_share_one_class_sized_by_a_factory_keyword():
    result, diagnostics = convert(HEADER + FACTORY + TWO_CALLS)
    assert diagnostics == []
    out = result.output
    assert out.count("(nn.Module):") == 2, out  # Normalization and the one model class
    assert "    def __init__(self, in_features, norm):" in out
    assert "        self.norm = norm\n" in out
    assert "        self.dense = nn.Linear(in_features, 64)\n" in out
    assert "def build_and_compile_model(norm, in_features):\n    model = Net(in_features=in_features, norm=norm).to(device)" in out
    # input_shape=[1] on the layer for one call; the data of its first fit for the other, as Keras builds them.
    assert "dnn_horsepower_model = build_and_compile_model(horsepower_normalizer, in_features=1)" in out
    assert "dnn_model = build_and_compile_model(normalizer, in_features=train_features.shape[-1])" in out
    assert "Normalization(axis=None)" in out  # each layer is built where the script builds it
    ast.parse(out)


def test_calls_whose_sizes_agree_keep_the_factory_signature():
    source = HEADER + FACTORY + TWO_CALLS.replace("horsepower_normalizer)", "normalizer)").replace("fit(horsepower,", "fit(train_features,")
    result, diagnostics = convert(source)
    assert diagnostics == []
    assert "def build_and_compile_model(norm):\n    model = Net(in_features=train_features.shape[-1], norm=norm).to(device)" in result.output
    assert "dnn_model = build_and_compile_model(normalizer)\n" in result.output


def test_one_call_builds_its_model_in_the_factory():
    source = HEADER + FACTORY + "dnn_model = build_and_compile_model(normalizer)\ndnn_model.fit(train_features, train_labels, epochs=2, verbose=0)\n"
    result, diagnostics = convert(source)
    assert diagnostics == []
    assert "def build_and_compile_model(norm):\n    model = Net(in_features=train_features.shape[-1], norm=norm).to(device)" in result.output


def test_a_layer_added_with_add_and_a_factory_with_a_default_takes_the_keyword_after_a_star():
    factory = """
def build(norm, units=64):
    model = keras.Sequential()
    model.add(norm)
    model.add(layers.Dense(units, activation="relu"))
    model.add(layers.Dense(1))
    model.compile(loss="mae", optimizer="adam")
    return model

"""
    calls = TWO_CALLS.replace("build_and_compile_model", "build")
    result, diagnostics = convert(HEADER + factory + calls)
    assert diagnostics == []
    assert "def build(norm, units=64, *, in_features):" in result.output
    assert "model = Build(in_features=in_features, norm=norm, units=units).to(device)" in result.output
    assert "dnn_horsepower_model = build(horsepower_normalizer, in_features=1)" in result.output


def test_calls_building_different_layers_are_a_located_diagnostic():
    source = (
        HEADER
        + "small = layers.Dense(3)\nsmall_input = keras.Input(shape=(5,))\n"
        + FACTORY
        + "m1 = build_and_compile_model(normalizer)\nm1.fit(train_features, train_labels, epochs=2, verbose=0)\n"
        + "m2 = build_and_compile_model(small)\nm2.fit(train_features, train_labels, epochs=2, verbose=0)\n"
    )
    result, diagnostics = convert(source)
    line = line_of(source, "model = keras.Sequential")
    assert any(
        d.startswith(f"case.py:{line}:") and "K2T103 build_and_compile_model() builds different models at its calls" in d for d in diagnostics
    ), diagnostics
    assert "class Net(" not in result.output  # no model class that would be wrong for one of the calls


def test_a_layer_passed_as_an_expression_is_a_located_diagnostic():
    source = HEADER + FACTORY + "m = build_and_compile_model(layers.Normalization(axis=-1))\nm.fit(train_features, train_labels)\n"
    _, diagnostics = convert(source)
    line = line_of(source, "m = build_and_compile_model(")
    assert any(
        d.startswith(f"case.py:{line}:") and "K2T103 build_and_compile_model() puts its parameter `norm` into a model as a layer" in d for d in diagnostics
    ), diagnostics


def test_a_call_k2t_does_not_follow_is_a_diagnostic_when_sizes_differ_by_call():
    source = HEADER + FACTORY + TWO_CALLS + "models = [build_and_compile_model(n) for n in (normalizer,)]\n"
    result, diagnostics = convert(source)
    line = line_of(source, "models = [build_and_compile_model(n)")
    assert any(d.startswith(f"case.py:{line}:") and "K2T103 build_and_compile_model() is called here where k2t does not follow it" in d for d in diagnostics), diagnostics
    assert "in_features=1" not in result.output  # the signature is not changed under a call that would miss the keyword


def test_a_factory_never_called_with_a_layer_is_reported_at_its_body():
    _, diagnostics = convert(HEADER + FACTORY)
    assert any("K2T103 layer `norm` is not a call k2t can follow" in d for d in diagnostics), diagnostics


def test_data_bound_after_the_factory_call_is_a_diagnostic_not_a_name_error():
    source = (
        HEADER.replace("train_features = np.zeros((64, 5), dtype=\"float32\")\n", "train_features = None\n")
        + FACTORY
        + "dnn_model = build_and_compile_model(normalizer)\n"
        + "train_features = np.zeros((64, 5), dtype=\"float32\")\n"
        + "dnn_model.fit(train_features, train_labels, epochs=2, verbose=0)\n"
    )
    _, diagnostics = convert(source)
    line = line_of(source, "model = keras.Sequential")
    assert any(
        d.startswith(f"case.py:{line}:") and "`train_features` is not bound where the model is built" in d for d in diagnostics
    ), diagnostics


def test_a_loop_over_layers_calling_the_factory_is_a_located_diagnostic():
    source = (
        HEADER
        + FACTORY
        + "for layer, data in ((horsepower_normalizer, horsepower), (normalizer, train_features)):\n"
        + "    m = build_and_compile_model(layer)\n"
        + "    m.fit(data, train_labels, epochs=2, verbose=0)\n"
    )
    result, diagnostics = convert(source)
    line = line_of(source, "m = build_and_compile_model(layer)")
    assert any(d.startswith(f"case.py:{line}:") and "K2T103 build_and_compile_model() puts its parameter `norm` into a model" in d for d in diagnostics), diagnostics
    assert "class Net(" not in result.output


# keras's mnist_siamese example: the input shape is a run-time value the call passes, and Flatten after the
# Input takes any number of sizes: the call's value (an array's shape[1:], its rank known) says how many.
SIAMESE = """\
import numpy as np
from tensorflow.keras.layers import Dense, Flatten, Input
from tensorflow.keras.models import Model

x_train = np.random.rand(16, 30).astype("float32").reshape(-1, 6, 5)  # the reshape tells k2t the array's rank
y_train = np.random.randint(0, 2, 16).astype("float32")


def create_base_network(input_shape):
    input = Input(shape=input_shape)
    x = Flatten()(input)
    x = Dense(8, activation="relu")(x)
    return Model(input, x)


input_shape = x_train.shape[1:]
base_network = create_base_network(input_shape)
inputs = Input(shape=input_shape)
features = base_network(inputs)
outputs = Dense(1, activation="sigmoid")(features)
model = Model(inputs, outputs)
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(x_train, y_train, epochs=1, verbose=0)
"""


def test_a_factory_given_a_run_time_shape_sizes_its_model_from_the_call():
    result = k2t.convert_source(SIAMESE)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    output = " ".join(result.output.split())
    assert "self.dense = nn.Linear(input_dim_0 * input_dim_1, 8)" in output
    assert "return BaseNetwork( input_dim_0=input_shape[0], input_dim_1=input_shape[1] ).to(device)" in output
    assert "model = Net(base_network=base_network).to(device)" in output  # the factory's model, nested and shared
    namespace: dict = {}
    exec(compile(result.output, "converted.py", "exec"), namespace)  # noqa: S102 - the test runs generated code
    assert namespace["model"].base_network is namespace["base_network"]
    assert namespace["base_network"].dense.in_features == 30


def test_a_factory_given_a_shape_of_unknown_length_is_still_reported_at_its_input():
    source = SIAMESE.replace('np.random.rand(16, 30).astype("float32").reshape(-1, 6, 5)', 'np.load("x_train.npy")')
    found = [d for d in k2t.convert_source(source).diagnostics if d.code == "K2T103"]
    assert found and "how many sizes the parameter `input_shape` holds" in found[0].message and found[0].line == 10
