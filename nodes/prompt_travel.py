"""Prompt Schedule node: prompt travel along a long video (lines `frame: prompt`), for the Context-Guided Sampler,
the Reuse-Diffuse Sampler and the Extender (core/prompt_schedule.py, glue/prompt_travel.py)."""
from __future__ import annotations

from comfy_api.latest import io

from .core.errors import answer, fail
from .core.prompt_schedule import parse_schedule
from .glue.prompt_travel import encode_schedule

NODE = "Prompt Schedule"


def text_problem(schedule):
    why = parse_schedule(schedule)[1]
    return None if why is None else ("schedule", why)


class PromptSchedule(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_PromptSchedule", display_name=NODE, category="VidLift/Long video",
            description="Prompt travel: one prompt per line, `frame: prompt`, the first at frame 0; each prompt holds "
                        "until the next line's frame. Connect it as the positive of the Context-Guided Sampler, the "
                        "Reuse-Diffuse Sampler or the Extender: each window or clip takes the prompt of its frames, "
                        "and a window or clip across a switch blends the two prompts' text embeddings in the "
                        "proportion of its frames on each side (its context or overlap frames count for the earlier "
                        "prompt). One line is exactly CLIP Text Encode. Reuse-Diffuse counts frames on the video "
                        "joined without repeats (clip k starts at k·(N − M)); native video models count pixel frames.",
            inputs=[
                io.Clip.Input("clip", tooltip="The text encoder of the model that samples (as for CLIP Text Encode)."),
                io.String.Input("schedule", multiline=True,
                                default="0: a red disk moving right on a blue background\n"
                                        "32: a green disk moving right on a blue background",
                                tooltip="Lines `frame: prompt`, frames increasing, the first 0 (blank lines and # "
                                        "comments are skipped)."),
            ],
            outputs=[io.Conditioning.Output(tooltip="The prompts with their start frames: a CONDITIONING for the "
                                                    "long-video samplers' positive.")],
        )

    @classmethod
    def validate_inputs(cls, schedule):
        return answer(NODE, text_problem(schedule) if isinstance(schedule, str) else None)

    @classmethod
    def execute(cls, clip, schedule):
        fail(NODE, text_problem(schedule))
        return io.NodeOutput(encode_schedule(clip, parse_schedule(schedule)[0]))


NODES = [PromptSchedule]
