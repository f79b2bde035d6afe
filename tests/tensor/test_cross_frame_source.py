import torch

from vidlift.nodes.core.cross_frame_attention import CrossFrameAttentionPatch, cross_frame_source


def frames_tensor(chunks, frames, tokens=3, dim=2):
    # value = 100·chunk + 10·frame + token, so every row says where it came from
    c = torch.arange(chunks).view(chunks, 1, 1, 1) * 100
    f = torch.arange(frames).view(1, frames, 1, 1) * 10
    t = torch.arange(tokens).view(1, 1, tokens, 1)
    return (c + f + t).expand(chunks, frames, tokens, dim).reshape(chunks * frames, tokens, dim).float()


def test_first_frame_anchor_stays_in_its_chunk():
    src = cross_frame_source(frames_tensor(2, 4), chunks=2).view(2, 4, 3, 2)
    assert torch.equal(src[0], frames_tensor(1, 4)[:1].expand(4, 3, 2))               # chunk 0 → its frame 0
    assert (src[1, :, :, 0] // 100 == 1).all() and (src[1, :, :, 0] % 100 // 10 == 0).all()


def test_sparse_causal_concatenates_first_and_previous():
    src = cross_frame_source(frames_tensor(1, 4), 1, anchor="first+previous")
    assert src.shape == (4, 6, 2)
    frame_of_token = (src[:, :, 0] // 10).tolist()
    assert frame_of_token == [[0] * 6, [0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1], [0, 0, 0, 2, 2, 2]]


def test_strength_interpolates_between_self_and_anchor():
    h = torch.randn(6, 5, 4)
    assert torch.allclose(cross_frame_source(h, 2, strength=0.0), h)
    half = cross_frame_source(h, 2, strength=0.5)
    assert torch.allclose(half, 0.5 * h + 0.5 * cross_frame_source(h, 2), rtol=0, atol=1e-6)   # lerp rounding


def test_patch_respects_blocks_and_single_frames():
    patch = CrossFrameAttentionPatch(blocks=("output",))
    h = torch.randn(4, 5, 3)
    opts = {"cond_or_uncond": [1, 0], "block": ("input", 1)}
    assert patch(h, h, h, opts)[1] is h                               # input block not selected
    _, k, v = patch(h, h, h, {**opts, "block": ("output", 2)})
    assert k is v and torch.equal(k[1], h[0]) and torch.equal(k[3], h[2])
    one = torch.randn(2, 5, 3)                                         # one frame per chunk: identity
    assert patch(one, one, one, {**opts, "block": ("output", 2)})[1] is one
