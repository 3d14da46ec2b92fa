"""Every page test also checks that each script run it made sends deltas the browser can place
(tests/support/browser_tree.py): a run that fails there is a blank page for the user."""

from __future__ import annotations

import pytest

from tests.support.browser_tree import apply, recorded_runs


@pytest.fixture(autouse=True)
def runs_the_browser_can_draw():
    with recorded_runs() as runs:
        yield
    for run in runs:
        apply(run)
