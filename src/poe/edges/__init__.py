"""Runtimes: the Workers edge (JS, Pyodide) and the ASGI edge (CPython). Every I/O call lives here."""
