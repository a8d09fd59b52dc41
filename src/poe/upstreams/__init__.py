"""Poe behind the proxy: its OpenAI-compatible API (passed through) and its bot protocol (translated)."""
