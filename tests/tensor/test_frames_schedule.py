import torch

from vidlift.nodes.core.frames import anchor_frames, as_chunks, chunk_count, previous_frames
from vidlift.nodes.core.schedule import (alphas_cumprod, ddim_sigmas, ddim_step, ddpm_forward, leading_timesteps,
                                    timestep_of, ve_to_vp, vp_to_ve)


def sd_sigma_table():
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2  # SD "scaled_linear"
    ac = torch.cumprod(1 - betas, 0)
    return ((1 - ac) / ac).sqrt().float()


def test_chunks_are_frames_of_one_conditioning_each():
    x = torch.arange(6.0).view(6, 1)
    opts = {"cond_or_uncond": [1, 0]}
    assert chunk_count(opts) == 2 and chunk_count({}) == 1
    assert as_chunks(x, opts)[:, :, 0].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert as_chunks(x, {"cond_or_uncond": [1, 0, 0]}).shape == (3, 2, 1)


def test_anchor_and_previous_indices():
    assert anchor_frames(4).tolist() == [0, 0, 0, 0]
    assert anchor_frames(3, 7).tolist() == [2, 2, 2]
    assert previous_frames(4).tolist() == [0, 0, 1, 2]


def test_leading_timesteps_match_diffusers_ddim():
    assert leading_timesteps(50)[:3] == [981, 961, 941] and leading_timesteps(50)[-1] == 1
    assert leading_timesteps(50)[5] == 881 and len(leading_timesteps(50)) == 50
    assert leading_timesteps(30)[:2] == [958, 925]  # VideoElevator's AnimateLCM script: T2I DDIM-30 is 958, 925, …


def test_ddim_sigmas_and_timestep_roundtrip():
    table = sd_sigma_table()
    s = ddim_sigmas(table, 50)
    assert len(s) == 51 and s[-1] == 0 and torch.equal(s[0], table[981])
    assert ddim_sigmas(table, 50, final="alpha0")[-1] == table[0]
    assert [timestep_of(table, float(v)) for v in s[:-1]] == leading_timesteps(50)


def test_vp_ve_conversion():
    table = sd_sigma_table()
    ac = alphas_cumprod(table)
    x0, eps, t = torch.randn(3), torch.randn(3), 500
    ve = x0 + table[t] * eps                             # ComfyUI state
    vp = ac[t].sqrt() * x0 + (1 - ac[t]).sqrt() * eps     # DDPM z_t
    assert torch.allclose(ve_to_vp(ve, table[t]), vp.float(), atol=1e-6)
    assert torch.allclose(vp_to_ve(vp.float(), table[t]), ve, atol=1e-5)


def test_ddpm_forward_hand_computed():
    table = sd_sigma_table()
    ac = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod(table)])
    z0, eps = torch.tensor([0.5, -1.0]), torch.tensor([1.0, 2.0])
    x = vp_to_ve(z0, table[881])
    out = ve_to_vp(ddpm_forward(x, table, 881, 941, eps), table[941])
    a = torch.prod(1 - (1 - ac[1:] / ac[:-1])[881:941])        # diffusers: prod(scheduler.alphas[881:941])
    assert torch.allclose(out.double(), (a.sqrt() * z0 + (1 - a).sqrt() * eps).double(), atol=1e-6)
    exact = ve_to_vp(ddpm_forward(x, table, 881, 941, eps, reference_off_by_one=False), table[941])
    a2 = ac[942] / ac[882]
    assert torch.allclose(exact.double(), (a2.sqrt() * z0 + (1 - a2).sqrt() * eps).double(), atol=1e-6)
    assert not torch.allclose(out, exact, atol=1e-5)


def test_ddim_step_then_inversion_returns():
    x0, x = torch.randn(5), torch.randn(5) * 3
    y = ddim_step(x, x0, 3.0, 1.0)
    assert torch.allclose(y, x0 + (x - x0) / 3.0, atol=1e-6)
    assert torch.allclose(ddim_step(y, x0, 1.0, 3.0), x, atol=1e-6)


def test_preview_grid_lays_the_frames_out_in_rows():
    from vidlift.nodes.core.frames import preview_grid
    x0 = torch.arange(6, dtype=torch.float32).view(6, 1, 1, 1).expand(6, 2, 3, 4).clone()   # frame f is all f
    grid = preview_grid(x0, 16)
    assert grid.shape == (1, 2, 2 * 3, 3 * 4)                    # 6 frames: 3 per row, 2 rows
    cells = grid[0, 0].view(2, 3, 3, 4).permute(0, 2, 1, 3)      # [row, col, h, w]
    assert [float(cells[r, c].mean()) for r in range(2) for c in range(3)] == [0, 1, 2, 3, 4, 5]
    four = preview_grid(x0, 4)                                   # evenly spaced, first and last kept, 2 × 2
    assert four.shape == (1, 2, 6, 8) and four[0, 0, ::3, ::4].flatten().tolist() == [0, 2, 3, 5]
    assert preview_grid(x0, 1).shape == (1, 2, 3, 4)
    video = x0.movedim(0, 1).unsqueeze(0)                        # [1, C, F, h, w]
    assert torch.equal(preview_grid(video, 16, dim=2)[:, :, 0], grid)
