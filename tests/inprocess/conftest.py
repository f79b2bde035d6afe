import pytest
import torch

from comfy_test_nodes import tiny


@pytest.fixture(scope="session")
def unet():
    return tiny.unet_model(seed=0)


@pytest.fixture(scope="session")
def conds():
    return tiny.conditioning(10), tiny.conditioning(11)


@pytest.fixture
def video():
    g = torch.Generator().manual_seed(3)
    return torch.randn(5, 4, 8, 8, generator=g) * 3.0


@pytest.fixture
def progress(monkeypatch):
    """What the nodes report to comfy.utils.ProgressBar: ("total", n) on creation, then (value, total) updates."""
    import comfy.utils
    log = []

    class Bar:
        def __init__(self, total, *a, **k):
            log.append(("total", total))

        def update_absolute(self, value, total=None, preview=None):
            log.append((value, total))
    monkeypatch.setattr(comfy.utils, "ProgressBar", Bar)
    return log
