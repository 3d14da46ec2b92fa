"""What a JSON schema's grammar costs the embedded endpoint, and where llama.cpp refuses it:
for growing maxLength, maxItems, `{0,n}` in a pattern, nesting depth, alternatives (enum
values) and grammar size. The numbers behind the limits in playground/local_endpoint/grammar.py.

Each row: the GBNF llama-cpp-python's converter writes (bytes, ms), then llama.cpp building it
exactly as a request does (`llama_sampler_init_grammar` with the model's vocabulary, the call
LlamaGrammar leads to) and one grammar step over the whole vocabulary (what every token pays
where all the alternatives are still open). REFUSED is a grammar llama.cpp will not build; the
endpoint, before the limits, then sampled with a NULL grammar and died. The schemas here are
not checked against the limits: the point is to see past them.

Usage: .venv/bin/python bench/bench_grammar.py
"""

from __future__ import annotations

import ctypes
import os
import time
from typing import Any

from _harness import load_line, machine_line


def main() -> None:
    import llama_cpp
    import numpy as np
    from llama_cpp import _internals

    from playground.local_endpoint import grammar
    from playground.local_endpoint.model import default_model_path

    print(machine_line())
    print(load_line())
    # llama.cpp prints its loading log and each refused grammar (whole) to stderr: not wanted here.
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(default_model_path()).encode(), params)
    vocab = llama_cpp.llama_model_get_vocab(model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    candidates = _internals.LlamaTokenDataArray(n_vocab=n_vocab)

    def row(label: str, schema: dict[str, Any]) -> None:
        start = time.perf_counter()
        gbnf = grammar.schema_gbnf(schema)
        converted = time.perf_counter()
        sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
        built = time.perf_counter()
        line = (f"{label:34} {len(gbnf.encode()):9} B  convert {1000 * (converted - start):6.1f} ms  "
                f"build {1000 * (built - converted):6.1f} ms")
        if not sampler:
            print(line + "  REFUSED", flush=True)
            return
        candidates.copy_logits(np.zeros(n_vocab, dtype=np.single))
        step = time.perf_counter()
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates.candidates))
        print(line + f"  token step {1000 * (time.perf_counter() - step):6.1f} ms", flush=True)
        llama_cpp.llama_sampler_free(sampler)

    def one(**field: Any) -> dict[str, Any]:
        return {"type": "object", "properties": {"x": field}, "required": ["x"]}

    print("\n## Bounded repetition (limit: 1000)")
    for n in (100, 500, 1000, 1001, 2000):
        row(f"maxLength {n}", one(type="string", maxLength=n))
    for n in (500, 1000, 1001, 2500):
        row(f"maxItems {n}", one(type="array", items={"type": "integer"}, maxItems=n))
    for n in (500, 1000, 1001, 2500):
        row(f"pattern [a-z]{{0,{n}}}", one(type="string", pattern=f"^[a-z]{{0,{n}}}$"))
    row("pattern (a{0,400}b{0,400})?", one(type="string", pattern="^(a{0,400}b{0,400})?$"))
    row("pattern (a{0,600}b{0,600})?", one(type="string", pattern="^(a{0,600}b{0,600})?$"))
    row("maxItems 1000 of maxLength 1000", one(type="array", maxItems=1000, items={"type": "string",
                                                                                   "maxLength": 1000}))
    for n in (1000, 10000):
        row(f"minLength {n}", one(type="string", minLength=n))

    print("\n## Nesting depth (limit: 32)")
    for depth in (8, 32, 100, 400):
        schema: dict[str, Any] = {"type": "integer"}
        for _ in range(depth):
            schema = {"type": "array", "items": schema}
        row(f"arrays nested {depth} deep", schema)

    print("\n## Alternatives, all open at the first token (limit: 256)")
    for n in (64, 128, 256, 512, 1000, 5000):
        row(f"enum of {n}", {"enum": [f"value{i}" for i in range(n)]})

    print("\n## Grammar size (limit: 256 KiB)")
    for n in (10, 30, 60, 120):
        row(f"{n} strings of maxLength 1000", {"type": "object", "required": [f"p{i}" for i in range(n)],
                                                "properties": {f"p{i}": {"type": "string", "maxLength": 1000}
                                                               for i in range(n)}})
    for n in (100, 256):
        row(f"{n} optional properties", {"type": "object", "properties": {f"p{i}": {"type": "integer"}
                                                                         for i in range(n)}})

    print("\n## A recursive $ref with two ways to open '[' (refused: recursion)")
    nested = {"$defs": {"n": {"anyOf": [{"type": "array", "items": {"$ref": "#/$defs/n"}},
                                        {"type": "array", "items": {"$ref": "#/$defs/n"}, "minItems": 1}]}},
              "type": "object", "properties": {"x": {"$ref": "#/$defs/n"}}}
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.schema_gbnf(nested).encode(), b"root")
    for piece in ("{", '"', "x", '"', ":"):
        llama_cpp.llama_sampler_accept(sampler, _token(llama_cpp, vocab, piece))
    for depth in range(11):
        candidates.copy_logits(np.zeros(n_vocab, dtype=np.single))
        step = time.perf_counter()
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates.candidates))
        if depth % 2 == 0:
            print(f"token step after {depth:2} '[': {1000 * (time.perf_counter() - step):7.1f} ms", flush=True)
        llama_cpp.llama_sampler_accept(sampler, _token(llama_cpp, vocab, "["))
    llama_cpp.llama_sampler_free(sampler)

    print("\n## The endpoint's own checks (schema walk, conversion, size, llama.cpp parse)")
    for label, schema in (("maxLength 1000", one(type="string", maxLength=1000)),
                          ("30 strings of maxLength 1000", {"type": "object", "properties": {
                              f"p{i}": {"type": "string", "maxLength": 1000} for i in range(30)}})):
        start = time.perf_counter()
        grammar.check_schema(schema, "schema")
        grammar.check_gbnf(grammar.schema_gbnf(schema), "schema")
        print(f"{label:34} validated in {1000 * (time.perf_counter() - start):6.1f} ms")
    llama_cpp.llama_model_free(model)


def _token(llama_cpp: Any, vocab: Any, piece: str) -> int:
    """The one token id of `piece`."""
    ids = (llama_cpp.llama_token * 4)()
    count = llama_cpp.llama_tokenize(vocab, piece.encode(), len(piece.encode()), ids, 4, False, True)
    assert count == 1, (piece, count)
    return int(ids[0])


if __name__ == "__main__":
    main()
