"""Train Temporal Shift LoRA with ComfyUI's real modules: a tiny U-Net and VAE on moving squares, on CPU."""
import os

import pytest
import safetensors.torch
import torch

import comfy.lora
import comfy.model_management
import comfy.utils
import folder_paths
import nodes as comfy_nodes
from comfy_test_nodes import tiny
from inprocess.helpers import denoise_once
from vidlift.nodes.glue import shift_lora_training as training
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.latent_shift_trainer import TrainTemporalShiftLoRA
from vidlift.nodes.latent_shift import TemporalShiftPatcher
from tolerance import fp32_close

FRAMES, SIZE = 8, 64
SETTINGS = dict(lora_name="shift_test", frames_per_clip=FRAMES, steps=30, learning_rate=1e-2, rank=8, clips_per_step=1,
                seed=0, shift_fraction=0.125, position="before conv1", boundary="zero", targets="all U-Net layers",
                training_dtype="auto", gradient_checkpointing=False, video_folder="", max_frames_per_video=64,
                width=SIZE, height=SIZE)


def moving_squares(clips=2, frames=FRAMES, size=SIZE):
    """IMAGE batch of `clips` clips: a yellow square moving 4 px right per frame on a blue background."""
    out = torch.empty(clips * frames, size, size, 3)
    for c in range(clips):
        for f in range(frames):
            x, y = 4 + 4 * f + 6 * c, 16 + 10 * c
            out[c * frames + f] = torch.tensor([0.1, 0.2, 0.3])
            out[c * frames + f, y:y + 16, x:x + 16] = torch.tensor([0.9, 0.8, 0.1])
    return out


@pytest.fixture(scope="module")
def parts():
    return dict(model=tiny.unet_model(seed=0), vae=tiny.vae_model(), clip=tiny.clip_model(),
                positive=tiny.conditioning(10), images=moving_squares())


@pytest.fixture(scope="module", autouse=True)
def temp_directory(tmp_path_factory):
    """The node's loss-curve preview goes to ComfyUI's temp folder: keep it out of the ComfyUI install."""
    saved = folder_paths.get_temp_directory()
    folder_paths.set_temp_directory(str(tmp_path_factory.mktemp("comfy_temp")))
    yield
    folder_paths.set_temp_directory(saved)


@pytest.fixture(scope="module")
def loras(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loras")
    saved = folder_paths.folder_names_and_paths["loras"]
    folder_paths.folder_names_and_paths["loras"] = ([str(folder)], saved[1])
    yield folder
    folder_paths.folder_names_and_paths["loras"] = saved


def train(parts, **changes):
    """Run the node as ComfyUI does (inside inference mode); returns (model, loss curve, file name)."""
    images = changes.pop("images", parts["images"])
    args = dict(SETTINGS, **changes)
    inputs = dict({k: parts[k] for k in ("model", "vae", "positive")}, images=images)
    with torch.inference_mode():
        return TrainTemporalShiftLoRA.execute(**inputs, **args).args


def shift(model, **kw):
    return TemporalShiftPatcher.execute(model, kw.get("fraction", 0.125), "before conv1", "zero", 1.0, True, True,
                                        True).args[0]


def with_lora(model, clip, name, strength=1.0):
    return comfy_nodes.LoraLoader().load_lora(model, clip, name, strength, strength)[0]


def clips_latents(parts):
    lf = parts["model"].get_model_object("latent_format")
    with torch.no_grad():
        z = lf.process_in(parts["vae"].encode(parts["images"]))
    return [z[:FRAMES], z[FRAMES:]]


def eps_loss(model, parts, sigmas=(0.05, 0.3, 1.0, 3.0, 10.0)):
    """‖ε − ε̂‖² of the paper, measured another way: one CFGGuider step per (clip, σ), ε̂ = (x − x̂0)/σ."""
    g, total, n = torch.Generator().manual_seed(123), 0.0, 0
    for z0 in clips_latents(parts):
        for s in sigmas:
            eps = torch.randn(z0.shape, generator=g)
            x0, _, _ = denoise_once(model, z0 + s * eps, s, parts["positive"], parts["positive"], cfg=1.0)
            total, n = total + torch.mean((eps - (z0 + s * eps - x0) / s) ** 2).item(), n + 1
    return total / n


@pytest.fixture(scope="module")
def trained(parts, loras):
    before = denoise_once(parts["model"], clips_latents(parts)[0], 2.0, parts["positive"], parts["positive"])[0]
    model, curve, name = train(parts)
    after = denoise_once(parts["model"], clips_latents(parts)[0], 2.0, parts["positive"], parts["positive"])[0]
    return dict(model=model, curve=curve, name=name, path=os.path.join(loras, name), base_before=before,
                base_after=after)


def test_training_lowers_the_loss_and_leaves_the_input_model_alone(parts, trained):
    assert trained["name"] == "shift_test.safetensors" and os.path.isfile(trained["path"])
    plain = eps_loss(shift(parts["model"]), parts)
    lora = eps_loss(with_lora(shift(parts["model"]), parts["clip"], trained["name"]), parts)
    assert lora < 0.75 * plain, (plain, lora)
    assert torch.equal(trained["base_before"], trained["base_after"])      # no weight wrapper or patch left behind


def test_node_model_is_lora_loader_plus_patcher_in_either_order(parts, trained):
    x = clips_latents(parts)[0]
    run = lambda m: denoise_once(m, x, 2.0, parts["positive"], tiny.conditioning(11))[0]   # noqa: E731
    node = run(trained["model"])
    lora_then_shift = run(shift(with_lora(parts["model"], parts["clip"], trained["name"])))
    shift_then_lora = run(with_lora(shift(parts["model"]), parts["clip"], trained["name"]))
    shift_only = run(shift(parts["model"]))
    assert fp32_close(node, lora_then_shift) and fp32_close(node, shift_then_lora)
    assert (node - shift_only).abs().amax() > 1e-2                          # LoRA + shift: the LoRA's effect is there
    assert (run(with_lora(parts["model"], parts["clip"], trained["name"])) - run(parts["model"])).abs().amax() > 1e-2


def test_every_saved_key_reaches_a_unet_weight(parts, trained):
    sd = safetensors.torch.load_file(trained["path"])
    ups = [k for k in sd if k.endswith(".lora_up.weight")]
    assert len(sd) == 3 * len(ups) and all(k.startswith("lora_unet_") for k in sd)
    assert "lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight" in sd      # kohya-style names
    conv = sd["lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight"]
    assert conv.shape == (8, 32, 3, 3) and sd["lora_unet_down_blocks_0_resnets_0_conv1.alpha"].item() == 8.0
    key_map = comfy.lora.model_lora_keys_unet(parts["model"].model, {})
    patches = comfy.lora.load_lora(sd, key_map)
    targets = {n + ".weight" for n, m in parts["model"].model.named_modules()
               if n.startswith("diffusion_model.") and getattr(m, "weight", None) is not None and m.weight.ndim >= 2}
    assert set(patches) == targets                                              # all keys read, every weight covered


def test_same_seed_same_lora_other_seed_other_lora(parts, trained, loras):
    _, curve, name = train(parts, lora_name="shift_again")
    _, _, other = train(parts, lora_name="shift_seed1", seed=1, steps=2)
    _, _, short = train(parts, lora_name="shift_seed0_short", steps=2)
    first, again = (safetensors.torch.load_file(os.path.join(loras, n)) for n in (trained["name"], name))
    assert first.keys() == again.keys() and all(torch.equal(first[k], again[k]) for k in first)
    assert torch.equal(curve, trained["curve"])
    a, b = (safetensors.torch.load_file(os.path.join(loras, n)) for n in (short, other))
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_gradient_checkpointing_trains_the_same_lora(parts, loras):
    """Recomputation in backward happens after the U-Net call: it must still shift (chunks restored)."""
    _, _, on = train(parts, lora_name="gc_on", steps=3, gradient_checkpointing=True)
    _, _, off = train(parts, lora_name="gc_off", steps=3, gradient_checkpointing=False)
    a, b = (safetensors.torch.load_file(os.path.join(loras, n)) for n in (on, off))
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-4, rtol=0) for k in a)
    downs = [a[k].abs().amax() > 1e-3 for k in a if "lora_down" in k]          # trained (down starts at zero)
    assert sum(downs) > 0.9 * len(downs)


def test_loss_curve_image(trained):
    curve = trained["curve"]
    assert curve.shape == (1, 256, 512, 3) and curve.dtype == torch.float32
    assert 0.0 <= curve.min() < 0.5 < curve.max() <= 1.0
    assert (curve[0, :, :, 2] - curve[0, :, :, 0]).amax() > 0.5                 # the blue running mean is drawn


def test_an_interrupted_training_leaves_no_file(parts, loras, monkeypatch):
    target = loras / "shift_interrupted.safetensors"
    target.write_bytes(b"an older file of that name")

    def hook(value, total, preview, node_id=None):
        if value == 3:
            comfy.model_management.interrupt_current_processing(True)
    monkeypatch.setattr(comfy.utils, "PROGRESS_BAR_HOOK", hook)
    with pytest.raises(comfy.model_management.InterruptProcessingException):
        train(parts, lora_name="shift_interrupted", steps=10)
    assert target.read_bytes() == b"an older file of that name"
    assert not [f for f in os.listdir(loras) if f.endswith(".tmp")]


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken(sd, path, metadata=None):
        with open(path, "wb") as f:
            f.write(b"half a file")
        raise KeyboardInterrupt
    monkeypatch.setattr(safetensors.torch, "save_file", broken)
    with pytest.raises(KeyboardInterrupt):
        training.save_atomic({"a": torch.zeros(1)}, str(tmp_path / "x.safetensors"), {})
    assert os.listdir(tmp_path) == []


def test_a_model_loaded_in_inference_mode_trains(parts, loras):
    """ComfyUI loads checkpoints inside torch.inference_mode: such weights cannot be saved for backward."""
    with torch.inference_mode():
        model = tiny.unet_model(seed=0)
    _, _, name = train(dict(parts, model=model), lora_name="shift_inference", steps=2, gradient_checkpointing=True)
    assert os.path.isfile(os.path.join(loras, name))


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_loss_weight_is_the_models_own_target(prediction):
    """loss_weight·‖x̂0 − z0‖² = ‖ε − ε̂‖² (eps) or ‖v − v̂‖² (v, diffusers' v = √ᾱ·ε − √(1−ᾱ)·z0)."""
    import comfy.model_sampling as ms_mod
    kind = ms_mod.EPS if prediction == "eps" else ms_mod.V_PREDICTION

    class Sampling(ms_mod.ModelSamplingDiscrete, kind):
        pass
    ms = Sampling(None)
    g = torch.Generator().manual_seed(0)
    z0, eps, out = (torch.randn(2, 4, 3, 3, generator=g) for _ in range(3))
    for t in (3, 250, 900):
        sigma = ms.sigmas[t]
        abar = 1.0 / (1.0 + sigma ** 2)
        x = z0 + sigma * eps
        x0 = ms.calculate_denoised(sigma.view(1), out, x)
        target = eps if prediction == "eps" else abar.sqrt() * eps - (1 - abar).sqrt() * z0
        want = torch.sum((out - target) ** 2)
        got = training.loss_weight(ms, sigma) * torch.sum((x0 - z0) ** 2)
        assert torch.allclose(got, want, rtol=1e-3), (t, got, want)


@pytest.mark.parametrize("change,param,words", [
    (dict(shift_fraction=0.7), "shift_fraction", "between 0.005 and 0.5"),
    (dict(shift_fraction=0.0), "shift_fraction", "between 0.005 and 0.5"),
    (dict(frames_per_clip=1), "frames_per_clip", "between 2 and 512"),
    (dict(images=moving_squares()[:1]), "images", "at least 2 consecutive frames"),
    (dict(images=None), "images", "video_folder"),
    (dict(lora_name="../evil"), "lora_name", "without folders"),
    (dict(lora_name="sub/name"), "lora_name", "without folders"),
    (dict(lora_name=""), "lora_name", "empty"),
    (dict(video_folder="/etc"), "video_folder", "absolute"),
    (dict(video_folder="../outside"), "video_folder", "'..'"),
    (dict(width=60), "width", "multiples of 8"),
])
def test_bad_inputs_name_node_and_parameter(parts, loras, change, param, words):
    with pytest.raises(NodeInputError) as e:
        train(parts, **change)
    assert e.value.param == param and str(e.value).startswith(f"Train Temporal Shift LoRA: input '{param}'")
    assert words in str(e.value)
    queue_time = {k: v for k, v in dict(SETTINGS, **change).items() if k in (
        "lora_name", "shift_fraction", "frames_per_clip", "steps", "learning_rate", "rank", "clips_per_step", "width",
        "height", "max_frames_per_video", "video_folder")}
    answer = TrainTemporalShiftLoRA.validate_inputs(**queue_time)
    if param != "images":                                                       # an IMAGE is only seen at run time
        assert isinstance(answer, str) and f"input '{param}'" in answer and words in answer


def test_an_unsupported_family_and_an_unwritable_loras_folder_are_refused(parts, tmp_path, monkeypatch):
    with pytest.raises(NodeInputError, match="Train Temporal Shift LoRA: input 'model': model family .*MMDITWrapper"):
        train(dict(parts, model=tiny.unsupported_model()))
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the loras folder should be")
    monkeypatch.setitem(folder_paths.folder_names_and_paths, "loras", ([str(blocker / "loras")], {".safetensors"}))
    with pytest.raises(NodeInputError, match="input 'lora_name': cannot write into ComfyUI's loras folder"):
        train(parts, steps=1)


def write_video(path, frames, fps=8):
    """IMAGE [F, H, W, 3] → an H.264 mp4 (PyAV), as users would drop into ComfyUI's input folder."""
    import av
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": "10"}
        for f in frames:
            img = av.VideoFrame.from_ndarray((f * 255).round().byte().numpy(), format="rgb24")
            container.mux(stream.encode(img))
        container.mux(stream.encode())


@pytest.fixture
def input_dir(tmp_path, monkeypatch):
    root = tmp_path / "input"
    (root / "clips").mkdir(parents=True)
    frames = moving_squares(clips=1, frames=10)[:, 8:56]            # 10 frames of 64×48
    write_video(root / "clips" / "a.mp4", frames)
    write_video(root / "clips" / "b.mp4", frames.flip(2))
    (root / "clips" / "notes.txt").write_text("not a video")
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "escape")
    monkeypatch.setattr(folder_paths, "input_directory", str(root))
    return root


def test_a_video_folder_becomes_clips_of_consecutive_frames(input_dir):
    from vidlift.nodes.glue.shift_lora_data import gather_clips
    clips, captions = gather_clips("Train Temporal Shift LoRA", None, "", "clips", str(input_dir), 4, 9, 32, 32)
    assert captions == [None] * 4
    assert [c.shape[0] for c in clips] == [4, 4, 4, 4]          # 9 frames read: 4 + 4, the 1-frame tail dropped
    assert all(c.shape[1:] == (32, 32, 3) for c in clips)
    # a.mp4 frame 1: the square at x 8..24, y 8..24 of 64×48; centre crop x 8..56, scale 2/3 → x 0..11, y 5..16
    first = clips[0][1]
    assert torch.allclose(first[5:11, 1:7].mean((0, 1)), torch.tensor([0.9, 0.8, 0.1]), atol=0.08)
    assert torch.allclose(first[24:, 20:].mean((0, 1)), torch.tensor([0.1, 0.2, 0.3]), atol=0.05)
    mirrored = clips[2][1]                                        # b.mp4 is a.mp4 mirrored left-right
    assert torch.allclose(mirrored[5:11, 25:31].mean((0, 1)), torch.tensor([0.9, 0.8, 0.1]), atol=0.08)


def test_training_from_a_video_folder(parts, loras, input_dir):
    _, _, name = train(parts, images=None, video_folder="clips", lora_name="from_videos", steps=2, frames_per_clip=4)
    assert os.path.isfile(os.path.join(loras, name))


@pytest.mark.parametrize("folder,words", [("escape", "leads outside"), ("clips/../..", "'..'"), ("missing", "no folder"),
                                          (".", "no video files")])
def test_folders_outside_the_input_directory_are_refused(parts, loras, input_dir, folder, words):
    with pytest.raises(NodeInputError, match="Train Temporal Shift LoRA: input 'video_folder'") as e:
        train(parts, images=None, video_folder=folder, steps=1)
    assert words in str(e.value)


def test_a_flux_model_trains_a_lora_its_loader_reads(loras):
    """Flux family: the velocity loss (flow weight 1/σ²), LoRA keys ComfyUI's loader maps onto every linear
    weight of the DiT, and the trained model differs from the shifted one. Needs the DiT shift hook."""
    from comfy_test_nodes import tiny_dit
    from vidlift.nodes.glue.model_families import adapter_for
    flux = tiny_dit.flux()
    problem = adapter_for(flux).missing("temporal shift")
    if problem:
        pytest.skip(f"this ComfyUI: {problem}")
    g = torch.Generator().manual_seed(2)
    cond = [[torch.randn(1, 5, 32, generator=g), {"pooled_output": torch.randn(1, 32, generator=g)}]]

    class FluxVAE:                                   # stands in for ae.safetensors: 16 channels at /8
        def encode(self, pixels):
            x = pixels.movedim(-1, 1)
            return torch.nn.functional.avg_pool2d(x, 8).repeat(1, 6, 1, 1)[:, :16]
    with torch.inference_mode():
        model, _, name = TrainTemporalShiftLoRA.execute(
            flux, FluxVAE(), cond, **dict(SETTINGS, lora_name="flux_shift", steps=3, gradient_checkpointing=True,
                                          images=moving_squares(clips=1))).args
    sd = safetensors.torch.load_file(os.path.join(loras, name))
    patches = comfy.lora.load_lora(sd, comfy.lora.model_lora_keys_unet(flux.model, {}))
    linear = {n + ".weight" for n, m in flux.model.named_modules()
              if n.startswith("diffusion_model.") and getattr(m, "weight", None) is not None and m.weight.ndim >= 2}
    assert set(patches) == linear                                   # every key read, every DiT weight covered
    assert any("double_blocks_0_img_attn_qkv" in k for k in sd)
    training_loss = training.loss_weight(flux.get_model_object("model_sampling"), torch.tensor(0.5))
    assert training_loss == pytest.approx(4.0)                      # flow: ‖u − û‖² = ‖x̂0 − z0‖²/σ²


def test_other_families_and_resblock_targets_on_a_dit_are_refused(parts, loras):
    from comfy_test_nodes import tiny_dit
    from vidlift.nodes.glue.model_families import adapter_for
    qwen, flux = tiny_dit.qwen_image(), tiny_dit.flux()
    with pytest.raises(NodeInputError, match="Train Temporal Shift LoRA: input 'model'.*Qwen-Image"):
        train(dict(parts, model=qwen))
    if adapter_for(flux).missing("temporal shift") is None:
        with pytest.raises(NodeInputError, match="input 'targets'.*Flux model has none"):
            train(dict(parts, model=flux), targets="ResBlocks only")
