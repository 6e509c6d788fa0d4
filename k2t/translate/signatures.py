"""The positional parameters of Keras's model methods (Keras 3, plus the Keras 2 ones old scripts call)."""

from __future__ import annotations

METHOD_SIGNATURES: dict[str, tuple[str, ...]] = {
    "fit": (
        "x",
        "y",
        "batch_size",
        "epochs",
        "verbose",
        "callbacks",
        "validation_split",
        "validation_data",
        "shuffle",
        "class_weight",
        "sample_weight",
        "initial_epoch",
        "steps_per_epoch",
        "validation_steps",
        "validation_batch_size",
        "validation_freq",
    ),
    "evaluate": ("x", "y", "batch_size", "verbose", "sample_weight", "steps", "callbacks", "return_dict"),
    "predict": ("x", "batch_size", "verbose", "steps", "callbacks"),
    "summary": (),
    "count_params": (),
    # Keras 2's Sequential methods, gone in Keras 3 and still in old scripts.
    "predict_classes": ("x", "batch_size", "verbose"),
    "predict_proba": ("x", "batch_size", "verbose"),
    # One batch at a time (GAN-style loops). Keras 2 put reset_metrics before return_dict; Keras 3 has no
    # reset_metrics: past class_weight the two orders differ, so later arguments are taken by keyword only.
    "train_on_batch": ("x", "y", "sample_weight", "class_weight"),
    "test_on_batch": ("x", "y", "sample_weight"),
    "predict_on_batch": ("x",),
    "reset_metrics": (),
    "reset_states": (),  # Keras 2: every stateful layer of the model starts again from zero states
}
