"""Prompt travel's arithmetic (nodes/core/prompt_schedule.py): parsing, the prompts' weights over a window's frames,
the span of a Reuse-Diffuse clip, and the checks that name what is wrong."""
import pytest

from vidlift.nodes.core.prompt_schedule import (clip_span, contiguous_tail, parse_schedule, schedule_problem,
                                                span_weights)


def test_parse_lines_comments_and_blank_lines():
    entries, why = parse_schedule("0: a red disk\n\n# a comment\n 32 :a green disk, on blue \n")
    assert why is None and entries == [(0, "a red disk"), (32, "a green disk, on blue")]


@pytest.mark.parametrize("text,match", [
    ("", "is empty"), ("  \n# only a comment", "is empty"), ("4: late start", "starts at frame 4"),
    ("0: a\n16: b\n8: c", "frame 8 after frame 16"), ("0: a\n0: b", "frame 0 after frame 0"),
    ("0: a\nfrom 16 a green disk", "line 2"), ("0:", "line 1"),
])
def test_bad_schedules_say_what_is_wrong(text, match):
    entries, why = parse_schedule(text)
    assert entries == [] and match in why


def test_weights_count_the_frames_on_each_side_of_a_switch():
    assert span_weights([0, 32], range(0, 16)) == [1.0, 0.0]
    assert span_weights([0, 32], range(32, 48)) == [0.0, 1.0]
    assert span_weights([0, 32], range(24, 40)) == [0.5, 0.5]
    assert span_weights([0, 10, 12], [9, 10, 11, 12]) == [0.25, 0.5, 0.25]
    assert sum(span_weights([0, 5, 9], range(3, 14))) == pytest.approx(1.0)


def test_a_window_span_leaves_out_a_far_anchor_frame():
    assert contiguous_tail((0, 14, 15, 16)) == [14, 15, 16]
    assert contiguous_tail((0, 1, 2)) == [0, 1, 2] and contiguous_tail((7,)) == [7]


def test_clip_spans_start_overlap_frames_before_the_previous_clip_ends():
    assert [list(clip_span(k, 16, 4))[::15] for k in range(3)] == [[0, 15], [12, 27], [24, 39]]
    assert clip_span(0, 16, 0) == range(16)


def test_a_prompt_past_the_video_is_refused():
    assert schedule_problem([0, 32], 33) is None
    assert "past the video's last frame 31" in schedule_problem([0, 32], 32)
