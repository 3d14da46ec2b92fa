"""The GitHub Models request budget: counted here, corrected by the service's headers."""

from playground.budget import RequestBudget


def test_counts_requests_per_minute_and_day():
    now = [1000.0]
    budget = RequestBudget(clock=lambda: now[0])
    for _ in range(3):
        budget.record()
    now[0] += 61
    budget.record()
    reading = budget.reading()
    assert (reading.used_minute, reading.used_day) == (1, 4)
    now[0] += 86401
    assert budget.reading().used_day == 0


def test_service_headers_are_reported():
    budget = RequestBudget()
    budget.observe_headers({"X-RateLimit-Remaining-Requests": "12", "x-ratelimit-limit-requests": "15"})
    reading = budget.reading()
    assert (reading.remaining_reported, reading.limit_reported) == (12, 15)
