"""Toy world: the scene generator and the pixel metrics, on clips whose exact values are known."""
import math

import numpy as np
import pytest
import torch

from toy_world import metrics, world


def _scene(shape="disk", colour="red", bg="blue", size=8.0, start=(20.0, 30.0), velocity=(2.0, 0.0), **kw):
    return world.Scene(colour, shape, bg, size, start, velocity, **kw)


def test_same_seed_same_clip_and_different_seeds_differ():
    a, ta = world.make_clip(7, frames=4)
    b, tb = world.make_clip(7, frames=4)
    c, _ = world.make_clip(8, frames=4)
    assert torch.equal(a, b) and ta["caption"] == tb["caption"]
    assert not torch.equal(a, c)
    assert a.shape == (4, 64, 64, 3) and a.dtype == torch.float32 and 0 <= a.min() and a.max() <= 1


def test_random_clips_read_back_as_their_caption():
    for seed in range(12):
        frames, truth = world.make_clip(seed, frames=3)
        colour, shape, bg = metrics.parse_caption(truth["caption"])
        assert colour != bg
        for f, area, cent in zip(frames, truth["area"], truth["centroid"]):
            s = metrics.frame_stats(f)
            assert (s["object_colour"], s["shape"], s["background"]) == (colour, shape, bg), seed
            # Flat colours classify exactly, so the mask is the rendered one: area and centroid are exact.
            assert s["area"] == area
            assert torch.allclose(s["centroid"], torch.from_numpy(cent), rtol=0, atol=1e-12)


def test_parse_caption_accepts_ball_and_rejects_unknown_words():
    assert metrics.parse_caption("a red ball on a blue background") == ("red", "disk", "blue")
    assert metrics.parse_caption("A green triangle on a white background.") == ("green", "triangle", "white")
    with pytest.raises(ValueError, match="cannot parse caption"):
        metrics.parse_caption("a purple disk on a blue background")


def test_integer_motion_gives_exact_speed_and_zero_smoothness():
    # A 2 px/frame horizontal shift moves the raster by exactly two columns, so the centroid moves by exactly 2.
    frames, _ = world.render(_scene(velocity=(2.0, 0.0)), frames=8)
    m = metrics.video_metrics(frames, "a red disk on a blue background")
    assert m["speed"] == pytest.approx(2.0, abs=1e-12)
    assert m["smoothness"] == pytest.approx(0.0, abs=1e-12)
    assert m["area_cv"] == 0.0 and m["fidelity"] == 1.0 and m["flicker"] == 0.0


def test_subpixel_motion_speed_within_the_quantisation_bound():
    # Per row, the disk's pixels are consecutive integers inside a chord centred on cx, so their mean is within 1/2
    # of cx; the centroid (a weighted mean of row means) is within 1/2 per coordinate, and likewise in y. A
    # displacement is then off by < 1 per coordinate: |speed error| < sqrt(2), second difference < 2 sqrt(2).
    v = (1.3, 0.7)
    frames, truth = world.render(_scene(start=(16.3, 17.9), velocity=v), frames=10)
    assert truth["centre"][-1][0] < 64 - 10  # no bounce in this clip: the true path is a straight line
    m = metrics.video_metrics(frames, "a red disk on a blue background")
    assert abs(m["speed"] - math.hypot(*v)) < math.sqrt(2)
    assert m["smoothness"] < 2 * math.sqrt(2)
    assert np.abs(truth["centroid"] - truth["centre"]).max() < 0.5


def test_static_clip_has_zero_motion_and_flicker():
    frames = world.render(_scene(velocity=(0.0, 0.0), gradient=(0.03, -0.02)), frames=5)[0]
    m = metrics.video_metrics(frames, "a red disk on a blue background")
    assert m == {**m, "speed": 0.0, "smoothness": 0.0, "flicker": 0.0, "area_cv": 0.0,
                 "fidelity": 1.0, "colour_consistency": 1.0, "shape_consistency": 1.0}


def test_one_wrong_colour_frame_lowers_fidelity_to_f_minus_1_over_f():
    scene = _scene()
    frames = world.render(scene, frames=6)[0]
    scene.object_colour = "yellow"
    frames[3] = world.render(scene, frames=6)[0][3]
    m = metrics.video_metrics(frames, "a red ball on a blue background")
    assert m["fidelity"] == pytest.approx(5 / 6) and m["colour_consistency"] == pytest.approx(5 / 6)
    assert m["shape_fidelity"] == 1.0


def test_background_step_in_one_frame_gives_known_flicker():
    # Frame 2's background brighter by d: the pairs (1,2) and (2,3) change by d, the others by 0 -> 2d/(F-1).
    frames = world.render(_scene(velocity=(0.0, 0.0), bg="green"), frames=5)[0]
    d = 0.05
    bg = metrics.frame_stats(frames[2])["background_mask"]
    frames[2][bg] += d
    m = metrics.video_metrics(frames, "a red disk on a green background")
    assert m["flicker"] == pytest.approx(2 * d / 4, abs=1e-6)  # float32 storage of 0.1 + 0.05: ~1e-8 each
    assert m["fidelity"] == 1.0


@pytest.mark.parametrize("size", [6.5, 9.0, 12.25])
def test_shapes_classified_across_sizes_and_subpixel_positions(size):
    for shape in world.SHAPES:
        for cx, cy in [(30.0, 31.0), (30.25, 29.6), (31.5, 30.5), (29.9, 33.3)]:
            m = torch.from_numpy(world.shape_mask(shape, size, cx, cy, 64))
            ys, xs = torch.nonzero(m, as_tuple=True)
            assert metrics.shape_of(m, torch.stack([xs.double().mean(), ys.double().mean()])) == shape


@pytest.mark.parametrize("r", [4.0, 6.3, 9.5, 15.0])
def test_disk_area_within_the_pixelation_bound(r):
    # Pixel squares of centres inside the disk lie within radius r + sqrt(2)/2 and cover radius r - sqrt(2)/2.
    h = math.sqrt(2) / 2
    for cx, cy in [(31.0, 31.0), (31.37, 30.81), (30.5, 30.5)]:
        n = int(world.shape_mask("disk", r, cx, cy, 64).sum())
        assert math.pi * (r - h) ** 2 <= n <= math.pi * (r + h) ** 2
    assert int(world.shape_mask("square", 7.5, 30.3, 29.8, 64).sum()) == 15 * 15  # half-open: side exactly 2s


def test_bouncing_keeps_the_object_inside_with_a_background_border():
    scene = _scene(shape="triangle", size=10.0, start=(30.0, 20.0), velocity=(5.3, -3.1))
    frames, truth = world.render(scene, frames=40)
    c = truth["centre"]
    lo, hi = scene.size + 1, 62 - scene.size  # a one-pixel margin on a 64-pixel image
    assert (c >= lo - 1e-9).all() and (c <= hi + 1e-9).all()
    steps = np.diff(c, axis=0)
    assert ((steps[1:] * steps[:-1]) < 0).any(axis=0).all()  # both velocity components reverse at least once
    assert (np.linalg.norm(steps, axis=1) <= math.hypot(5.3, 3.1) + 1e-9).all()  # reflection never speeds up
    blue = torch.tensor(world.PALETTE["blue"])
    for f in frames:
        border = torch.cat([f[0], f[-1], f[:, 0], f[:, -1]])
        assert torch.allclose(border, blue.expand_as(border))


def test_metrics_robust_to_noise_of_sigma_0_03():
    # Palette colours are >= 0.65 apart and a gradient moves a colour by <= 0.104, so a pixel is mislabelled only
    # if the noise projected on a palette direction exceeds 0.325 - 0.104 = 0.22 = 7.4 sigma: P < 5 * 1e-13 per
    # pixel, ~1e-7 over this clip. So the masks, areas and centroids equal the clean ones.
    scene = _scene(shape="square", colour="black", bg="green", gradient=(0.04, 0.02), velocity=(1.7, 1.1))
    clean, _ = world.render(scene, frames=8)
    noisy = (clean + 0.03 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    a = metrics.video_metrics(clean, scene.caption)
    b = metrics.video_metrics(noisy, scene.caption)
    for k in ("fidelity", "shape_fidelity", "speed", "smoothness", "area_cv"):
        assert b[k] == pytest.approx(a[k], abs=1e-12), k
    assert b["flicker"] > a["flicker"]  # the noise itself is flicker: measured, not hidden


def test_blurred_frames_keep_colour_and_shape():
    # A 3x3 box blur (a stand-in for a VAE's softened edges) blends only the edge band; the interior keeps its
    # class, so colours, shape and motion read the same.
    scene = _scene(shape="triangle", colour="yellow", bg="black", size=11.0)
    frames, _ = world.render(scene, frames=6)
    x = frames.permute(0, 3, 1, 2)
    blurred = torch.nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False).permute(0, 2, 3, 1)
    m = metrics.video_metrics(blurred, scene.caption)
    assert m["fidelity"] == 1.0 and m["shape_fidelity"] == 1.0
    assert m["speed"] == pytest.approx(2.0, abs=1e-9)
