"""The course's shape: requirements that keep Colab's torch, notebooks that follow the skeleton."""

import json
import re
import subprocess
import tomllib

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


@pytest.mark.parametrize(("name", "versions"), [("torch", ["2.11.0", "2.14.1"]), ("torchvision", ["0.26.0", "0.29.1"])])
def test_torch_ranges_admit_colab_and_this_machine(name, versions):
    requirement = next(Requirement(line.split("#")[0]) for line in REQUIREMENTS if line.startswith(name + ">"))
    assert all(requirement.specifier.contains(version) for version in versions)
    assert not any(spec.operator in ("==", "<", "<=", "~=") for spec in requirement.specifier)  # never pinned


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
