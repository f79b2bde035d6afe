"""User-facing errors that name the node and the parameter, and say what would be valid.

One contract for input checks: a check returns a problem, `(param, text)`, or None. At run time `fail` raises it
as a `NodeInputError`; at queue time `answer` turns it into `validate_inputs`' reply. Naming an input in
`validate_inputs` turns off ComfyUI's own min/max check for it, and ComfyUI's check lets NaN through (every
comparison with NaN is False): `schema_problem` checks every numeric input against the node's own schema (min,
max, NaN, ±inf) and every combo against its options, so one call covers them all at queue and at run time.
"""
from __future__ import annotations

import math

class NodeInputError(ValueError):
    """Raised by a node for an input it cannot use; ComfyUI shows the message in its error dialog."""

    def __init__(self, node: str, param: str, problem: str):
        self.node, self.param = node, param
        super().__init__(f"{node}: input '{param}': {problem}")


def fail(node: str, problem) -> None:
    """Run time: raise a Problem as the node's error."""
    if problem is not None:
        raise NodeInputError(node, *problem)


def answer(node: str, problem):
    """Queue time (`validate_inputs`): True, or the text naming node and parameter."""
    return True if problem is None else f"{node}: input '{problem[0]}': {problem[1]}"


def first(*problems):
    """The first Problem found, or None; give callables to check lazily."""
    for p in problems:
        p = p() if callable(p) else p
        if p is not None:
            return p
    return None


def range_problem(param: str, value, low, high):
    """low ≤ value ≤ high; refuses NaN and ±inf too (they pass ComfyUI's own min/max check)."""
    if isinstance(value, float) and not math.isfinite(value) or not low <= value <= high:
        return param, f"must be between {low:g} and {high:g}, got {value}."
    return None


def check(ok: bool, node: str, param: str, problem: str) -> None:
    fail(node, None if ok else (param, problem))


def schema_inputs(node_class) -> tuple:
    """(id, min, max, options) of every widget input of a V3 node class. Not cached: ComfyUI validates with a fresh
    clone of the class each time, and a schema is a few objects."""
    rows = []
    for inp in node_class.define_schema().inputs:
        low, high, options = getattr(inp, "min", None), getattr(inp, "max", None), getattr(inp, "options", None)
        if low is not None or high is not None or options is not None:
            rows.append((inp.id, low, high, None if options is None else tuple(options)))
    return tuple(rows)


def schema_problem(node_class, values: dict):
    """The first input of `values` outside the node's schema: a number outside [min, max] (or NaN, ±inf), or a
    combo value that is not one of its options. Linked inputs that are None at queue time pass."""
    for param, low, high, options in schema_inputs(node_class):
        value = values.get(param)
        if value is None or isinstance(value, bool):
            continue
        if options is not None:
            if value not in options:
                return param, f"must be one of {list(options)}, got {value!r}."
        elif isinstance(value, (int, float)):
            found = range_problem(param, value, -math.inf if low is None else low, math.inf if high is None else high)
            if found:
                return found
    return None


def check_schema(node_class, node: str, values: dict) -> None:
    """Run time: every numeric and combo input of `values` within the node's schema."""
    fail(node, schema_problem(node_class, values))
