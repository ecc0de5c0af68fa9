"""The scaffolding of the tests' own WebSocket servers (raw_server.py,
audiohook_server.py): an asyncio loop in a thread, listening on loopback on a
free port, stopped by the test's cleanup."""

import asyncio
import threading

import websockets

from harness import LOOPBACK


class LoopbackWsServer:
    """Subclasses give `_handle(ws, path)` and may give `_check_upgrade(path,
    headers)` (a coroutine returning None or an HTTP refusal)."""

    _check_upgrade = None

    def __init__(self, h):
        self.h = h
        self.port = None
        self._loop = None
        self._stop = None
        self._ready = threading.Event()

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()
        if not self._ready.wait(10):
            raise AssertionError(f"{type(self).__name__} did not start")
        self.h.addCleanup(self.stop)
        return self

    def stop(self):
        if self._loop and self._stop and not self._stop.done():
            self._loop.call_soon_threadsafe(lambda: self._stop.done() or self._stop.set_result(None))

    def _run(self):
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self):
        self._stop = self._loop.create_future()
        async with websockets.serve(self._handle, LOOPBACK, 0, max_size=None,
                                    process_request=self._check_upgrade) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop
