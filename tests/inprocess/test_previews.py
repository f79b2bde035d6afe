"""Live previews: every sampler of the pack shows the frames being made (the current window's or clip's x̂₀ as a
grid) through ComfyUI's own latent previewer, only when the user's preview setting asks for one."""
import pytest
import torch

import comfy.utils
import latent_preview
from comfy.cli_args import LatentPreviewMethod, args
from vidlift.nodes.glue.model_patches import add_temporal_shift
from vidlift.nodes.video_ldm import ContextGuidedSampler
from vidlift.nodes.vidrd import ReuseDiffuseExtender

LATENT = 8   # latent pixels per side of the tiny test latents


@pytest.fixture
def previews(monkeypatch):
    """The user's setting --preview-method latent2rgb, and every progress update ComfyUI would send."""
    monkeypatch.setattr(args, "preview_method", LatentPreviewMethod.Latent2RGB)
    sent = []
    monkeypatch.setattr(comfy.utils, "PROGRESS_BAR_HOOK", lambda value, total, preview, *a, **k:
                        sent.append((value, total, preview)))
    return sent


def run_context(unet, conds, frames=12, window=6):
    return ContextGuidedSampler.execute(add_temporal_shift(unet), *conds, {"samples": torch.zeros(1, 4, 8, 8)}, 1, 2,
                                        5.0, window, frames, 2, 1.0)


def test_context_guided_previews_show_the_windows_frames(unet, conds, previews):
    run_context(unet, conds)
    images = [p[1] for _, _, p in previews if p is not None]
    assert images, "no preview was sent"
    widths = {img.width for img in images}
    # the windows hold 1 (frame 0 alone), then 6 frames: grids of 1 and 3 × 2 frames of LATENT px (latent2rgb)
    assert 3 * LATENT in widths and max(img.height for img in images) == 2 * LATENT, widths
    assert previews[-1][0] == previews[-1][1]                  # the bar ends full: windows × steps
    assert previews[0][2][2] == latent_preview.MAX_PREVIEW_RESOLUTION   # the user's size limit goes with it


def test_extender_previews_show_the_clips_frames(unet, conds, previews):
    ReuseDiffuseExtender.execute(add_temporal_shift(unet), *conds, {"samples": torch.zeros(4, 4, 8, 8)}, 1, 2, 5.0,
                                 2, 2, 4.0, 0.4, "reverse (reference)", True)
    images = [p[1] for _, _, p in previews if p is not None]
    assert {img.width for img in images} == {2 * LATENT} and len(previews) == 4


def test_no_preview_when_previews_are_off(unet, conds, monkeypatch):
    monkeypatch.setattr(args, "preview_method", LatentPreviewMethod.NoPreviews)
    sent = []
    monkeypatch.setattr(comfy.utils, "PROGRESS_BAR_HOOK", lambda value, total, preview, *a, **k: sent.append(preview))
    run_context(unet, conds)
    assert sent and all(p is None for p in sent)
