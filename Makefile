# Every target runs `make setup` first (idempotent): .venv, a real ComfyUI, .comfy_base/ with the pack linked.
# One virtualenv and state folder per ComfyUI (COMFYUI_PATH=… → .venv-<folder name>), so that two ComfyUIs'
# requirement sets never fight; the default ComfyUI 0.3.75 uses .venv.
VIDLIFT_ENV ?= $(if $(COMFYUI_PATH),-$(notdir $(abspath $(COMFYUI_PATH))),)
export VIDLIFT_ENV
PY   := .venv$(VIDLIFT_ENV)/bin/python
PORT ?= 8188

COMFYUI_033 ?= ../shared/comfyui/0.33.0

.PHONY: setup demo serve test test-fast test-all lint bench workflows thumbnails docs gallery clean

setup:
	@bash scripts/setup.sh

demo: setup              ## the main job: text2video_zero.json in a headless ComfyUI -> output/*.mp4
	@$(PY) scripts/demo.py

serve: setup             ## ComfyUI with the pack and its UI on 127.0.0.1:$(PORT)
	@$(PY) scripts/serve.py $(PORT)

TESTS ?= tests
test: setup              ## all three test tiers (CI runs this); TESTS=… narrows it, COMFYUI_PATH=… picks the ComfyUI
	@$(PY) -m pytest $(TESTS)

test-fast: setup         ## tiers a and b only
	@$(PY) -m pytest tests/tensor tests/inprocess

test-all:                ## what CI runs: `make test` on ComfyUI 0.33 (COMFYUI_033) and on the default 0.3.75
	@$(MAKE) --no-print-directory test COMFYUI_PATH=$(COMFYUI_033) VIDLIFT_ENV=-$(notdir $(abspath $(COMFYUI_033)))
	@$(MAKE) --no-print-directory test COMFYUI_PATH= VIDLIFT_ENV=

lint: setup              ## ruff over the whole repository (rules in pyproject.toml); CI runs it first
	@$(PY) -m ruff check .

bench: setup             ## ratios against baselines measured in the same run (not part of make test)
	@$(PY) bench/run.py $(BENCH_ARGS)

workflows: setup         ## regenerate workflows/*.json from scripts/make_workflows.py
	@$(PY) scripts/make_workflows.py

thumbnails: setup        ## template-browser pictures workflows/*.jpg, taken in headless Chromium
	@$(PY) scripts/make_thumbnails.py

docs: setup              ## node help pages js/docs/*.md and locales/en/nodeDefs.json from the live schemas
	@$(PY) scripts/make_docs.py

gallery: setup           ## README pictures docs/gallery/*.gif: each paper's node on the toy models (~3 min)
	@$(PY) scripts/make_gallery.py

clean:
	rm -rf .venv .venv-* .comfy .comfy-* .comfy_base .comfy_base-* output .pytest_cache
