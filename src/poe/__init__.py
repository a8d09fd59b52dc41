"""Poe Proxy: an OpenAI-compatible API in front of Poe's bot protocol.

Everything in this package is stdlib Python that runs under CPython and
Pyodide, except ``workers.py`` (the one module that talks to JS).
"""

__version__ = "0.1.0"
