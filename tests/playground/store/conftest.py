from __future__ import annotations

import pytest

from playground.store import Store


@pytest.fixture
def store(new_store) -> Store:
    return new_store()
