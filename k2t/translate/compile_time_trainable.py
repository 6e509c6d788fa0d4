"""Keras 2's GAN idiom: a model frozen after its compile() still trains in its own train_on_batch.

Keras 2 fixed at ``compile()`` which weights a model trains (its ``_collected_trainable_weights``), so a
GAN script compiles its discriminator, sets ``discriminator.trainable = False`` and only then compiles the
combined model: the flag freezes the discriminator inside the combined model, while
``discriminator.train_on_batch(...)`` keeps training it (eriklindernoren/Keras-GAN, Chollet's book).
Keras 3 reads the flag at every step instead: the same script trains no discriminator weight ("The model
does not have any trainable weights"). The conversion follows Keras 2, the Keras the script was written
for, and says so: the generated ``train_on_batch`` trains the weights its optimizer was built over at
compile(), those frozen since included, for the duration of the step.

Only the pure idiom is followed: the model's every ``trainable`` assignment after its compile sets the
whole model to False. A script that flips the flag back and forth (``trainable = True`` before each
discriminator step) already trains alike under both Keras versions and keeps Keras 3's reading.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..diagnostics import Severity
from ..ir import FreezeSpec, MethodCall
from ..parse import KerasScript, Todo

if TYPE_CHECKING:
    from . import ScriptPlan

MESSAGE = (
    "`{var}.trainable = False` after `{var}.compile()`: Keras 2 fixed the trained weights at compile(), so "
    "`{called}.{method}()` at line {line} still trains them (Keras 3 would train none); the conversion follows Keras 2"
)


def frozen_after_compile(script: KerasScript, call: MethodCall) -> FreezeSpec | None:
    """The ``model.trainable = False`` that Keras 2 ignores for this training call of the model: set after the
    compile in force, with every later ``trainable`` assignment of the model a whole-model False. None otherwise."""
    compiled = call.compiled
    model = call.instance.model
    if compiled is None or compiled.model is not model:
        return None
    after = [freeze for freeze in script.freezes if freeze.model is model and freeze.pos > compiled.pos]
    if not after or any(freeze.layers is not None or freeze.trainable or freeze.ignored for freeze in after):
        return None
    before = [freeze for freeze in after if freeze.pos < call.pos]
    return before[-1] if before else None


def compile_time_trainable(script: KerasScript, plan: ScriptPlan) -> set[int]:
    """id() of the train_on_batch calls that train the weights of their model's compile() (Keras 2), each
    freeze reported once (a warning) where the script writes it."""
    calls: set[int] = set()
    reported: set[int] = set()
    for call in script.calls:
        if call.method not in ("train_on_batch", "fit"):
            continue
        freeze = frozen_after_compile(script, call)
        if freeze is None:
            continue
        if call.method == "fit":
            message = (
                f"`{call.model}.fit()` of a model frozen after its compile() (line {freeze.pos[0]}): Keras 2 trained the "
                "weights of the compile, Keras 3 trains none; not translated (compile it again after the freeze, "
                "or set `trainable = True` before this fit)"
            )
            plan.todos.append(Todo(call.statement, "K2T140", message, call.pos))
            continue
        calls.add(id(call))
        if id(freeze) not in reported:
            reported.add(id(freeze))
            message = MESSAGE.format(var=freeze.var, called=call.model, method=call.method, line=call.pos[0])
            plan.todos.append(Todo(freeze.statement, "K2T144", message, freeze.pos, Severity.WARNING))
    return calls
