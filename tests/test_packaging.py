"""The course's shape: requirements that keep Colab's torch, notebooks that follow the skeleton."""

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile

import pytest
from packaging.requirements import Requirement

from .conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REQUIREMENTS = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REPOSITORY = PYPROJECT["project"]["urls"]["Repository"].removeprefix("https://github.com/")


def test_requirements_match_the_package_and_say_which_lessons_need_them():
    pinned = {
        Requirement(line.split("#")[0]).name: str(Requirement(line.split("#")[0]).specifier) for line in REQUIREMENTS
    }
    for dependency in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(dependency)
        assert pinned.get(requirement.name) == str(requirement.specifier), requirement.name
    assert all(re.search(r"#\s*\S", line) for line in REQUIREMENTS), "every requirement names the lessons that need it"


COLAB_FREEZE = (ROOT / "colab" / "pip-freeze.txt").read_text()
COLAB = {  # Colab's version of each package installed from an index, its local label (+cu128) dropped
    name.lower().replace("_", "-"): version.split("+")[0]
    for name, version in re.findall(r"^([A-Za-z0-9._-]+)==(\S+)$", COLAB_FREEZE, re.MULTILINE)
}


def test_colab_versions_are_dated_and_hold_what_the_course_runs_on():
    assert re.search(
        r"pip-freeze\.gpu\.txt .*\n# commit \w+ of \d{4}-\d\d-\d\d .*read on \d{4}-\d\d-\d\d", COLAB_FREEZE
    )
    assert COLAB["torch"].startswith("2.") and COLAB["ipywidgets"].startswith("7.")


@pytest.mark.parametrize("dependency", PYPROJECT["project"]["dependencies"])
def test_every_floor_admits_what_colab_ships(dependency):
    requirement = Requirement(dependency)
    if requirement.name not in COLAB:
        pytest.skip(f"Colab has no {requirement.name}: installing the course adds it")
    assert requirement.specifier.contains(COLAB[requirement.name]), (
        f"Colab has {requirement.name} {COLAB[requirement.name]}"
    )
    assert not any(spec.operator in ("==", "<", "<=", "~=", "===") for spec in requirement.specifier)  # floors only


@pytest.mark.parametrize(("name", "version"), [("torch", "2.14.1"), ("torchvision", "0.29.1")])
def test_torch_ranges_admit_this_machine(name, version):
    requirement = next(Requirement(line.split("#")[0]) for line in REQUIREMENTS if line.startswith(name + ">"))
    assert requirement.specifier.contains(version)


def test_data_folder_holds_only_its_readme_and_gitignore():
    tracked = subprocess.run(["git", "ls-files", "data"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert sorted(tracked) == ["data/.gitignore", "data/README.md"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_follows_the_skeleton(path):
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(cell["source"]) for cell in cells]
    badge = f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/notebooks/{path.name}"
    assert cells[0]["cell_type"] == "markdown" and sources[0].startswith("# ") and badge in sources[0]
    assert "You will learn" in sources[0]
    setup = sources[1]
    assert '"google.colab" in sys.modules' in setup and f"git+https://github.com/{REPOSITORY}" in setup
    assert "notebook_setup(" in setup
    assert any("## Exercises" in source for source in sources)
    assert f'record_headline(\n    "{path.stem}"' in sources[-1] or f'record_headline("{path.stem}"' in sources[-1]
    code = "\n".join(s for c, s in zip(cells, sources, strict=True) if c["cell_type"] == "code")
    assert "import *" not in code
    assert all(
        not cell.get("outputs") and not cell.get("execution_count") for cell in cells if cell["cell_type"] == "code"
    )


def test_readme_links_every_notebook():
    readme = (ROOT / "README.md").read_text()
    assert all(f"notebooks/{path.name}" in readme for path in NOTEBOOKS)


@pytest.mark.slow
def test_notebook_07_finds_the_claim_records_in_an_installed_wheel(tmp_path):
    """Colab installs a wheel and runs the notebooks outside a checkout: the records must travel in it."""
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            str(ROOT),
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("alexnet_course-*.whl")
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)  # what pip install puts in site-packages
    shipped = sorted(p.name for p in (installed / "alexnet_lib" / "records").glob("*.json"))
    assert shipped == sorted(p.name for p in (ROOT / "results" / "claims").glob("*.json"))
    elsewhere = tmp_path / "content"  # Colab's working folder: no checkout above it
    elsewhere.mkdir()
    probe = (
        "import alexnet_lib, json; from alexnet_lib.lessons.claims import recorded, summary_line; "
        "found = recorded('relu_vs_tanh'); print(json.dumps([alexnet_lib.__file__, [r['path'] for r in found], "
        "summary_line(found[0])]))"
    )
    env = {**os.environ, "PYTHONPATH": str(installed)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=elsewhere, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    package, paths, line = json.loads(done.stdout.splitlines()[-1])
    assert package.startswith(str(installed))  # the wheel's copy, not the checkout's
    assert paths and all(path.startswith(str(installed / "alexnet_lib" / "records")) for path in paths)
    assert "seed(s)" in line
