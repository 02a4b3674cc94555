"""genesis.asgi's application in this test's process, for the tests that change settings
or patch code under it (the production servers, tests/servers.py, run in processes of
their own). Its lifespan (the MCP SDK's session managers) runs on an event loop in a
thread of its own, as a server's would; requests go through httpx's ASGI transport."""

import asyncio
import threading

import httpx
from asgiref.sync import sync_to_async
from django.db import connections


class InProcess:
    def __init__(self, client: tuple[str, int] = ("127.0.0.1", 50000)):
        self.client = client

    def __enter__(self):
        from genesis.asgi import build_application

        self.app = build_application()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.stopping = asyncio.Event()
        started = threading.Event()

        async def lifespan():
            async with self.app.router.lifespan_context(self.app):
                started.set()
                await self.stopping.wait()
            # The app's database work ran on asgiref's one thread for sync code, whose
            # connection a server's worker drops as it exits; this process lives on, and
            # the test database can't be dropped while that connection is open.
            await sync_to_async(connections.close_all)()

        self.lifespan = asyncio.run_coroutine_threadsafe(lifespan(), self.loop)
        if not started.wait(timeout=30):
            raise RuntimeError(f"genesis.asgi did not start: {self.lifespan.exception()}")
        return self

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        async def send():
            transport = httpx.ASGITransport(app=self.app, client=self.client)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
                return await http.request(method, path, **kwargs)

        return asyncio.run_coroutine_threadsafe(send(), self.loop).result(timeout=30)

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.lifespan.result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
