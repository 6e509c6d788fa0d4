"""``k2t convert --compile``: the generated fit() and evaluate() run the model's forward pass through
torch.compile, and the converted script still trains as Keras does (exact parity, the compiled kernels'
float32 rounding within the usual tolerances)."""

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, requires_keras, requires_torch

import k2t
from k2t.cli import main

SOURCE = (FIXTURES / "house_regression" / "input.py").read_text(encoding="utf-8")


def test_the_compiled_forward_is_an_option_of_the_conversion():
    plain = k2t.convert_source(SOURCE, "train.py")
    compiled = k2t.convert_source(SOURCE, "train.py", torch_compile=True)
    assert plain.ok and compiled.ok
    assert "torch.compile" not in plain.output
    # Each generated loop (fit, evaluate, their forms over batches) compiles the forward pass it calls once, and
    # calls it for every batch.
    loops = plain.output.count("= model(inputs)")
    assert loops >= 2
    assert compiled.output.count("forward = torch.compile(model)") == loops
    assert compiled.output.count("= forward(inputs)") == loops
    assert "= model(inputs)" not in compiled.output
    # Nothing else changes.
    without = "\n".join(
        line
        for line in compiled.output.splitlines()
        if "torch.compile" not in line and "k2t convert --compile" not in line
    )
    assert without.replace("forward(inputs)", "model(inputs)") == plain.output.rstrip("\n")


def test_the_command_line_flag(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SOURCE, encoding="utf-8")
    result = CliRunner().invoke(main, ["convert", "--compile", str(script), "-o", str(tmp_path / "out.py")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.py").read_text(encoding="utf-8") == k2t.convert_source(
        SOURCE, str(script), torch_compile=True
    ).output


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.slow
def test_the_compiled_conversion_trains_as_keras():
    from k2t.parity import exact_parity

    converted = k2t.convert_source(SOURCE, "train.py", torch_compile=True).output
    report = exact_parity(SOURCE, epochs=2, converted=converted)
    assert report.error is None, report.error
    assert report.ok, report.format()
    assert list(report.torch_history) == list(report.keras_history)
