"""Convert a script keeping k2t's plan, and instrument the generated fit/evaluate/predict.

Pure Python: no torch, no TensorFlow.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

WRAP_NAME = "__k2t_parity_wrap__"


@dataclass
class Conversion:
    source: str
    path: str
    output: str | None
    plan: Any = None  # k2t.translate.ScriptPlan
    diagnostics: list[str] = field(default_factory=list)
    functions: dict[str, str] = field(default_factory=dict)  # generated function name -> "fit" | "evaluate" | "predict"

    def module_plan(self, class_name: str):
        """The ModulePlan of the generated class ``class_name`` (None when unknown)."""
        for module in self.plan.modules if self.plan is not None else ():
            if module.class_name == class_name:
                return module
        return None


def convert(source: str, path: str = "<string>", torch_compile: bool = False) -> Conversion:
    """Like k2t.convert_source, but keeps the plan (layers, generated names)."""
    import libcst as cst

    from ..emit import emit
    from ..parse import parse
    from ..translate import translate

    try:
        script = parse(source, path)
    except cst.ParserSyntaxError as exc:
        return Conversion(source, path, None, diagnostics=[f"{path}: syntax error: {str(exc).strip().splitlines()[0]}"])
    plan = translate(script)
    plan.torch_compile = torch_compile
    output = emit(script, plan)
    diagnostics = sorted(
        {f"{path}:{t.pos[0]}:{t.pos[1]}: {t.code} {t.message}" for t in plan.todos},
    )
    return Conversion(source, path, output, plan, diagnostics, generated_functions(plan))


def generated_functions(plan) -> dict[str, str]:
    """Names of the generated module-level fit/evaluate/predict (and *_on_batch) functions (after renames) -> their kind."""
    renames = getattr(plan, "renames", {}) or {}
    suffixes = {getattr(t, "suffix", "") or "" for t in plan.trainings} | {""}
    names: dict[str, str] = {}
    for suffix in sorted(suffixes):
        for kind in ("fit", "evaluate", "predict"):
            for generated in (kind + suffix, f"{kind}_batches{suffix}"):  # on arrays; on a generator or Sequence
                names[renames.get(generated, generated)] = kind
        for kind in ("train_on_batch", "test_on_batch"):
            names[renames.get(kind + suffix, kind + suffix)] = kind
    names[renames.get("predict_on_batch", "predict_on_batch")] = "predict_on_batch"
    for kind in ("fit", "evaluate"):  # a model with its own train_step / test_step (templates/fit_steps.py.j2)
        names[renames.get(kind + "_steps", kind + "_steps")] = kind
    return names


def instrument(converted: str, functions: dict[str, str], filename: str):
    """Compile ``converted`` so that right after each generated ``def`` of ``functions`` runs
    ``name = __k2t_parity_wrap__(kind, name)``. Only module-level definitions are wrapped."""
    tree = ast.parse(converted, filename)
    body: list[ast.stmt] = []
    for stmt in tree.body:
        body.append(stmt)
        if isinstance(stmt, ast.FunctionDef) and stmt.name in functions:
            wrap = ast.parse(f"{stmt.name} = {WRAP_NAME}({functions[stmt.name]!r}, {stmt.name})").body[0]
            for node in ast.walk(wrap):
                ast.copy_location(node, stmt)
                if hasattr(node, "end_lineno"):
                    node.end_lineno, node.end_col_offset = stmt.lineno, stmt.col_offset
            body.append(wrap)
    tree.body = body
    return compile(tree, filename, "exec")


def wrapped_names(converted: str, functions: dict[str, str]) -> list[str]:
    """The generated functions actually defined at module level in ``converted``."""
    tree = ast.parse(converted)
    return [s.name for s in tree.body if isinstance(s, ast.FunctionDef) and s.name in functions]
