"""What a process forked from a running one must make anew before it serves: the parent's threads
do not survive a fork, so executors and channel layers that may have started some are dropped.
Used by the benches' and the tests' forked servers (`bench_proxy`, `tests.support.live_studio`);
the studio itself never forks a server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def renew_after_fork() -> None:
    from asgiref.sync import SyncToAsync
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    SyncToAsync.context_to_thread_executor.clear()
