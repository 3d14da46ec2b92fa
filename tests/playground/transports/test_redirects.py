"""Neither transport follows a redirect: the address a redirect names was never checked by
playground.netguard, so a user-added endpoint could otherwise point a request at a cloud
metadata service. A local server answers 307 with a Location on another local server, as any
HTTP server may; the second server must never be asked."""

from __future__ import annotations

import pytest

from playground.client import ChatClient, ChatParams, Endpoint, PlaygroundError
from playground.types import INFERENCE, OPENAI
from tests.support.fake_service import FakeService, Reply
from tests.support.github_models import streamed_reply


@pytest.mark.parametrize("api", [INFERENCE, OPENAI])
def test_a_redirect_is_an_error_and_its_target_is_never_asked(api):
    with FakeService({"/chat/completions": [streamed_reply("secret")] * 3}) as target:
        redirect = Reply(status=307, body={"error": {"code": "moved", "message": "Moved"}},
                         headers={"Location": f"{target.url}/chat/completions"})
        with FakeService({"/chat/completions": [redirect] * 3}) as endpoint:
            client = ChatClient(Endpoint(endpoint.url, "Custom endpoint", api=api), read_timeout=10)
            with pytest.raises(PlaygroundError):
                list(client.stream_chat([{"role": "user", "content": "Hi"}], ChatParams(), "m"))
            client.close()
        assert target.requests == []
