"""The head watch that wakes live streams: many streams come and go at once,
and the next one is still woken when the ledger moves."""

from __future__ import annotations

import asyncio
import logging

import pytest

from api.feed import HeadWatch


class Ledger:
    def __init__(self) -> None:
        self.head = 0
        self.failures = 0

    def read_head(self) -> int:
        if self.failures:
            self.failures -= 1
            raise OSError("the database went away")
        return self.head


async def woken_within(watch: HeadWatch, position: int, seconds: float) -> bool:
    started = asyncio.get_running_loop().time()
    await watch.wait_beyond(position, timeout=seconds)
    return asyncio.get_running_loop().time() - started < seconds


def test_a_stream_is_woken_after_hundreds_of_others_were_cancelled_at_once_again_and_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        ledger = Ledger()
        watch = HeadWatch(ledger.read_head)
        for _ in range(5):
            waiters = [
                asyncio.create_task(watch.wait_beyond(ledger.head, timeout=30)) for _ in range(200)
            ]
            await asyncio.sleep(0.05)
            ledger.head += 1  # one write: every waiter is being woken ...
            await asyncio.sleep(0.3)
            waiters += [
                asyncio.create_task(watch.wait_beyond(ledger.head, timeout=30)) for _ in range(200)
            ]
            await asyncio.sleep(0.01)
            # ... and every client hangs up at once. A server's task group
            # (anyio) cancels a task again at each await until it ends.
            while not all(waiter.done() for waiter in waiters):
                for waiter in waiters:
                    waiter.cancel()
                await asyncio.sleep(0)
            await asyncio.gather(*waiters, return_exceptions=True)
        waiting = asyncio.create_task(woken_within(watch, ledger.head, 5))
        await asyncio.sleep(0.05)
        ledger.head += 1
        assert await waiting
        await watch.close()

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_a_stream_is_woken_once_the_database_answers_again() -> None:
    async def scenario() -> None:
        ledger = Ledger()
        watch = HeadWatch(ledger.read_head)
        ledger.failures = 3
        waiting = asyncio.create_task(woken_within(watch, 0, 5))
        await asyncio.sleep(0.05)
        ledger.head = 1
        assert await waiting
        await watch.close()

    asyncio.run(scenario())


def test_a_wait_ends_at_its_timeout_when_nothing_is_written() -> None:
    async def scenario() -> None:
        watch = HeadWatch(Ledger().read_head)
        assert not await woken_within(watch, 0, 0.3)
        await watch.close()

    asyncio.run(scenario())
