import os

import pytest

from vidlift.nodes.glue.video_clips import clip_bounds, resolve_input_folder


@pytest.mark.parametrize("frames,per_clip,bounds", [
    (16, 8, [(0, 8), (8, 16)]),
    (10, 4, [(0, 4), (4, 8), (8, 10)]),      # a 2-frame tail is a clip
    (9, 4, [(0, 4), (4, 8)]),                # a 1-frame tail has no neighbour: dropped
    (5, 16, [(0, 5)]),                       # fewer frames than a clip: one shorter clip
    (1, 4, []),
])
def test_clip_bounds(frames, per_clip, bounds):
    assert clip_bounds(frames, per_clip) == bounds


def test_only_folders_inside_the_input_directory(tmp_path):
    inp = tmp_path / "input"
    (inp / "clips" / "sub").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    os.symlink(tmp_path / "secret", inp / "link")
    assert resolve_input_folder("clips", str(inp)) == str((inp / "clips").resolve())
    assert resolve_input_folder("clips/sub/..", str(inp)) == str((inp / "clips").resolve())   # stays inside
    for name, words in [(str(tmp_path / "secret"), "absolute"), ("../secret", "leads outside"),
                        ("clips/../../secret", "leads outside"), ("link", "leads outside"), ("nope", "no folder"),
                        ("  ", "empty")]:
        with pytest.raises(ValueError, match=words):
            resolve_input_folder(name, str(inp))
