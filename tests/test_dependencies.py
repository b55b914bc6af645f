"""The dependency rule of DESIGN.md: the core points at nothing concrete."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"adapters", "storage", "aiosqlite", "sqlite3", "telegram", "slack_bolt", "slack_sdk", "aiohttp"}
COMPOSITION_ROOTS = {ROOT / "bot" / "app.py", ROOT / "bot" / "cli.py"}


def imported_top_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_core_imports_no_platform_and_no_sql():
    offenders = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path in COMPOSITION_ROOTS:
            continue
        bad = imported_top_modules(path) & FORBIDDEN
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_adapters_see_only_the_port_of_the_core():
    offenders = {}
    for path in sorted((ROOT / "adapters").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot"):
                if node.module != "bot.ports":
                    offenders.setdefault(str(path.relative_to(ROOT)), []).append(node.module)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "storage":
                offenders.setdefault(str(path.relative_to(ROOT)), []).append(node.module)
    assert offenders == {}


def test_the_rule_itself_catches_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import sqlite3\nfrom storage.members import X\nfrom .local import y\n")
    assert imported_top_modules(sample) == {"sqlite3", "storage"}
