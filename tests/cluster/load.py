"""A steady load in the clients' namespace: streams of requests, each a key sent over
the API (GET /api/v1/me) or MCP (tools/list) to one URL from one client address, one
request at a time per stream, until the stop file appears, `seconds` pass, or `limit`
requests were sent. Every answer is recorded: its stream, when it was sent and answered
(time.monotonic, the same clock in every namespace), and its status (or the transport
error's name).

    python -m tests.cluster.load <spec.json> <answers.json>

spec: {"seconds": 20, "limit": 20000, "stop_file": "...", "pause": 0.01,
       "streams": [{"name": "...", "url": "http://10.77.0.2", "surface": "api",
                    "key": "...", "source": "10.77.0.31"}, ...]}
"""

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import httpx

TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


async def stream(spec: dict, stream: dict, answers: list, budget: list, deadline: float):
    # A new connection for each request: the balancer's checker reloads nginx to take a
    # host out, and a reloading nginx closes its idle client connections, which a client
    # that reuses one may race (an artefact of the harness's checker, not of the app).
    transport = httpx.AsyncHTTPTransport(
        local_address=stream["source"], limits=httpx.Limits(max_keepalive_connections=0)
    )
    async with httpx.AsyncClient(transport=transport, timeout=10) as client:
        while time.monotonic() < deadline and budget[0] > 0:
            if os.path.exists(spec["stop_file"]):
                return
            budget[0] -= 1
            sent = time.monotonic()
            try:
                if stream["surface"] == "api":
                    response = await client.get(
                        f"{stream['url']}/api/v1/me", headers={"x-api-key": stream["key"]}
                    )
                else:
                    response = await client.post(
                        f"{stream['url']}/mcp",
                        json=TOOLS_LIST,
                        headers={
                            "Authorization": f"Bearer {stream['key']}",
                            "Accept": "application/json",
                        },
                    )
                status = response.status_code
                json_body = response.headers.get("content-type", "").startswith("application/json")
            except httpx.HTTPError as error:
                status, json_body = type(error).__name__, False
            answers.append([stream["name"], sent, time.monotonic(), status, json_body])
            await asyncio.sleep(spec.get("pause", 0.01))


async def run(spec: dict) -> list:
    answers: list = []
    budget = [spec.get("limit", 20000)]
    deadline = time.monotonic() + spec["seconds"]
    await asyncio.gather(
        *(stream(spec, each, answers, budget, deadline) for each in spec["streams"])
    )
    return answers


def main(spec_path: str, out: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    Path(out + ".started").touch()
    answers = asyncio.run(run(spec))
    Path(out).write_text(json.dumps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
