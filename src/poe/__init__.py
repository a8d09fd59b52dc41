"""Poe Proxy: OpenAI-compatible doors in front of Poe's two APIs, with a pool of keys.

``doors/`` (client protocols) -> ``canonical`` (request and answer events) ->
``pool`` (keys, failover) -> ``upstreams/`` (Poe's OpenAI-compatible API,
passed through; Poe's bot protocol, translated); ``edges/`` run it on Workers
(the only module that touches JS) and under ASGI. Everything else is stdlib
Python that runs under CPython and Pyodide.
"""

__version__ = "0.2.0"
