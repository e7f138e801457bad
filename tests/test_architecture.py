"""Imports point one way (DESIGN.md): app wires everything and nothing imports app;
bots → dialogs; dialogs → billing, dispatcher, reference; dispatcher → billing, reference;
billing → reference, storage; reference and storage → none of ours."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "bots", "dialogs", "dispatcher", "billing", "reference", "storage")
# package → the project packages it must not import
FORBIDDEN = {
    "reference": {"app", "bots", "dialogs", "dispatcher", "billing", "storage"},
    "storage": {"app", "bots", "dialogs", "dispatcher", "billing", "reference"},
    "billing": {"app", "bots", "dialogs", "dispatcher"},
    "dispatcher": {"app", "bots"},
    "dialogs": {"app", "bots"},
    "bots": {"app", "dispatcher"},
}
ALLOWED: set[tuple[str, str]] = set()  # (path prefix, module) exceptions: none today


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package):
    violations = []
    for path in (ROOT / package).rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top in FORBIDDEN[package] and not any(rel.startswith(p) and module == m for p, m in ALLOWED):
                violations.append(f"{rel} imports {module}")
    assert not violations, "\n".join(violations)


def reads_environment(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                return True
    return False


def test_no_module_reads_the_environment_but_the_settings():
    """One typed settings object (pydantic-settings) reads the environment."""
    offenders = [
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if reads_environment(path) and path.relative_to(ROOT).as_posix() != "app/settings.py"
    ]
    assert offenders == [], offenders


CHANNEL_PACKAGES = sorted(p.name for p in (ROOT / "bots").iterdir() if (p / "__init__.py").exists())


def test_only_app_names_a_concrete_channel():
    """A channel package is imported by itself and by app/ only (adding one = a package
    under bots/ + one line in app/channels.py)."""
    violations = []
    for package in PACKAGES + ("benchmarks",):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("app/"):
                continue
            for module in imported_modules(path):
                parts = module.split(".")
                if len(parts) >= 2 and parts[0] == "bots" and parts[1] in CHANNEL_PACKAGES:
                    if not rel.startswith(f"bots/{parts[1]}/"):
                        violations.append(f"{rel} imports {module}")
    assert CHANNEL_PACKAGES, "no channel packages found"
    assert not violations, "\n".join(violations)


def test_every_channel_is_listed_once_in_app():
    """Each channel package offers ``channel_from_settings`` and app/channels.py lists it."""
    source = (ROOT / "app" / "channels.py").read_text("utf-8")
    messengers = [name for name in CHANNEL_PACKAGES if (ROOT / "bots" / name / "channel.py").exists()]
    for name in messengers:
        assert source.count(f"{name}.channel_from_settings") == 1, name
