"""What the canvas shows: every pack node is under VidLift/, has a description, and a tooltip on every socket."""
PACK_PREFIX = "VidLift_"


def pack_nodes(object_info):
    return {k: v for k, v in object_info.items() if k.startswith(PACK_PREFIX)}


def test_nodes_are_registered_with_stable_ids(object_info):
    assert {"VidLift_CrossFrameAttention", "VidLift_MotionLatentWarp",
            "VidLift_Text2VideoZeroSampler"} <= set(pack_nodes(object_info))
    assert not [k for k in object_info if k.startswith("VidLiftTest_") and object_info[k]["category"].startswith("VidLift/")]


def test_description_category_and_tooltips_everywhere(object_info):
    for node_id, info in pack_nodes(object_info).items():
        assert info["category"].split("/")[0] == "VidLift", node_id
        assert len(info["description"]) > 40, node_id
        for section in ("required", "optional"):
            for name, spec in (info["input"].get(section) or {}).items():
                assert len(spec) > 1 and spec[1].get("tooltip"), f"{node_id}.{name} has no tooltip"
        tips = info.get("output_tooltips") or []
        assert len(tips) == len(info["output"]) and all(tips), f"{node_id} outputs lack tooltips"
