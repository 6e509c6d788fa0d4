"""keras.preprocessing.image.ImageDataGenerator (issue 13): what the conversion writes, and the
generated class's numbers against Keras 3.15's own class (keras.src.legacy.preprocessing.image)
on the same inputs: the same statistics, the same standardized images, the same parameter
draws from the same NumPy seed, the same transformed images for given parameters, the same
batches in the same order from arrays, from a folder of PNG files and from a pandas DataFrame naming them."""

import textwrap

import numpy as np
import pytest
from conftest import requires_keras
from unwrapped import unwrapped

import k2t

# Every option a variable, and every method called: the class with all of its steps.
FULL_SCRIPT = """
from keras.preprocessing.image import ImageDataGenerator

datagen = ImageDataGenerator(
    featurewise_center=o, samplewise_center=o, featurewise_std_normalization=o, samplewise_std_normalization=o,
    zca_whitening=o, zca_epsilon=o, rotation_range=o, width_shift_range=o, height_shift_range=o, brightness_range=o,
    shear_range=o, zoom_range=o, channel_shift_range=o, fill_mode=o, cval=o, horizontal_flip=o, vertical_flip=o,
    rescale=o, preprocessing_function=o, data_format=o, validation_split=o, dtype=o,
)


def uses(x, y, directory, frame):
    datagen.fit(x, augment=True)
    datagen.flow(x, y, subset="training")
    datagen.flow_from_directory(directory, subset="validation")
    datagen.flow_from_dataframe(frame, directory, subset="validation")
    datagen.random_transform(x[0])
"""


def convert(source: str):
    return k2t.convert_source(textwrap.dedent(source), filename="case.py")


@pytest.fixture(scope="module")
def generated():
    """The generated classes, run from the converted script's own text (up to the script's statements)."""
    result = convert(FULL_SCRIPT)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    namespace: dict = {}
    exec(compile(result.output.split("\ndatagen = ")[0], "converted", "exec"), namespace)  # noqa: S102
    return namespace["ImageDataGenerator"]


@pytest.fixture(scope="module")
def keras_generator():
    pytest.importorskip("scipy")  # Keras's affine transform
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    return ImageDataGenerator


def images(n=6, size=(7, 9), channels=3, seed=0):
    return (np.random.RandomState(seed).rand(n, *size, channels) * 255).astype("float32")


# ---------------------------------------------------------------- conversion


def test_a_script_converts_to_a_class_with_only_the_steps_it_uses():
    result = convert(
        """
        import numpy as np
        from tensorflow.keras.preprocessing.image import ImageDataGenerator

        x = np.zeros((4, 8, 8, 3), dtype="float32")
        datagen = ImageDataGenerator(
            rescale=1. / 255,  # the pixels in [0, 1]
            horizontal_flip=True,
            zca_whitening=False,
        )
        for batch in datagen.flow(x, batch_size=2):
            break
        """
    )
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    output = result.output
    assert "import ImageDataGenerator" not in output and "keras" not in output.split("class ImageBatches")[0]
    # The call as written, comments included; the class takes what it passes, at Keras's defaults.
    assert "datagen = ImageDataGenerator(\n    rescale=1. / 255,  # the pixels in [0, 1]\n" in output
    assert unwrapped('def __init__(self, zca_whitening=False, horizontal_flip=False, rescale=None, data_format="channels_last", dtype="float32"):') in unwrapped(output)
    assert "x *= self.rescale" in output and "np.flip(x, self.col_axis - 1)" in output
    # No step for what this script leaves at its defaults, no method it does not call.
    for absent in ("zca_whitening_matrix", "_affine_transform", "def fit(", "flow_from_directory", "DirectoryImageBatches", "brightness"):
        assert absent not in output, absent
    assert "np.random.random()  # Keras draws the vertical flip whatever the flag" in output


@pytest.mark.parametrize(
    ("imports", "call"),
    [
        ("import keras", "keras.preprocessing.image.ImageDataGenerator"),
        ("import tensorflow as tf", "tf.keras.preprocessing.image.ImageDataGenerator"),
        ("from keras.src.legacy.preprocessing.image import ImageDataGenerator as IDG", "IDG"),
        ("from tensorflow.keras.preprocessing import image", "image.ImageDataGenerator"),
    ],
)
def test_every_import_spelling_reaches_the_generated_class(imports, call):
    result = convert(f"{imports}\n\ndatagen = {call}(rescale=0.5)\n")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "datagen = ImageDataGenerator(rescale=0.5)" in result.output
    assert "import keras" not in result.output and "tensorflow" not in result.output


def test_fit_evaluate_predict_on_flows_use_the_batch_loops():
    result = convert(
        """
        import numpy as np
        import pandas as pd
        import keras
        from keras import layers
        from keras.preprocessing.image import ImageDataGenerator

        x = np.zeros((40, 8, 8, 3), dtype="float32")
        y = np.zeros((40, 1), dtype="float32")
        model = keras.Sequential([keras.Input((8, 8, 3)), layers.Flatten(), layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        datagen = ImageDataGenerator(rescale=1. / 255)
        train = datagen.flow_from_directory("data/train", target_size=(8, 8), class_mode="binary")
        frame = pd.read_csv("data/labels.csv")
        listed = datagen.flow_from_dataframe(frame, "data/images", x_col="path", y_col="score", target_size=(8, 8), class_mode="raw")
        model.fit_generator(datagen.flow(x, y, batch_size=8), steps_per_epoch=5, epochs=2, validation_data=(x, y))
        model.fit(train, epochs=1)
        model.fit(listed, epochs=1)
        print(model.evaluate(datagen.flow(x, y, shuffle=False)))
        p = model.predict(datagen.flow(x, shuffle=False))
        """
    )
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    output = result.output
    assert unwrapped("fit_batches(model, optimizer, datagen.flow(x, y, batch_size=8), steps_per_epoch=5, epochs=2, validation_data=(x, y))") in unwrapped(output)
    assert "fit_batches(model, optimizer, train, epochs=1)" in output
    assert "fit_batches(model, optimizer, listed, epochs=1)" in output
    assert 'listed = datagen.flow_from_dataframe(frame, "data/images", x_col="path"' in output and "class DataFrameImageBatches(FileImageBatches)" in output
    assert "print(evaluate_batches(model, datagen.flow(x, y, shuffle=False)))" in output
    assert "p = predict_batches(model, datagen.flow(x, shuffle=False))" in output


@pytest.mark.parametrize(
    ("line", "code", "message"),
    [
        pytest.param(
            "batches = datagen.flow_from_dataframe(frame, weight_col='weight')",
            "K2T102",
            "ImageDataGenerator.flow_from_dataframe(weight_col=...) is not translated",
            id="flow_from_dataframe weights",
        ),
        pytest.param(
            "batches = datagen.flow(x, save_to_dir='augmented')",
            "K2T102",
            "ImageDataGenerator.flow(save_to_dir=...) is not translated",
            id="save_to_dir",
        ),
        pytest.param(
            "batches = datagen.flow(x, y, 32, True, weights)",
            "K2T102",
            "ImageDataGenerator.flow(sample_weight=...) is not translated",
            id="sample_weight",
        ),
        pytest.param(
            "other = ImageDataGenerator(interpolation_order=3)",
            "K2T102",
            "ImageDataGenerator(interpolation_order=...) other than 1 is not translated",
            id="spline order",
        ),
    ],
)
def test_what_the_class_cannot_do_is_reported_and_nothing_half_converts(line, code, message):
    result = convert(f"import numpy as np\nfrom keras.preprocessing.image import ImageDataGenerator\n\ndatagen = ImageDataGenerator(rescale=0.5)\n{line}\n")
    assert not result.ok
    reported = [(d.line, d.code, d.message) for d in result.diagnostics]
    assert (5, code, message) in reported, reported
    # Keras's class stays for every call of the script, and its import: the other call says so.
    assert "from keras.preprocessing.image import ImageDataGenerator" in result.output
    assert (4, "K2T100", "Keras API `keras.preprocessing.image.ImageDataGenerator` is not translated; its import is kept") in reported
    assert "class ImageDataGenerator" not in result.output


def test_a_keras_function_as_argument_keeps_kerass_class_and_its_import():
    result = convert(
        """
        from keras.applications.nasnet import preprocess_input
        from keras.preprocessing.image import ImageDataGenerator

        datagen = ImageDataGenerator(preprocessing_function=preprocess_input)
        """
    )
    assert [(d.code, d.message) for d in result.diagnostics if d.line == 5] == [
        ("K2T100", "ImageDataGenerator(preprocessing_function=...): Keras API `keras.applications.nasnet.preprocess_input` is not translated")
    ]
    assert "from keras.applications.nasnet import preprocess_input" in result.output


PREPROCESSING = """
import numpy as np
import tensorflow as tf
from tensorflow.keras.applications.mobilenet_v2 import preprocess_input
from tensorflow.keras.preprocessing.image import ImageDataGenerator

train_gen = ImageDataGenerator(horizontal_flip=True, preprocessing_function=preprocess_input)
test_gen = ImageDataGenerator(preprocessing_function=tf.keras.applications.resnet50.preprocess_input)
"""


def test_applications_preprocess_input_as_preprocessing_function_is_its_generated_function():
    """Transfer-learning scripts hand the generator their application's preprocess_input: it becomes the
    generated numpy function of that family (the import goes), one per family."""
    result = convert(PREPROCESSING)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    output = result.output
    assert "train_gen = ImageDataGenerator(horizontal_flip=True, preprocessing_function=preprocess_input)" in output
    assert "test_gen = ImageDataGenerator(preprocessing_function=preprocess_input_2)" in output
    assert 'preprocess_input in "tf" mode' in output and 'preprocess_input in "caffe" mode' in output
    assert not [line for line in output.splitlines() if line.startswith(("import tensorflow", "from tensorflow", "from keras"))]


@requires_keras
def test_applications_preprocess_input_in_standardize_matches_keras(keras_generator):
    from keras.applications import mobilenet_v2, resnet50

    namespace: dict = {}
    exec(compile(convert(PREPROCESSING).output.split("\ntrain_gen = ")[0], "converted", "exec"), namespace)  # noqa: S102
    for function, ours in ((mobilenet_v2.preprocess_input, "preprocess_input"), (resnet50.preprocess_input, "preprocess_input_2")):
        theirs = keras_generator(preprocessing_function=function)
        generated = namespace["ImageDataGenerator"](preprocessing_function=namespace[ours])
        for image in images():
            np.testing.assert_allclose(generated.standardize(image.copy()), theirs.standardize(image.copy()), rtol=1e-6, atol=1e-4)


# ---------------------------------------------------------------- numbers against Keras


def _both(keras_generator, generated, **options):
    return keras_generator(**options), generated(**options)


@requires_keras
@pytest.mark.parametrize(
    "options",
    [
        {"rescale": 1 / 255},
        {"featurewise_center": True, "featurewise_std_normalization": True, "rescale": 1 / 255},
        {"featurewise_std_normalization": True},  # implies centering, as in Keras
        {"samplewise_center": True, "samplewise_std_normalization": True},
        {"zca_whitening": True, "featurewise_std_normalization": True, "zca_epsilon": 1e-3},
        {"featurewise_center": True, "data_format": "channels_first"},
        {"preprocessing_function": lambda image: image[::-1] * 2.0, "rescale": 0.5},
    ],
    ids=["rescale", "featurewise", "std implies center", "samplewise", "zca", "channels_first", "preprocessing_function"],
)
def test_fit_statistics_and_standardize_match_keras(keras_generator, generated, options):
    theirs, ours = _both(keras_generator, generated, **options)
    x = images() if options.get("data_format") != "channels_first" else images().transpose(0, 3, 1, 2).copy()
    theirs.fit(x)
    ours.fit(x)
    for name in ("mean", "std", "zca_whitening_matrix"):
        if getattr(theirs, name, None) is not None:
            np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-6, err_msg=name)
    for image in x:
        expected = theirs.standardize(image.copy())
        np.testing.assert_allclose(ours.standardize(image.copy()), expected, rtol=1e-6, atol=1e-6)
        assert ours.standardize(image.copy()).dtype == expected.dtype


@requires_keras
def test_data_format_and_dtype_none_read_kerass_backend_settings(keras_generator, generated):
    # Keras 2's cifar10_cnn.py passes data_format=None: the backend's image_data_format(), channels_last.
    theirs, ours = _both(keras_generator, generated, data_format=None, dtype=None, horizontal_flip=True)
    assert (ours.data_format, ours.dtype, ours.channel_axis) == (theirs.data_format, theirs.dtype, theirs.channel_axis)
    batch = next(iter(ours.flow(images(), batch_size=6, shuffle=False)))
    assert batch.shape == (6, 7, 9, 3) and batch.dtype == np.float32


AUGMENTATIONS = {
    "rotation_range": 40,
    "width_shift_range": 0.2,
    "height_shift_range": [-2, 1, 3],  # a list: a choice of pixel shifts
    "shear_range": 15,
    "zoom_range": [0.8, 1.3],
    "channel_shift_range": 20.0,
    "brightness_range": (0.5, 1.5),
    "horizontal_flip": True,
    "vertical_flip": True,
}


@requires_keras
@pytest.mark.parametrize("width_shift_range", [0.2, 3, [1, 2]], ids=["fraction", "int", "list"])
def test_parameter_draws_are_keras_draws_from_the_same_seed(keras_generator, generated, width_shift_range):
    theirs, ours = _both(keras_generator, generated, **{**AUGMENTATIONS, "width_shift_range": width_shift_range})
    for seed in range(20):
        expected = theirs.get_random_transform((7, 9, 3), seed=seed)
        drawn = ours.get_random_transform((7, 9, 3), seed=seed)
        assert drawn == expected
    # Without a seed: the same stream of NumPy's global generator.
    np.random.seed(3)
    expected = [theirs.get_random_transform((7, 9, 3)) for _ in range(5)]
    np.random.seed(3)
    assert [ours.get_random_transform((7, 9, 3)) for _ in range(5)] == expected


@requires_keras
@pytest.mark.parametrize("fill_mode", ["nearest", "reflect", "wrap", "constant"])
@pytest.mark.parametrize(
    "parameters",
    [
        {"theta": 30},
        {"tx": 2.5, "ty": -3},
        {"tx": 3, "ty": -4},  # whole pixels: source points exactly on the edges
        {"shear": 20},
        {"zx": 0.7, "zy": 1.4},
        {"theta": -75, "tx": 1.2, "ty": 0.4, "shear": 8, "zx": 1.1, "zy": 0.9},
    ],
    ids=["rotation", "shift", "whole-pixel shift", "shear", "zoom", "all"],
)
def test_affine_transform_matches_keras_scipy_transform(keras_generator, generated, fill_mode, parameters):
    theirs, ours = _both(keras_generator, generated, rotation_range=1, fill_mode=fill_mode, cval=7.0)
    image = images(n=1)[0]
    expected = theirs.apply_transform(image.copy(), parameters)
    result = ours.apply_transform(image.copy(), parameters)
    assert result.dtype == expected.dtype and result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-3)


@requires_keras
def test_affine_transform_channels_first_matches_keras(keras_generator, generated):
    theirs, ours = _both(keras_generator, generated, rotation_range=1, data_format="channels_first")
    image = images(n=1)[0].transpose(2, 0, 1).copy()
    parameters = {"theta": 20, "tx": 1.5, "zx": 0.8, "zy": 1.2}
    np.testing.assert_allclose(ours.apply_transform(image.copy(), parameters), theirs.apply_transform(image.copy(), parameters), atol=1e-3)


@requires_keras
@pytest.mark.parametrize(
    "parameters",
    [
        {"flip_horizontal": True},
        {"flip_vertical": True},
        {"channel_shift_intensity": 37.5},
        {"brightness": 0.63},
        {"brightness": 1.7},
    ],
    ids=["horizontal flip", "vertical flip", "channel shift", "darker", "brighter"],
)
@pytest.mark.parametrize("scale", [1.0, 3.0, -1.0], ids=["pixels", "above 255", "negative"])
def test_flips_channel_shift_and_brightness_are_exactly_keras(keras_generator, generated, parameters, scale):
    theirs, ours = _both(keras_generator, generated, **AUGMENTATIONS)
    image = images(n=1)[0] * scale
    expected = theirs.apply_transform(image.copy(), parameters)
    result = ours.apply_transform(image.copy(), parameters)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)


@requires_keras
@pytest.mark.parametrize(
    ("flow", "seed"),
    [
        ({"batch_size": 4, "shuffle": False}, 0),
        ({"batch_size": 4, "shuffle": True}, 1),
        ({"batch_size": 5, "shuffle": True, "seed": 11}, 2),
        ({"batch_size": 3, "shuffle": False, "subset": "validation"}, 3),
        ({"batch_size": 3, "shuffle": True, "subset": "training", "sample_weight": np.arange(20.0)}, 4),
    ],
    ids=["in order", "shuffled", "seeded", "validation subset", "training subset with weights"],
)
@pytest.mark.parametrize("augmented", [False, True], ids=["rescale only", "augmented"])
def test_flow_gives_kerass_batches_by_index_and_by_iteration(keras_generator, generated, flow, seed, augmented):
    options = {"rescale": 1 / 255, "validation_split": 0.25, **(AUGMENTATIONS if augmented else {})}
    theirs, ours = _both(keras_generator, generated, **options)
    x = images(n=20, size=(6, 5))
    y = np.arange(20) % 2
    exact = not augmented or not any(key in options for key in ("rotation_range", "shear_range", "zoom_range"))
    compare = np.testing.assert_array_equal if exact else lambda a, b: np.testing.assert_allclose(a, b, atol=1e-4)

    def draw(batches, indexed):
        np.random.seed(seed)
        if indexed:  # as fit reads them: len() batches, then on_epoch_end
            return [batches[i] for i in range(len(batches))] + [batches.on_epoch_end()] + [batches[i] for i in range(len(batches))]
        return [next(batches) for _ in range(2 * len(batches) + 1)]

    for indexed in (True, False):
        expected = draw(theirs.flow(x, y, **flow), indexed)
        result = draw(ours.flow(x, y, **flow), indexed)
        assert len(result) == len(expected)
        for ours_batch, keras_batch in zip(result, expected):
            if keras_batch is None:
                continue
            assert len(ours_batch) == len(keras_batch)
            for ours_part, keras_part in zip(ours_batch, keras_batch):
                assert ours_part.dtype == keras_part.dtype
                compare(ours_part, keras_part)


@pytest.fixture
def image_folder(tmp_path):
    """cats/ and dogs/ of PNG images of several sizes and modes, one nested folder, one file that is no image."""
    from PIL import Image

    state = np.random.RandomState(0)
    for klass, count in (("dogs", 5), ("cats", 4), ("birds", 3)):
        folder = tmp_path / "data" / klass
        (folder / "more").mkdir(parents=True)
        for index in range(count):
            size = (10 + index, 8 + 2 * index)
            mode = ("RGB", "L", "RGBA")[index % 3]
            pixels = state.randint(0, 256, size=(*size, len(mode)) if mode != "L" else size).astype("uint8")
            where = folder / "more" if index == 0 else folder
            Image.fromarray(pixels, mode).save(where / f"img{index}.png")
        (folder / "notes.txt").write_text("not an image")
    (tmp_path / "data" / "README").write_text("not a class folder")
    return tmp_path / "data"


@requires_keras
@pytest.mark.parametrize(
    "arguments",
    [
        {"class_mode": "categorical"},
        {"class_mode": "binary", "classes": ["dogs", "cats"]},
        {"class_mode": "sparse", "target_size": (12, 7), "interpolation": "bilinear", "color_mode": "grayscale"},
        {"class_mode": None, "color_mode": "rgba", "keep_aspect_ratio": True, "target_size": (9, 9)},
        {"class_mode": "input", "target_size": (6, 6)},
        {"class_mode": "categorical", "subset": "validation"},
        {"class_mode": "sparse", "subset": "training", "shuffle": True, "seed": 5},
    ],
    ids=["categorical", "binary", "sparse grayscale resized", "none rgba cropped", "input", "validation", "training seeded"],
)
def test_flow_from_directory_gives_kerass_batches(keras_generator, generated, image_folder, arguments, capsys):
    options = {"rescale": 1 / 255, "validation_split": 0.4, "horizontal_flip": True}
    theirs, ours = _both(keras_generator, generated, **options)
    arguments = {"target_size": (10, 8), "batch_size": 4, "shuffle": False, **arguments}
    keras_batches = theirs.flow_from_directory(str(image_folder), **arguments)
    keras_said = capsys.readouterr().out
    batches = ours.flow_from_directory(str(image_folder), **arguments)
    assert capsys.readouterr().out == keras_said  # "Found 12 images belonging to 3 classes."
    assert batches.class_indices == keras_batches.class_indices
    assert batches.filenames == keras_batches.filenames
    np.testing.assert_array_equal(batches.classes, keras_batches.classes)
    assert len(batches) == len(keras_batches)
    for index in range(len(batches)):
        np.random.seed(index)
        expected = keras_batches[index]
        np.random.seed(index)
        result = batches[index]
        expected, result = (expected, result) if isinstance(expected, tuple) else ((expected,), (result,))
        for ours_part, keras_part in zip(result, expected):
            assert ours_part.dtype == keras_part.dtype
            np.testing.assert_array_equal(ours_part, keras_part)


@pytest.fixture
def image_frame(image_folder):
    """A DataFrame naming the folder's images (paths under it) with string, list and numeric labels, in an
    order of its own, with a missing file, a file that is no image, and a label outside the given classes."""
    pandas = pytest.importorskip("pandas")
    rows = [
        ("dogs/img3.png", "dog", ["dog", "small"], 0.5, 1),
        ("cats/img1.png", "cat", ["cat"], 1.5, 0),
        ("birds/img2.png", "bird", ["bird", "small"], 2.5, 1),
        ("dogs/more/img0.png", "dog", ["dog"], 3.5, 0),
        ("cats/gone.png", "cat", ["cat"], 4.5, 1),
        ("cats/notes.txt", "cat", ["cat"], 5.5, 0),
        ("birds/img1.png", "bird", ["small"], 6.5, 1),
        ("cats/img3.png", "cat", ["cat", "small"], 7.5, 0),
        ("dogs/img2.png", "dog", ["dog"], 8.5, 1),
        ("cats/img2.png", "fox", ["fox"], 9.5, 0),
    ]
    return pandas.DataFrame(rows, columns=["filename", "class", "tags", "score", "flag"])


@requires_keras
@pytest.mark.parametrize(
    "arguments",
    [
        {"class_mode": "categorical"},
        {"class_mode": "binary", "classes": ["dog", "cat"]},
        {"class_mode": "sparse", "target_size": (12, 7), "interpolation": "bilinear", "color_mode": "grayscale"},
        {"class_mode": "categorical", "y_col": "tags"},
        {"class_mode": "categorical", "y_col": "tags", "classes": ["small", "dog"]},
        {"class_mode": "raw", "y_col": "score"},
        {"class_mode": "raw", "y_col": ["score", "flag"]},
        {"class_mode": "multi_output", "y_col": ["score", "flag"]},
        {"class_mode": None, "color_mode": "rgba"},
        {"class_mode": "input", "target_size": (6, 6)},
        {"class_mode": "categorical", "subset": "validation"},
        {"class_mode": "sparse", "subset": "training", "shuffle": True, "seed": 5},
        {"class_mode": "sparse", "validate_filenames": False, "x_col": "filename", "classes": ["fox"]},
    ],
    ids=[
        "categorical", "binary", "sparse grayscale resized", "multi-label", "multi-label classes", "raw", "raw columns",
        "multi_output", "none rgba", "input", "validation", "training seeded", "unvalidated",
    ],
)
def test_flow_from_dataframe_gives_kerass_batches(keras_generator, generated, image_folder, image_frame, arguments, capsys):
    options = {"rescale": 1 / 255, "validation_split": 0.4, "horizontal_flip": True}
    theirs, ours = _both(keras_generator, generated, **options)
    arguments = {"target_size": (10, 8), "batch_size": 3, "shuffle": False, **arguments}
    with pytest.warns(UserWarning) if arguments.get("validate_filenames", True) else _no_warning():
        keras_batches = theirs.flow_from_dataframe(image_frame, str(image_folder), **arguments)
    keras_said = capsys.readouterr().out
    with pytest.warns(UserWarning) if arguments.get("validate_filenames", True) else _no_warning():
        batches = ours.flow_from_dataframe(image_frame, str(image_folder), **arguments)
    assert capsys.readouterr().out == keras_said  # "Found 7 validated image filenames belonging to 3 classes."
    assert batches.filenames == keras_batches.filenames
    assert batches.filepaths == keras_batches.filepaths
    if arguments["class_mode"] not in ("raw", "multi_output", "input", None):
        assert batches.class_indices == keras_batches.class_indices
        assert batches.classes == keras_batches.classes
    assert len(batches) == len(keras_batches)
    for index in range(len(batches)):
        np.random.seed(index)
        expected = keras_batches[index]
        np.random.seed(index)
        result = batches[index]
        for ours_part, keras_part in zip(_parts(result), _parts(expected), strict=True):
            assert ours_part.dtype == keras_part.dtype
            np.testing.assert_array_equal(ours_part, keras_part)


def _parts(batch) -> list:
    """The arrays of a batch: x alone, (x, y), or (x, [y1, y2]) for multi_output."""
    if not isinstance(batch, tuple):
        return [batch]
    x, y = batch
    return [x, *y] if isinstance(y, list) else [x, y]


def _no_warning():
    import contextlib

    return contextlib.nullcontext()
