"""sampling_math on ComfyUI's own model_sampling classes, built as comfy.model_base.model_sampling does."""
import types

import pytest
import torch

import comfy.model_base
from vidlift.nodes.core import sampling_math as sm
from vidlift.nodes.core import schedule

MT = comfy.model_base.ModelType
KINDS = {"eps": (MT.EPS, {}), "v": (MT.V_PREDICTION, {}), "flow": (MT.FLOW, {"shift": 3.0, "multiplier": 1000}),
         "flux": (MT.FLUX, {"shift": 1.15})}


def sampling(kind):
    model_type, settings = KINDS[kind]
    return comfy.model_base.model_sampling(types.SimpleNamespace(sampling_settings=settings), model_type)


def levels(ms):
    """A high and a low level of the model's own schedule (table positions 80 % and 20 %)."""
    n = len(ms.sigmas)
    return float(ms.sigmas[int(0.8 * n)]), float(ms.sigmas[int(0.2 * n)])


def rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("kind", KINDS)
def test_coefficients_hand_values(kind):
    ms = sampling(kind)
    co = sm.coefficients(ms)
    flow = kind in ("flow", "flux")
    for s in levels(ms) + (float(ms.sigma_max),):
        assert (co.a(s), co.b(s)) == ((1.0 - s, s) if flow else (1.0, s))
    if flow:
        assert float(ms.sigma_max) == pytest.approx(1.0, abs=1e-6) and abs(co.a(1.0)) == 0.0


@pytest.mark.parametrize("kind", KINDS)
def test_ddim_step_then_inversion_returns_start(kind):
    ms = sampling(kind)
    co, (hi, lo), g = sm.coefficients(ms), levels(ms), torch.Generator().manual_seed(0)
    x0, eps = (torch.randn(2, 4, 8, 8, generator=g, dtype=torch.float64) for _ in range(2))
    start = co.a(hi) * x0 + co.b(hi) * eps
    down = sm.ddim_step(co, start, x0, hi, lo)                    # exact x̂₀ oracle
    assert rel(down, co.a(lo) * x0 + co.b(lo) * eps) <= 1e-12
    assert rel(sm.ddim_invert(co, down, sm.eps_from_x0(co, down, x0, lo), lo, hi), start) <= 1e-5


@pytest.mark.parametrize("kind", KINDS)
def test_renoise_has_marginal_variance_b_squared(kind):
    ms = sampling(kind)
    co, (hi, lo), g, n = sm.coefficients(ms), levels(ms), torch.Generator().manual_seed(1), 400_000
    x0 = torch.randn(n, generator=g, dtype=torch.float64)
    x_lo = co.a(lo) * x0 + co.b(lo) * torch.randn(n, generator=g, dtype=torch.float64)
    residual = sm.renoise(co, x_lo, lo, hi, torch.randn(n, generator=g, dtype=torch.float64)) - co.a(hi) * x0
    var = co.b(hi) ** 2
    assert abs(float(residual.var()) - var) <= 5 * var * (2 / (n - 1)) ** 0.5   # 5 std of a sample variance


@pytest.mark.parametrize("kind", ["eps", "v"])
def test_discrete_sd_equals_schedule_py(kind):
    ms = sampling(kind)
    co, table, g = sm.coefficients(ms), ms.sigmas.float(), torch.Generator().manual_seed(2)
    x, d, e = (torch.randn(2, 4, 8, 8, generator=g) for _ in range(3))
    s, s2 = table[881], table[941]
    assert torch.equal(sm.ddim_step(co, x, d, s2, s), schedule.ddim_step(x, d, s2, s))
    assert torch.equal(sm.ddim_invert(co, x, e, s, s2), schedule.ddim_invert(x, e, s, s2))
    assert torch.equal(sm.read_at(co, x, s, s2), x * ((1 + float(s2) ** 2) / (1 + float(s) ** 2)) ** 0.5)
    assert torch.equal(sm.from_vp(co, x, s), x * (1 + float(s) ** 2) ** 0.5)     # today's arithmetic, bit for bit
    xd = x.double()
    exact = schedule.ddpm_forward(xd, table, 881, 941, e.double(), reference_off_by_one=False)
    assert rel(sm.renoise(co, xd, table[881], table[941], e.double()), exact) <= 1e-12  # same float32 σ, float64 math
