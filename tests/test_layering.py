"""The package's import graph: no cycles (imports inside functions count), storage imports
nothing above it, and no package attribute hides a submodule of the same name.

The graph is read from the source with ``ast`` (no import is run): every ``import`` /
``from … import`` of a ``wuwei_analysis`` module anywhere in a file — at the top, inside a
function, inside ``try`` — is an edge; imports under ``if TYPE_CHECKING:`` are not (they never
run). ``from .pkg import name`` is an edge to ``pkg.name`` when that is a submodule, else to
``pkg``. The implicit import of a parent package is not an edge (every module would then
import ``wuwei_analysis/__init__``).
"""
from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from functools import lru_cache
from pathlib import Path

import pytest

import wuwei_analysis

PKG_DIR = Path(wuwei_analysis.__file__).parent
ROOT = "wuwei_analysis"


@lru_cache(maxsize=1)
def modules() -> dict[str, Path]:
    out = {}
    for path in PKG_DIR.rglob("*.py"):
        parts = list(path.relative_to(PKG_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _nearest_module(name: str) -> str:
    mods = modules()
    while name not in mods:
        name = name.rsplit(".", 1)[0]
    return name


def _type_checking_only(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                skip.update(id(n) for n in ast.walk(stmt))
    return skip


def imports_of(module: str) -> set[str]:
    """The package's modules ``module`` imports (anywhere in the file)."""
    mods = modules()
    path = mods[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _type_checking_only(tree)
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(_nearest_module(a.name) for a in node.names
                       if a.name.split(".")[0] == ROOT)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(here[:len(here) - (node.level - 1)]
                                + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == ROOT:
                base = node.module
            else:
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if sub in mods else _nearest_module(base))
    out.discard(module)
    return out


@lru_cache(maxsize=1)
def graph() -> dict[str, frozenset[str]]:
    return {m: frozenset(imports_of(m)) for m in modules()}


def cycles(g: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def describe(comp: list[str], g) -> str:
    members = set(comp)
    return "; ".join(f"{m} → {', '.join(sorted(g[m] & members))}" for m in comp)


# ------------------------------------------------------------------------------ tests
def test_the_graph_reader_sees_imports_inside_functions_and_skips_type_checking():
    g = graph()
    # report imports the database facade only inside a function
    assert "wuwei_analysis.database" in g["wuwei_analysis.report"]
    # `from .. import indicator_catalog as catalog` is an edge to the submodule
    assert "wuwei_analysis.indicator_catalog" in g["wuwei_analysis.ingest.rules"]
    # tables.py imports pandas only for type checking, and no module of ours that way
    assert all(m.startswith(ROOT) for m in g["wuwei_analysis.tables"])
    # a cycle is found when there is one
    assert cycles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}),
                   "d": frozenset({"a"})}) == [["a", "b", "c"]]


def test_no_import_cycle_among_the_package_modules():
    g = graph()
    found = cycles(g)
    assert not found, "import cycles:\n" + "\n".join(describe(c, g) for c in found)


#: What the store may import: the layer below it (and that layer's own imports; the
#: vocabulary, ``vocab/``, imports nothing above the catalogue).
STORAGE_LAYER = {"wuwei_analysis.store", "wuwei_analysis.settings", "wuwei_analysis.errors",
                 "wuwei_analysis.geography", "wuwei_analysis.indicator_catalog",
                 "wuwei_analysis.targets",
                 "wuwei_analysis.safecells"}  # spreadsheet-safe text; imports nothing


def test_storage_imports_nothing_above_it():
    g = graph()
    seen, todo = set(), ["wuwei_analysis.store"]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(g[m])
    above = {m for m in seen - STORAGE_LAYER if not m.startswith("wuwei_analysis.vocab")}
    assert not above, f"store reaches {sorted(above)}"


def _packages() -> list[str]:
    return sorted(m for m, p in modules().items() if p.name == "__init__.py")


def _names_bound_in(package: str) -> set[str]:
    """Names the package's ``__init__`` binds (def, class, import, assignment, ``__all__``)
    and names its module ``__getattr__`` serves (a ``_API`` mapping)."""
    tree = ast.parse(modules()[package].read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    if t.id in ("__all__", "_API") and node.value is not None:
                        try:
                            value = ast.literal_eval(node.value)
                        except ValueError:
                            value = []
                        names.update(value)
                    else:
                        names.add(t.id)
    return names


def _own_submodule_imports(package: str) -> set[str]:
    """Submodule names the ``__init__`` binds by importing the submodule itself
    (``from . import x``) — those are the submodule, not something hiding it."""
    tree = ast.parse(modules()[package].read_text(encoding="utf-8"))
    return {a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom)
            and node.level == 1 and not node.module for a in node.names}


def _hidden(package: str) -> list[str]:
    subs = {m.rsplit(".", 1)[1] for m in modules() if m.rsplit(".", 1)[0] == package
            and m != package}
    return sorted((_names_bound_in(package) - _own_submodule_imports(package)) & subs)


@pytest.mark.parametrize("package", _packages())
def test_no_package_attribute_hides_a_submodule(package):
    assert _hidden(package) == [], (
        f"{package} binds {_hidden(package)}, the names of its submodules: "
        f"`from {package} import X` then depends on import order")


def test_the_public_functions_keep_their_names_and_the_submodules_theirs():
    import wuwei_analysis as wa

    for info in pkgutil.iter_modules(wa.__path__):
        if info.name != "__main__":
            importlib.import_module(f"{ROOT}.{info.name}")
    assert callable(wa.catalog) and callable(wa.regions) and callable(wa.region)
    assert len(wa.catalog()) > 100 and "武威市" in set(wa.regions()["name"])
    for name in ("indicator_catalog", "geography", "store", "database", "tables",
                 "synthetic"):
        assert getattr(wa, name) is sys.modules[f"{ROOT}.{name}"]
