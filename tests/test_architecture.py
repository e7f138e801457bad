"""Imports point one way (DESIGN.md): app wires everything and nothing imports app;
bots → dialogs; dialogs → billing, dispatcher, reference; dispatcher → billing, reference;
billing → reference, storage; reference and storage → none of ours. Billing knows no
channel, conversation or agent; skills see the queues through Protocols; each state
key prefix has one owner."""

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


def identifiers(path: Path) -> set[str]:
    """Every name a module defines, uses or imports (not its strings or comments)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.update(node.name.split("."))
        elif isinstance(node, ast.keyword) and node.arg:
            names.add(node.arg)
    return names


def test_billing_knows_no_channel_conversation_or_agent():
    """The provider's side answers about accounts; who asks, and through what, is not its business."""
    words = ("channel", "conversation", "agent")
    offenders = sorted(
        f"{path.relative_to(ROOT).as_posix()}: {name}"
        for path in (ROOT / "billing").rglob("*.py")
        for name in identifiers(path)
        if any(word in name.lower() for word in words)
    )
    assert offenders == [], offenders


def test_dialogs_sees_the_queues_through_protocols():
    """Skills get ``CallbackRequests``/``HandoffRequests`` (dialogs/turn.py), never the
    dispatcher's queue classes; from ``dispatcher`` only message types come in."""
    offenders = []
    for path in (ROOT / "dialogs").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dispatcher"):
                offenders += [f"{path.relative_to(ROOT).as_posix()}: {a.name}" for a in node.names if a.name.endswith("Queue")]
    assert offenders == [], offenders


# state key prefix → the one module that reads and writes those keys
KEY_OWNERS = {
    "conv:": "dialogs/conversation.py",
    "dedup:": "dialogs/gate.py",
    "rate:": "dialogs/gate.py",
    "lock:": "dialogs/gate.py",
    "verify:": "dialogs/skills/login_attempts.py",
}


def key_literals(path: Path) -> set[str]:
    """String literals and f-strings as they start (where a key's prefix would be)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text("utf-8"))
    inside_fstrings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside_fstrings:
            found.add(node.value)
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            found.add(str(node.values[0].value))
    return found


def test_each_state_key_prefix_has_one_owner():
    """Others use the owner's accessors (e.g. the Rasa adapter reads conversations
    through ``ConversationStore``), never the raw key."""
    offenders = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            for literal in key_literals(path):
                for prefix, owner in KEY_OWNERS.items():
                    if literal.startswith(prefix) and rel != owner:
                        offenders.append(f"{rel} uses {literal!r} (owned by {owner})")
    assert offenders == [], offenders
