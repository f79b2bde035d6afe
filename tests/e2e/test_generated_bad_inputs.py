"""Bad widget values generated from the live schema (`/object_info`): complete by construction.

For every VidLift node and every INT/FLOAT input with a min and a max: a value below min and one above
max, and for a FLOAT NaN and +inf; every COMBO input gets a value not among its options. Each is queued
over HTTP in a prompt where the node runs (a shipped workflow with the tiny model, or the canary), and
the answer must name the node and the parameter: an HTTP 400 whose node error is ComfyUI's own range /
list check of that input or the node's `validate_inputs` text "<node>: input '<param>': …", or an
`execution_error` of that node raised as the pack's NodeInputError (no other exception may reach the
user). ComfyUI's wording differs between versions (0.3.75 does not check a V3 combo's options at queue
time), so only node, parameter and exception type are asserted; hand-written rows for rules across
inputs stay in test_bad_input_matrix.py.

Cost: a queue-time rejection takes milliseconds, a run-time row a node execution on cached inputs, but
the canary (a fresh server's output, bit for bit) takes seconds on two cores. So the rows of the
nodes that share a base prompt run as one batch (one parametrized test per base prompt, upstream nodes
answered from ComfyUI's cache), every row must be answered, and the canary is compared once after each
batch: a batch that leaks state (a patched model, a cached bad tensor) still shows in the canary after it.
Each base prompt is cut to the outputs downstream of the node under test, since ComfyUI runs the outputs
that validate and answers 200 when some do.
"""
from __future__ import annotations

import copy
import itertools
import json
import math

import pytest

from canary import assert_same_outputs, canary_prompt, fresh_server, run_canary
from e2e.harness import api_for_tests, load_workflow

# the cheapest prompt in which each node runs; a new node without one fails test_every_node_has_a_base_prompt
BASES = {"VidLift_TemporalShift": "canary", "VidLift_CrossFrameAttention": "canary",
         "VidLift_Text2VideoZeroSampler": "canary", "VidLift_LPFF": "canary", "VidLift_LPFFImages": "canary",
         "VidLift_MotionLatentWarp": "canary",
         "VidLift_ReuseDiffuseExtender": "canary", "VidLift_TemporalVAEDecode": "canary",
         "VidLift_ReuseDiffuseSampler": "extend_clip.json", "VidLift_AlternatingKSampler": "videoelevator.json",
         "VidLift_ContextGuidedSampler": "long_video.json",
         "VidLift_ContextGuidedInterpolation": "keyframe_interpolation.json",
         "VidLift_TrainTemporalShiftLoRA": "latent_shift_train.json",
         "VidLift_PromptSchedule": None}    # None: no numeric or combo input (its text: test_bad_inputs.py)
QUEUE_ERRORS = {"value_smaller_than_min", "value_bigger_than_max", "value_not_in_list", "invalid_input_type"}
UNKNOWN = "no such option"


def pack_nodes(object_info: dict) -> list[str]:
    return sorted(k for k in object_info if k.startswith("VidLift_"))


def widget_inputs(info: dict):
    """(name, type, options) of every input in the node's schema, required and optional."""
    for section in ("required", "optional"):
        for name, spec in info["input"].get(section, {}).items():
            kind, options = spec[0], (spec[1] if len(spec) > 1 else {}) or {}
            if isinstance(kind, list):   # the older COMBO form: the options list as the type
                kind, options = "COMBO", {**options, "options": kind}
            yield name, kind, options


def bad_values(kind: str, options: dict) -> list:
    if kind == "COMBO":
        return [UNKNOWN]
    if kind not in ("INT", "FLOAT") or "min" not in options or "max" not in options:
        return []
    low, high = options["min"], options["max"]
    if kind == "INT":
        return [low - 1, high + 1]
    return [low - max(1.0, abs(low)), high + max(1.0, abs(high)), math.nan, math.inf]


def rows_of(object_info: dict, node: str) -> list[tuple[str, object]]:
    return [(name, v) for name, kind, options in widget_inputs(object_info[node]) for v in bad_values(kind, options)]


def base_prompt(node: str, object_info: dict) -> dict:
    base = BASES[node]
    prompt = canary_prompt() if base == "canary" else api_for_tests(load_workflow(base), object_info)
    return only_outputs_of(prompt, node, object_info)


def only_outputs_of(prompt: dict, node: str, object_info: dict) -> dict:
    """The prompt cut to the output nodes downstream of `node` and what they need: ComfyUI runs the outputs
    that validate and answers 200 when some do, so every output left must depend on the node."""
    def sources(k):
        return [v[0] for v in prompt[k]["inputs"].values() if isinstance(v, list) and len(v) == 2]

    def closure(start, step):
        seen, todo = set(start), list(start)
        while todo:
            for j in step(todo.pop()):
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
        return seen

    down = closure([k for k, n in prompt.items() if n["class_type"] == node],
                   lambda k: [j for j in prompt if k in sources(j)])
    outputs = [k for k in down if object_info[prompt[k]["class_type"]].get("output_node")]
    assert outputs, f"no output depends on {node}"
    return {k: prompt[k] for k in closure(outputs, sources)}


def with_value(prompt: dict, node: str, name: str, value) -> dict:
    p = copy.deepcopy(prompt)
    ids = [k for k, n in p.items() if n["class_type"] == node]
    assert ids, f"{node} is not in its base prompt"
    for k in ids:      # every instance, so the first one to run answers
        p[k]["inputs"][name] = value
    return p


def answered_at_queue_time(result: dict, node: str, name: str) -> bool:
    """The 400 names the node and the parameter: ComfyUI's own check of `name`, or the node's text."""
    for error in result["errors"]["node_errors"].values():
        if error["class_type"] != node:
            continue
        for e in error["errors"]:
            if e["type"] in QUEUE_ERRORS and e["extra_info"].get("input_name") == name:
                return True
            if e["type"] == "custom_validation_failed" and names(e["details"], node_title(node), name):
                return True
    return False


TITLES = {}


def node_title(node: str) -> str:
    return TITLES[node]


def names(text: str, title: str, name: str) -> bool:
    """The pack's format "<title>: input '<p>[/<q>…]': …" with `name` among the parameters."""
    at = text.find(f"{title}: input '")
    if at < 0:
        return False
    params = text[at + len(title) + 9:].split("'", 1)[0]
    return name in params.split("/")


NONCES = itertools.count(100)


@pytest.fixture(scope="module")
def fresh_outputs(tmp_path_factory):
    with fresh_server(tmp_path_factory.mktemp("fresh_generated")) as srv:
        return run_canary(srv)


def test_every_numeric_and_combo_input_of_every_node_gets_rows(object_info):
    nodes = pack_nodes(object_info)
    assert len(nodes) >= 12 and set(nodes) <= set(BASES), set(nodes) - set(BASES)
    for node in nodes:
        if BASES[node] is None:
            assert not [n for n, kind, _ in widget_inputs(object_info[node]) if kind in ("INT", "FLOAT", "COMBO")]
        covered = {name for name, _ in rows_of(object_info, node)}
        for name, kind, options in widget_inputs(object_info[node]):
            if kind in ("INT", "FLOAT", "COMBO"):
                assert name in covered, f"{node}.{name} ({kind}, {options}) gets no generated row"


@pytest.mark.parametrize("base", sorted(set(BASES.values()) - {None}))
def test_generated_bad_inputs_are_explained_and_the_server_recovers(server, object_info, fresh_outputs, base):
    TITLES.update({k: v["display_name"] for k, v in object_info.items()})
    failures = []
    for node in [n for n in pack_nodes(object_info) if BASES[n] == base]:
        failures += bad_rows_answered(server, object_info, node)
    assert not failures, "\n".join(failures)
    assert_same_outputs(run_canary(server, next(NONCES)), fresh_outputs)   # still serving, nothing leaked


def bad_rows_answered(server, object_info, node) -> list[str]:
    """Queues every generated row of `node`; the rows whose answer does not name node and parameter."""
    prompt, failures = base_prompt(node, object_info), []
    for name, value in rows_of(object_info, node):
        result = server.run(with_value(prompt, node, name, value), timeout=600)
        if "prompt_id" in result:    # the frontend's JSON.parse fails on a NaN kept in the history
            server.post("/history", {"delete": [result["prompt_id"]]})
        row = f"{node}.{name} = {value!r}: "
        if result["status"] == "rejected":
            if result["http_status"] != 400 or not answered_at_queue_time(result, node, name):
                failures.append(row + json.dumps(result["errors"], ensure_ascii=False)[:600])
        elif result["status"] == "error" and result["errors"]:
            e = result["errors"][0]
            if (e["node_type"] != node or not e["exception_type"].endswith("NodeInputError")
                    or not names(e["exception_message"], TITLES[node], name)):
                failures.append(row + f"{e['node_type']} {e['exception_type']}: {e['exception_message'][:400]}")
        else:
            failures.append(row + f"not refused ({result['status']})")
    return failures
