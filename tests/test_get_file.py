"""keras.utils.get_file becomes a generated standard-library ``get_file`` with Keras 3's cache layout.

The proof runs Keras's own get_file and the converted scripts on the same inputs: files and
archives made in tmp_path, served through ``file://`` origins (no network), each side with a
KERAS_HOME of its own. Both must return the same paths (relative to their home), leave the same
file tree with the same contents, and raise the same errors.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
import threading
import warnings
import zipfile
from pathlib import Path

import pytest
from conftest import requires_keras
from undefined import assert_no_undefined_names

import k2t

# (case, script): each binds `result` from get_file calls on `SOURCE`, the file:// URL of the folder of
# inputs (see sources()), or `HTTP`, the same folder served on localhost; every call is made twice,
# the second finding the first's files in the cache.
CASES: dict[str, str] = {
    "plain": "from keras.utils import get_file\nresult = get_file('notes.txt', origin=SOURCE + 'notes.txt')",
    "keras2_module": "from keras.utils.data_utils import get_file\nresult = get_file('renamed.txt', SOURCE + 'notes.txt')",
    "name_from_origin": "import keras\nresult = keras.utils.get_file(origin=SOURCE + 'notes.txt')",
    "fname_none": "import keras\nresult = keras.utils.get_file(None, SOURCE + 'notes.txt', cache_subdir='texts')",
    "tar_extract_dotted_name": (
        "import tensorflow as tf\nresult = tf.keras.utils.get_file('corpus.tar.gz', SOURCE + 'corpus.tar.gz', extract=True)"
    ),
    "zip_extract_plain_name": "import keras\nresult = keras.utils.get_file('bundle', SOURCE + 'bundle.zip', extract=True)",
    "zip_extract_name_from_origin": "import keras\nresult = keras.utils.get_file(origin=SOURCE + 'bundle.zip', extract=True)",
    "zip_as_tar_only": (
        "import keras\nresult = keras.utils.get_file('only_tar', SOURCE + 'bundle.zip', extract=True, archive_format='tar')"
    ),
    "untar_keras2": "import keras\nresult = keras.utils.get_file('legacy.tar.gz', SOURCE + 'corpus.tar.gz', untar=True)",
    "untar_positional": "import keras\nresult = keras.utils.get_file('legacy2', SOURCE + 'corpus.tar.gz', True)",
    "unsafe_members_skipped": "import keras\nresult = keras.utils.get_file('unsafe.tar', SOURCE + 'unsafe.tar', extract=True)",
    "unsafe_zip_skipped": "import keras\nresult = keras.utils.get_file('unsafe_zip', SOURCE + 'unsafe.zip', extract=True)",
    "md5_hash_keras2": "import keras\nresult = keras.utils.get_file('md5.txt', SOURCE + 'notes.txt', md5_hash=NOTES_MD5)",
    "sha256_hash": (
        "import keras\nresult = keras.utils.get_file('sha.txt', SOURCE + 'notes.txt', file_hash=NOTES_SHA256, hash_algorithm='sha256')"
    ),
    "md5_as_auto": "import keras\nresult = keras.utils.get_file('auto.txt', SOURCE + 'notes.txt', file_hash=NOTES_MD5)",
    "cache_dir_and_subdir": (
        "import os, keras\n"
        "result = keras.utils.get_file('c.txt', SOURCE + 'notes.txt', cache_subdir='models',"
        " cache_dir=os.path.join(os.environ['KERAS_HOME'], 'elsewhere'))"
    ),
    "stale_cache_downloaded_again": (
        "import os, keras\n"
        "os.makedirs(os.path.join(os.environ['KERAS_HOME'], 'datasets'), exist_ok=True)\n"
        "with open(os.path.join(os.environ['KERAS_HOME'], 'datasets', 'stale.txt'), 'w') as f:\n"
        "    f.write('stale')\n"
        "result = keras.utils.get_file('stale.txt', SOURCE + 'notes.txt', file_hash=NOTES_SHA256)"
    ),
    "force_download": (
        "import os, keras\n"
        "os.makedirs(os.path.join(os.environ['KERAS_HOME'], 'datasets'), exist_ok=True)\n"
        "with open(os.path.join(os.environ['KERAS_HOME'], 'datasets', 'forced.txt'), 'w') as f:\n"
        "    f.write('old')\n"
        "result = keras.utils.get_file('forced.txt', SOURCE + 'notes.txt', force_download=True)"
    ),
    "error_wrong_hash": "import keras\nresult = keras.utils.get_file('bad.txt', SOURCE + 'notes.txt', file_hash='0' * 64)",
    "error_path_as_fname": "import keras\nresult = keras.utils.get_file('sub/notes.txt', SOURCE + 'notes.txt')",
    "error_no_origin": "import keras\nresult = keras.utils.get_file('x.txt')",
    "error_missing_origin_file": "import keras\nresult = keras.utils.get_file('missing.txt', SOURCE + 'missing.txt')",
    # The same over HTTP, from a local server (HTTP below).
    "http": "import keras\nresult = keras.utils.get_file(origin=HTTP + 'served.tar.gz', extract=True)",
    "error_http_404": "import keras\nresult = keras.utils.get_file('gone.txt', HTTP + 'gone.txt')",
}

NOTES = b"the cat sat on the mat\n"
NOTES_MD5 = hashlib.md5(NOTES).hexdigest()
NOTES_SHA256 = hashlib.sha256(NOTES).hexdigest()

# Runs Keras 3.15's get_file on the cases, each twice; prints the outcomes as JSON.
KERAS_REFERENCE = """
import json, sys, warnings
import keras  # reads KERAS_HOME

sys.modules["keras.utils.data_utils"] = keras.utils  # Keras 2's module of get_file, gone from Keras 3

cases, names, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
results = {}
for case, source in cases.items():
    outcomes = []
    for _ in range(2):
        namespace = dict(names)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                exec(source, namespace)
            outcomes.append(["ok", namespace["result"], sorted({str(w.message) for w in caught})])
        except Exception as exc:
            outcomes.append(["error", type(exc).__name__, str(exc)])
    results[case] = outcomes
with open(out, "w") as file:
    json.dump(results, file)
"""


def _tar(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> None:
    with tarfile.open(path, "w:gz" if path.name.endswith(".gz") else "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)


def sources(folder: Path) -> str:
    """The inputs the cases download; the file:// URL of their folder."""
    folder.mkdir()
    (folder / "notes.txt").write_bytes(NOTES)
    _tar(folder / "corpus.tar.gz", {"corpus/a.txt": b"alpha", "corpus/sub/b.txt": b"beta"})
    _tar(folder / "served.tar.gz", {"served.txt": b"over http"})
    with zipfile.ZipFile(folder / "bundle.zip", "w") as archive:
        archive.writestr("bundle/x.csv", "1,2\n")
        archive.writestr("y.txt", "why")
    _tar(
        folder / "unsafe.tar",
        {"fine.txt": b"ok", "../escaped.txt": b"no", "/abs.txt": b"no"},
        {"inside_link": "fine.txt", "outside_link": "../../outside"},
    )
    with zipfile.ZipFile(folder / "unsafe.zip", "w") as archive:
        archive.writestr("good.txt", "ok")
        archive.writestr("../zip_escape.txt", "no")
    return folder.as_uri() + "/"


def tree(home: Path) -> dict[str, str]:
    """Every path under ``home``: a folder, a link and its target, or a file's contents."""
    found = {}
    for root, folders, files in os.walk(home):
        for name in folders + files:
            path = Path(root, name)
            key = path.relative_to(home).as_posix()
            if path.is_symlink():
                found[key] = "link -> " + os.readlink(path)
            elif path.is_dir():
                found[key] = "folder"
            else:
                found[key] = path.read_bytes().decode("latin-1")
    return found


def relative(outcomes: list, home: Path) -> list:
    """Paths in the outcomes relative to the home they were made in."""
    text = json.dumps(outcomes).replace(str(home), "<home>")
    return json.loads(text)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("get_file")
    source = sources(folder / "sources")
    handler = functools.partial(_QuietHandler, directory=str(folder / "sources"))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        http_url = f"http://127.0.0.1:{server.server_address[1]}/"
        yield folder, {"SOURCE": source, "HTTP": http_url, "NOTES_MD5": NOTES_MD5, "NOTES_SHA256": NOTES_SHA256}
        server.shutdown()


@pytest.fixture(scope="module")
def keras_outcomes(inputs) -> tuple[dict, Path]:
    folder, names = inputs
    home, out = folder / "keras_home", folder / "keras.json"
    env = dict(os.environ, KERAS_HOME=str(home), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", KERAS_REFERENCE, json.dumps(CASES), json.dumps(names), str(out)],
        check=False, cwd=folder, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), home


@pytest.fixture(scope="module")
def converted_outcomes(inputs) -> tuple[dict, Path]:
    folder, names = inputs
    home = folder / "k2t_home"
    outputs = {case: convert(source) for case, source in CASES.items()}
    results = {}
    old_home = os.environ.get("KERAS_HOME")
    os.environ["KERAS_HOME"] = str(home)
    try:
        for case, output in outputs.items():
            outcomes = []
            for _ in range(2):
                namespace = {"__name__": "converted", **names}
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        exec(compile(output, "converted.py", "exec"), namespace)  # noqa: S102 (k2t's output)
                    outcomes.append(["ok", namespace["result"], sorted({str(w.message) for w in caught})])
                except Exception as exc:  # noqa: BLE001 (the error itself is compared)
                    outcomes.append(["error", type(exc).__name__, str(exc)])
            results[case] = outcomes
    finally:
        if old_home is None:
            del os.environ["KERAS_HOME"]
        else:
            os.environ["KERAS_HOME"] = old_home
    return results, home


def convert(source: str) -> str:
    result = k2t.convert_source(source, "script.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    return result.output


@requires_keras
@pytest.mark.parametrize("case", CASES)
def test_same_path_and_errors_as_keras(case, keras_outcomes, converted_outcomes):
    (keras_results, keras_home), (ours, our_home) = keras_outcomes, converted_outcomes
    assert relative(ours[case], our_home) == relative(keras_results[case], keras_home)


@requires_keras
def test_same_file_tree_as_keras(keras_outcomes, converted_outcomes):
    """The files each side left in its cache: same names, same contents, the unsafe members left out."""
    (_, keras_home), (_, our_home) = keras_outcomes, converted_outcomes
    ours = tree(our_home)
    keras_tree = tree(keras_home)
    del keras_tree["keras.json"]  # Keras's settings, which Keras writes into its home when it is imported
    assert ours == keras_tree
    assert "datasets/unsafe_extracted/fine.txt" in ours and "datasets/unsafe_extracted/inside_link" in ours
    assert not [path for path in ours if "escape" in path or "outside" in path or "abs.txt" in path]


@pytest.mark.parametrize(
    "source",
    [
        "from keras.utils import get_file\npath = get_file('a.txt', 'http://example.com/a.txt')",
        "from keras.utils.data_utils import get_file\npath = get_file('a.txt', 'http://example.com/a.txt')",
        "from tensorflow.keras.utils import get_file\npath = get_file('a.txt', 'http://example.com/a.txt')",
        "import tensorflow as tf\npath = tf.keras.utils.get_file('a.txt', 'http://example.com/a.txt')",
        "import keras\npath = keras.utils.get_file('a.txt', 'http://example.com/a.txt')",
        "from tensorflow.python.keras.utils.data_utils import get_file\npath = get_file('a.txt', 'http://example.com/a.txt')",
    ],
)
def test_every_spelling_becomes_the_generated_function(source):
    output = convert(source)
    assert "\npath = get_file('a.txt', 'http://example.com/a.txt')" in output
    assert 'def get_file(fname=None, origin=None, file_hash=None, cache_subdir="datasets"):' in output
    imports = [line for line in output.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import hashlib", "import os", "import tempfile", "import urllib.request"]
    assert_no_undefined_names(output)


def test_only_the_parameters_the_script_passes_are_generated():
    output = convert(
        textwrap.dedent(
            """\
            import keras
            a = keras.utils.get_file("a.zip", "http://example.com/a.zip", extract=True)
            b = keras.utils.get_file(origin="http://example.com/b.txt", cache_dir="/tmp/c")
            """
        )
    )
    signature = output[output.index("def get_file(") : output.index("):", output.index("def get_file(")) + 2]
    assert "extract=False" in signature and "archive_format" in signature and "cache_dir=None" in signature
    assert "untar" not in output and "md5_hash" not in output and "force_download" not in output
    assert "def extract_archive(" in output


def test_positional_arguments_after_origin_become_keywords():
    """The generated signature holds only the parameters used: an untar passed by position is named."""
    output = convert("import keras\np = keras.utils.get_file('t', 'http://example.com/t.tar.gz', True)\n")
    assert "p = get_file('t', 'http://example.com/t.tar.gz', untar=True)\n" in output


def test_a_dataset_loader_and_the_script_share_one_get_file():
    output = convert(
        textwrap.dedent(
            """\
            from keras.datasets import mnist
            from keras.utils import get_file
            data = mnist.load_data()
            words = get_file(origin="http://example.com/words.txt", force_download=True)
            """
        )
    )
    assert output.count("def get_file(") == 1
    assert "force_download=False" in output and "def load_mnist(" in output
    assert "words = get_file(origin=" in output
    assert_no_undefined_names(output)


def test_an_argument_keras_does_not_have_is_reported():
    result = k2t.convert_source("import keras\np = keras.utils.get_file('a', 'http://x/a', verbose=1)\n", "script.py")
    assert [d.code for d in result.diagnostics] == ["K2T100"]


def test_a_script_function_named_get_file_is_not_shadowed():
    output = convert("import keras\n\ndef get_file():\n    return 1\n\np = keras.utils.get_file('a', 'http://x/a')\n")
    assert "p = get_file_('a', 'http://x/a')" in output and "def get_file():\n    return 1" in output


def test_a_converted_script_downloads_in_a_process_of_its_own(tmp_path):
    """The converted script, run as a program, imports no Keras and fetches the file into KERAS_HOME."""
    (tmp_path / "f.txt").write_text("hi")
    output = convert(f"import keras\np = keras.utils.get_file('f.txt', {(tmp_path / 'f.txt').as_uri()!r})\n")
    assert "keras" not in "\n".join(line for line in output.splitlines() if line.startswith(("import", "from")))
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "home"))
    script = tmp_path / "converted.py"
    script.write_text(output + "print(open(p).read())\n")
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "hi"
    assert (tmp_path / "home" / "datasets" / "f.txt").read_text() == "hi"
