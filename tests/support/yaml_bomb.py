"""YAML alias bombs ("billion laughs") shaped as prompt files: a few hundred bytes whose nested
aliases expand tenfold per level once something walks the values (json.dumps of a test-data
value, the transport serializing a jsonSchema). The tests of the reader, the CLI and the
Evaluate page, and bench/bench_yaml_bomb.py, share them."""

from __future__ import annotations

HEAD = """\
name: Bomb
model: SmolLM2-135M-Instruct
messages:
  - role: user
    content: 'Say {{x}}'
"""


def _levels(levels: int, indent: str) -> str:
    """`l0: &l0 [lol x 10]`, then each level a list of ten aliases of the one before."""
    lines = [f"{indent}l0: &l0 [{', '.join(['lol'] * 10)}]"]
    lines += [f"{indent}l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def in_test_data(levels: int) -> str:
    """The bomb as one test-data row's values: `as_text` (json.dumps) expands it when a row is rendered."""
    return HEAD + "testData:\n  - x: hi\n" + _levels(levels, "    ")


def in_json_schema(levels: int) -> str:
    """The bomb inside jsonSchema's schema: the transport expands it when it serializes the request."""
    return (HEAD + "responseFormat: json_schema\njsonSchema:\n  name: bomb\n  schema:\n    type: object\n"
            + _levels(levels, "    ") + "testData:\n  - x: hi\n")
