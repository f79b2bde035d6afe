"""What the frontend shows beside the nodes: help pages, the English locale, template-browser entries with
thumbnails. Generated files must equal what the live schemas generate (scripts/make_docs.py)."""
import json
import os
import urllib.request

from PIL import Image

from comfy_env import ROOT
from make_docs import generated

WORKFLOWS = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "workflows")) if f.endswith(".json"))


def fetch(server, path):
    with urllib.request.urlopen(server.url + path, timeout=30) as r:
        return r.status, r.read()


def test_help_pages_and_locale_match_the_schemas(object_info):
    for rel, text in generated(object_info).items():
        path = os.path.join(ROOT, rel)
        assert os.path.exists(path), f"{rel} missing: run scripts/make_docs.py"
        with open(path, encoding="utf-8") as f:
            assert f.read() == text, f"{rel} is stale: run scripts/make_docs.py"


def test_help_pages_and_figures_are_served(server, object_info):
    for node_id in (k for k in object_info if k.startswith("VidLift_")):
        status, body = fetch(server, f"/extensions/vidlift/docs/{node_id}.md")
        assert status == 200 and body.decode().startswith("# " + object_info[node_id]["display_name"])
        status, png = fetch(server, f"/extensions/vidlift/docs/img/{node_id}.png")
        assert status == 200 and png[:8] == b"\x89PNG\r\n\x1a\n", f"no figure for {node_id}: run scripts/make_thumbnails.py"


def test_locale_reaches_the_frontend(server, object_info):
    status, body = fetch(server, "/i18n")
    defs = json.loads(body)["en"]["nodeDefs"]
    for node_id in (k for k in object_info if k.startswith("VidLift_")):
        assert defs[node_id]["display_name"] == object_info[node_id]["display_name"]


def test_every_workflow_is_a_template_with_a_thumbnail(server):
    status, body = fetch(server, "/workflow_templates")
    assert sorted(json.loads(body)["vidlift"]) == WORKFLOWS
    for name in WORKFLOWS:
        status, jpg = fetch(server, f"/api/workflow_templates/vidlift/{name}.jpg")
        assert status == 200, f"no thumbnail for {name}: run scripts/make_thumbnails.py"
        with Image.open(os.path.join(ROOT, "workflows", name + ".jpg")) as im:
            assert im.format == "JPEG" and im.width == 640
