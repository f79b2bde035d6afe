"""Inputs that pass ComfyUI's own checks but are invalid, refused by name before any sampling.

NaN passes ComfyUI's min/max checks (every comparison with NaN is False) and a JSON prompt can carry it
(as can ±Infinity for inputs whose range our validate_inputs checks); an API prompt can also send any combo
value to a V3 node on ComfyUI 0.3.75."""
import math

import pytest
import torch

from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.lpff import LPFFFilter
from vidlift.nodes.vidrd import DIRECTIONS, ReuseDiffuseExtender, ReuseDiffuseSampler, settings_problem
from vidlift.nodes.latent_shift import TemporalShiftPatcher
from vidlift.nodes.text2video_zero import CrossFrameAttentionPatcher, MotionLatentWarp, Text2VideoZeroSampler
from vidlift.nodes.core.text2video_zero import indices_problem

NAN, INF = float("nan"), float("inf")
Z = {"samples": torch.zeros(4, 4, 8, 8)}


def calls(unet, conds, bad):
    v = lambda name, good: bad if name == bad_name[0] else good  # noqa: E731
    bad_name = [None]
    return bad_name, {
        "Cross-Frame Attention Patcher: input 'strength'":
            lambda: CrossFrameAttentionPatcher.execute(unet, "first", v("strength", 1.0), True, True, True),
        "Temporal Shift Patcher: input 'shift_fraction'":
            lambda: TemporalShiftPatcher.execute(unet, v("shift_fraction", 0.1), "before conv1", "zero", 1.0,
                                                 True, True, True),
        "Temporal Shift Patcher: input 'strength'":
            lambda: TemporalShiftPatcher.execute(unet, 0.1, "before conv1", "zero", v("strength", 1.0), True, True, True),
        "Text2Video-Zero Sampler: input 'cfg'":
            lambda: Text2VideoZeroSampler.execute(unet, *conds, Z, 0, v("cfg", 5.0), 1.0, 1.0, 4, 1, 2, 0),
        "Text2Video-Zero Sampler: input 'motion_x'":
            lambda: Text2VideoZeroSampler.execute(unet, *conds, Z, 0, 5.0, v("motion", 1.0), 1.0, 4, 1, 2, 0),
        "Motion-Latent Warp: input 'motion_y'":
            lambda: MotionLatentWarp.execute(unet, Z, Z, 4, 1.0, v("motion", 1.0), 4, 1, 2, 0),
        "LPFF Filter: input 'd_s'":
            lambda: LPFFFilter.execute(Z, "gaussian", "temporal only", v("d_s", 1.0), 0.5, 4, 0),
        "LPFF Filter: input 'd_t'":
            lambda: LPFFFilter.execute(Z, "gaussian", "temporal only", 1.0, v("d_t", 0.5), 4, 0),
        "Reuse-Diffuse Extender: input 'cfg'":
            lambda: ReuseDiffuseExtender.execute(unet, *conds, Z, 0, 2, v("cfg", 5.0), 2, 1, 4.0, 0.4, DIRECTIONS[0], True),
        "Reuse-Diffuse Extender: input 'noise_recycle'":
            lambda: ReuseDiffuseExtender.execute(unet, *conds, Z, 0, 2, 5.0, 2, 1, v("recycle", 4.0), 0.4,
                                                 DIRECTIONS[0], True),
        "Reuse-Diffuse Sampler: input 'cfg'":
            lambda: ReuseDiffuseSampler.execute(unet, *conds, Z, 0, 2, v("cfg", 5.0)),
    }


PARAM = {"Cross-Frame Attention Patcher: input 'strength'": "strength",
         "Temporal Shift Patcher: input 'shift_fraction'": "shift_fraction",
         "Temporal Shift Patcher: input 'strength'": "strength", "Text2Video-Zero Sampler: input 'cfg'": "cfg",
         "Text2Video-Zero Sampler: input 'motion_x'": "motion",
         "Motion-Latent Warp: input 'motion_y'": "motion", "LPFF Filter: input 'd_s'": "d_s",
         "LPFF Filter: input 'd_t'": "d_t", "Reuse-Diffuse Extender: input 'cfg'": "cfg",
         "Reuse-Diffuse Extender: input 'noise_recycle'": "recycle",
         "Reuse-Diffuse Sampler: input 'cfg'": "cfg"}


@pytest.mark.parametrize("value", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("message", list(PARAM))
def test_non_finite_floats_are_refused_by_name(unet, conds, message, value):
    bad_name, table = calls(unet, conds, value)
    table[message]()                                   # the good values run (or at least pass the checks)
    bad_name[0] = PARAM[message]
    with pytest.raises(NodeInputError) as err:
        table[message]()
    assert str(err.value).startswith(message + ": ")


def test_queue_time_checks_refuse_nan_and_out_of_range():
    assert settings_problem(2, NAN, 0.4)[0] == "noise_recycle" and "≥ 0 and ≤ 100" in settings_problem(2, 1e3, 0.4)[1]
    assert settings_problem(2, 4.0, NAN)[0] == "staged_guidance" and "[0, 1]" in settings_problem(2, 4.0, NAN)[1]
    assert settings_problem(2, 100.0, 1.0) is None and settings_problem(1, 0.0, 0.0) is None
    assert "at most 1000" in indices_problem(1001, 44, 47)[1] and indices_problem(1000, 44, 999) is None
    assert not math.isfinite(NAN) and not (0.0 <= NAN <= 1.0)    # why a range check written this way refuses NaN


def test_an_unknown_combo_value_is_refused_not_replaced_by_a_default(unet, conds):
    """ComfyUI 0.3.75 does not check V3 combo values at queue time; an API prompt can send anything."""
    with pytest.raises(NodeInputError, match="Reuse-Diffuse Extender: input 'direction': must be one of"):
        ReuseDiffuseExtender.execute(unet, *conds, Z, 0, 2, 5.0, 2, 1, 4.0, 0.4, "sideways", True)
    with pytest.raises(NodeInputError, match="Cross-Frame Attention Patcher: input 'anchor'"):
        CrossFrameAttentionPatcher.execute(unet, "last", 1.0, True, True, True)
    with pytest.raises(NodeInputError, match="LPFF Filter: input 'mode'"):
        LPFFFilter.execute(Z, "gaussian", "spatial", 1.0, 0.5, 4, 0)
