"""Run a coroutine to completion from a test, whatever the calling thread's event loop is doing.

Some tests in the same process (Playwright's sync API) leave an event loop marked running on the main
thread, and ``asyncio.run`` refuses to start inside it: run the coroutine on a thread of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["run_async"]


def run_async(make: Callable[[], Awaitable[Any]]) -> Any:
    """``asyncio.run(make())`` on a fresh thread; returns its result or raises its exception."""
    outcome: dict[str, Any] = {}

    def main() -> None:
        try:
            outcome["value"] = asyncio.run(make())  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the caller
            outcome["error"] = exc

    thread = threading.Thread(target=main, name="test-event-loop")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
