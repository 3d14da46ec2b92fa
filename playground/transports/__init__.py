"""Transports: one module per SDK, each implementing `base.Transport`. `open_transport` picks
the one an endpoint's API needs; nothing else in the playground imports an SDK."""

from __future__ import annotations

from ..netguard import Guard
from ..types import OPENAI, Endpoint
from .base import ChatStream, Transport


def open_transport(endpoint: Endpoint, *, read_timeout: float = 120.0, max_retry_after: float = 10.0,
                   guard: Guard | None = None) -> Transport:
    """`guard` for an endpoint a user added (playground.netguard): its connections go only to the
    addresses the guard checked, and nothing of this deployment's identity goes with its requests."""
    if endpoint.api == OPENAI:
        from .openai_v1 import OpenAITransport  # imported on use: Model Inference users never pay for it

        return OpenAITransport(endpoint, read_timeout=read_timeout, max_retry_after=max_retry_after, guard=guard)
    from .azure_inference import AzureInferenceTransport

    return AzureInferenceTransport(endpoint, read_timeout=read_timeout, max_retry_after=max_retry_after, guard=guard)


__all__ = ["ChatStream", "Transport", "open_transport"]
