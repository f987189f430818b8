"""The house's rules, checked on the import graph itself: lower rooms never import upper ones, and no cycles."""

from __future__ import annotations

import grimp

PACKAGES = ("bot", "handlers", "storage", "config", "domain")


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_another_that_imports_it_back() -> None:
    assert _cycles(_graph()) == []


def test_lower_rooms_import_nothing_from_bot_or_handlers() -> None:
    graph = _graph()
    offenders = [
        f"{importer} -> {imported}"
        for lower in ("storage", "config", "domain")
        for importer in graph.find_children(lower) | graph.find_descendants(lower) | {lower}
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.split(".")[0] in ("bot", "handlers")
    ]
    assert offenders == []


def test_domain_is_pure() -> None:
    """No database, no web, no files: the domain is rules a test can run in microseconds."""
    graph = grimp.build_graph("domain", "sqlalchemy", "sqlmodel", "fastapi", "httpx", cache_dir=None)
    impure = {
        f"{importer} -> {imported}"
        for importer in graph.find_descendants("domain")
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.split(".")[0] in ("sqlalchemy", "sqlmodel", "fastapi", "httpx", "storage", "config")
    }
    assert impure == set()
