"""User-facing errors that name the node and the parameter, and say what would be valid."""
from __future__ import annotations


class NodeInputError(ValueError):
    """Raised by a node for an input it cannot use; ComfyUI shows the message in its error dialog."""

    def __init__(self, node: str, param: str, problem: str):
        self.node, self.param = node, param
        super().__init__(f"{node}: input '{param}': {problem}")


def check(ok: bool, node: str, param: str, problem: str) -> None:
    if not ok:
        raise NodeInputError(node, param, problem)


def check_range(value, low, high, node: str, param: str) -> None:
    """low ≤ value ≤ high; also refuses NaN, which passes ComfyUI's min/max checks (comparisons with NaN are False)."""
    check(low <= value <= high, node, param, f"must be between {low:g} and {high:g}, got {value}.")


def queue_time_check(problem, *values):
    """For `validate_inputs`: True, or the problem text; linked inputs (None at queue time) pass."""
    if any(v is None for v in values):
        return True
    return problem(*values) or True
