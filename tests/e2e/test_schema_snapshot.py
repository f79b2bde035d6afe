"""Shared workflows depend on node IDs, input names and types: changing one must be deliberate.

The snapshot is tests/e2e/schema_snapshot.json; after an intended change, regenerate it with
`VIDLIFT_UPDATE_SNAPSHOT=1 make test` and commit it. A new input must have a default (old workflows load).
"""
import json
import os

SNAPSHOT = os.path.join(os.path.dirname(__file__), "schema_snapshot.json")


def pack_schema(object_info):
    schema = {}
    for node_id, info in sorted(object_info.items()):
        if not node_id.startswith("VidLift_"):
            continue
        inputs = {}
        for section in ("required", "optional"):
            for name, spec in (info["input"].get(section) or {}).items():
                kind = spec[0] if isinstance(spec[0], str) else "COMBO"
                inputs[name] = {"type": kind, "section": section, "has_default": "default" in (spec[1] if len(spec) > 1 else {})}
        schema[node_id] = {"inputs": inputs, "outputs": list(info["output"])}
    return schema


def test_node_schemas_match_the_snapshot(object_info):
    current = pack_schema(object_info)
    if os.environ.get("VIDLIFT_UPDATE_SNAPSHOT"):
        with open(SNAPSHOT, "w") as f:
            json.dump(current, f, indent=1, sort_keys=True)
            f.write("\n")
    with open(SNAPSHOT) as f:
        saved = json.load(f)
    for node_id, node in saved.items():
        assert node_id in current, f"node {node_id} disappeared: shared workflows would show a red node"
        assert current[node_id]["outputs"] == node["outputs"], f"{node_id}: outputs changed"
        for name, spec in node["inputs"].items():
            assert current[node_id]["inputs"].get(name, {}).get("type") == spec["type"], f"{node_id}.{name} changed"
        for name, spec in current[node_id]["inputs"].items():
            if name not in node["inputs"] and spec["type"] in ("INT", "FLOAT", "BOOLEAN", "STRING", "COMBO"):
                assert spec["has_default"] or spec["type"] == "COMBO", f"new input {node_id}.{name} needs a default"
    assert set(current) == set(saved), "new nodes: add them to the snapshot (VIDLIFT_UPDATE_SNAPSHOT=1)"
