"""The call logs in Redis, shared by every process and machine: one sorted set
per account and bucket, kept and expired by one Lua script on Redis's clock, and
a pause key beside it. Every Redis call times out and is never retried; `take`
answers None when Redis does not, and Redis is asked again only
`REDIS_RETRY_SECONDS` after a failure (logged once per outage)."""

import logging
import secrets
import threading
import time
from itertools import count

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.crm.ratelimit.rate import Rate

log = logging.getLogger("app.crm.ratelimit")

REDIS_RETRY_SECONDS = 5.0

# KEYS[1]: the bucket's log (sorted set: member per call, score = ms on Redis's
# clock); KEYS[2]: its pause marker. ARGV: calls allowed, window ms, a member
# name unique to this call. Returns 0 when the call was counted, otherwise the
# ms until one could be. A call stays counted for window + 1 ms, as in process.
TAKE_SCRIPT = """
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - window))
local used = redis.call('ZCARD', KEYS[1])
if used < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + 1000)
  return 0
end
local blocking = redis.call('ZRANGE', KEYS[1], used - limit, used - limit, 'WITHSCORES')
return math.max(1, tonumber(blocking[2]) + window + 1 - now)
"""
# KEYS[1]: a pause marker; ARGV[1]: ms. A longer pause already set stands.
PAUSE_SCRIPT = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
"""


class RedisLogs:
    """The shared logs; `take` answers None whenever Redis does not."""

    def __init__(self, url: str, prefix: str, timeout: float) -> None:
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # One try per call: a slow Redis must not hold a CRM call.
            retry=Retry(NoBackoff(), 0),
        )
        self._take = self._client.register_script(TAKE_SCRIPT)
        self._pause = self._client.register_script(PAUSE_SCRIPT)
        self._prefix = prefix
        self._members = count()
        self._process = secrets.token_hex(6)
        self._lock = threading.Lock()
        self._down_until = 0.0

    def healthy(self) -> bool:
        """False for a while after Redis failed."""
        return time.monotonic() >= self._down_until

    def take(self, account: str, bucket: str, rate: Rate) -> float | None:
        """Count one call if there is room: 0.0, else the seconds until room;
        None when Redis did not answer."""
        if not self.healthy():
            return None
        log_key, pause_key = self._keys(account, bucket)
        member = f"{self._process}:{next(self._members)}"
        try:
            wait_ms = self._take(
                keys=[log_key, pause_key], args=[rate.calls, rate.window_ms, member]
            )
        except (redis.RedisError, OSError) as failure:
            self._failed(failure)
            return None
        self._answered()
        return max(int(wait_ms), 0) / 1000

    def pause(self, account: str, bucket: str, seconds: float) -> None:
        """No call in this bucket for `seconds`, in every process."""
        if not self.healthy():
            return
        _, pause_key = self._keys(account, bucket)
        try:
            self._pause(keys=[pause_key], args=[max(1, round(seconds * 1000))])
        except (redis.RedisError, OSError) as failure:
            self._failed(failure)
            return
        self._answered()

    def close(self) -> None:
        """Release the connections."""
        self._client.close()

    def _keys(self, account: str, bucket: str) -> tuple[str, str]:
        # The braces keep an account's keys in one Redis Cluster slot.
        base = f"{self._prefix}:{{{account}}}:{bucket}"
        return base, f"{base}:pause"

    def _failed(self, failure: Exception) -> None:
        with self._lock:
            was_up = self._down_until == 0.0
            self._down_until = time.monotonic() + REDIS_RETRY_SECONDS
        if was_up:
            log.warning(
                "CRM rate limits: Redis failed (%s); counting in this process "
                "until it answers again",
                type(failure).__name__,
            )

    def _answered(self) -> None:
        if self._down_until == 0.0:
            return
        with self._lock:
            was_down, self._down_until = self._down_until != 0.0, 0.0
        if was_down:
            log.info("CRM rate limits: Redis answers again; budgets are shared")
