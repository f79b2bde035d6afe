"""sampling_math on hand-made model_sampling objects (EPS: x = x₀ + σ·ε; flow: x = (1 − σ)·x₀ + s·σ·ε)."""
import pytest
import torch

from vidlift.nodes.core import sampling_math as sm
from vidlift.nodes.core import schedule
from vidlift.nodes.core.text2video_zero import sample_text2video_zero


class HandEPS:
    def noise_scaling(self, sigma, noise, latent_image, max_denoise=False):
        return sigma * noise + latent_image

    def calculate_input(self, sigma, noise):
        return noise / (sigma ** 2 + 1.0) ** 0.5


class HandFlow:
    def __init__(self, noise_scale=1.0):
        self.noise_scale = noise_scale

    def noise_scaling(self, sigma, noise, latent_image, max_denoise=False):
        return sigma * (self.noise_scale * noise) + (1.0 - sigma) * latent_image

    def calculate_input(self, sigma, noise):
        return noise


SCHEDULES = {"eps": (HandEPS(), 14.6, 0.9), "flow": (HandFlow(), 0.8, 0.25), "flow8": (HandFlow(8.0), 0.8, 0.25)}


def rel(a, b):
    return float((a - b).norm() / b.norm())


def test_coefficients_hand_values():
    eps, flow, flow8 = (sm.coefficients(SCHEDULES[k][0]) for k in ("eps", "flow", "flow8"))
    for s in (0.0, 0.3, 1.0, 7.5):
        assert (eps.a(s), eps.b(s), eps.c_in(s)) == (1.0, s, 1.0 / (1.0 + s * s) ** 0.5)
    for s in (0.0, 0.3, 1.0):
        assert (flow.a(s), flow.b(s), flow.c_in(s)) == (1.0 - s, s, 1.0)
        assert (flow8.a(s), flow8.b(s)) == (1.0 - s, 8.0 * s)


@pytest.mark.parametrize("name", SCHEDULES)
def test_ddim_step_then_inversion_returns_start(name):
    ms, hi, lo = SCHEDULES[name]
    co, g = sm.coefficients(ms), torch.Generator().manual_seed(0)
    x0, eps = torch.randn(2, 4, 8, 8, generator=g, dtype=torch.float64), torch.randn(2, 4, 8, 8, generator=g,
                                                                                    dtype=torch.float64)
    start = co.a(hi) * x0 + co.b(hi) * eps
    down = sm.ddim_step(co, start, x0, hi, lo)                    # exact x̂₀ oracle
    assert rel(down, co.a(lo) * x0 + co.b(lo) * eps) <= 1e-12     # the step lands on the same ε
    assert rel(sm.ddim_invert(co, down, sm.eps_from_x0(co, down, x0, lo), lo, hi), start) <= 1e-5
    assert rel(sm.ddim_step(co, down, x0, lo, hi), start) <= 1e-5
    assert rel(sm.x0_from_eps(co, down, eps, lo), x0) <= 1e-12


@pytest.mark.parametrize("name", SCHEDULES)
def test_renoise_has_marginal_variance_b_squared(name):
    ms, hi, lo = SCHEDULES[name]
    co, g, n = sm.coefficients(ms), torch.Generator().manual_seed(1), 400_000
    x0 = torch.randn(n, generator=g, dtype=torch.float64)
    x_lo = co.a(lo) * x0 + co.b(lo) * torch.randn(n, generator=g, dtype=torch.float64)
    x_hi = sm.renoise(co, x_lo, lo, hi, torch.randn(n, generator=g, dtype=torch.float64))
    residual = x_hi - co.a(hi) * x0                                # the noise of x_σ given x₀
    var = co.b(hi) ** 2
    tol = 5 * var * (2 / (n - 1)) ** 0.5                         # 5 std of a sample variance of n normals
    assert abs(float(residual.var()) - var) <= tol
    assert abs(float(residual.mean())) <= 5 * co.b(hi) / n ** 0.5


def test_flow_renoise_to_sigma_max_erases_the_state():
    co, x = sm.coefficients(HandFlow()), torch.randn(3, 5, dtype=torch.float64)
    e = torch.randn(3, 5, dtype=torch.float64)
    assert torch.equal(sm.renoise(co, x, 0.4, 1.0, e), sm.renoise(co, torch.zeros_like(x), 0.4, 1.0, e))
    with pytest.raises(ValueError):
        sm.renoise(co, x, 0.6, 0.4, e)                           # downwards is no forward process


def test_t2v_zero_refuses_t_at_flow_sigma_max():
    sigmas = torch.linspace(1, 0, 6)
    with pytest.raises(ValueError, match="t1=4"):                # T = sigmas[0] = 1
        sample_text2video_zero(lambda x, s: x, torch.zeros(2, 4, 8, 8), sigmas, t0=2, t1=4,
                               co=sm.coefficients(HandFlow()), disable=True)


def test_sd_paths_are_schedule_py_bit_for_bit():
    table, g = torch.linspace(0.03, 14.6, 1000), torch.Generator()
    g.manual_seed(2)
    x, d, e = (torch.randn(2, 4, 8, 8, generator=g) for _ in range(3))
    s, s2 = table[881].float(), table[941].float()
    eps = sm.coefficients(HandEPS())
    for co in (sm.VE, eps):
        assert torch.equal(sm.ddim_step(co, x, d, s, s2), d + (x - d) * (float(s2) / float(s)))
        assert torch.equal(sm.ddim_invert(co, x, e, s, s2), x + (float(s2) - float(s)) * e)
        assert torch.equal(sm.noised(co, d, e, s), d + s * e)
    assert torch.equal(sm.read_at(sm.VE, x, s, s2), x * ((1 + float(s2) ** 2) / (1 + float(s) ** 2)) ** 0.5)
    assert torch.equal(sm.from_vp(sm.VE, x, s), x * (1 + float(s) ** 2) ** 0.5)
    assert rel(sm.read_at(eps, x.double(), s, s2), schedule.read_at(x.double(), s, s2)) <= 1e-14
    assert rel(sm.from_vp(eps, x.double(), s), schedule.vp_to_ve(x.double(), s)) <= 1e-14
