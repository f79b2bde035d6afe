"""Determinism across server restarts, and interrupts that leave nothing behind.

The canary (canary.py: every pack node, tiny models, CPU) is run on a fresh server, on a second fresh
server started afterwards (a restart, new base directory), and on the session server, and must give
bit-identical latents and decoded frames. A prompt interrupted with POST /interrupt in the middle of a
pack node (sampling, decoding or training) must leave no patch, state or partial file behind: the next canary
equals the fresh server's.
"""
from __future__ import annotations

import copy
import itertools
import os

import pytest

from canary import assert_same_outputs, canary_prompt, fresh_server, run_canary
from e2e.harness import api_for_tests, load_workflow, write_training_clips

NONCES = itertools.count(2000)   # chunk_size ≤ 4096; the matrix counts from 100


@pytest.fixture(scope="module")
def fresh_outputs(tmp_path_factory):
    with fresh_server(tmp_path_factory.mktemp("first_start")) as srv:
        return run_canary(srv)


def test_same_seed_same_outputs_after_a_restart_and_on_a_busy_server(server, fresh_outputs, tmp_path_factory):
    with fresh_server(tmp_path_factory.mktemp("second_start")) as srv:
        assert_same_outputs(run_canary(srv), fresh_outputs)
    assert_same_outputs(run_canary(server, next(NONCES)), fresh_outputs)


def long_prompt(node: str) -> dict:
    """The canary with other patch settings and one pack node made slow, so an interrupt lands inside it."""
    p = canary_prompt(next(NONCES), prefix="interrupted")
    p["5"]["inputs"].update(position="block output", shift_fraction=0.25, boundary="loop")   # other object patches
    p["6"]["inputs"].update(anchor="first+previous", strength=0.5)
    if node == "7":
        p["7"]["inputs"].update(steps=400, t0=1, t1=2)
    elif node == "9":
        p["9"]["inputs"].update(steps=400, clips=3)
    elif node == "12":
        p["4"]["inputs"].update(batch_size=24)
        p["9"]["inputs"].update(clips=6)
        p["12"]["inputs"].update(window=2, overlap=1, tile_size=16, tile_overlap=8)
    return copy.deepcopy(p)


@pytest.mark.parametrize("node,name", [("7", "Text2Video-Zero Sampler"), ("9", "Reuse-Diffuse Extender"),
                                       ("12", "Temporal VAE Decode")])
def test_interrupt_inside_a_pack_node_leaves_nothing_behind(server, fresh_outputs, node, name):
    interrupt_and_check(server, fresh_outputs, long_prompt(node), node, name)


# the nodes outside the canary, interrupted in their shipped workflows (tiny models): sampling and training
WORKFLOW_NODES = {"videoelevator.json": ("VidLift_AlternatingKSampler", {"steps": 60}),
                  "long_video.json": ("VidLift_ContextGuidedSampler", {"steps": 200}),
                  "keyframe_interpolation.json": ("VidLift_ContextGuidedInterpolation", {"steps": 200}),
                  "latent_shift_train.json": ("VidLift_TrainTemporalShiftLoRA",
                                              {"steps": 400, "lora_name": "interrupted_shift_lora"})}


@pytest.mark.parametrize("workflow", sorted(WORKFLOW_NODES))
def test_interrupt_in_a_workflow_leaves_nothing_behind(server, object_info, fresh_outputs, workflow):
    node_type, slow = WORKFLOW_NODES[workflow]
    prompt = api_for_tests(load_workflow(workflow), object_info)
    node = next(k for k, n in prompt.items() if n["class_type"] == node_type)
    prompt[node]["inputs"].update(slow)
    for n in prompt.values():
        if n["class_type"] == "SaveVideo":
            n["inputs"]["filename_prefix"] = "interrupted/" + workflow[:-5]
    loras = os.path.join(server.base_dir, "models", "loras")
    if node_type == "VidLift_TrainTemporalShiftLoRA":
        write_training_clips(os.path.join(server.base_dir, "input"))
    interrupt_and_check(server, fresh_outputs, prompt, node, node_type)
    if node_type == "VidLift_TrainTemporalShiftLoRA":                     # no LoRA, not even a partial one
        assert not [f for f in (os.listdir(loras) if os.path.isdir(loras) else []) if f.startswith("interrupted_shift")]


def interrupt_and_check(server, fresh_outputs, prompt, node, name):
    """Interrupt `prompt` at its node's second progress update; then the canary must equal a fresh server's."""
    progress = []

    def interrupt_on_progress(msg):
        if msg["type"] == "progress" and msg["data"].get("node") == node:
            progress.append(msg["data"]["value"])
            if len(progress) == 2:
                server.post("/interrupt", {})

    result = server.run(prompt, on_message=interrupt_on_progress, timeout=600)
    kinds = [m["type"] for m in result["messages"]]
    assert "execution_interrupted" in kinds, (name, kinds[-5:], result["status"])
    stopped = next(m["data"] for m in result["messages"] if m["type"] == "execution_interrupted")
    assert stopped["node_id"] == node and progress[-1] < progress_total(result, node), (stopped, progress)
    assert_same_outputs(run_canary(server, next(NONCES)), fresh_outputs)


def progress_total(result: dict, node: str) -> int:
    return max(m["data"]["max"] for m in result["messages"] if m["type"] == "progress" and m["data"].get("node") == node)
