"""Bad input never gives a traceback or a partial file; arbitrary Python never crashes k2t.

Property tests generate valid Python (hypothesmith, when installed) and Keras
scripts (hypothesis); the corpus test runs k2t over the standard library, which
has no Keras code and so must convert to itself byte for byte.
"""

import ast
import os
import sysconfig
import textwrap
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import KERAS_SCRIPT, k2t
from undefined import assert_no_undefined_names

import k2t as lib
from k2t.api import _convert_with_libcst, decode_source
from k2t.cli import main


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "content, message",
    [
        (b"def broken(:\n    pass\n", "1:12: K2T002 syntax error: invalid syntax"),
        (b"x = (\n", "1:5: K2T002 syntax error: '(' was never closed"),
        (b"\x00\x01\x02binary", "1:1: K2T001 binary file, not Python source"),
        (b"import os\nx = '\xff\xfe'\n", "2:1: K2T001 not UTF-8: invalid start byte at byte 15"),
        (b"# -*- coding: klingon -*-\nx = 1\n", "1:1: K2T001 bad encoding declaration"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "1:1: K2T001 binary file"),
    ],
    ids=["syntax-error", "unclosed", "binary", "not-utf8", "bad-cookie", "png"],
)
@pytest.mark.parametrize("command", ["convert", "check"])
def test_bad_input_is_located_and_writes_nothing(tmp_path, content, message, command):
    src = tmp_path / "bad.py"
    src.write_bytes(content)
    out = tmp_path / "out.py"
    args = [command, str(src)] + (["-o", str(out)] if command == "convert" else [])
    proc = k2t(*args)
    assert proc.returncode == 1
    assert proc.stderr == f"{src}:{message}" + proc.stderr[len(f"{src}:{message}") :]
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.py"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\n\n",
        b"\xef\xbb\xbfprint('bom')\r\n",
        "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n".encode("latin-1"),
        b"x = 1",  # no final newline
        b"if True:\n\tpass\n",
        b"\x0c\nx = 1\n",  # form feed
    ],
    ids=["empty", "blank", "bom-crlf", "latin-1", "no-newline", "tabs", "formfeed"],
)
def test_unusual_but_valid_files_convert_to_themselves(tmp_path, content):
    src = tmp_path / "odd.py"
    src.write_bytes(content)
    out = tmp_path / "out.py"
    proc = k2t("convert", str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == content
    assert k2t("check", str(src)).returncode == 0


def test_keras_file_with_latin_1_cookie_keeps_its_encoding(tmp_path):
    src = tmp_path / "train.py"
    src.write_bytes(("# -*- coding: latin-1 -*-\n# caf\xe9\n" + KERAS_SCRIPT).encode("latin-1"))
    out = tmp_path / "out.py"
    assert k2t("convert", str(src), "-o", str(out)).returncode == 0
    text = out.read_bytes().decode("latin-1")
    assert "# caf\xe9" in text and "class Net(nn.Module):" in text


def test_very_large_file(tmp_path):
    src = tmp_path / "big.py"
    body = "".join(f"def f{i}(x):\n    return x + {i}  # keras-free\n\n" for i in range(60_000))
    src.write_text(body)  # ~2.5 MB
    out = tmp_path / "out.py"
    proc = k2t("convert", str(src), "-o", str(out))
    assert proc.returncode == 0
    assert out.read_bytes() == src.read_bytes()


def test_deeply_nested_expression_is_a_diagnostic(tmp_path):
    src = tmp_path / "deep.py"
    src.write_text("x = " + "(" * 300 + "1" + ")" * 300 + "\n")
    proc = k2t("check", str(src))
    assert proc.returncode == 1
    assert f"{src}:1:" in proc.stderr and "K2T002" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_symlinks(tmp_path):
    src = tmp_path / "src"
    (src / "real").mkdir(parents=True)
    (src / "real" / "train.py").write_text(KERAS_SCRIPT)
    (src / "link.py").symlink_to(src / "real" / "train.py")
    (src / "loop").symlink_to(src)  # a walk must not follow this
    (src / "dangling.py").symlink_to(tmp_path / "gone.py")
    out = tmp_path / "out"
    proc = k2t("convert", "-v", str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["link.py", "real", "real/train.py"]
    assert not (out / "link.py").is_symlink()
    assert "symlinked directory not followed" in proc.stderr
    assert "dangling.py: broken symlink skipped" in proc.stderr

    # --in-place writes through a link to its target: the link stays a link.
    assert k2t("convert", "--in-place", str(src / "link.py")).returncode == 0
    assert (src / "link.py").is_symlink()
    assert "class Net(nn.Module):" in (src / "real" / "train.py").read_text()

    # A broken symlink named on the command line is an unreadable file (exit 1), not a crash.
    proc = k2t("check", str(src / "dangling.py"))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{src / 'dangling.py'}:1:1: K2T001 cannot read file")


def test_unreadable_file(tmp_path, monkeypatch):
    src = tmp_path / "secret.py"
    src.write_text("x = 1\n")
    real_open = os.open  # files are opened with os.open, to check what they are before reading

    def deny(path, *args, **kwargs):
        if str(path) == str(src):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    result = CliRunner().invoke(main, ["check", str(src)])
    assert result.exit_code == 1
    assert result.stderr == f"{src}:1:1: K2T001 cannot read file: Permission denied\n"


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    src = tmp_path / "train.py"
    src.write_text(KERAS_SCRIPT)
    out = tmp_path / "out"
    out.mkdir()
    (out / "train.py").write_text("previous\n")

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    result = CliRunner().invoke(main, ["convert", str(src), "-o", str(out / "train.py")])
    assert result.exit_code == 1
    assert "K2T001 cannot write" in result.stderr and "No space left on device" in result.stderr
    assert (out / "train.py").read_text() == "previous\n"
    assert [p.name for p in out.iterdir()] == ["train.py"]


def test_library_never_raises_on_bad_input():
    for source in ["def (:", "\x00", "x = '", "(" * 1000, ""]:
        result = lib.convert_source(source, "bad.py")
        assert result.output is None or result.output == source
        assert all(d.code in ("K2T001", "K2T002") for d in result.diagnostics)


# ------------------------------------------------------------ properties
try:
    import hypothesmith
except ImportError:  # optional: the Keras-script properties below still run
    hypothesmith = None


@pytest.mark.skipif(hypothesmith is None, reason="needs hypothesmith")
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(source=hypothesmith.from_grammar() if hypothesmith else st.nothing())
def test_arbitrary_python_converts_to_itself(source):
    """No Keras in it: the whole libcst pipeline (no shortcut) must give the source back."""
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        assert lib.convert_source(source, "gen.py").output is None
        return
    except (RecursionError, MemoryError):  # k2t parses with more room than the default recursion limit
        assert lib.convert_source(source, "gen.py").output in (source, None)
        return
    assert lib.convert_source(source, "gen.py").output == source
    result = _convert_with_libcst(source, "gen.py")
    assert result.output in (source, None)  # None: libcst's grammar lags the interpreter's


LAYERS = [
    'layers.Dense({units}, activation="{act}")',
    "layers.Dense({units})",
    "layers.Dropout(0.{units})",
    'layers.Activation("{act}")',
    "layers.BatchNormalization()",
    "layers.LSTM({units})",  # on 1-D inputs: a diagnostic, never a crash
    "layers.Lambda(lambda t: t * 2)",
    "layers.GRU({units}, return_sequences=True)",
]
ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu", "swish", "not_an_activation"]
LOSSES = ["mse", "binary_crossentropy", "mae", "huber", "my_loss", "keras.losses.Huber(delta=2.0)"]
OPTIMIZERS = [
    '"adam"',
    '"sgd"',
    "keras.optimizers.RMSprop(learning_rate=0.01)",
    '"lion"',
    "keras.optimizers.Adam(1e-3)",
]
EXTRAS = [
    "",
    "print(model.summary())",
    "model.save('m.keras')",
    "w = model.layers[0].get_weights()",
    "model.evaluate(x, y)",
]


@st.composite
def keras_scripts(draw):
    n = draw(st.integers(0, 5))
    layers = [
        draw(st.sampled_from(LAYERS)).format(units=draw(st.integers(1, 9)), act=draw(st.sampled_from(ACTIVATIONS)))
        for _ in range(n)
    ]
    imports = draw(st.sampled_from(["from tensorflow import keras\nfrom tensorflow.keras import layers",
                                    "import keras\nfrom keras import layers",
                                    "import tensorflow as tf\nkeras = tf.keras\nlayers = tf.keras.layers"]))  # fmt: skip
    # How the layers reach the model: listed, listed over several lines, added in a loop over known
    # sizes (unrolled), or in a loop over sizes read from data (a diagnostic, never a different model).
    structure = draw(st.sampled_from(["list", "multiline", "loop", "loop_over_data"]))
    if structure == "list":
        build = "model = keras.Sequential([keras.Input(shape=(4,)), " + ", ".join(layers) + "])"
    elif structure == "multiline":
        build = "model = keras.Sequential([\n            keras.Input(shape=(4,)),\n" + "".join(
            f"            {layer},\n" for layer in layers) + "        ])"
    else:
        sizes = "(8, 4)" if structure == "loop" else "list(np.random.randint(1, 9, size=2))"
        build = ("model = keras.Sequential([keras.Input(shape=(4,))])\n"
                 f"        for n in {sizes}:\n            model.add(layers.Dense(n))\n"
                 + "".join(f"        model.add({layer})\n" for layer in layers))  # fmt: skip
    body = f"""\
        import numpy as np
        {{imports}}

        x = np.random.rand(32, 4).astype("float32")
        y = x.sum(axis=1, keepdims=True)
        {build}
        model.compile(optimizer={draw(st.sampled_from(OPTIMIZERS))}, loss={draw(st.sampled_from(LOSSES))!r})
        model.fit(x, y, epochs={draw(st.integers(1, 3))}, batch_size={draw(st.integers(1, 64))}, verbose=0)
        {draw(st.sampled_from(EXTRAS))}
        """
    source = textwrap.dedent(body).replace("{imports}", imports)
    return source.replace("\n", "\r\n") if draw(st.booleans()) else source  # CRLF files keep CRLF


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(source=keras_scripts())
def test_keras_scripts_convert_to_python_and_converting_again_changes_nothing(source):
    result = lib.convert_source(source, "gen.py")
    assert result.output is not None
    ast.parse(result.output)
    lines = source.count("\n") + 1
    assert all(1 <= d.line <= lines and d.code in lib.diagnostics.CODES for d in result.diagnostics)
    again = lib.convert_source(result.output, "gen.py")
    assert again.output == result.output
    assert not any(d.code == "K2T999" for d in result.diagnostics)
    if "\r\n" in source:
        assert result.output.count("\n") == result.output.count("\r\n")
    if result.ok:
        assert_no_undefined_names(result.output, source=source.replace("\r\n", "\n"))


# ---------------------------------------------------------------- corpus
STDLIB = Path(sysconfig.get_paths()["stdlib"])
STDLIB_MODULES = sorted(STDLIB.glob("*.py"))


def test_standard_library_converts_to_itself_via_the_cli(tmp_path):
    """Every Lib/*.py of this interpreter, through the command line (several processes)."""
    out = tmp_path / "out"
    proc = k2t("convert", "-q", *map(str, STDLIB_MODULES), "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    for module in STDLIB_MODULES:
        assert (out / module.name).read_bytes() == module.read_bytes(), module


def _full_pipeline_changes(path: Path) -> str | None:
    decoded = decode_source(path.read_bytes(), str(path))
    source = decoded[0]
    result = _convert_with_libcst(source, str(path))
    if result.output != source or result.diagnostics:
        return f"{path}: {result.diagnostics or 'output differs'}"
    return None


def test_standard_library_through_the_whole_pipeline():
    """libcst parse, Keras description and emit with no shortcut leave non-Keras code alone.

    A fixed sample (every 8th module, about 0.6 MB) keeps this under a minute on 2
    cores; K2T_FULL_CORPUS=1 runs all of them (about 3 CPU minutes).
    """
    sample = STDLIB_MODULES if os.environ.get("K2T_FULL_CORPUS") else STDLIB_MODULES[::8]
    with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        problems = [p for p in pool.map(_full_pipeline_changes, sample) if p is not None]
    assert problems == []


def test_no_shortcut_decides_differently_from_the_pipeline():
    """The `mentions_keras` shortcut is only taken where the pipeline would change nothing."""
    sources = [
        KERAS_SCRIPT,
        "import keras\n",
        "import tensorflow as tf\nprint(tf.__version__)\n",
        "def f():\n    from tensorflow.keras import layers\n    return layers.LSTM(4)\n",
        "# keras is mentioned here, tensorflow too\nx = 'keras.layers.Dense'\n",
        "from . import keras\nkeras.layers.Dense(3)\n",
    ]
    for source in sources:
        assert lib.convert_source(source).output == _convert_with_libcst(source, "<string>").output, source
