"""VidLift: ComfyUI nodes that turn image diffusion models into video generators.

Loaded by ComfyUI from custom_nodes/. Nodes use the V3 schema (comfy_api.latest) and register
through `comfy_entrypoint`, which ComfyUI 0.3.75 and newer call.
"""
from comfy_api.latest import ComfyExtension, io

from .nodes.video_ldm import NODES as CONTEXT_GUIDED_NODES
from .nodes.temporal_vae_decode import NODES as TEMPORAL_VAE_DECODE_NODES
from .nodes.lpff import NODES as LPFF_NODES
from .nodes.vidrd import NODES as REUSE_DIFFUSE_NODES
from .nodes.latent_shift_trainer import NODES as SHIFT_LORA_TRAIN_NODES
from .nodes.latent_shift import NODES as TEMPORAL_SHIFT_NODES
from .nodes.text2video_zero import NODES as TEXT2VIDEO_ZERO_NODES
from .nodes.video_elevator import NODES as VIDEO_ELEVATOR_NODES
from .nodes.prompt_travel import NODES as PROMPT_TRAVEL_NODES

WEB_DIRECTORY = "./js"
NODES = [*TEXT2VIDEO_ZERO_NODES, *TEMPORAL_SHIFT_NODES, *LPFF_NODES, *REUSE_DIFFUSE_NODES,
         *TEMPORAL_VAE_DECODE_NODES, *SHIFT_LORA_TRAIN_NODES, *VIDEO_ELEVATOR_NODES, *CONTEXT_GUIDED_NODES,
         *PROMPT_TRAVEL_NODES]


class VidLiftExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return NODES


async def comfy_entrypoint() -> VidLiftExtension:
    return VidLiftExtension()


__all__ = ["WEB_DIRECTORY", "comfy_entrypoint"]
