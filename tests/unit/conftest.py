"""Shared settings for the unit tests.

Hypothesis keeps no example database (nothing is written into the work tree)
and has no deadline (CI machines vary). The default profile keeps the layer
fast; ``HYPOTHESIS_PROFILE=thorough`` runs many more examples.
"""

import os

from hypothesis import HealthCheck, settings

for name, examples in (("unit", 150), ("thorough", 3000)):
    settings.register_profile(
        name,
        database=None,
        deadline=None,
        max_examples=examples,
        suppress_health_check=[HealthCheck.too_slow],
    )
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "unit"))
