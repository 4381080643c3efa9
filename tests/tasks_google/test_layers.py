"""The app's packages depend on each other in one direction only: each imports from lower layers
(or from inside itself), never from a layer above it. docs/architecture.md draws the same layers."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "tasks_google"

#: Lowest first. A unit is a subpackage or a module at the top of tasks_google; a unit imports
#: only from units in the layers before its own.
LAYERS = [
    {"framework"},
    {"config", "clock", "exceptions", "observability", "task", "prepared"},
    {"transports"},
    {"models"},
    {"executions"},
    {"backends"},
    {"execution"},
    {"control", "scheduling"},
    {"endpoints"},
    {"dev"},
    {"testing"},
    {
        "__init__",
        "admin",
        "apps",
        "management",
        "periodic_runner",
        "pytest_plugin",
        "urls",
    },
]
LAYER_OF = {unit: number for number, units in enumerate(LAYERS) for unit in units}


def unit_of(path: Path) -> str:
    """`execution` for tasks_google/execution/runtime.py, `models` for tasks_google/models.py."""
    first = path.relative_to(PACKAGE).parts[0]
    return first.removesuffix(".py")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_units(path: Path) -> set[str]:
    """The tasks_google units a module imports, at its top or inside functions."""
    units = set()
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}".rstrip(".")
            names = (
                [base] if base != "tasks_google" else [f"tasks_google.{a.name}" for a in node.names]
            )
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        units |= {name.split(".")[1] for name in names if name.startswith("tasks_google.")}
    return units


def app_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_every_unit_has_a_layer():
    unplaced = {unit_of(path) for path in app_modules()} - set(LAYER_OF)
    assert not unplaced, f"put these in a layer of LAYERS (and docs/architecture.md): {unplaced}"


@pytest.mark.parametrize("path", app_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers_only(path):
    unit = unit_of(path)
    upward = {
        other
        for other in imported_units(path)
        if other != unit and LAYER_OF.get(other, -1) >= LAYER_OF[unit]
    }
    assert not upward, f"{unit} (layer {LAYER_OF[unit]}) imports from {upward}"


def test_few_modules_sit_loose_at_the_top():
    loose = [p.name for p in PACKAGE.glob("*.py")]
    assert len(loose) <= 14, sorted(loose)
