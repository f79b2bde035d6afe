"""Helpers for the server tier: shipped workflows in API format with the tiny test model swapped in."""
import json
import os

from comfy_env import ROOT
from workflow_api import ui_to_api

SWAPS = {"CheckpointLoaderSimple": "VidLiftTest_TinyCheckpointLoader",  # stock loader -> tiny test model
         "ImageOnlyCheckpointLoader": "VidLiftTest_TinySVDLoader"}


def load_workflow(name):
    with open(os.path.join(ROOT, "workflows", name)) as f:
        return json.load(f)


def api_for_tests(ui, object_info, size=64):
    """The workflow in API format with the tiny test model swapped in and a small frame size."""
    prompt = ui_to_api(ui, object_info)
    for node in prompt.values():
        node["class_type"] = SWAPS.get(node["class_type"], node["class_type"])
        if node["class_type"] == "EmptyLatentImage":
            node["inputs"].update(width=size, height=size)
    return prompt
