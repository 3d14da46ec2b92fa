"""ModelTargets for the models a user picked in the app (`providers.ModelChoice`)."""

from __future__ import annotations

from ..providers import EMBEDDED, ModelChoice
from ..settings import Settings
from .engine import CLOUD_CONCURRENCY, EMBEDDED_CONCURRENCY, ChatCompleter, ModelTarget


def concurrency_for(choice: ModelChoice, settings: Settings | None = None) -> int:
    """The embedded endpoint: its copies of the model (PLAYGROUND_LOCAL_PARALLEL, default 2);
    a cloud endpoint: PLAYGROUND_EVAL_CONCURRENCY (default 4)."""
    if choice.provider.kind == EMBEDDED:
        return (settings.local_parallel if settings else None) or EMBEDDED_CONCURRENCY
    return settings.eval_concurrency if settings else CLOUD_CONCURRENCY


def target_for(choice: ModelChoice, client: ChatCompleter, settings: Settings | None = None, *,
               label: str | None = None, concurrency: int | None = None) -> ModelTarget:
    """A column for `choice`, calling through `client` (one ChatClient per endpoint: targets on the
    same provider share its limit)."""
    return ModelTarget(label=label or choice.label, client=client, model=choice.model,
                       concurrency=concurrency or concurrency_for(choice, settings),
                       embedded=choice.provider.kind == EMBEDDED, pool=choice.provider.id)
