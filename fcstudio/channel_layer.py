"""The Redis channel layer, with a bounded pool that waits for a connection.

channels-redis builds a plain redis-py pool per event loop, which raises `MaxConnectionsError`
the moment more sends are in flight than it holds connections (100 by default): at a few
hundred concurrent runs, live frames were dropped. Here each event loop's pool is a
`BlockingConnectionPool`: a send beyond FCSTUDIO_REDIS_MAX_CONNECTIONS waits up to
FCSTUDIO_REDIS_POOL_TIMEOUT seconds for a connection to come back instead of failing.

redis-py 8 reads with a 5 s socket timeout by default, exactly as long as channels-redis's
blocking receive (`BZPOPMIN` for `brpop_timeout` seconds) waits on an idle channel: an idle
`runworker` or websocket died with "Timeout reading from …" after 5 to 10 s. Reads here wait
longer than the server-side block, and still notice a connection that went dead.
"""

from __future__ import annotations

from typing import Any

from channels_redis.core import RedisChannelLayer
from redis import asyncio as aioredis

READ_MARGIN_SECONDS = 10
CONNECT_TIMEOUT_SECONDS = 5


class PooledRedisChannelLayer(RedisChannelLayer):
    def __init__(
        self, *args: Any, max_connections: int = 100, pool_timeout: float = 20, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_connections = max_connections
        self.pool_timeout = pool_timeout

    def create_pool(self, index: int) -> aioredis.BlockingConnectionPool:
        host = dict(self.hosts[index])
        address = host.pop("address")
        host.setdefault("socket_timeout", self.brpop_timeout + READ_MARGIN_SECONDS)
        host.setdefault("socket_connect_timeout", CONNECT_TIMEOUT_SECONDS)
        return aioredis.BlockingConnectionPool.from_url(
            address, max_connections=self.max_connections, timeout=self.pool_timeout, **host
        )
