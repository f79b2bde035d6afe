"""Toy world: scenes with known ground truth (world.py) and metrics read back from pixels (metrics.py).

A package under scripts/ rather than nodes/: it is a development and benchmark tool, never loaded by ComfyUI, pure
torch/numpy so the tier-a tests and the trainer import it without a ComfyUI runtime. Two modules because rendering and
measuring must stay independent: the metrics see only pixels, never the scene that made them.
"""
