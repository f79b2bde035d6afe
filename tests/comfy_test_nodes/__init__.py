"""Test-only ComfyUI nodes (loaded by the server tests, never shipped as pack nodes)."""
from comfy_api.latest import ComfyExtension, io

from . import tiny

_CACHE = {}


class TinyCheckpointLoader(io.ComfyNode):
    """Stands in for CheckpointLoaderSimple: same input name, same outputs, tiny random weights."""

    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="VidLiftTest_TinyCheckpointLoader", display_name="Tiny Checkpoint (tests)",
                         category="VidLiftTest", description="Tiny random-weight SD1.x-architecture model.",
                         inputs=[io.String.Input("ckpt_name", default="tiny", tooltip="ignored")],
                         outputs=[io.Model.Output(), io.Clip.Output(), io.Vae.Output()])

    @classmethod
    def execute(cls, ckpt_name):
        if "model" not in _CACHE:
            _CACHE.update(model=tiny.unet_model(), clip=tiny.clip_model(), vae=tiny.vae_model())
        return io.NodeOutput(_CACHE["model"], _CACHE["clip"], _CACHE["vae"])


class TinyDiTLoader(io.ComfyNode):
    """A tiny random Flux DiT: a MODEL that is not an SD U-Net."""

    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="VidLiftTest_TinyDiTLoader", display_name="Tiny DiT (tests)", category="VidLiftTest",
                         description="Tiny random-weight Flux DiT.", inputs=[], outputs=[io.Model.Output()])

    @classmethod
    def execute(cls):
        if "dit" not in _CACHE:
            _CACHE["dit"] = tiny.dit_model()
        return io.NodeOutput(_CACHE["dit"])


class TinyUnsupportedLoader(io.ComfyNode):
    """A tiny random SD3 MMDiT: a MODEL of a family VidLift does not serve."""

    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="VidLiftTest_TinyUnsupportedLoader", display_name="Tiny SD3 (tests)",
                         category="VidLiftTest", description="Tiny random-weight SD3 MMDiT.", inputs=[],
                         outputs=[io.Model.Output()])

    @classmethod
    def execute(cls):
        if "sd3" not in _CACHE:
            _CACHE["sd3"] = tiny.unsupported_model()
        return io.NodeOutput(_CACHE["sd3"])


class TinySVDLoader(io.ComfyNode):
    """Stands in for ImageOnlyCheckpointLoader: only its VAE (a tiny SVD VideoDecoder) is real."""

    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="VidLiftTest_TinySVDLoader", display_name="Tiny SVD VAE (tests)",
                         category="VidLiftTest", description="Tiny random-weight SVD temporal VAE decoder.",
                         inputs=[io.String.Input("ckpt_name", default="tiny", tooltip="ignored")],
                         outputs=[io.Model.Output(), io.ClipVision.Output(), io.Vae.Output()])

    @classmethod
    def execute(cls, ckpt_name):
        if "svd_vae" not in _CACHE:
            _CACHE["svd_vae"] = tiny.temporal_vae_model()
        return io.NodeOutput(None, None, _CACHE["svd_vae"])


class TestExtension(ComfyExtension):
    async def get_node_list(self):
        return [TinyCheckpointLoader, TinyDiTLoader, TinyUnsupportedLoader, TinySVDLoader]


async def comfy_entrypoint():
    return TestExtension()
