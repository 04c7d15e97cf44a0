"""A pool child whose parent is gone ends, even in the middle of a call that never returns."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]

# A parent that starts a pool child, hands it a `while True` call, prints the child's pid and
# dies without a word to the child.
PARENT = textwrap.dedent(
    """
    import json, os, subprocess, sys
    child = subprocess.Popen(
        [sys.executable, "-m", "tools_app.engine.python_child", "0", str(os.getpid())],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    module = "tests.support.hostile_tools"
    request = {"target": module + ":spin", "allowed": [module], "arguments": {}}
    child.stdin.write(json.dumps(request).encode() + b"\\n")
    child.stdin.flush()
    print(child.pid, flush=True)
    os._exit(0)
    """
)


def test_an_orphaned_child_ends_while_its_call_still_runs():
    parent = subprocess.run(
        [sys.executable, "-c", PARENT], cwd=PROJECT, capture_output=True, text=True, timeout=30
    )
    assert parent.returncode == 0, parent.stderr
    child_pid = int(parent.stdout.strip())
    # The child is reparented, so it is not ours to wait for; a pidfd becomes readable when it
    # ends. Were the watcher missing, this would outlive the test's own timeout.
    try:
        pidfd = os.pidfd_open(child_pid)
    except ProcessLookupError:
        return  # already gone and reaped
    try:
        readable, _, _ = select.select([pidfd], [], [])
        assert readable == [pidfd]
    finally:
        os.close(pidfd)
