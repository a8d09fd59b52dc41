"""scripts/refresh_catalogue.py rewrites only the generated block, from a /v1/models answer."""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data_of(path: Path) -> ModuleType:
    """BOTS and ALIASES of a catalogue file, read as literals (the module imports its package)."""
    module = ModuleType("catalogue_data")
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id in ("BOTS", "ALIASES"):
            assert node.value is not None
            setattr(module, node.target.id, ast.literal_eval(node.value))
    return module


def test_refresh_replaces_bots_and_keeps_aliases(tmp_path: Path) -> None:
    script = load(ROOT / "scripts" / "refresh_catalogue.py", "refresh_catalogue")
    catalogue = tmp_path / "catalogue.py"
    shutil.copy(ROOT / "src" / "poe" / "catalogue.py", catalogue)
    before = data_of(catalogue)
    answer = {
        "object": "list",
        "data": [{"id": "Claude-Sonnet-9", "object": "model"}, {"id": "GPT-9", "object": "model"}, {"id": "Zeta-Bot"}],
    }
    source = tmp_path / "models.json"
    source.write_text(json.dumps(answer))

    assert script.main(["--source", str(source), "--catalogue", str(catalogue)]) == 0

    after = data_of(catalogue)
    assert after.BOTS == (("Claude-Sonnet-9", "anthropic"), ("GPT-9", "openai"), ("Zeta-Bot", "poe"))
    assert after.ALIASES == before.ALIASES
