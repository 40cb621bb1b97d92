"""A check, in the spirit of zulip's `tools/linter_lib/custom_check.py`, that synced entities are written
only by the services (docs/architecture.md, convention 3): a `save()`, `delete()`, `update()` or
`create()` of a synced model anywhere else would skip the version, the change record and the audit log,
and clients would never pull it.

It reads the code with `ast` and follows what a reader would: a call is a write of a synced model when its
receiver is rooted in such a model's class (`Item.objects.filter(...).update(...)`, `Item(...).save()`),
in a name assigned from one (`item = Item.objects.get(...)`, `for item in items`), in a parameter annotated
with one, in a name that says it is one (`item.save()`, `card.delete()`), or in `self.get_object()` of a
class whose `model` or `queryset` is one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

INSTANCE_WRITES = frozenset({"save", "delete"})
QUERY_WRITES = frozenset(
    {"update", "delete", "create", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
)
VIEW_LOOKUPS = frozenset({"get_object", "get_queryset"})

# Where synced rows are written: the services (and the versioned write path of `sync` they share), the
# migrations, and the bulk seeder, which writes what the services would have written (its docstring).
ALLOWED = (
    "*/services.py",
    "*/services/*.py",
    "*_services.py",
    "sync/*",
    "*/migrations/*",
    "*seed_load.py",
)


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    code: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code}"


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _root(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _calls_view_lookup(node: ast.expr) -> bool:
    """`self.get_object()` or `self.get_queryset()` somewhere in the receiver's chain."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in VIEW_LOOKUPS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "self"
        ):
            return True
        node = node.func if isinstance(node, ast.Call) else node.value
    return False


class _Scope:
    def __init__(self, models: set[str], names: set[str], tainted: set[str], synced_class: bool) -> None:
        self.models = models
        self.names = names  # say they hold an entity: only its `save()` and `delete()` are writes
        self.tainted = set(tainted)
        self.synced_class = synced_class

    def is_named_entity(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.names

    def is_synced(self, node: ast.expr) -> bool:
        root = _root(node)
        if isinstance(root, ast.Name) and (root.id in self.models or root.id in self.tainted):
            return True
        return self.synced_class and _calls_view_lookup(node)

    def annotation_names(self, annotation: ast.expr | None) -> set[str]:
        if annotation is None:
            return set()
        return {n.id for n in ast.walk(annotation) if isinstance(n, ast.Name)} | {
            n.value
            for n in ast.walk(annotation)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in self.models
        }


def _targets(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            yield from _targets(element)


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str, source: str, models: set[str], names: set[str]) -> None:
        self.path = path
        self.lines = source.splitlines()
        self.models = models
        self.names = names
        self.scopes = [_Scope(models, names, set(), synced_class=False)]
        self.class_synced: list[bool] = [False]
        self.violations: list[Violation] = []

    @property
    def scope(self) -> _Scope:
        return self.scopes[-1]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name in self.models and alias.asname:
                self.models.add(alias.asname)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        synced = False
        for statement in node.body:
            if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in ("model", "queryset") for t in statement.targets
            ):
                synced = synced or self.scope.is_synced(statement.value)
        self.class_synced.append(synced)
        self.generic_visit(node)
        self.class_synced.pop()

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        scope = _Scope(self.models, self.names, self.scope.tainted, synced_class=self.class_synced[-1])
        arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        for argument in arguments:
            if scope.annotation_names(argument.annotation) & self.models:
                scope.tainted.add(argument.arg)
        self.scopes.append(scope)
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def _taint(self, targets: Iterable[ast.expr], value: ast.expr | None) -> None:
        if value is not None and self.scope.is_synced(value):
            for target in targets:
                self.scope.tainted.update(_targets(target))

    def visit_Assign(self, node: ast.Assign) -> None:
        self._taint(node.targets, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if self.scope.annotation_names(node.annotation) & self.models:
            self.scope.tainted.update(_targets(node.target))
        self._taint([node.target], node.value)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self._taint([node.target], node.iter)
        self.generic_visit(node)

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self._taint([node.optional_vars], node.context_expr)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self._taint([node.target], node.iter)
        self.generic_visit(node)

    def _visit_generators_first(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        # The loop variables are bound by the generators, which the source writes after the element.
        for generator in node.generators:
            self.visit(generator)
        for element in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
            self.visit(element)

    visit_ListComp = _visit_generators_first
    visit_SetComp = _visit_generators_first
    visit_GeneratorExp = _visit_generators_first
    visit_DictComp = _visit_generators_first

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        if isinstance(function, ast.Attribute) and function.attr in INSTANCE_WRITES | QUERY_WRITES:
            receiver = function.value
            named = function.attr in INSTANCE_WRITES and self.scope.is_named_entity(receiver)
            if named or self.scope.is_synced(receiver):
                self._report(node)
        self.generic_visit(node)

    def _report(self, node: ast.Call) -> None:
        line = self.lines[node.lineno - 1].strip() if node.lineno <= len(self.lines) else ""
        self.violations.append(Violation(self.path, node.lineno, line))


def check_source(source: str, path: str, models: Iterable[str], names: Iterable[str] = ()) -> list[Violation]:
    """The writes of `models` (class names) in `source`; `names` are variable names taken to hold one."""
    checker = _Checker(path, source, set(models), set(names))
    checker.visit(ast.parse(source, filename=path))
    return checker.violations


def is_allowed(path: str) -> bool:
    return any(fnmatch(path, pattern) for pattern in ALLOWED)


def check_tree(
    root: Path, models: Iterable[str], names: Iterable[str], skip: Iterable[str] = ()
) -> list[Violation]:
    """Every first-party module under `root` but the allowed places and `skip` (top-level directories)."""
    skipped = set(skip)
    violations: list[Violation] = []
    for file in sorted(root.rglob("*.py")):
        path = file.relative_to(root).as_posix()
        if path.split("/", 1)[0] in skipped or is_allowed(path):
            continue
        violations.extend(check_source(file.read_text(), path, models, names))
    return violations
