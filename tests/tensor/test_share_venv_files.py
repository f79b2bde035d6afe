"""scripts/share_venv_files.py: only files equal in path, size and bytes become hard links, and a later pip-style
rewrite (remove, write anew) in one virtualenv leaves the other's file as it was."""
import os

import share_venv_files as share

BIG = share.MIN_BYTES + 10


def venv(root, name, files):
    site = root / name / "lib" / "python3.11" / "site-packages"
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
    return root / name, site


def inode(path):
    return os.stat(path).st_ino


def test_equal_large_files_are_linked_and_nothing_else(tmp_path, capsys):
    same, other = b"t" * BIG, b"t" * (BIG - 1) + b"u"
    files = {"torch/lib.so": same, "torch/other.so": same, "small.py": b"x = 1\n"}
    a, site_a = venv(tmp_path, ".venv", files)
    b, site_b = venv(tmp_path, ".venv-0.33.0", {**files, "torch/other.so": other, "only_b.so": same})
    share.main([str(a), str(b), str(tmp_path / ".venv-missing")])
    assert inode(site_a / "torch/lib.so") == inode(site_b / "torch/lib.so")
    assert inode(site_a / "torch/other.so") != inode(site_b / "torch/other.so")      # same size, other bytes
    assert inode(site_a / "small.py") != inode(site_b / "small.py")                  # below MIN_BYTES
    assert (site_b / "torch/other.so").read_bytes() == other and (site_b / "only_b.so").read_bytes() == same
    assert not list(site_b.rglob("*.vidlift-link"))
    assert "share 0.0 GB" in capsys.readouterr().out
    assert share.share(str(site_a), str(site_b)) == 0                               # a second run: nothing left


def test_a_reinstall_in_one_virtualenv_leaves_the_other_alone(tmp_path):
    a, site_a = venv(tmp_path, ".venv", {"torch/lib.so": b"1" * BIG})
    b, site_b = venv(tmp_path, ".venv-0.33.0", {"torch/lib.so": b"1" * BIG})
    share.main([str(a), str(b)])
    os.remove(site_b / "torch/lib.so")                       # what pip does when it upgrades a package
    (site_b / "torch/lib.so").write_bytes(b"2" * BIG)
    assert (site_a / "torch/lib.so").read_bytes() == b"1" * BIG
