"""The threads strategy gives each worker thread one event loop for all its calls."""

from __future__ import annotations

import asyncio
import concurrent.futures

from tools_app.engine import ExecutionOptions, execute_batch_sync

from .support import FunctionImpl, call, echo_spec


def test_calls_on_one_worker_share_its_loop_across_batches():
    loops: list[int] = []

    async def where(arguments, context):
        await asyncio.sleep(0)
        loops.append(id(asyncio.get_running_loop()))
        return context.worker

    spec = echo_spec("where", implementation=FunctionImpl(where))
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="solo") as pool:
        options = ExecutionOptions(strategy="threads", executor=pool)
        for _ in range(2):
            batch = execute_batch_sync([call("a", "where"), call("b", "where")], [spec], options)
            assert [r.result for r in batch.results] == ["solo_0", "solo_0"]
    assert len(loops) == 4 and len(set(loops)) == 1
