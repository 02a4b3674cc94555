"""Request bodies are read whole on the event loop, within a time limit, before any
thread sees the request.

Under an ASGI server the console and API run as WSGI on a few threads: a thread that read
a body waited for every byte of it, so 40 clients sending their forms slowly held every thread,
and the console, the API and the health check stalled for everyone. Read here, a slow
body costs an idle coroutine, and one that doesn't arrive within REQUEST_BODY_TIMEOUT
gets 408; one larger than DATA_UPLOAD_MAX_MEMORY_SIZE gets 413 without being read further.
The proxy in front should do the same first (README, "Slow clients").
"""

import asyncio

from django.conf import settings

from genesis.machine import is_machine_path, send_answer, send_json


async def _refuse(send, path: str, status: int, error: str, description: str):
    closing = [(b"connection", b"close")]
    if is_machine_path(path):
        body = {"error": error, "error_description": description}
        return await send_json(send, status, body, closing)
    plain = b"text/plain; charset=utf-8"
    return await send_answer(send, status, description.encode(), plain, closing)


class BufferedBodies:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        messages, size = [], 0
        try:
            async with asyncio.timeout(settings.REQUEST_BODY_TIMEOUT):
                while True:
                    message = await receive()
                    messages.append(message)
                    if message["type"] != "http.request":
                        break  # the client went away: let the app see that
                    size += len(message.get("body", b""))
                    if size > limit:
                        return await _refuse(
                            send, scope["path"], 413, "request_too_large", "Request body too large"
                        )
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            return await _refuse(
                send, scope["path"], 408, "request_timeout", "The request body came too slowly"
            )

        async def replay():
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)
