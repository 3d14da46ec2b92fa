"""Only the adapter modules import the SDKs, read from every module's syntax tree (not by grep:
a comment or a string naming a package is not an import)."""

from __future__ import annotations

import ast
from pathlib import Path

PLAYGROUND = Path(__file__).resolve().parents[3] / "playground"

# Package -> the only modules (relative to the repository) allowed to import it.
OWNERS = {
    "azure.ai.inference": {"playground/transports/azure_inference.py"},
    "openai": {"playground/transports/openai_v1.py"},
}
ENTRA = "azure.identity"  # the credential is built where the SDK client is built


def imported_modules(path: Path) -> set[str]:
    """Every absolute module an `import` or `from ... import` names, at any depth (imports
    inside functions count: they load the SDK as surely as top-level ones)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def importers(package: str) -> set[str]:
    found = set()
    for path in PLAYGROUND.rglob("*.py"):
        if any(name == package or name.startswith(package + ".") for name in imported_modules(path)):
            found.add(path.relative_to(PLAYGROUND.parent).as_posix())
    return found


def test_the_modules_are_found_at_all():
    # A walk that found nothing would pass every check below.
    assert "openai" in imported_modules(PLAYGROUND / "transports" / "openai_v1.py")
    assert "azure.ai.inference" in imported_modules(PLAYGROUND / "transports" / "azure_inference.py")


def test_each_sdk_is_imported_by_its_adapter_only():
    for package, owners in OWNERS.items():
        assert importers(package) == owners, package


def test_azure_identity_is_imported_by_transports_only():
    outside = {path for path in importers(ENTRA) if not path.startswith("playground/transports/")}
    assert outside == set()


def test_a_local_package_named_like_an_sdk_is_not_confused(tmp_path):
    source = tmp_path / "m.py"
    source.write_text('"""import openai"""\n# from openai import OpenAI\n'
                      'from . import openai_v1\nimport openai_helpers\n')
    assert imported_modules(source) == {"openai_helpers"}
