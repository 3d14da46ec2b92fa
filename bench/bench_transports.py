"""Transport benchmark: the same streamed reply from the embedded endpoint (`--threads 1`) read
through AzureInferenceTransport (azure-ai-inference, `{url}/chat/completions`) and through
OpenAITransport (openai, `{url}/v1/chat/completions`), alternating, so both see the same machine.

Each run: one prompt, 128 tokens (ignore_eos: every reply is exactly that long), temperature 0.
Reported per transport, median of the runs: time to first token, decode tokens/s (tokens after
the first over the time after the first, as ChatStream computes it), total time, and this
process's CPU time per reply (what the SDK itself costs on the client side).

Usage: .venv/bin/python bench/bench_transports.py [--runs N] [--tokens N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _harness import load_line, machine_line, median

from playground.transports.azure_inference import AzureInferenceTransport
from playground.transports.openai_v1 import OpenAITransport
from playground.types import INFERENCE, OPENAI, ChatParams, Endpoint
from tests.conftest import TEST_THREADS, start_endpoint

PROMPT = [{"role": "user", "content": "Write a short story about a lighthouse keeper."}]


def one_run(transport, tokens: int) -> dict[str, float]:
    cpu = time.process_time()
    stream = transport.stream_chat(PROMPT, ChatParams(max_tokens=tokens, temperature=0.0,
                                                      extras={"ignore_eos": True}))
    for _ in stream:
        pass
    assert stream.completion_tokens == tokens, stream.completion_tokens
    return {"ttft": stream.time_to_first_token, "tps": stream.tokens_per_second,
            "total": stream.finished_at - stream.started, "cpu": time.process_time() - cpu}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()

    print(machine_line())
    print(load_line())
    endpoint = start_endpoint(Path(tempfile.mkdtemp(prefix="bench-transports-")), *TEST_THREADS)
    try:
        transports = {
            "AzureInferenceTransport": AzureInferenceTransport(Endpoint(endpoint.url, "Embedded", api=INFERENCE)),
            "OpenAITransport": OpenAITransport(Endpoint(endpoint.url + "/v1", "Embedded", api=OPENAI)),
        }
        for transport in transports.values():  # warm-up: connections, imports, the model's caches
            one_run(transport, 8)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in transports}
        for _ in range(args.runs):
            for name, transport in transports.items():  # alternating: drift hits both alike
                results[name].append(one_run(transport, args.tokens))
        print(f"embedded endpoint --threads 1, {args.tokens} tokens per reply, "
              f"median of {args.runs} runs each, alternating")
        print(f"{'transport':<26}{'first token':>13}{'tokens/s':>10}{'total':>9}{'client CPU':>12}")
        for name, runs in results.items():
            print(f"{name:<26}{median([r['ttft'] for r in runs]) * 1000:>10.0f} ms"
                  f"{median([r['tps'] for r in runs]):>10.1f}{median([r['total'] for r in runs]):>7.2f} s"
                  f"{median([r['cpu'] for r in runs]) * 1000:>9.0f} ms")
        for transport in transports.values():
            transport.close()
    finally:
        endpoint.stop()


if __name__ == "__main__":
    main()
