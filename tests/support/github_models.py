"""What GitHub Models sends, per its docs and reference.md section 2, for the local fake services."""

from tests.support.fake_service import Reply, chunk

CATALOG = [
    {"id": "microsoft/phi-3-mini-4k-instruct", "name": "Phi-3-mini instruct (4k)", "publisher": "Microsoft",
     "registry": "azureml", "summary": "Tiniest member of the Phi-3 family.",
     "html_url": "https://github.com/marketplace/models/azureml/Phi-3-mini-4k-instruct", "version": "15",
     "capabilities": ["streaming"], "limits": {"max_input_tokens": 4096, "max_output_tokens": 1024},
     "rate_limit_tier": "low", "supported_input_modalities": ["text"], "supported_output_modalities": ["text"],
     "tags": ["low latency"]},
    {"id": "meta/llama-3.3-70b-instruct", "name": "Llama-3.3-70B-Instruct", "publisher": "Meta",
     "registry": "azureml-meta", "summary": "Enhanced reasoning, math, and instruction following.",
     "html_url": "https://github.com/marketplace/models/azureml-meta/Llama-3-3-70B-Instruct", "version": "4",
     "capabilities": ["streaming"], "limits": {"max_input_tokens": 128000, "max_output_tokens": 4096},
     "rate_limit_tier": "high", "supported_input_modalities": ["text"], "supported_output_modalities": ["text"],
     "tags": ["conversation"]},
    {"id": "openai/o3-mini", "name": "OpenAI o3-mini", "publisher": "OpenAI", "registry": "azure-openai",
     "summary": "Reasoning at low cost.", "html_url": "https://github.com/marketplace/models/azure-openai/o3-mini",
     "version": "1", "capabilities": ["reasoning", "streaming", "tool-calling"],
     "limits": {"max_input_tokens": 200000, "max_output_tokens": 100000}, "rate_limit_tier": "custom",
     "supported_input_modalities": ["text"], "supported_output_modalities": ["text"], "tags": ["reasoning"]},
]

DAILY_LIMIT_429 = Reply(
    status=429,
    headers={"retry-after": "24367", "x-ratelimit-type": "UserByModelByDay"},
    body={"error": {"code": "RateLimitReached", "status": 429,
                    "message": "Rate limit of 150 per 86400s exceeded for UserByModelByDay. "
                               "Please wait 24367 seconds before retrying."}},
)
CONTENT_FILTER_400 = Reply(status=400, body={"error": {
    "code": "content_filter", "status": 400,
    "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
    "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
        "hate": {"filtered": False, "severity": "safe"}, "violence": {"filtered": True, "severity": "medium"},
        "jailbreak": {"filtered": True, "detected": True}}}}})
TOKENS_LIMIT_413 = Reply(status=413, body={"error": {
    "code": "tokens_limit_reached", "status": 413,
    "message": "Request body too large for gpt-4o model. Max size: 8000 tokens."}})

# What every GitHub Models route answered after the retirement (reference.md section 2): an
# empty 403 whose headers say why (RFC 8594 Sunset, RFC 9745 Deprecation, a Link to the notice).
RETIRED_403 = Reply(status=403, headers={
    "sunset": "Thu, 30 Jul 2026 00:00:00 GMT",
    "deprecation": "@1777939200",
    "link": '<https://github.blog/changelog/2026-07-01-github-models-is-being-fully-retired-on-july-30-2026/>; '
            'rel="deprecation"',
}, empty=True)


def streamed_reply(*texts: str, finish_reason: str = "stop", headers: dict | None = None) -> Reply:
    events = [chunk(t) for t in texts] + [chunk(finish_reason=finish_reason),
                                           chunk(usage={"prompt_tokens": 9, "completion_tokens": len(texts),
                                                        "total_tokens": 9 + len(texts)})]
    return Reply(events=events, headers=headers or {})
