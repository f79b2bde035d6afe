"""DiT cross-frame K/V (Text2Video-Zero Eq. 6 on a joint [text | image | reference] sequence), pure tensors."""
from __future__ import annotations

import pytest
import torch
from vidlift.nodes.glue.dit_cross_frame import (
    DiTCrossFramePatch,
    cross_frame_kv,
    image_token_range,
)

TXT, IMG, REF = 2, 4, 3


def kv(batch=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, 2, TXT + IMG + REF, 5, generator=g, dtype=torch.float64) for _ in range(2))


def test_image_range_leaves_out_the_reference_tail():
    opts = {"img_slice": [TXT, TXT + IMG + REF], "reference_image_num_tokens": [1, 2]}
    assert image_token_range(opts, TXT + IMG + REF) == (TXT, TXT + IMG)
    assert image_token_range({}, 7) == (0, 7)


def test_first_takes_the_anchor_rows_of_each_chunk_on_image_tokens_only():
    k, v = kv()
    opts = {"img_slice": [TXT, TXT + IMG + REF], "reference_image_num_tokens": [REF], "cond_or_uncond": [1, 0],
            "block_type": "single"}
    out = DiTCrossFramePatch("first")(k, k, v, pe=None, extra_options=opts)
    for t, t2 in ((k, out["k"]), (v, out["v"])):
        assert t2.shape == t.shape and "pe" not in out
        assert torch.equal(t2[:, :, :TXT], t[:, :, :TXT]) and torch.equal(t2[:, :, TXT + IMG:], t[:, :, TXT + IMG:])
        for row in range(6):
            anchor = 0 if row < 3 else 3                               # chunk-local frame 0
            assert torch.equal(t2[row, :, TXT:TXT + IMG], t[anchor, :, TXT:TXT + IMG])


def test_first_previous_appends_the_previous_frame_and_its_positions():
    k, v = kv(batch=3)
    pe = torch.randn(1, 1, TXT + IMG + REF, 2, 2, 2, dtype=torch.float64)
    k2, v2, pe2 = cross_frame_kv(k, v, pe, TXT, TXT + IMG, chunks=1, anchor="first+previous")
    assert k2.shape[2] == TXT + IMG + REF + IMG and torch.equal(pe2[:, :, -IMG:], pe[:, :, TXT:TXT + IMG])
    assert torch.equal(pe2[:, :, :TXT + IMG + REF], pe)
    for row, prev in enumerate((0, 0, 1)):
        assert torch.equal(k2[row, :, -IMG:], k[prev, :, TXT:TXT + IMG])
        assert torch.equal(v2[row, :, TXT:TXT + IMG], v[0, :, TXT:TXT + IMG])


def test_strength_blends_and_other_blocks_are_left_alone():
    k, v = kv(batch=2)
    half = DiTCrossFramePatch("first", 0.5)(k, k, v, extra_options={"img_slice": [TXT, TXT + IMG]})
    expected = 0.5 * (k[1, :, TXT:TXT + IMG] + k[0, :, TXT:TXT + IMG])
    assert torch.allclose(half["k"][1, :, TXT:TXT + IMG], expected, rtol=0, atol=4 * torch.finfo(k.dtype).eps * 8)
    assert DiTCrossFramePatch("first", blocks=("double",))(k, k, v, extra_options={"block_type": "single"}) == {}
    assert DiTCrossFramePatch("first")(k[:1], k[:1], v[:1], extra_options={}) == {}   # one frame: nothing


def test_first_previous_with_a_text_mask_is_refused_clearly():
    k, v = kv(batch=2)
    with pytest.raises(ValueError, match="first\\+previous.*mask"):
        DiTCrossFramePatch("first+previous")(k, k, v, attn_mask=torch.zeros(2, 1, 9), extra_options={})
