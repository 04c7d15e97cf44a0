"""The engine must not import Django: it is imported here with Django made unimportable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import sys
sys.modules["django"] = None  # any `import django...` now raises ImportError
import tools_app.engine
import tools_app.engine.bench
import tools_app.engine.implementations.http
import tools_app.engine.python_child
import tools_app.demo_tools
from tools_app.engine import ToolCall, ToolSpec, MockImplementation, execute_batch_sync
batch = execute_batch_sync([ToolCall("c1", "t", "{}")], [ToolSpec("t", {}, MockImplementation())])
assert batch.results[0].ok
assert not any(name == "django" or name.startswith("django.") for name in sys.modules
               if sys.modules[name] is not None)
print("ok")
"""


def test_engine_imports_and_runs_without_django():
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
