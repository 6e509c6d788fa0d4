"""k2t's own long lines wrapped as black wraps them; the user's lines kept as written (k2t/line_length.py)."""

import ast
import textwrap

import pytest
from unwrapped import unwrapped

from k2t.line_length import wrap_generated_lines


def _wrapped(code: str, source: str = "") -> str:
    return wrap_generated_lines(textwrap.dedent(code).lstrip("\n"), source)


CASES = [
    pytest.param(
        """
        history = fit(model, optimizer, X_train, y_train, batch_size=64, epochs=10, validation_data=(X_val, y_val))
        """,
        """
        history = fit(
            model,
            optimizer,
            X_train,
            y_train,
            batch_size=64,
            epochs=10,
            validation_data=(X_val, y_val),
        )
        """,
        id="call-one-argument-per-line",
    ),
    pytest.param(
        """
        def fit(model, optimizer, x, y, batch_size=None, epochs=1, verbose=1, validation_data=None):
            pass
        """,
        """
        def fit(
            model, optimizer, x, y, batch_size=None, epochs=1, verbose=1, validation_data=None
        ):
            pass
        """,
        id="signature-fits-on-one-line",
    ),
    pytest.param(
        """
        def format_logs(logs):
            return " - ".join(f"{key}: {value:.4f}" if abs(value) > 1e-3 else f"{key}: {value:.4e}" for key, value in logs.items())
        """,
        """
        def format_logs(logs):
            return " - ".join(
                f"{key}: {value:.4f}" if abs(value) > 1e-3 else f"{key}: {value:.4e}"
                for key, value in logs.items()
            )
        """,
        id="comprehension",
    ),
    pytest.param(
        """
        val_ds = ArrayDataset.from_tensor_slices((x_val, y_val)).map(ArrayDataset.elementwise(scale)).batch(BATCH_SIZE)
        """,
        """
        val_ds = (
            ArrayDataset.from_tensor_slices((x_val, y_val))
            .map(ArrayDataset.elementwise(scale))
            .batch(BATCH_SIZE)
        )
        """,
        id="method-chain",
    ),
    pytest.param(
        """
        if True:
            device = next((p.device for p in model.parameters()), torch.device("cpu"))  # each batch goes where the model is
            if device.type == "cuda":  # page-locked rows: copying a batch to the GPU overlaps the computation
                pass
        """,
        """
        if True:
            # each batch goes where the model is
            device = next((p.device for p in model.parameters()), torch.device("cpu"))
            if device.type == "cuda":
                # page-locked rows: copying a batch to the GPU overlaps the computation
                pass
        """,
        id="trailing-comments-on-their-own-line",
    ),
    pytest.param(
        '''
        def accuracy(output, target):
            """Per-sample (averaged over all but the batch axis) Keras binary accuracy: a prediction counts as 1.

            Second paragraph.
            """
            # Keras's interpolated precision-recall area (Davis & Goadrich): precision varies as TP / (TP + FP)
            # with both linear between consecutive thresholds.
            return 1
        ''',
        '''
        def accuracy(output, target):
            """Per-sample (averaged over all but the batch axis) Keras binary accuracy: a
            prediction counts as 1.

            Second paragraph.
            """
            # Keras's interpolated precision-recall area (Davis & Goadrich): precision varies as
            # TP / (TP + FP) with both linear between consecutive thresholds.
            return 1
        ''',
        id="docstring-and-comment-paragraphs",
    ),
    pytest.param(
        '''
        def get_file(fname=None, origin=None):
            """keras.utils.get_file: the file at `origin`, kept in Keras's cache ($KERAS_HOME, else ~/.keras)
            under `cache_subdir` with Keras 3's names."""
        ''',
        '''
        def get_file(fname=None, origin=None):
            """keras.utils.get_file: the file at `origin`, kept in Keras's cache ($KERAS_HOME,
            else ~/.keras) under `cache_subdir` with Keras 3's names."""
        ''',
        id="docstring-summary-over-two-lines-is-one-paragraph",
    ),
    pytest.param(
        """
        raise ValueError(f"When using TextVectorization to tokenize strings, the input rank must be 1. Received: {shape}")
        """,
        """
        raise ValueError(
            "When using TextVectorization to tokenize strings, the input rank must be 1. "
            f"Received: {shape}"
        )
        """,
        id="long-string-as-adjacent-literals",
    ),
]


@pytest.mark.parametrize(("before", "after"), CASES)
def test_generated_lines_are_wrapped_like_black(before, after):
    wrapped = _wrapped(before)
    assert wrapped == textwrap.dedent(after).lstrip("\n")
    assert all(len(line) <= 88 for line in wrapped.splitlines())


def test_the_users_own_lines_keep_their_length():
    line = "history = model_history_of_the_user(x_train, y_train, batch_size=64, epochs=10, validation_split=0.2)\n"
    assert wrap_generated_lines(line, source=line) == line


def test_wrapping_never_changes_what_the_code_does():
    code = "x = {'alpha': compute(1, 2, 3), 'beta': [a for a, b in pairs if b], 'gamma': -value ** 2 or fallback(x)}\n"
    assert ast.dump(ast.parse(_wrapped(code))) == ast.dump(ast.parse(code))


def test_pragmas_and_todo_comments_stay_on_their_line():
    code = "import torch  # noqa: F401  this comment is long enough that it would be wrapped otherwise ....\n"
    assert _wrapped(code) == code


# What tests/unwrapped.py undoes: code wrapped by the pass, with no comment moved or string cut.
CODE_ONLY = {"call-one-argument-per-line", "signature-fits-on-one-line", "comprehension", "method-chain"}


@pytest.mark.parametrize(("before", "after"), [case for case in CASES if case.id in CODE_ONLY])
def test_the_tests_unwrapped_gives_back_the_line_before_wrapping(before, after):
    assert unwrapped(_wrapped(before)) == textwrap.dedent(before).lstrip("\n")


def test_unwrapped_keeps_the_parentheses_and_commas_the_code_needs():
    wrapped = _wrapped(
        "pairs = (compute_the_first_value_of_the_pair(x, y), compute_the_second_value_of_the_pair(x, y))\n"
        "hits = (output.argmax(dim=-1) == target.reshape(output.shape[:-1]).long()).to(output.dtype)\n"
    )
    assert wrapped.count("\n") > 2
    assert unwrapped(wrapped) == (
        "pairs = (compute_the_first_value_of_the_pair(x, y), compute_the_second_value_of_the_pair(x, y))\n"
        "hits = (output.argmax(dim=-1) == target.reshape(output.shape[:-1]).long()).to(output.dtype)\n"
    )


def test_lines_of_a_statement_written_over_several_lines_are_left_alone():
    """``follow_links=follow_links,`` inside a call parses alone as a chained assignment: wrapping it as one
    statement made the whole call invalid Python."""
    code = (
        "def flow(self):\n"
        "    if True:\n"
        "        return DirectoryImageBatches(\n"
        "            directory, self, target_size=target_size, color_mode=color_mode, classes=classes,\n"
        "            batch_size=batch_size, shuffle=shuffle, seed=seed, follow_links=follow_links,\n"
        "            interpolation=interpolation, keep_aspect_ratio=keep_aspect_ratio,\n"
        "        )\n"
    )
    assert _wrapped(code) == code
