"""Convert a workflow saved by the ComfyUI canvas (UI format) to the API format /prompt takes.

ComfyUI's backend has no such converter (the frontend's graphToPrompt does it). This covers what our
workflows use: widgets mapped positionally onto the node's widget inputs from /object_info
(required then optional), the "control after generate" value after seed widgets skipped, links
resolved, muted nodes dropped, bypassed nodes and Reroutes routed through, frontend-only nodes
(notes, primitives) left out.
"""
from __future__ import annotations

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"  # newer ComfyUI: a combo whose chosen option adds inputs "parent.child"
CONTROL_VALUES = {"fixed", "increment", "decrement", "randomize"}
MUTED, BYPASSED = 2, 4


def is_widget(value: list) -> bool:
    opts = value[1] if len(value) > 1 and isinstance(value[1], dict) else {}
    return (isinstance(value[0], list) or value[0] in WIDGET_TYPES or value[0] == DYNAMIC_COMBO) and not opts.get("hidden")


def widget_inputs(info: dict) -> list[tuple[str, list]]:
    return [(name, value) for section in ("required", "optional")
            for name, value in (info.get("input", {}).get(section) or {}).items() if is_widget(value)]


def assign_widgets(sections: dict, values: list, inputs: dict, prefix: str = "") -> None:
    """Map widgets_values in order onto widget inputs, expanding the chosen option of dynamic combos."""
    for name, spec in widget_inputs({"input": sections}):
        if not values:
            return
        inputs[prefix + name] = value = values.pop(0)
        if spec[0] == DYNAMIC_COMBO:
            option = next((o for o in spec[1].get("options", []) if o.get("key") == value), None)
            if option:
                assign_widgets(option.get("inputs", {}), values, inputs, prefix + name + ".")
        elif has_control_widget(name, spec) and values and values[0] in CONTROL_VALUES:
            values.pop(0)


def has_control_widget(name: str, value: list) -> bool:
    opts = value[1] if len(value) > 1 and isinstance(value[1], dict) else {}
    return value[0] == "INT" and (opts.get("control_after_generate") or name in ("seed", "noise_seed"))


def ui_to_api(workflow: dict, object_info: dict) -> dict:
    nodes = {n["id"]: n for n in workflow["nodes"]}
    links = {link[0]: link for link in workflow.get("links", [])}  # [id, from_node, from_slot, to_node, to_slot, type]

    def source(link_id):
        """Follow a link back through Reroutes and bypassed nodes to a real output."""
        _, node_id, slot, _, _, ltype = links[link_id]
        node = nodes[node_id]
        if node["type"] == "Reroute" or node.get("mode") == BYPASSED:
            for inp in node.get("inputs", []):
                if inp.get("link") is not None and (node["type"] == "Reroute" or inp.get("type") == ltype):
                    return source(inp["link"])
            return None
        return [str(node_id), slot]

    prompt = {}
    for node in workflow["nodes"]:
        info = object_info.get(node["type"])
        if info is None or node.get("mode") in (MUTED, BYPASSED):
            continue  # notes, primitives, reroutes (frontend-only) and switched-off nodes
        inputs, values = {}, list(node.get("widgets_values") or [])
        if isinstance(node.get("widgets_values"), dict):
            inputs.update(node["widgets_values"])
            values = []
        assign_widgets(info.get("input", {}), values, inputs)
        for inp in node.get("inputs", []):
            if inp.get("link") is not None:
                src = source(inp["link"])
                if src is not None:
                    inputs[inp["name"]] = src
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs,
                                   "_meta": {"title": node.get("title", info.get("display_name", node["type"]))}}
    return prompt
