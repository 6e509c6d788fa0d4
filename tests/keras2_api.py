"""What Keras 2 scripts call and Keras 3 removed, given to Keras 3 as Keras 2 defined it, so that the classic
examples (reuters_mlp.py, cifar10_cnn.py) run as written on the Keras side of a parity test or a benchmark:

- ``keras.preprocessing.text``: Keras 3 keeps Keras 2's module as ``keras.src.legacy.preprocessing.text``
  (the same code; ``tf.keras.preprocessing.text`` is it too);
- ``keras.preprocessing.image.ImageDataGenerator``: kept in ``keras.src.legacy.preprocessing.image``;
- ``model.fit_generator``: since Keras 2.4 ``fit`` on the generator (workers and the queue are about
  threads, not about the batches);
- an optimizer's ``lr`` and ``decay``: a learning rate of lr / (1 + decay * iterations), Keras's InverseTimeDecay;
- ``keras.backend.int_shape``: a tensor's static shape (kept in ``keras.src.legacy.backend``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SetAttr = Callable[..., None]  # pytest's monkeypatch.setattr(target, name, value, raising=False)


def install(setattr: SetAttr, setitem: Callable[[dict, str, object], None]) -> None:
    import keras
    import keras.preprocessing
    import keras.preprocessing.image
    from keras.src.legacy import backend as legacy_backend
    from keras.src.legacy.preprocessing import text
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None, validation_data=None,
                      validation_steps=None, validation_freq=1, class_weight=None, max_queue_size=10, workers=1,
                      use_multiprocessing=False, shuffle=True, initial_epoch=0):
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose, callbacks=callbacks,
                        validation_data=validation_data, validation_steps=validation_steps, validation_freq=validation_freq,
                        class_weight=class_weight, shuffle=shuffle, initial_epoch=initial_epoch)

    rmsprop = keras.optimizers.RMSprop

    def keras2_rmsprop(lr=None, decay=0.0, **options):
        # Keras 2 took learning_rate= too (the name Keras 3 kept); lr= was its older spelling.
        rate = options.pop("learning_rate", 0.001) if lr is None else lr
        schedule = keras.optimizers.schedules.InverseTimeDecay(rate, decay_steps=1, decay_rate=decay) if decay else rate
        return rmsprop(learning_rate=schedule, **options)

    setitem(sys.modules, "keras.preprocessing.text", text)
    setattr(keras.preprocessing, "text", text, raising=False)
    setattr(keras.preprocessing.image, "ImageDataGenerator", ImageDataGenerator, raising=False)
    setattr(keras.Model, "fit_generator", fit_generator, raising=False)
    setattr(keras.optimizers, "RMSprop", keras2_rmsprop)
    setattr(keras.backend, "int_shape", legacy_backend.int_shape, raising=False)


@contextmanager
def keras2_api() -> Iterator[None]:
    """``install`` for the time of a with block (outside pytest: the benchmark)."""
    undo: list[Callable[[], None]] = []
    missing = object()

    def setattr_(target, name, value, raising=True):
        old = getattr(target, name, missing)
        undo.append(lambda: delattr(target, name) if old is missing else _builtin_setattr(target, name, old))
        _builtin_setattr(target, name, value)

    def setitem(mapping, key, value):
        old = mapping.get(key, missing)
        undo.append(lambda: mapping.pop(key, None) if old is missing else mapping.__setitem__(key, old))
        mapping[key] = value

    install(setattr_, setitem)
    try:
        yield
    finally:
        for step in reversed(undo):
            step()


_builtin_setattr = setattr


def tf_op_layers(setattr: SetAttr, names: tuple[str, ...]) -> None:
    """tf.keras 2 applied a TensorFlow op to Keras tensors as a TFOpLambda layer (``tf.reduce_mean(e, axis=1)`` in a
    Functional model); Keras 3 refuses TensorFlow ops on its symbolic tensors. Each op of ``names`` (``"reduce_mean"``,
    ``"math.reduce_max"``) given Keras tensors becomes such a layer here: the op on the tensors, its other arguments
    as written, one layer per call, its inputs the Keras tensors in the order Keras flattens the call's arguments."""
    import keras
    import tensorflow as tf

    class TFOpLambda(keras.layers.Layer):
        def __init__(self, function, args, kwargs, **options):
            super().__init__(**options)
            self.function, self.args, self.kwargs = function, args, kwargs

        def call(self, tensors):
            flat = iter(tensors)
            structure = keras.tree.map_structure(
                lambda item: next(flat) if isinstance(item, keras.KerasTensor) else item, (self.args, self.kwargs)
            )
            args, kwargs = structure
            return self.function(*args, **kwargs)

    for dotted in names:
        *path, name = dotted.split(".")
        module = tf
        for part in path:
            module = getattr(module, part)
        function = getattr(module, name)

        def wrapper(*args, _function=function, **kwargs):
            tensors = [item for item in keras.tree.flatten((args, kwargs)) if isinstance(item, keras.KerasTensor)]
            if not tensors:
                return _function(*args, **kwargs)
            return TFOpLambda(_function, args, kwargs)(tensors)

        setattr(module, name, wrapper)
