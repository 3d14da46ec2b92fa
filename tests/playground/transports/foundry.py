"""What Microsoft Foundry's OpenAI v1 routes (`https://<resource>.services.ai.azure.com/openai/v1/`,
`https://<resource>.openai.azure.com/openai/v1/`) send, per Microsoft's docs and reference.md
sections 2 and 6, for local fake services: Foundry cannot be reached from here.

Wire form: `POST /openai/v1/chat/completions` and `GET /openai/v1/models`, no api-version; the key as
`api-key: K` or `Authorization: Bearer K` (an Entra ID token as Bearer); SSE as `data: {...}\\n\\n`
lines ending in `data: [DONE]`, and with `stream_options.include_usage` a last chunk whose
`choices` is empty and which carries `usage`; `x-ratelimit-*` counters on responses."""

from tests.support.fake_service import Reply, chunk

BASE_PATH = "/openai/v1"
CHAT = BASE_PATH + "/chat/completions"
MODELS = BASE_PATH + "/models"
KEY = "foundry-key-0123456789"

RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "1000", "x-ratelimit-remaining-requests": "999",
    "x-ratelimit-limit-tokens": "200000", "x-ratelimit-remaining-tokens": "199950",
    "x-ratelimit-reset-requests": "6m0s", "x-ratelimit-reset-tokens": "1s",
}

# Azure's list carries more per model than OpenAI's (capabilities, lifecycle, deprecation dates),
# and not always `owned_by`.
MODEL_LIST = Reply(body={"object": "list", "data": [
    {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system",
     "capabilities": {"chat_completion": True, "completion": False, "embeddings": False},
     "lifecycle_status": "generally-available", "deprecation": {"inference": 1790899200}},
    {"id": "Llama-3.3-70B-Instruct", "object": "model", "created": 1733356800, "owned_by": "Meta"},
    {"id": "DeepSeek-R1", "object": "model", "created": 1737936000,
     "capabilities": {"chat_completion": True}, "lifecycle_status": "generally-available"},
]})

CONTENT_FILTER_400 = Reply(status=400, body={"error": {
    "code": "content_filter", "param": "prompt", "status": 400,
    "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. "
               "Please modify your prompt and retry.",
    "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
        "hate": {"filtered": True, "severity": "high"}, "self_harm": {"filtered": False, "severity": "safe"},
        "sexual": {"filtered": False, "severity": "safe"}, "violence": {"filtered": False, "severity": "safe"},
        "jailbreak": {"filtered": False, "detected": False}}}}})

FORBIDDEN_403 = Reply(status=403, body={"error": {
    "code": "PermissionDenied",
    "message": "The principal lacks the required data action Microsoft.CognitiveServices/accounts/OpenAI/"
               "deployments/chat/completions/action to perform this operation."}})

TOKENS_LIMIT_413 = Reply(status=413, body={"error": {
    "code": "tokens_limit_reached", "status": 413,
    "message": "Request body too large for gpt-4o-mini model. Max size: 8000 tokens."}})

SHORT_429 = Reply(status=429, headers={"retry-after": "0.2", "x-ratelimit-remaining-requests": "0"},
                  body={"error": {"code": "429", "message": "Requests to the ChatCompletions_Create Operation "
                                  "have exceeded the rate limit of your current tier. Please retry after 1 second."}})

SERVER_500 = Reply(status=500, body={"error": {
    "code": "InternalServerError", "message": "The server had an error while processing your request."}})


def stream(*texts: str, finish_reason: str = "stop", headers: dict | None = None) -> Reply:
    """A Foundry stream: one chunk per text, the finish chunk, then the include_usage chunk."""
    events = [chunk(t) for t in texts] + [chunk(finish_reason=finish_reason),
                                           chunk(usage={"prompt_tokens": 12, "completion_tokens": len(texts),
                                                        "total_tokens": 12 + len(texts)})]
    return Reply(events=events, headers={**RATE_LIMIT_HEADERS, **(headers or {})})


def completion(*texts: str, tool_calls: list | None = None, finish_reason: str = "stop") -> Reply:
    """A whole chat.completion with one choice per text (n > 1)."""
    choices = [{"index": i, "finish_reason": finish_reason, "logprobs": None,
                "message": {"role": "assistant", "content": text}} for i, text in enumerate(texts)]
    if tool_calls:
        choices[0]["message"]["tool_calls"] = tool_calls
    return Reply(headers=RATE_LIMIT_HEADERS, body={
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
        "choices": choices, "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}})
