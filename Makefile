# Every target runs `make setup` first (idempotent): .venv, a real ComfyUI, .comfy_base/ with the pack linked.
PY   := .venv/bin/python
PORT ?= 8188

.PHONY: setup demo serve test test-fast bench workflows thumbnails docs clean

setup:
	@bash scripts/setup.sh

demo: setup              ## the main job: text2video_zero.json in a headless ComfyUI -> output/*.mp4
	@$(PY) scripts/demo.py

serve: setup             ## ComfyUI with the pack and its UI on 127.0.0.1:$(PORT)
	@$(PY) scripts/serve.py $(PORT)

test: setup              ## all three test tiers (CI runs this)
	@$(PY) -m pytest tests

test-fast: setup         ## tiers a and b only
	@$(PY) -m pytest tests/tensor tests/inprocess

bench: setup             ## ratios against baselines measured in the same run (not part of make test)
	@$(PY) bench/run.py $(BENCH_ARGS)

workflows: setup         ## regenerate workflows/*.json from scripts/make_workflows.py
	@$(PY) scripts/make_workflows.py

thumbnails: setup        ## template-browser pictures workflows/*.jpg, taken in headless Chromium
	@$(PY) scripts/make_thumbnails.py

docs: setup              ## node help pages js/docs/*.md and locales/en/nodeDefs.json from the live schemas
	@$(PY) scripts/make_docs.py

clean:
	rm -rf .venv .comfy .comfy_base output .pytest_cache
