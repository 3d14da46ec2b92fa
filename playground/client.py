"""The one typed client the UI and the use cases import: `ChatClient(endpoint)` opens the
transport the endpoint's API needs; the value types and the user-facing error come along."""

from __future__ import annotations

from .errors import PlaygroundError
from .transports import open_transport
from .transports.base import ChatStream, Transport
from .types import ChatParams, Endpoint, ModelEntry, ModelInfo, Reply

ChatClient = open_transport

__all__ = ["ChatClient", "ChatParams", "ChatStream", "Endpoint", "ModelEntry", "ModelInfo", "PlaygroundError",
           "Reply", "Transport"]
