"""The package's architecture, checked on its real import graph (grimp): no module imports in
a circle, every layer depends only on the layers below it, and only the CLI layer imports
Typer or rich. Any function-level import counts as much as one at the top of a file."""

from __future__ import annotations

import pytest

grimp = pytest.importorskip("grimp", reason="grimp is not installed: pip install -e '.[test]'")

PACKAGE = "platformctl"
# Highest first. A module may import from its own layer and any layer below it.
LAYERS = [
    {"platformctl.cli"},
    {"platformctl.commands"},
    {
        "platformctl.operations",
        "platformctl.local",
        "platformctl.operate",
        "platformctl.doctor",
        "platformctl.preflight",
    },
    {"platformctl.context"},
    {"platformctl.release", "platformctl.emulators", "platformctl.packaging"},
    {"platformctl.aws", "platformctl.terraform"},
    {"platformctl.project"},
    {"platformctl.errors", "platformctl.process", "platformctl.files", "platformctl.cache", "platformctl.exit_codes"},
]
CLI_LAYER = ("platformctl.cli", "platformctl.commands")


@pytest.fixture(scope="module")
def graph():  # type: ignore[no-untyped-def]
    # No cache: a stale one (grimp keeps it in .grimp_cache) would check an old tree.
    return grimp.build_graph(PACKAGE, include_external_packages=True, cache_dir=None)


def own_modules(graph) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(m for m in graph.modules if m == PACKAGE or m.startswith(PACKAGE + "."))


def test_every_module_is_in_a_layer(graph) -> None:  # type: ignore[no-untyped-def]
    placed = {name for layer in LAYERS for name in layer}
    unplaced = [
        m
        for m in own_modules(graph)
        if m != PACKAGE
        and m not in placed
        and not any(m.startswith(name + ".") for name in placed)
        and m not in ("platformctl.__main__",)
    ]
    assert unplaced == [], f"put these in a layer of tests/test_layout.py: {unplaced}"


def test_no_import_cycle(graph) -> None:  # type: ignore[no-untyped-def]
    modules = own_modules(graph)
    edges = {m: [x for x in graph.find_modules_directly_imported_by(m) if x in modules] for m in modules}
    cycles = strongly_connected(edges)
    assert cycles == [], f"modules that import each other in a circle: {cycles}"


def test_layers_depend_only_downwards(graph) -> None:  # type: ignore[no-untyped-def]
    layers = [grimp.Layer(*sorted(layer), independent=False) for layer in LAYERS]
    illegal = graph.find_illegal_dependencies_for_layers(layers=layers, containers=set())
    found = sorted(f"{d.importer} -> {d.imported}" for d in illegal)
    assert found == [], f"a lower layer imports a higher one: {found}"


def test_only_the_cli_layer_imports_typer_or_rich(graph) -> None:  # type: ignore[no-untyped-def]
    offenders = sorted(
        f"{m} -> {x}"
        for m in own_modules(graph)
        if not m.startswith(CLI_LAYER) and m != PACKAGE
        for x in graph.find_modules_directly_imported_by(m)
        if x.split(".")[0] in ("typer", "rich", "click")
    )
    assert offenders == [], f"core modules must not import Typer or rich: {offenders}"


def strongly_connected(edges: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: the components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert strongly_connected({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert strongly_connected({"a": ["b"], "b": []}) == []
