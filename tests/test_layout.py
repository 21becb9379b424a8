"""The package's layout: imports point one way, only the data modules read image files, and three layers:
the core, the lessons on it, and the commands (``python -m alexnet_lib``) on both.

Read from the source (``ast``), not by importing: an import inside a function counts as much
as one at the top of a module.
"""

import ast

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "alexnet_lib"
LESSONS = "alexnet_lib.lessons"
COMMANDS = {"alexnet_lib.cli", "alexnet_lib.__main__"}
# Files and images on disk, datasets in memory, the published datasets' files, fetching, image folders.
DATA_MODULES = {f"alexnet_lib.{name}" for name in ("images", "datasets", "published", "fetch", "folders")}
# What reads an image file: (module, name) imported, or called as module.name.
IMAGE_READERS = {
    ("PIL.Image", "open"),
    ("torchvision.io", "*"),
    ("torchvision.datasets", "ImageFolder"),
    ("torchvision.datasets", "DatasetFolder"),
    ("torchvision.datasets.folder", "*"),
    ("matplotlib.pyplot", "imread"),
    ("matplotlib.image", "imread"),
    ("cv2", "imread"),
    ("imageio", "*"),
}


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in SOURCES.items()}


def absolute(module, node):
    """The absolute module an ``ImportFrom`` node names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = module if SOURCES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imported_names(module):
    """Every (module, name) that ``module`` imports, anywhere in it; ``import x.y`` gives ("x.y", "*")."""
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Import):
            yield from ((alias.name, "*") for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = absolute(module, node)
            yield from ((source, alias.name) for alias in node.names)


def package_imports(module):
    """The modules of this package that ``module`` imports (a submodule imports its packages too)."""
    found = set()
    for source, name in imported_names(module):
        candidates = [f"{source}.{name}", source] if name != "*" else [source]
        target = next((c for c in candidates if c in SOURCES), None)
        while target and target != module:
            found.add(target)
            target = target.rpartition(".")[0] if "." in target else None
            target = target if target in SOURCES and target != "alexnet_lib" else None
    return found - {module}


GRAPH = {module: package_imports(module) for module in SOURCES}


def reads_image_files(module):
    """The image-reading APIs ``module`` uses: imported by name, or called through their module."""
    aliases = {}  # local name -> module it stands for
    used = set()
    for source, name in imported_names(module):
        for reader_module, reader in IMAGE_READERS:
            if source == reader_module and reader in ("*", name):
                used.add(f"{source}.{name}")
        if name == "*":
            aliases[source.rpartition(".")[2]] = source
        else:
            aliases[name] = f"{source}.{name}"
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            owner = aliases[node.value.id]
            if (owner, node.attr) in IMAGE_READERS or (owner, "*") in IMAGE_READERS:
                used.add(f"{owner}.{node.attr}")
    return used


def find_circle():
    """A list of modules that import each other in a loop, or None."""
    state = {}  # module -> "open" while on the path, "done" after

    def visit(module, path):
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (circle := visit(target, [*path, target])):
                return circle
        state[module] = "done"
        return None

    for module in sorted(GRAPH):
        if module not in state and (circle := visit(module, [module])):
            return circle
    return None


def test_the_scan_sees_the_package():
    assert {"alexnet_lib.model", "alexnet_lib.train", LESSONS} <= set(SOURCES)
    assert "alexnet_lib.model" in GRAPH["alexnet_lib.cifar_nets"]  # train builds its nets through cifar_nets
    assert "alexnet_lib.cifar_nets" in GRAPH["alexnet_lib.train"]
    assert "alexnet_lib.datasets" in GRAPH["alexnet_lib.fetch"]  # a relative import, resolved
    assert reads_image_files("alexnet_lib.images") == {"PIL.Image.open"}  # the detector finds a reader


def test_no_circle():
    assert find_circle() is None, " -> ".join(find_circle())


def is_lesson(module):
    return module == LESSONS or module.startswith(LESSONS + ".")


@pytest.mark.parametrize("module", sorted(m for m in SOURCES if not is_lesson(m) and m not in COMMANDS))
def test_the_core_never_imports_the_lessons_or_the_commands(module):
    assert not {m for m in GRAPH[module] if is_lesson(m) or m in COMMANDS}


@pytest.mark.parametrize("module", sorted(m for m in SOURCES if is_lesson(m)))
def test_the_lessons_never_import_the_commands(module):
    assert not GRAPH[module] & COMMANDS


@pytest.mark.parametrize("module", sorted(set(SOURCES) - DATA_MODULES))
def test_only_the_data_modules_read_image_files(module):
    assert not reads_image_files(module), f"{module} reads image files itself; use alexnet_lib.images"


def test_the_readme_table_names_every_core_module():
    """The README's package table is the layout's map: every core module and command has a row."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| module | job |") :].split("\n\n")[0]
    first_cells = [row.split("|")[1].strip(" `") for row in table.splitlines()]
    named = {f"alexnet_lib.{name}" for cell in first_cells for name in cell.split("`, `")}
    core = {m for m in SOURCES if not is_lesson(m) and m not in {"alexnet_lib", "alexnet_lib.__main__"}}
    assert not core - named, f"the README's package table has no row for {sorted(core - named)}"
    assert "lessons.architecture` … `lessons.claims" in table  # the lessons: one module per notebook, 01 to 07
