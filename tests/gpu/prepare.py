"""Convert a set of fixtures into a self-contained folder for tests/gpu/run_gpu_check.py.

Run here, where k2t is importable (PYTHONPATH=. from the repository root):

    python tests/gpu/prepare.py gpu_check/

The folder gets one sub-folder per fixture with ``script.py`` (k2t's output, the device line
choosing TORCH_DEVICE) and, for a script that loads keras.datasets, ``keras_home/`` with the
small stand-ins of tests/fake_keras_datasets.py (the script is rewritten to expect their hashes),
plus a copy of run_gpu_check.py. Nothing in it needs k2t, Keras, TensorFlow or a network.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))  # tests/: fake_keras_datasets
sys.path.insert(0, str(ROOT))  # this checkout's k2t

from fake_keras_datasets import stage_for_script

import k2t

# What each fixture puts on the GPU. The ones without Dropout are compared tightly with the cpu run.
FIXTURES = {
    "mnist_mlp_keras_examples": "MLP on keras.datasets.mnist (staged stand-ins), Dropout",
    "cifar_style_cnn": "CNN, sparse integer labels (int64), Dropout",
    "text_sentiment_lstm": "Embedding with int64 token ids, sparse-row Adam, bidirectional LSTMs, Dropout",
    "sensor_forecast_gru": "stacked GRUs, EarlyStopping(restore_best_weights=True)",
    "tabular_callbacks": "ModelCheckpoint, EarlyStopping, ReduceLROnPlateau, CSVLogger",
    "churn_callbacks": "class_weight, AUC counts on the device, checkpoint reloaded with map_location",
    "fraud_class_weight": "class weights, validation every other epoch",
    "fraud_detection_metrics": "ROC/PR AUC, precision and recall state on the device",
    "two_input_functional": "two inputs, two heads (sparse int64 labels + regression)",
    "conv_autoencoder": "Conv2D / Conv2DTranspose autoencoder",
    "batchnorm_mlp": "Keras-exact BatchNormalization buffers, sparse labels",
    "stacked_autoencoder": "nested encoder/decoder models, each moved to the device",
    "sensor_windows_generator": "fit_generator on a Python generator: batches drawn from it, moved to the device",
    "transfer_learning_freeze": "frozen layers (requires_grad off) and a frozen BatchNormalization in inference mode",
    "transformer_text_classifier": "MultiHeadAttention blocks as a module class, positions made on the input's device, Dropout",
    "kaggle_attention_lstm": "custom attention layer (add_weight), LSTM step loop with recurrent dropout, custom metric, Dropout",
    "tf_data_pipeline": "tf.data pipeline with a map function, custom loss function, batches moved to the device",
    "mixed_float16_cnn": "mixed_float16: autocast float16 and GradScaler (--extras)",
    "mixed_bfloat16_mlp": "mixed_bfloat16: autocast bfloat16 (--extras)",
}


# Converted with k2t convert --compile too, as NAME-compiled (torch.compile on the GPU: timed and checked).
COMPILED = ("cifar_style_cnn", "conv_autoencoder", "batchnorm_mlp", "sensor_forecast_gru", "transformer_text_classifier")


def extra_sources() -> dict[str, str]:
    """Keras scripts checked beside the fixtures: the mixed-precision policies (autocast, GradScaler)."""
    from test_precision import CNN_SCRIPT, SCRIPT

    return {
        "mixed_float16_cnn": CNN_SCRIPT.format(policy='"mixed_float16"'),
        "mixed_bfloat16_mlp": SCRIPT.format(policy='"mixed_bfloat16"'),
    }


def every_fixture() -> list[str]:
    """The fixtures that convert with no diagnostic (the rest are there to show diagnostics)."""
    names = []
    for folder in sorted((ROOT / "fixtures").iterdir()):
        if (folder / "input.py").is_file() and k2t.convert_file(folder / "input.py").ok:
            names.append(folder.name)
    return names


def prepare(target: Path, names: list[str], compiled: tuple[str, ...] = (), extras: dict[str, str] | None = None) -> list[Path]:
    """Write the converted ``names`` (and ``compiled`` through --compile, as NAME-compiled, and the
    ``extras`` sources by name) under ``target``; returns the script paths."""
    target.mkdir(parents=True, exist_ok=True)
    scripts = []
    runs = [*((name, False) for name in names), *((name, True) for name in compiled), *((name, False) for name in extras or {})]
    for name, torch_compile in runs:
        if extras and name in extras:
            result = k2t.convert_source(extras[name], f"{name}.py")
        else:
            result = k2t.convert_file(ROOT / "fixtures" / name / "input.py", torch_compile=torch_compile)
        if not result.ok:
            raise SystemExit(f"{name} does not convert cleanly: {[d.format() for d in result.diagnostics]}")
        folder = target / (f"{name}-compiled" if torch_compile else name)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        script = folder / "script.py"
        script.write_text(result.output, encoding="utf-8")
        stage_for_script(script, folder / "keras_home")  # only for scripts that load keras.datasets
        scripts.append(script)
    shutil.copy(HERE / "run_gpu_check.py", target / "run_gpu_check.py")
    return scripts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path, help="the folder to write (run_gpu_check.py's argument)")
    parser.add_argument("--fixtures", default=",".join(FIXTURES), help="comma-separated fixture names, or 'all'")
    parser.add_argument("--extras", action="store_true", help="also the mixed-precision scripts of tests/test_precision.py")
    parser.add_argument("--compiled", default="", help="comma-separated fixtures also converted with --compile, or 'default' "
                        f"({', '.join(COMPILED)})")
    args = parser.parse_args()
    names = every_fixture() if args.fixtures == "all" else [name for name in args.fixtures.split(",") if name]
    compiled = COMPILED if args.compiled == "default" else tuple(name for name in args.compiled.split(",") if name)
    scripts = prepare(args.target, names, compiled, extra_sources() if args.extras else None)
    for script in scripts:
        print(f"{script}: {FIXTURES.get(script.parent.name.removesuffix('-compiled'), '')}")


if __name__ == "__main__":
    main()
