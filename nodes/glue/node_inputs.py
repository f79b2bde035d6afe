"""What every sampler node's inputs share: the seed widget, the run-time schema check over all inputs, the
queue-time answer, and the warning for an input a path does not use."""
from __future__ import annotations

import logging

from comfy_api.latest import io

from ..core.errors import answer, check_schema, first, schema_problem

SEED_MAX = 0xFFFFFFFFFFFFFFFF       # ComfyUI's seed widget range: 0 … 2⁶⁴ − 1
STEPS_MAX = 500     # sampling steps: the 1000-entry SD schedule with leading spacing and steps_offset 1 (diffusers'
#                     DDIM) would index timestep 1000 at 1000 steps; 500 is past every reference setting (≤ 100)


def seed_input(tooltip: str, default: int = 0):
    """The seed widget of every sampler node (randomised after each queue by default)."""
    return io.Int.Input("seed", default=default, min=0, max=SEED_MAX, control_after_generate=True, tooltip=tooltip)


def steps_input(tooltip: str, default: int, name: str = "steps", minimum: int = 1):
    """A sampling-steps widget (1 … STEPS_MAX)."""
    return io.Int.Input(name, default=default, min=minimum, max=STEPS_MAX, tooltip=tooltip)


def cfg_input(tooltip: str, default: float, name: str = "cfg"):
    """A classifier-free guidance widget, as ComfyUI's KSampler's (0 … 100, step 0.1)."""
    return io.Float.Input(name, default=default, min=0.0, max=100.0, step=0.1, round=0.01, tooltip=tooltip)


def check_inputs(node_class, node: str, /, **values) -> None:
    """Run time: every numeric and combo input among `values` within node_class's schema (names that are not
    widget inputs of the schema, e.g. models and latents, are skipped by errors.schema_problem)."""
    check_schema(node_class, node, values)


def queue_answer(node_class, node: str, rule=None, /, **values):
    """validate_inputs: the named inputs within the schema, then `rule` over them (once all are given)."""
    return answer(node, first(schema_problem(node_class, values),
                              lambda: None if rule is None or None in values.values() else rule(*values.values())))


def warn_unused(node: str, why: str, **inputs) -> None:
    """Log the inputs a path does not read (never silently ignored), with their values and the reason."""
    names = ", ".join(f"{k}={v!r}" for k, v in inputs.items())
    logging.warning("%s: input%s %s not used: %s", node, "s" if len(inputs) > 1 else "", names, why)


def colour_anchor_input(unit: str):
    """The colour-anchoring strength of the long-video samplers (core/colour_anchor.py); optional, so prompts saved
    before it existed still run, with anchoring off."""
    return io.Float.Input("colour_anchor", default=0.0, min=0.0, max=1.0, step=0.05, optional=True,
                          tooltip=f"Match each new {unit}'s per-channel latent mean and std (over its new frames) to "
                                  f"the first {unit}'s, so colour and contrast do not drift further with every "
                                  f"{unit}: 0 = off (as the paper), 1 = fully matched. The first {unit} is never "
                                  f"changed.")
