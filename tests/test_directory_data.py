"""Data read from files (issue 13): keras.utils.image_dataset_from_directory, text_dataset_from_directory,
load_img / img_to_array / array_to_img / save_img. Each is compared with Keras's own function on the same
small trees of PNG, JPEG and text files built here: the same arrays, labels, class names and files in the
same order (with shuffle: the same files and the same split, the per-epoch order being tf.data's buffer).
Training on such a dataset against Keras: test_parity_directory_data.py."""

import textwrap

import numpy as np
import pytest
from conftest import requires_keras, requires_torch
from unwrapped import unwrapped

import k2t

# tf.image.resize's bilinear and torch's agree to float32 rounding: pixel values 0..255, measured 1.1e-4 apart.
RESIZE_ATOL = 1e-3
# JPEG: TensorFlow decodes with libjpeg's fast integer IDCT (JDCT_IFAST), Pillow with the accurate one
# (JDCT_ISLOW), which Pillow does not let a caller change: pixels differ by a few levels of 255.
JPEG_ATOL = 16


def _messages(result) -> list[str]:
    return [d.format() for d in result.diagnostics]


def _run(source: str, path) -> dict:
    """The namespace the script leaves (run in this process: TensorFlow is imported once for all tests)."""
    from k2t.parity.capture import quiet_tensorflow

    quiet_tensorflow()
    path.write_text(source)
    namespace: dict = {"__name__": "__main__", "__file__": str(path)}
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 - running the script is the point
    return namespace


def _both(body: str, tmp_path, root) -> tuple[dict, dict, str]:
    """The namespaces Keras's script and its conversion leave, and the converted text."""
    source = f"import numpy as np\nimport tensorflow as tf\nimport keras\n\nroot = {str(root)!r}\n" + textwrap.dedent(
        body
    )
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, _messages(result)
    return _run(source, tmp_path / "keras_case.py"), _run(result.output, tmp_path / "torch_case.py"), result.output


def _image_tree(root, classes=("cats", "dogs", "birds"), suffix=".png", count=5):
    """Images of several sizes per class folder, a nested folder, and files Keras skips."""
    from PIL import Image

    rng = np.random.RandomState(0)
    for class_name in classes:
        (root / class_name / "nested").mkdir(parents=True)
        for i in range(count):
            height, width = rng.randint(5, 30, 2)
            pixels = rng.randint(0, 256, (height, width, 3)).astype("uint8")
            Image.fromarray(pixels).save(root / class_name / f"img{i}{suffix}", quality=90)
        Image.fromarray(rng.randint(0, 256, (9, 7)).astype("uint8")).save(
            root / class_name / "nested" / f"gray{suffix}"
        )
        (root / class_name / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()  # a hidden folder is no class
    return root


def _assert_batches(got, expected, atol, key):
    assert len(got) == len(expected), key
    for mine, theirs in zip(got, expected, strict=True):
        mine, theirs = (mine, theirs) if isinstance(theirs, tuple) else ((mine,), (theirs,))
        for a, b in zip(mine, theirs, strict=True):
            a, b = np.asarray(a), np.asarray(b)
            assert a.shape == b.shape and a.dtype == b.dtype, (key, a.shape, b.shape, a.dtype, b.dtype)
            np.testing.assert_allclose(a, b, atol=atol, rtol=0, err_msg=key)


IMAGE_CASES = """
from keras.utils import image_dataset_from_directory

datasets = {
    "int": image_dataset_from_directory(root, shuffle=False, image_size=(12, 10), batch_size=4),
    "categorical": keras.utils.image_dataset_from_directory(root, label_mode="categorical", shuffle=False, image_size=(8, 8), batch_size=5),
    "no_labels": keras.preprocessing.image_dataset_from_directory(root, labels=None, shuffle=False, image_size=(6, 9)),
    "grayscale": tf.keras.utils.image_dataset_from_directory(root, color_mode="grayscale", shuffle=False, image_size=(7, 7)),
    "rgba": image_dataset_from_directory(root, color_mode="rgba", shuffle=False, image_size=(7, 7)),
    "class_names": image_dataset_from_directory(root, class_names=["dogs", "cats"], shuffle=False, image_size=(5, 5), batch_size=3),
    "nearest": image_dataset_from_directory(root, interpolation="nearest", shuffle=False, image_size=(11, 4)),
    "crop": image_dataset_from_directory(root, crop_to_aspect_ratio=True, shuffle=False, image_size=(6, 12), batch_size=7),
    "unbatched": image_dataset_from_directory(root, batch_size=None, shuffle=False, image_size=(4, 4)),
    "channels_first": image_dataset_from_directory(root, data_format="channels_first", shuffle=False, image_size=(5, 3)),
    "given_labels": image_dataset_from_directory(root, labels=list(range(18)), shuffle=False, image_size=(4, 4)),
    "training": image_dataset_from_directory(root, validation_split=0.3, subset="training", shuffle=False, image_size=(4, 4)),
}
drawn = {key: [tuple(t.numpy() for t in e) if isinstance(e, tuple) else e.numpy() for e in ds] for key, ds in datasets.items()}
class_names = {key: ds.class_names for key, ds in datasets.items()}
file_paths = {key: ds.file_paths for key, ds in datasets.items()}
lengths = {key: len(ds) for key, ds in datasets.items() if key != "unbatched"}
"""


@requires_torch
@requires_keras
def test_image_datasets_without_shuffle_are_kerass(tmp_path):
    root = _image_tree(tmp_path / "tree")
    keras_side, torch_side, out = _both(IMAGE_CASES, tmp_path, root)
    assert '"int": image_dataset_from_directory(root, shuffle=False, image_size=(12, 10), batch_size=4),' in out
    assert '"grayscale": image_dataset_from_directory(root, color_mode="grayscale"' in out
    assert "import tensorflow" not in out and "from keras" not in out
    assert torch_side["class_names"] == keras_side["class_names"]
    assert torch_side["file_paths"] == keras_side["file_paths"]
    assert torch_side["lengths"] == keras_side["lengths"]
    for key, expected in keras_side["drawn"].items():
        atol = 0 if key == "nearest" else RESIZE_ATOL
        _assert_batches(torch_side["drawn"][key], expected, atol, key)


# Nearest-neighbour resizing: the same uint8 pixels on both sides, which sort the images the same way.
SHUFFLED_CASES = """
size = dict(image_size=(6, 6), interpolation="nearest")
train_ds, val_ds = keras.utils.image_dataset_from_directory(root, validation_split=0.25, subset="both", seed=3, batch_size=4, **size)
validation = keras.utils.image_dataset_from_directory(root, validation_split=0.25, subset="validation", seed=3, batch_size=4, **size)
shuffled = keras.utils.image_dataset_from_directory(root, seed=5, batch_size=4, **size)
unbatched = keras.utils.image_dataset_from_directory(root, seed=6, batch_size=None, **size)
file_paths = {"train": train_ds.file_paths, "val": val_ds.file_paths, "validation": validation.file_paths, "shuffled": shuffled.file_paths}
single = [[(x.numpy()[None], y.numpy()[None]) for x, y in unbatched] for _ in range(2)]
val_batches = [(x.numpy(), y.numpy()) for x, y in val_ds]
epochs = [[(x.numpy(), y.numpy()) for x, y in train_ds] for _ in range(2)]
"""


@requires_torch
@requires_keras
def test_shuffle_and_the_validation_split_hold_kerass_files(tmp_path):
    """NumPy's shuffle of the paths is Keras's own, so the subsets hold the same files, and the validation
    subset (never shuffled again) the same batches; the training subset's per-epoch order is tf.data's
    buffer: the same images and labels each epoch, in a new order."""
    root = _image_tree(tmp_path / "tree")
    keras_side, torch_side, out = _both(SHUFFLED_CASES, tmp_path, root)
    assert unwrapped('train_ds, val_ds = image_dataset_from_directory(root, validation_split=0.25, subset="both"') in unwrapped(out)
    assert torch_side["file_paths"] == keras_side["file_paths"]
    assert set(keras_side["file_paths"]["train"]).isdisjoint(keras_side["file_paths"]["val"])
    _assert_batches(torch_side["val_batches"], keras_side["val_batches"], 0, "validation")

    def samples(epoch):
        pairs = [(image, int(label)) for images, labels in epoch for image, label in zip(images, labels)]
        return sorted(pairs, key=lambda pair: (pair[1], pair[0].tobytes()))

    expected = samples(keras_side["epochs"][0])
    for epoch in [*torch_side["epochs"], *keras_side["epochs"]]:
        got = samples(epoch)
        assert len(got) == len(expected)
        for (image, label), (keras_image, keras_label) in zip(got, expected):
            assert label == keras_label
            np.testing.assert_array_equal(image, keras_image)
    orders = [
        [int(label) for _, labels in epoch for label in labels] + [float(images.sum()) for images, _ in epoch]
        for epoch in torch_side["epochs"]
    ]
    assert orders[0] != orders[1]  # a new order every epoch, as tf.data's reshuffle_each_iteration


@requires_torch
@requires_keras
def test_jpeg_images_are_kerass_to_the_idct_difference(tmp_path):
    root = _image_tree(tmp_path / "tree", classes=("a", "b"), suffix=".jpg")
    body = """
    rgb = keras.utils.image_dataset_from_directory(root, shuffle=False, image_size=(9, 9), label_mode="binary")
    gray = keras.utils.image_dataset_from_directory(root, shuffle=False, image_size=(9, 9), color_mode="grayscale")
    drawn = {key: [(x.numpy(), y.numpy()) for x, y in ds] for key, ds in {"rgb": rgb, "gray": gray}.items()}
    """
    keras_side, torch_side, _ = _both(body, tmp_path, root)
    for key, expected in keras_side["drawn"].items():
        _assert_batches(torch_side["drawn"][key], expected, JPEG_ATOL, key)
        differences = [np.abs(a[0] - b[0]).mean() for a, b in zip(torch_side["drawn"][key], expected)]
        assert max(differences) < 2.0, key  # a few levels here and there, not another image


def _text_tree(root):
    texts = {
        "neg": ["bad movie", "awful\nreally awful", "naïve plot", ""],
        "pos": ["good movie", "great fun " * 20, "loved it"],
    }
    for class_name, contents in texts.items():
        (root / class_name / "more").mkdir(parents=True)
        for i, text in enumerate(contents):
            (root / class_name / f"{i}.txt").write_text(text, encoding="utf-8")
        (root / class_name / "more" / "deep.txt").write_text(f"deep {class_name}")
        (root / class_name / "skip.md").write_text("not a .txt file")
    return root


TEXT_CASES = """
from keras.utils import text_dataset_from_directory

datasets = {
    "int": text_dataset_from_directory(root, shuffle=False, batch_size=3),
    "binary": keras.utils.text_dataset_from_directory(root, label_mode="binary", shuffle=False, max_length=6),
    "categorical": keras.preprocessing.text_dataset_from_directory(root, label_mode="categorical", shuffle=False, batch_size=4),
    "unbatched": text_dataset_from_directory(root, labels=None, shuffle=False, batch_size=None),
}
# A subset of its own is shuffled by the buffer too (subset="both" leaves the validation one in order).
validation = text_dataset_from_directory(root, validation_split=0.4, subset="validation", seed=7, batch_size=2)
validation_texts = sorted(text for x, _ in validation for text in x.numpy().tolist())
drawn = {key: [tuple(t.numpy() for t in e) if isinstance(e, tuple) else e for e in ds] for key, ds in datasets.items()}
class_names = {key: ds.class_names for key, ds in datasets.items()}
texts = text_dataset_from_directory(root, shuffle=False, batch_size=3)
texts_only = [x.numpy().tolist() for x in texts.map(lambda x, y: x)]
first = [(x.numpy().tolist(), y.numpy().tolist()) for x, y in texts.take(1)]
one_by_one = [text.numpy() for text in datasets["unbatched"]]  # keras.io's `text_batch.numpy()[i]`, one text at a time
as_numpy = list(datasets["int"].as_numpy_iterator())[0][0].tolist()
train, val = text_dataset_from_directory(root, validation_split=0.4, subset="both", seed=7, batch_size=2)
split = {"train": sorted(text for x, _ in train for text in x.numpy().tolist()), "val": [text for x, _ in val for text in x.numpy().tolist()]}
"""


@requires_torch
@requires_keras
def test_text_datasets_are_kerass(tmp_path):
    root = _text_tree(tmp_path / "texts")
    keras_side, torch_side, out = _both(TEXT_CASES, tmp_path, root)
    assert '"int": text_dataset_from_directory(root, shuffle=False, batch_size=3),' in out
    assert torch_side["class_names"] == keras_side["class_names"]
    for key, expected in keras_side["drawn"].items():
        got = torch_side["drawn"][key]
        assert len(got) == len(expected), key
        for mine, theirs in zip(got, expected):
            for a, b in zip(
                mine if isinstance(mine, tuple) else (mine,), theirs if isinstance(theirs, tuple) else (theirs,)
            ):
                a, b = np.asarray(a), np.asarray(b)
                assert a.shape == b.shape, key
                assert a.tolist() == b.tolist(), key
                if b.dtype != object:
                    assert a.dtype == b.dtype, key
    for name in ("texts_only", "first", "split", "validation_texts", "one_by_one", "as_numpy"):
        assert torch_side[name] == keras_side[name], name


IMAGE_UTILITIES = """
from keras.utils import load_img, img_to_array
from keras.preprocessing import image

img = load_img(photo)
small = keras.utils.load_img(photo, target_size=(7, 5))
gray = image.load_img(photo, color_mode="grayscale", target_size=(9, 9), interpolation="bilinear")
cropped = tf.keras.preprocessing.image.load_img(photo, target_size=(6, 12), keep_aspect_ratio=True)
arrays = {
    "img": img_to_array(img),
    "small": image.img_to_array(small),
    "gray": img_to_array(gray, data_format="channels_first"),
    "cropped": img_to_array(cropped, dtype="uint8"),
}
back = keras.utils.array_to_img(arrays["small"] * 0.5)
rescaled = img_to_array(image.array_to_img(arrays["gray"], data_format="channels_first", scale=False))
keras.utils.save_img(saved_png, arrays["img"])
image.save_img(saved_jpg, arrays["small"], scale=False, quality=80)
saved = {"png": img_to_array(load_img(saved_png)), "jpg": img_to_array(load_img(saved_jpg))}
modes = (img.mode, gray.mode, back.mode, back.size)
"""


@requires_torch
@requires_keras
def test_image_utilities_are_kerass(tmp_path):
    from PIL import Image

    rng = np.random.RandomState(2)
    photo = tmp_path / "photo.png"
    Image.fromarray(rng.randint(0, 256, (15, 11, 3)).astype("uint8")).save(photo)
    sides = []
    for side in ("keras", "torch"):
        prelude = f"photo = {str(photo)!r}\nsaved_png = {str(tmp_path / (side + '.png'))!r}\nsaved_jpg = {str(tmp_path / (side + '.jpg'))!r}\n"
        source = "import numpy as np\nimport tensorflow as tf\nimport keras\n" + prelude + IMAGE_UTILITIES
        result = k2t.convert_source(source, filename="case.py")
        assert result.ok and not result.diagnostics, _messages(result)
        sides.append(_run(source if side == "keras" else result.output, tmp_path / f"{side}.py"))
    keras_side, torch_side = sides
    assert (
        "def load_img(" in result.output and "def save_img(" in result.output and "def array_to_img(" in result.output
    )
    assert torch_side["modes"] == keras_side["modes"]
    for name in ("arrays", "saved"):
        for key, expected in keras_side[name].items():
            got = torch_side[name][key]
            assert got.dtype == expected.dtype and got.shape == expected.shape, (name, key)
            np.testing.assert_array_equal(got, expected, err_msg=f"{name} {key}")
    np.testing.assert_array_equal(np.asarray(torch_side["back"]), np.asarray(keras_side["back"]))
    np.testing.assert_array_equal(torch_side["rescaled"], keras_side["rescaled"])


def test_only_the_utilities_a_script_uses_are_generated():
    source = "from keras.utils import load_img, img_to_array\nx = img_to_array(load_img('a.png', target_size=(4, 4)))\n"
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, _messages(result)
    assert "x = img_to_array(load_img('a.png', target_size=(4, 4)))" in result.output
    assert "def array_to_img(" not in result.output and "def save_img(" not in result.output
    assert "import keras" not in result.output and "from keras" not in result.output


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ('interpolation="bicubic"', 'image_dataset_from_directory(interpolation="bicubic") is not translated'),
        ("pad_to_aspect_ratio=True", "image_dataset_from_directory(pad_to_aspect_ratio=True) is not translated"),
        ('format="grain"', 'image_dataset_from_directory(format="grain") is not translated'),
    ],
)
def test_what_the_generated_loader_cannot_do_is_a_located_k2t102(argument, message):
    source = f"import keras\n\nds = keras.utils.image_dataset_from_directory('d', {argument})\n"
    result = k2t.convert_source(source, filename="case.py")
    assert not result.ok
    [diagnostic] = result.diagnostics
    assert diagnostic.code == "K2T102" and message in diagnostic.message
    assert (diagnostic.line, diagnostic.column) == (3, 52)
    assert "# TODO(k2t): K2T102" in result.output
