"""The inventory models' field docstrings as their descriptions, filled in only where
they are read: `fleetdeck schema` (editor help) and the console's form.

pydantic's `use_attribute_docstrings` does this at class creation by reading and
tokenizing each model's source (inspect.getsource), which was about a third of a
second of CPU on every command, `status --json` included, for text no command but
these two shows.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import cache

from fleetdeck.core.inventory.fields import InventoryModel


def _own_docs(cls: type) -> dict[str, str]:
    """`name: T` followed by a string literal, in `cls`'s own body: name -> docstring."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source (a frozen build): no descriptions
        return {}
    tree = ast.parse(source).body[0]
    assert isinstance(tree, ast.ClassDef)
    docs = {}
    for statement, after in zip(tree.body, tree.body[1:], strict=False):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[statement.target.id] = inspect.cleandoc(after.value.value)
    return docs


def _models(base: type[InventoryModel]) -> list[type[InventoryModel]]:
    """Every subclass, in creation order: a model's field types come before it."""
    found = []
    for sub in base.__subclasses__():
        found += [sub, *_models(sub)]
    return found


@cache
def document_fields() -> None:
    """Give every inventory field without a description its docstring, once; then
    rebuild the models (inner ones first) so that their JSON schemas carry them."""
    models = _models(InventoryModel)
    for model in models:
        docs: dict[str, str] = {}
        for klass in reversed(model.__mro__):  # a subclass's docstring wins
            if issubclass(klass, InventoryModel):
                docs |= _own_docs(klass)
        for name, info in model.model_fields.items():
            if info.description is None and name in docs:
                info.description = docs[name]
    for model in models:
        model.model_rebuild(force=True)
