"""Latent-Shift over HTTP: the training workflow writes a LoRA and a loss curve; the inference workflow loads it."""
import copy
import json
import os

import pytest
import safetensors

from comfy_server import output_files
from e2e.harness import api_for_tests, load_workflow, write_training_clips

TRAIN = "VidLift_TrainTemporalShiftLoRA"


@pytest.fixture(scope="module")
def trained(server, object_info):
    write_training_clips(os.path.join(server.base_dir, "input"))
    prompt = api_for_tests(load_workflow("latent_shift_train.json"), object_info)
    node = next(n for n in prompt.values() if n["class_type"] == TRAIN)
    node["inputs"].update(lora_name="e2e_shift_lora", shift_fraction=0.25, boundary="loop")
    result = server.run(prompt, timeout=900)
    assert result["status"] == "success", json.dumps(result.get("errors") or result, default=str)[:3000]
    path = os.path.join(server.base_dir, "models", "loras", "e2e_shift_lora.safetensors")
    return dict(result=result, prompt=prompt, path=path)


def test_training_workflow_writes_a_lora_a_loss_curve_and_a_video(server, trained):
    with safetensors.safe_open(trained["path"], "pt") as f:
        keys, meta = list(f.keys()), f.metadata()
    assert keys and all(k.startswith("lora_unet_") for k in keys)
    assert json.loads(meta["vidlift_temporal_shift"]) == {"shift_fraction": 0.25, "position": "before conv1",
                                                          "boundary": "loop"}
    files = output_files(trained["result"]["history"])
    curves = [f for f in files if f["filename"].startswith("loss_curve") and f.get("type") == "output"]
    assert len(curves) == 1 and curves[0]["subfolder"] == "latent_shift"
    assert os.path.getsize(os.path.join(server.output_dir, "latent_shift", curves[0]["filename"])) > 1000
    assert [f for f in files if f.get("type") == "temp"]             # the trainer's own loss-curve preview
    assert len([f for f in files if f["filename"].endswith(".mp4")]) == 1
    assert not [f for f in os.listdir(os.path.dirname(trained["path"])) if f.endswith(".tmp")]


def test_inference_workflow_applies_the_trained_lora_with_the_stock_loader(server, object_info, trained):
    ui = copy.deepcopy(load_workflow("latent_shift.json"))
    loader = next(n for n in ui["nodes"] if n["type"] == "LoraLoaderModelOnly")
    loader["mode"] = 0                                                 # switch the bypassed loader on
    loader["widgets_values"][0] = "e2e_shift_lora.safetensors"
    prompt = api_for_tests(ui, object_info)
    assert any(n["class_type"] == "LoraLoaderModelOnly" for n in prompt.values())
    result = server.run(prompt, timeout=900)
    assert result["status"] == "success", json.dumps(result.get("errors") or result, default=str)[:3000]
    assert len([f for f in output_files(result["history"]) if f["filename"].endswith(".mp4")]) == 1
    log = open(server.log_path).read()
    assert "lora key not loaded" not in log


@pytest.mark.parametrize("inputs,words", [
    (dict(lora_name="../escape"), ["Train Temporal Shift LoRA", "lora_name", "without folders"]),
    (dict(video_folder="/etc"), ["Train Temporal Shift LoRA", "video_folder", "absolute"]),
    (dict(shift_fraction=0.9), ["Train Temporal Shift LoRA", "shift_fraction", "between 0.005 and 0.5"]),
])
def test_bad_training_inputs_are_rejected_at_queue_time(server, object_info, inputs, words):
    prompt = api_for_tests(load_workflow("latent_shift_train.json"), object_info)
    next(n for n in prompt.values() if n["class_type"] == TRAIN)["inputs"].update(inputs)
    result = server.run(prompt)
    assert result["status"] == "rejected" and result["http_status"] == 400
    text = str(result["errors"])
    assert all(w in text for w in words), text


def test_a_video_folder_outside_the_input_directory_fails_at_run_time(server, object_info, tmp_path):
    os.symlink(tmp_path, os.path.join(server.base_dir, "input", "elsewhere"))
    prompt = api_for_tests(load_workflow("latent_shift_train.json"), object_info)
    next(n for n in prompt.values() if n["class_type"] == TRAIN)["inputs"].update(video_folder="elsewhere")
    result = server.run(prompt)
    assert result["status"] == "error"
    message = result["errors"][0]["exception_message"]
    assert "Train Temporal Shift LoRA: input 'video_folder'" in message and "outside" in message, message
