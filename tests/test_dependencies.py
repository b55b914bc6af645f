"""The dependency rules of DESIGN.md: the core points at nothing concrete, adapters see only
the port, use cases do not read the configuration, and bot/ has no import cycle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"adapters", "storage", "aiosqlite", "sqlite3", "telegram", "slack_bolt", "slack_sdk", "aiohttp"}
COMPOSITION_ROOTS = {ROOT / "bot" / "app.py", ROOT / "bot" / "cli.py"}
# What an adapter may know of the core: the port, and the reader of its configuration section.
ADAPTER_VIEW = {"bot.ports", "bot.settings_reader"}


def imported_top_modules(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1]) if path.is_relative_to(ROOT) else ""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
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
        for module in imported_modules(path):
            if module.split(".")[0] in ("bot", "storage") and module not in ADAPTER_VIEW:
                offenders.setdefault(str(path.relative_to(ROOT)), []).append(module)
    assert offenders == {}


def test_use_cases_receive_their_settings_and_never_read_the_configuration():
    offenders = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "bot" / "services").rglob("*.py"))
                 if "bot.config" in imported_modules(path)]
    assert offenders == []


def test_config_and_app_name_no_platform():
    for path in (ROOT / "bot" / "config.py", ROOT / "bot" / "app.py"):
        text = path.read_text(encoding="utf-8").casefold()
        named = [name for name in ("telegram", "webchat", "slack", "whatsapp") if name in text]
        assert named == [], f"{path.name} names {named}: a platform belongs in adapters/"


def import_cycles() -> list[list[str]]:
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in (ROOT / "bot").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for imported in imported_modules(path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and modules[imported].name != "__init__.py":
                edges.add(imported)
        graph[name] = edges
    # Tarjan's strongly connected components: a component of two or more is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_core_has_no_import_cycle():
    assert import_cycles() == []


def test_the_rules_themselves_catch_what_they_should(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import sqlite3\nfrom storage.members import X\ndef f():\n    from bot.config import Y\n")
    assert imported_top_modules(sample) == {"sqlite3", "storage", "bot"}
    assert "bot.config" in imported_modules(sample)
