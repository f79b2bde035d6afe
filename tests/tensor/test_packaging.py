"""Registry readiness: the real `comfy node validate` (comfy-cli, what the Registry runs before publishing) on the
repository; the fields it reads from pyproject.toml and its security lint (no exec/eval, one statement per line:
ruff S102, S307, E702) checked on their own too; run-time requirements without torch pins; a front end that
downloads nothing."""
import io
import os
import re
import shutil
import subprocess
import sys
import tokenize
import tomllib

from test_safety import ROOT, pack_sources

SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


def pyproject():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def test_registry_fields():
    p = pyproject()
    project, comfy = p["project"], p["tool"]["comfy"]
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", project["name"]) and "comfyui" not in project["name"].lower()
    assert SEMVER.match(project["version"])
    assert project["description"] and project["license"]
    assert project["urls"]["Repository"].startswith("https://")
    assert comfy["PublisherId"] and comfy["DisplayName"] and comfy["Icon"].startswith("https://")
    assert comfy["requires-comfyui"] == ">=0.3.75"


def test_requirements_are_the_run_time_ones_without_torch():
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        reqs = [line.split("#")[0].strip() for line in f if line.split("#")[0].strip()]
    names = [re.split(r"[<>=!~\[ ]", r)[0].lower() for r in reqs]
    assert sorted(names) == sorted(d.lower() for d in pyproject()["project"]["dependencies"])
    assert not {"torch", "torchvision", "torchaudio"} & set(names), "ComfyUI-Manager refuses torch pins"


def one_statement_per_line(source: str) -> list[int]:
    """Lines with a `;` statement separator (ruff E702)."""
    return [t.start[0] for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.OP
            and t.string == ";"]


def test_security_lint_of_comfy_node_validate():
    for path in pack_sources():
        assert one_statement_per_line(open(path).read()) == [], path
    assert one_statement_per_line("a = 1; b = 2\n") == [1]


def test_front_end_is_served_and_downloads_nothing():
    init = open(os.path.join(ROOT, "__init__.py")).read()
    assert 'WEB_DIRECTORY = "./js"' in init
    scripts = [f for f in os.listdir(os.path.join(ROOT, "js")) if f.endswith(".js")]
    assert scripts
    for name in scripts:
        text = open(os.path.join(ROOT, "js", name)).read()
        assert not re.search(r"https?://|fetch\(|XMLHttpRequest|\beval\(|new Function", text), name


def comfy_node_validate(directory, home) -> str:
    """`comfy node validate` in `directory`, telemetry off, comfy-cli's config kept in `home`; its output."""
    comfy = os.path.join(os.path.dirname(sys.executable), "comfy")
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home))
    out = subprocess.run([comfy, "--skip-prompt", "--no-enable-telemetry", "node", "validate"], cwd=directory,
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr          # comfy-cli prints its verdicts (rich) on stderr


def test_comfy_node_validate_passes(tmp_path):
    out = comfy_node_validate(ROOT, tmp_path)
    assert "All validation checks passed" in out and "warning" not in out.lower(), out


def test_comfy_node_validate_reports_what_the_registry_refuses(tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), pack)
    (pack / "bad.py").write_text("x = eval('1'); y = 2\n")
    out = comfy_node_validate(pack, tmp_path)
    assert "Security warnings found" in out and "S307" in out and "E702" in out, out
