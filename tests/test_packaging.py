"""pyproject.toml, requirements.lock and environment.yml must agree; notebooks must be runnable."""

import json
import re
import tomllib
from pathlib import Path

import yaml

from pipelines import cards

ROOT = Path(__file__).resolve().parent.parent


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].lower().replace("_", "-")


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("==", 1)
            pins[_name(name)] = version.split(";")[0].strip()
    return pins


def test_lock_pins_every_dependency_within_its_range():
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = _lock()
    for spec in project["dependencies"] + project["optional-dependencies"]["dev"]:
        req = Requirement(spec)
        name = _name(req.name)
        assert name in lock, f"{name} is not pinned in requirements.lock"
        assert req.specifier.contains(lock[name], prereleases=True), f"{name}=={lock[name]} breaks {spec}"


def test_environment_yml_names_the_same_packages_at_the_locked_versions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pinned = {_name(p): p.split("==", 1)[1] for p in pip_section if "==" in p}
    wanted = {_name(d) for d in project["dependencies"]}
    assert set(pinned) == wanted
    lock = _lock()
    for name, version in pinned.items():
        assert lock[name] == version, f"environment.yml pins {name}=={version}, the lock {lock[name]}"
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])


def test_every_card_has_a_parameterised_notebook_without_outputs():
    for card_id in cards.list_ids():
        path = ROOT / "notebooks" / f"{card_id}.ipynb"
        assert path.exists(), f"{card_id} has no notebook"
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
        params = "".join(tagged[0]["source"])
        for name in ("data_path", "n_trials", "timeout_s", "device", "seed", "tracking_uri", "output_dir",
                     "column_map", "data_options", "mlflow_run_id"):
            assert re.search(rf"^{name} = ", params, re.M), f"{path.name}: parameter {name} missing"
        assert all(not c.get("outputs") and not c.get("execution_count") for c in code), f"{path.name} has outputs"
        assert f'load_card("{card_id}")' in "".join("".join(c["source"]) for c in code)


def test_top_level_layout_is_the_designed_one():
    for name in ("catalog", "notebooks", "pipelines", "datasets", "tests", "benchmarks", "environment.yml",
                 "pyproject.toml", "requirements.lock", "Makefile", "README.md"):
        assert (ROOT / name).exists(), f"{name} missing at the top level"
    assert (ROOT / "datasets" / "sources.yaml").exists()


def test_the_plant_compose_file_binds_its_ports_to_the_env_files_address_and_holds_no_password():
    """docker-compose.yml (Docker is not on the test machines: its shape is checked here, its commands in
    tests/test_scale_out.py, which runs the same servers without Docker)."""
    text = (ROOT / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    services = compose["services"]
    assert {"postgres", "mlflow", "dask-scheduler", "dask-worker", "serve"} <= set(services)
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("${WORKBENCH_BIND:-127.0.0.1}:"), f"{name} publishes {port} on every interface"
    assert "${POSTGRES_PASSWORD:?" in text  # compose refuses to start without the env file's password
    example = dict(line.split("=", 1) for line in (ROOT / "deploy" / "plant.env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert example["WORKBENCH_BIND"] == "127.0.0.1" and example["POSTGRES_PASSWORD"] not in text
    assert "workbench serve --all" in services["serve"]["command"]
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r requirements.lock" in dockerfile  # the image runs the locked versions
