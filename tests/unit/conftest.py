"""Shared settings for the unit tests.

Hypothesis keeps no example database (nothing is written into the work tree)
and has no deadline (CI machines vary); the example counts stay moderate so the
whole layer runs in seconds.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "unit",
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("unit")
