"""Custom layers across Keras's versions (issue 12): Keras 1's import paths of Layer are Keras's Layer, and a layer
in Keras 0's API (keras-team/keras's first antirectifier example) is named as such, at its get_output()."""

import textwrap

import k2t

KERAS0 = """\
import numpy as np
from keras.models import Sequential
from keras.layers.core import Dense, Layer
from keras import backend as K


class Antirectifier(Layer):
    @property
    def output_shape(self):
        shape = list(self.input_shape)
        shape[-1] *= 2
        return tuple(shape)

    def get_output(self, train):
        x = self.get_input(train)
        return K.concatenate([K.relu(x), K.relu(-x)], axis=1)


model = Sequential()
model.add(Dense(8, input_shape=(4,)))
model.add(Antirectifier())
model.add(Dense(1))
model.compile(loss="mse", optimizer="sgd")
model.fit(np.zeros((8, 4)), np.zeros((8, 1)), epochs=1)
"""


def test_a_keras_0_layer_is_reported_at_its_get_output():
    found = [(d.code, d.line, d.message) for d in k2t.convert_source(KERAS0, "anti.py").diagnostics]
    located = [message for code, line, message in found if (code, line) == ("K2T103", 14)]
    assert located and "written for Keras 0" in located[0] and "port it to call()" in located[0], found


def test_layer_from_keras_1s_core_module_is_keras_layer():
    source = KERAS0.replace(
        textwrap.indent(
            textwrap.dedent(
                """\
                @property
                def output_shape(self):
                    shape = list(self.input_shape)
                    shape[-1] *= 2
                    return tuple(shape)

                def get_output(self, train):
                    x = self.get_input(train)
                """
            ),
            "    ",
        ),
        "    def call(self, x):\n",
    )
    result = k2t.convert_source(source, "anti.py")
    assert result.diagnostics == ()
    assert "class Antirectifier(nn.Module):" in result.output
    assert "nn.Linear(16, 1)" in result.output  # the Dense after it, sized through call()
