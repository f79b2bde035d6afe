"""Resumable training of Train Temporal Shift LoRA: what a LoRA file and its training state hold.

Beside every LoRA it writes, the trainer writes `<stem>.vidlift_state` (safetensors format, never pickle; not a
`.safetensors` name, so LoRA lists do not offer it): the fp32 master weights of the LoRA (the LoRA file itself is fp16),
AdamW's moments, the random generator of clip order / timesteps / noise, the rest of the epoch's clip order and the
loss history. Resuming from it continues the same run: k steps + resume for N − k steps is N steps in one run.
A LoRA without its state file resumes from its fp16 weights with a fresh optimizer (a warning says so).
"""
from __future__ import annotations

import json
import logging
import os

import torch

STATE_EXTENSION = ".vidlift_state"
SETTINGS_KEY = "vidlift_temporal_shift"


def state_path(lora_path: str) -> str:
    return os.path.splitext(lora_path)[0] + STATE_EXTENSION


def metadata(settings: dict, rank: int, targets: str, family: str, steps: int, node: str) -> dict:
    return {SETTINGS_KEY: json.dumps(settings), "vidlift_targets": targets, "vidlift_family": family,
            "ss_network_dim": str(rank), "ss_network_alpha": str(rank), "ss_steps": str(steps),
            "ss_training_comment": f"VidLift {node}: use with the Temporal Shift Patcher at {settings}"}


def trainer_state(trainer, adapters: dict) -> dict:
    """Tensors of the training state (module docstring) of a ClipTrainer after its last step."""
    out = {}
    for name, (adapter, _) in adapters.items():
        out[f"master.{name}.up"] = adapter.lora_up.weight.detach().float().cpu().contiguous()
        out[f"master.{name}.down"] = adapter.lora_down.weight.detach().float().cpu().contiguous()
    for i, s in trainer.optimizer.state_dict()["state"].items():
        for k, v in s.items():
            out[f"optimizer.{i}.{k}"] = torch.as_tensor(v).detach().float().cpu().reshape(-1).contiguous()
    out["generator"] = trainer.generator.get_state()
    out["order"] = torch.tensor(trainer.order, dtype=torch.int64)
    out["losses"] = torch.tensor(trainer.losses, dtype=torch.float64)
    out["start_step"] = torch.tensor(trainer.start_step, dtype=torch.int64)    # steps before this run's losses
    return out


def read(lora_path: str):
    """(LoRA metadata, LoRA tensors, state tensors or None) of a LoRA file and its state file."""
    from safetensors import safe_open
    with safe_open(lora_path, "pt") as f:
        meta, lora = f.metadata() or {}, {k: f.get_tensor(k) for k in f.keys()}
    state = None
    if os.path.exists(state_path(lora_path)):
        with safe_open(state_path(lora_path), "pt") as f:
            state = {k: f.get_tensor(k) for k in f.keys()}
    return meta, lora, state


def resume_problem(meta: dict, lora_keys, expected_keys, rank: int, targets: str, family: str, name: str):
    """(param, text) when the resume file was not made by this node for this rank, family and targets."""
    if SETTINGS_KEY not in meta:
        return "resume_lora", f"{name} was not written by Train Temporal Shift LoRA (no '{SETTINGS_KEY}' metadata)."
    if meta.get("ss_network_dim") != str(rank):
        return "rank", f"is {rank}, but {name} was trained with rank {meta.get('ss_network_dim')}: use the same rank."
    if meta.get("vidlift_family", family) != family:
        return "resume_lora", f"{name} was trained on a {meta['vidlift_family']} model; this model is {family}."
    if meta.get("vidlift_targets", targets) != targets or set(lora_keys) != set(expected_keys):
        return "resume_lora", (f"{name} holds LoRA weights for other layers than this model with targets '{targets}' "
                               f"(another model family or targets setting).")
    return None


def restore(trainer, adapters: dict, lora: dict, state: dict | None, key_names: dict, name: str) -> None:
    """Load the LoRA weights (fp32 masters when the state file is there) and, with the state, the optimizer,
    generator, epoch order and losses into a fresh ClipTrainer."""
    for module, (adapter, _) in adapters.items():
        if state is not None:
            up, down = state[f"master.{module}.up"], state[f"master.{module}.down"]
        else:
            key = key_names[module]
            up, down = lora[key + ".lora_up.weight"].float(), lora[key + ".lora_down.weight"].float()
        with torch.no_grad():
            adapter.lora_up.weight.copy_(up.reshape(adapter.lora_up.weight.shape))
            adapter.lora_down.weight.copy_(down.reshape(adapter.lora_down.weight.shape))
    if state is None:
        logging.warning("Train Temporal Shift LoRA: %s has no %s beside it; resuming from its fp16 weights with a "
                        "fresh optimizer", name, STATE_EXTENSION)
        return
    saved = trainer.optimizer.state_dict()
    for key, value in state.items():
        if key.startswith("optimizer."):
            _, i, k = key.split(".", 2)
            slot = saved["state"].setdefault(int(i), {})
            slot[k] = value.reshape(()) if k == "step" else value.reshape(trainer.params[int(i)].shape)
    trainer.optimizer.load_state_dict(saved)
    trainer.generator.set_state(state["generator"])
    order = state["order"].tolist()
    trainer.order = order if all(0 <= i < len(trainer.clips) for i in order) else []   # other data: a new epoch
    trainer.losses = state["losses"].tolist()
    # steps trained before the first saved loss (a run that itself resumed from a LoRA without its state); a state
    # file written before this entry existed: the caller derives it from the LoRA's step count
    if "start_step" in state:
        trainer.start_step = int(state["start_step"])
