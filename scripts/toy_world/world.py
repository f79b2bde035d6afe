"""Toy world: one flat object (disk, square, triangle) on a plain or softly graded background, moving in a straight
line at constant speed and bouncing at the edges. Deterministic from a seed; frames are float [F,H,W,3] in 0..1
(ComfyUI IMAGE layout).

Coordinates are in pixel units with pixel (row i, column j) centred at (x=j, y=i); a pixel belongs to the object
when its centre is inside the shape (hard edges, so the ground truth area and centroid are exact pixel counts).
"""
from dataclasses import dataclass, field

import numpy as np
import torch

# Min pairwise distance 0.65 (green-black): nearest-palette classification tolerates a deviation of up to 0.32.
PALETTE = {
    "red": (0.9, 0.1, 0.1), "green": (0.1, 0.7, 0.1), "blue": (0.1, 0.2, 0.9),
    "yellow": (0.95, 0.9, 0.1), "white": (0.95, 0.95, 0.95), "black": (0.05, 0.05, 0.05),
}
SHAPES = ("disk", "square", "triangle")
GRADIENT_MAX = 0.06  # per-channel brightness deviation of a graded background, at most (distance <= 0.104)
MARGIN = 1  # pixels kept free between the object and the image border, so the border is pure background


@dataclass
class Scene:
    """One clip's parameters. size: disk radius, square half-side, triangle circumradius (pixels)."""
    object_colour: str
    shape: str
    background: str
    size: float
    start: tuple  # (x, y) of the centre at frame 0
    velocity: tuple = (0.0, 0.0)  # pixels per frame
    gradient: tuple = (0.0, 0.0)  # brightness change per unit of x/W and y/H; (0, 0) is a uniform background
    resolution: int = 64
    extras: dict = field(default_factory=dict)

    @property
    def caption(self):
        return f"a {self.object_colour} {self.shape} on a {self.background} background"


def random_scene(seed, resolution=64):
    rng = np.random.default_rng(seed)
    names = list(PALETTE)
    background = names[rng.integers(len(names))]
    object_colour = [n for n in names if n != background][rng.integers(len(names) - 1)]
    shape = SHAPES[rng.integers(len(SHAPES))]
    size = float(rng.uniform(resolution / 10, resolution / 5))
    lo, hi = size + MARGIN, resolution - 1 - MARGIN - size
    start = tuple(float(v) for v in rng.uniform(lo, hi, 2))
    speed, angle = rng.uniform(0.5, 3.0), rng.uniform(0, 2 * np.pi)
    velocity = (float(speed * np.cos(angle)), float(speed * np.sin(angle)))
    gradient = (0.0, 0.0)
    if rng.random() < 0.5:
        g = rng.uniform(-1, 1, 2)
        gradient = tuple(float(v) for v in GRADIENT_MAX * g / np.abs(g).sum())  # |gx| + |gy| = GRADIENT_MAX
    return Scene(object_colour, shape, background, size, start, velocity, gradient, resolution)


def _fold(p, lo, hi):
    """Position of a point moving freely from lo, reflected between lo and hi (a triangle wave of period 2(hi-lo))."""
    span = hi - lo
    if span <= 0:
        return np.full_like(p, lo)
    q = np.mod(p - lo, 2 * span)
    return lo + span - np.abs(q - span)


def centres(scene, frames):
    """[F, 2] float64 centre (x, y) per frame: straight line at constant velocity, bouncing inside the margin."""
    t = np.arange(frames, dtype=np.float64)
    lo, hi = scene.size + MARGIN, scene.resolution - 1 - MARGIN - scene.size
    x = _fold(scene.start[0] + scene.velocity[0] * t, lo, hi)
    y = _fold(scene.start[1] + scene.velocity[1] * t, lo, hi)
    return np.stack([x, y], axis=1)


def shape_mask(shape, size, cx, cy, resolution):
    """[H, W] bool: pixel centres inside the shape. Square: half-open [c-s, c+s), so its side is exactly 2s pixels
    when 2s is an integer; triangle: upright equilateral with circumradius `size`, centroid at (cx, cy)."""
    y, x = np.meshgrid(np.arange(resolution, dtype=np.float64), np.arange(resolution, dtype=np.float64),
                       indexing="ij")
    dx, dy = x - cx, y - cy
    if shape == "disk":
        return dx * dx + dy * dy <= size * size
    if shape == "square":
        return (dx >= -size) & (dx < size) & (dy >= -size) & (dy < size)
    if shape == "triangle":
        # Edges: bottom y = s/2, and the two sides through the apex (0, -s); inside when below apex lines.
        s3 = np.sqrt(3.0)
        return (dy <= size / 2) & (s3 * dx - dy <= size) & (-s3 * dx - dy <= size)
    raise ValueError(f"toy world: unknown shape {shape!r}; expected one of {SHAPES}")


def background_image(scene):
    r = scene.resolution
    y, x = np.meshgrid(np.arange(r) / r - 0.5, np.arange(r) / r - 0.5, indexing="ij")
    shade = scene.gradient[0] * 2 * x + scene.gradient[1] * 2 * y  # within +-GRADIENT_MAX
    return np.clip(np.asarray(PALETTE[scene.background])[None, None, :] + shade[..., None], 0.0, 1.0)


def render(scene, frames=16):
    """Frames [F,H,W,3] float32 in 0..1 and the ground truth: names, caption, per-frame centre, mask area and mask
    centroid (the exact pixel-centre mean, what a perfect metric reads back)."""
    bg = background_image(scene)
    colour = np.asarray(PALETTE[scene.object_colour])
    out, areas, cents = [], [], []
    pos = centres(scene, frames)
    for cx, cy in pos:
        m = shape_mask(scene.shape, scene.size, cx, cy, scene.resolution)
        out.append(np.where(m[..., None], colour, bg))
        ys, xs = np.nonzero(m)
        areas.append(int(m.sum()))
        cents.append((xs.mean(), ys.mean()))
    truth = {"caption": scene.caption, "object_colour": scene.object_colour, "shape": scene.shape,
             "background": scene.background, "size": scene.size, "centre": pos,
             "area": np.asarray(areas), "centroid": np.asarray(cents, dtype=np.float64)}
    return torch.from_numpy(np.stack(out)).float(), truth


# image axes: x to the right, y downwards, so "up" is −y
DIRECTIONS = {"right": (1.0, 0.0), "left": (-1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}


def motion_scene(seed, direction=None, frames=16, resolution=64):
    """A scene whose object moves along one axis (`direction`, or one drawn from the seed) at 0.5–3 px/frame,
    starting far enough back on that axis that it crosses the frame without bouncing where the span allows;
    caption "a <colour> <shape> moving <direction> on a <colour> background" (Scene.extras["direction"])."""
    scene = random_scene(seed, resolution)
    rng = np.random.default_rng([seed, 7])
    direction = direction or list(DIRECTIONS)[rng.integers(len(DIRECTIONS))]
    speed = float(rng.uniform(0.5, 3.0))
    ux, uy = DIRECTIONS[direction]
    lo, hi = scene.size + MARGIN, resolution - 1 - MARGIN - scene.size
    travel = min(hi - lo, speed * (frames - 1))
    along = lo + float(rng.uniform(0, hi - lo - travel))        # position along the axis, measured from its start
    across = float(rng.uniform(lo, hi))
    start = lambda u: along if u > 0 else hi - (along - lo)      # noqa: E731
    scene.start = (start(ux), across) if ux else (across, start(uy))
    scene.velocity = (speed * ux, speed * uy)
    scene.extras["direction"] = direction
    return scene


def motion_caption(scene):
    return f"a {scene.object_colour} {scene.shape} moving {scene.extras['direction']} on a {scene.background} background"


def make_clip(seed, frames=16, resolution=64):
    """A random clip from a seed: (frames [F,H,W,3], truth)."""
    return render(random_scene(seed, resolution), frames)


def make_image(seed, resolution=64):
    """A random still image [1,H,W,3] and its truth (a clip of one frame)."""
    return make_clip(seed, 1, resolution)
