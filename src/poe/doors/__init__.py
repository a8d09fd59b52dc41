"""Client protocols ("doors"): each parses its JSON into the canonical request and writes
canonical answer events back in its own shape."""
