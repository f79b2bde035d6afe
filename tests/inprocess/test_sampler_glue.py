"""What the sampler nodes' glue promises: finished frames on ComfyUI's intermediate device, no context handler of
the user's overwritten, unsupported latents refused by name, unused inputs logged, every input checked."""
import logging
from types import SimpleNamespace

import pytest
import torch

import comfy.model_management
from comfy_test_nodes import tiny_dit
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.glue import video_windows
from vidlift.nodes.glue.node_inputs import check_inputs
from vidlift.nodes.text2video_zero import Text2VideoZeroSampler
from vidlift.nodes.video_ldm import ContextGuidedSampler
from vidlift.nodes.vidrd import ReuseDiffuseExtender

SEED, STEPS = 5, 2


@pytest.fixture
def devices(monkeypatch):
    """intermediate_device, recording each call (it answers the CPU, as ComfyUI does without --gpu-only)."""
    asked = []
    real = comfy.model_management.intermediate_device

    def recording():
        asked.append(real())
        return asked[-1]
    monkeypatch.setattr(comfy.model_management, "intermediate_device", recording)
    return asked


def test_long_video_buffers_live_on_the_intermediate_device(unet, conds, devices):
    out = ContextGuidedSampler.execute(unet, *conds, {"samples": torch.zeros(1, 4, 8, 8)}, SEED, STEPS, 5.0, 4, 7, 1,
                                       1.0, None).args[0]["samples"]
    assert len(devices) == 1 and out.device == devices[0] and out.shape[0] == 7
    out = ReuseDiffuseExtender.execute(unet, *conds, {"samples": torch.zeros(4, 4, 8, 8)}, SEED, STEPS, 5.0, 2, 2, 1.0,
                                       0.4, "reverse (reference)", True, None).args[0]["samples"]
    assert len(devices) == 2 and out.device == devices[1]
    out = Text2VideoZeroSampler.execute(unet, *conds, {"samples": torch.zeros(7, 4, 8, 8)}, SEED, 5.0, 4.0, 4.0, 6,
                                        3, 4, 3).args[0]["samples"]     # chunks of 3: finished chunks wait there
    assert len(devices) == 3 and out.device == devices[2] and out.shape[0] == 7


def test_a_users_context_handler_is_refused_not_overwritten(unet):
    m = unet.clone()
    m.model_options["context_handler"] = object()
    with pytest.raises(NodeInputError, match="X: input 'model': already has a context handler"):
        video_windows.with_rollout_windows(m, 3, "X")


def test_several_modalities_and_guide_frames_are_refused_by_name():
    two = SimpleNamespace(latents=[torch.zeros(1), torch.zeros(1)], guide_latents=[None, None])
    guided = SimpleNamespace(latents=[torch.zeros(1)], guide_latents=[torch.zeros(1)])
    with pytest.raises(NodeInputError, match="X: input 'model': samples a latent of 2 modalities"):
        video_windows.refuse_unsupported("X", two)
    with pytest.raises(NodeInputError, match="X: input 'positive': carries guide frames"):
        video_windows.refuse_unsupported("X", guided)
    video_windows.refuse_unsupported("X", SimpleNamespace(latents=[torch.zeros(1)], guide_latents=[None]))


def test_the_extender_logs_inputs_a_video_model_does_not_use(conds, caplog):
    latent = {"samples": torch.zeros(1, 16, 5, 4, 4)}
    with caplog.at_level(logging.WARNING):
        ReuseDiffuseExtender.execute(tiny_dit.wan21(), *conds, latent, SEED, STEPS, 3.0, 2, 2, 1.0, 0.4,
                                     "reverse (reference)", True, None)
    found = [r.getMessage() for r in caplog.records if "Reuse-Diffuse Extender" in r.getMessage()]
    assert found and "staged_guidance=0.4" in found[0] and "direction='reverse'" in found[0]


def test_check_inputs_checks_every_widget_and_skips_the_rest():
    check_inputs(ReuseDiffuseExtender, "N", model=object(), steps=10, cfg=5.0, direction="forward", keep_overlap=True)
    with pytest.raises(NodeInputError, match="N: input 'direction': must be one of"):
        check_inputs(ReuseDiffuseExtender, "N", steps=10, direction="sideways")
    with pytest.raises(NodeInputError, match="N: input 'cfg': must be between"):
        check_inputs(ReuseDiffuseExtender, "N", cfg=float("nan"))
