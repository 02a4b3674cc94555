"""The scenarios, each under a steady load of valid and invalid keys over the API and
MCP (tests.cluster.load), every answer counted. Each returns None when it holds, else
why not, and leaves the cluster as it found it (both app hosts serving)."""

import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.cluster.hosts import WEB_WORKERS, Cluster, pgbouncer_version, server_command, wait_for
from tests.cluster.net import in_ns

# The clients' addresses: valid keys come from one, invalid ones from another (the failed
# key limit counts per address and refuses every key from an address over it); the rest
# are for scenarios that count failures themselves.
VALID_FROM, INVALID_FROM = 0, 1
INVALID_KEY = "gk_live_" + "A" * 40  # a key's shape, no key's value


class Load:
    """The load generator in the clients' namespace, started with `streams` and stopped on
    leaving the block; `answers` then holds every answer."""

    def __init__(self, cluster: Cluster, name: str, streams: list[dict], seconds: float = 60):
        self.cluster = cluster
        self.spec_path = cluster.dir / f"load-{name}.json"
        self.out = cluster.dir / f"answers-{name}.json"
        self.stop_file = cluster.dir / f"stop-{name}"
        spec = {
            "seconds": seconds,
            "limit": 40000,
            "stop_file": str(self.stop_file),
            "pause": 0.02,
            "streams": streams,
        }
        self.spec_path.write_text(json.dumps(spec))

    def __enter__(self):
        self.process = subprocess.Popen(  # noqa: S603
            in_ns(self.cluster.ns["clients"], sys.executable, "-m", "tests.cluster.load",
                  str(self.spec_path), str(self.out)),
            cwd=Path(__file__).resolve().parents[2],
        )  # fmt: skip
        wait_for("the load starts", lambda: Path(str(self.out) + ".started").exists(), 30)
        time.sleep(1)  # a steady state before anything happens
        return self

    def __exit__(self, *exc):
        time.sleep(0.5)
        self.stopped = time.monotonic()
        self.stop_file.touch()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.answers = (
            [Answer(*row) for row in json.loads(self.out.read_text())] if self.out.exists() else []
        )


@dataclass
class Answer:
    stream: str
    sent: float
    answered: float
    status: int | str
    json: bool


def steady(cluster: Cluster) -> list[dict]:
    """Valid and invalid keys over the API and MCP through the balancer."""
    keys = json.loads(cluster.keys_file.read_text())
    url = cluster.balancer.url
    valid, invalid = cluster.clients[VALID_FROM], cluster.clients[INVALID_FROM]
    return [
        stream("valid api", url, "api", keys["valid"][0]["key"], valid),
        stream("valid api 2", url, "api", keys["valid"][1]["key"], valid),
        stream("valid mcp", url, "mcp", keys["valid"][2]["key"], valid),
        stream("invalid api", url, "api", INVALID_KEY, invalid),
        stream("invalid mcp", url, "mcp", INVALID_KEY, invalid),
    ]


def stream(name: str, url: str, surface: str, key: str, source: str) -> dict:
    return {"name": name, "url": url, "surface": surface, "key": key, "source": source}


def tally(answers: list[Answer]) -> str:
    counts = Counter((a.stream.split()[0], a.status) for a in answers)
    return ", ".join(
        f"{kind} {status}: {n}" for (kind, status), n in sorted(counts.items(), key=str)
    )


def common_problems(answers: list[Answer], valid_ok=lambda a: a.status == 200) -> list[str]:
    """What no scenario allows: an invalid key accepted, a 500, an answer not in JSON, no
    answers at all; and valid keys' answers that `valid_ok` refuses."""
    problems = []
    if not answers:
        return ["the load got no answers"]
    invalid = [a for a in answers if a.stream.startswith("invalid")]
    if any(a.status == 200 for a in invalid):
        problems.append(f"{sum(a.status == 200 for a in invalid)} invalid keys accepted")
    if any(a.status not in (401, 429, 503) for a in invalid):
        problems.append("invalid keys answered " + str(Counter(a.status for a in invalid)))
    if any(a.status == 500 for a in answers):
        problems.append(f"{sum(a.status == 500 for a in answers)} answers were 500")
    if any(isinstance(a.status, int) and not a.json for a in answers):
        problems.append(
            "answers not in JSON: " + str(Counter(a.status for a in answers if not a.json))
        )
    bad = [a for a in answers if a.stream.startswith("valid") and not valid_ok(a)]
    if bad:
        problems.append(f"{len(bad)} valid requests failed ({Counter(a.status for a in bad)})")
    return problems


BATCH = """
import httpx, json, sys, time
spec = json.loads(sys.argv[1])
client = httpx.Client(transport=httpx.HTTPTransport(local_address=spec["source"]), timeout=30)
answers = []
for method, url, key in spec["requests"]:
    sent = time.monotonic()
    r = client.request(method, url, headers={"x-api-key": key})
    answers.append({
        "sent": sent, "answered": time.monotonic(), "status": r.status_code, "body": r.text,
        "json": r.headers.get("content-type", "").startswith("application/json"),
    })
    if r.status_code == spec["until"]:
        break
print(json.dumps(answers))
"""


def requests(
    cluster: Cluster, calls: list[tuple[str, str, str]], source: int, until: int = 0
) -> list[dict]:
    """Requests (method, url, key) one after another on one connection from the clients'
    namespace and client address `source`, stopping after a status `until`: for each, its
    status and body, and when it was sent and answered (time.monotonic, as the load's)."""
    spec = {"source": cluster.clients[source], "requests": calls, "until": until}
    done = subprocess.run(  # noqa: S603
        in_ns(cluster.ns["clients"], sys.executable, "-c", BATCH, json.dumps(spec)),
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def request(cluster: Cluster, method: str, url: str, key: str, source: int = VALID_FROM) -> dict:
    return requests(cluster, [(method, url, key)], source)[0]


def balancer_says(cluster: Cluster, host: str, state: str, timeout: float = 20) -> float:
    """Waits until the checker has taken `host` out ("down") or put it back ("up"); when."""

    def settled():
        events = [e for e in cluster.balancer.transitions() if e["host"] == host]
        return events[-1]["at"] if events and events[-1]["state"] == state else None

    if state == "up" and not [e for e in cluster.balancer.transitions() if e["host"] == host]:
        return time.time()
    return wait_for(f"the balancer marks {host} {state}", settled, timeout)


def revoke_url(cluster: Cluster, key: dict) -> str:
    """Where an Admin revokes `key`, on app host 1."""
    return f"{cluster.app['app1'].url}/api/v1/organization/keys/{key['id']}/revoke"


class Scenario:
    name = ""

    def run(self, cluster: Cluster) -> str | None:
        problems = self.check(cluster)
        return "; ".join(problems) if problems else None


class Revocation(Scenario):
    name = "a key revoked through app host 1 is refused by app host 2 on its next request"

    def check(self, cluster):
        keys = json.loads(cluster.keys_file.read_text())
        doomed = keys["doomed"][0]
        app2 = cluster.app["app2"]
        streams = [
            *steady(cluster),
            stream("doomed api", app2.url, "api", doomed["key"], cluster.clients[2]),
            stream("doomed mcp", app2.mcp_url, "mcp", doomed["key"], cluster.clients[2]),
        ]
        with Load(cluster, "revoke", streams) as load:
            revoke = request(cluster, "POST", revoke_url(cluster, doomed), keys["admin"]["key"], 3)
            time.sleep(1.5)
        problems = common_problems(load.answers)
        if revoke["status"] != 204:
            problems.append(f"the revoke answered {revoke['status']}: {revoke['body'][:200]}")
        doomed_answers = [a for a in load.answers if a.stream.startswith("doomed")]
        before = [a for a in doomed_answers if a.answered < revoke["sent"]]
        after = [a for a in doomed_answers if a.sent > revoke["answered"]]
        if not before or any(a.status != 200 for a in before):
            problems.append(
                f"before the revoke, app host 2 answered {Counter(a.status for a in before)}"
            )
        if len(after) < 10:
            problems.append(f"only {len(after)} requests with the key after the revoke")
        accepted = [a for a in after if a.status not in (401, 429)]
        if accepted:
            problems.append(
                f"{len(accepted)} requests after the revoke answered "
                f"{Counter(a.status for a in accepted)}"
            )
        return problems


def direct(cluster: Cluster, host: str, key_index: int) -> list[dict]:
    """Valid keys straight to an app host, over the API and MCP (not through the balancer)."""
    keys = json.loads(cluster.keys_file.read_text())
    app, key = cluster.app[host], keys["valid"][key_index]["key"]
    source = cluster.clients[VALID_FROM]
    return [
        stream(f"valid api at {host}", app.url, "api", key, source),
        stream(f"valid mcp at {host}", app.mcp_url, "mcp", key, source),
    ]


def unavailable(answer: Answer) -> bool:
    return answer.status == 503 and answer.json


class HostLoss(Scenario):
    name = (
        "app host 1 killed: the balancer moves to host 2; client errors only for requests in flight"
    )

    def check(self, cluster):
        with Load(cluster, "kill", steady(cluster)) as load:
            killing = time.monotonic()
            cluster.app["app1"].kill()
            dead = time.monotonic()
            time.sleep(3)
            since = time.time() - 2
            served = cluster.balancer.served(since, time.time())
        # Back before anything else can fail: the next scenarios need both hosts.
        cluster.app["app1"].start()
        balancer_says(cluster, "app1", "up")
        failed = [a for a in load.answers if a.stream.startswith("valid") and a.status != 200]
        problems = common_problems(load.answers, lambda a: a.status == 200 or a.sent < dead)
        not_in_flight = [a for a in failed if not (a.sent < dead and a.answered > killing)]
        if not_in_flight:
            problems.append(
                f"{len(not_in_flight)} failed requests were not in flight at the kill "
                f"({killing:.3f}-{dead:.3f}): "
                f"{[(a.sent, a.answered, a.status) for a in not_in_flight][:5]}"
            )
        if served.get("app1") or not served.get("app2"):
            problems.append(f"after the kill the balancer sent {served}")
        return problems


class DatabasePartition(Scenario):
    name = (
        "app host 2 cut from PostgreSQL: 503 JSON, readiness 503, the balancer stops sending "
        "to it, no 500, back by itself"
    )

    def check(self, cluster):
        app2 = cluster.app["app2"]
        with Load(cluster, "partition", steady(cluster) + direct(cluster, "app2", 3)) as load:
            cutting = time.monotonic()
            cluster.net.cut("app2", "pgbouncer")
            # Requests sent before the rules were in place (iptables takes a moment on a
            # busy machine) may still be answered 200: only those sent after must not.
            cut = time.monotonic()
            try:
                out = balancer_says(cluster, "app2", "down", 15)
                ready = request(cluster, "GET", f"{app2.url}/api/v1/ready", "")
                # A key check there, while cut off (its database connection's packets go
                # unanswered: settings' tcp_user_timeout, then connect_timeout).
                keys = json.loads(cluster.keys_file.read_text())
                checked = request(cluster, "GET", f"{app2.url}/api/v1/me", keys["valid"][3]["key"])
                served_out = cluster.balancer.served(out + 1, time.time())
            finally:
                mend = time.monotonic()
                cluster.net.mend("app2", "pgbouncer")
            back = balancer_says(cluster, "app2", "up", 30)
            back_mono = time.monotonic()
            time.sleep(2)
            served_back = cluster.balancer.served(back + 0.5, time.time())
        # During the cut valid keys may get 503 JSON (from app host 2, or from the
        # balancer before it stops sending there); nothing else.
        problems = common_problems(
            load.answers,
            lambda a: (
                a.status == 200 or (unavailable(a) and cutting < a.answered and a.sent < back_mono)
            ),
        )
        if checked["status"] != 503 or not checked["json"]:
            problems.append(f"cut off, app host 2 answered a valid key {checked['status']}")
        at_app2 = [a for a in load.answers if a.stream.endswith("at app2") and cut < a.sent < mend]
        if not at_app2 or not all(unavailable(a) or a.answered > mend for a in at_app2):
            answered = [
                f"{a.status} at +{a.sent - cut:.3f} s" for a in at_app2 if not unavailable(a)
            ]
            problems.append(
                f"cut off, app host 2 answered {Counter(a.status for a in at_app2)} "
                f"(sent after the cut: {', '.join(answered)})"
            )
        if ready["status"] != 503 or not ready["json"]:
            problems.append(f"cut off, its readiness answered {ready['status']}")
        if served_out.get("app2"):
            problems.append(
                f"the balancer sent app host 2 {served_out['app2']} requests after taking it out"
            )
        late = [
            a
            for a in load.answers
            if a.stream.startswith("valid") and a.sent > back_mono + 0.5 and a.status != 200
        ]
        if late or not served_back.get("app2"):
            problems.append(
                f"after the link returned: {len(late)} failures, "
                f"app host 2 served {served_back.get('app2', 0)}"
            )
        return problems


class RedisPartition(Scenario):
    name = (
        "app host 1 cut from Redis: keys keep working there; limits per host meanwhile; "
        "shared counters after"
    )

    def check(self, cluster):
        app1, app2 = cluster.app["app1"], cluster.app["app2"]
        me1, me2 = f"{app1.url}/api/v1/me", f"{app2.url}/api/v1/me"
        limit = 20 * WEB_WORKERS + 5  # KEY_FAILURES_PER_MINUTE's 20, per worker while Redis is away
        with Load(cluster, "redis", steady(cluster) + direct(cluster, "app1", 3)) as load:
            cluster.net.cut("app1", "redis")
            try:
                time.sleep(1)
                whole_window()
                alone = requests(cluster, [("GET", me1, INVALID_KEY)] * limit, source=4, until=429)
                elsewhere = request(cluster, "GET", me2, INVALID_KEY, source=4)
            finally:
                cluster.net.mend("app1", "redis")
            balancer_says(cluster, "app1", "up", 30)
            time.sleep(5.5)  # infra.limits.RETRY_SECONDS: then each process asks Redis again
            whole_window()
            # The limit lets 20 failures through and counts a 21st (still 401): the 22nd,
            # on either host, is refused.
            both = requests(
                cluster, [("GET", me1, INVALID_KEY), ("GET", me2, INVALID_KEY)] * 11, source=5
            )
            shared, over = both[:21], [a["status"] for a in both[21:]]
        problems = common_problems(load.answers)
        if alone[-1]["status"] != 429 or any(a["status"] != 401 for a in alone[:-1]):
            problems.append(
                f"cut off, app host 1 answered bad keys {Counter(a['status'] for a in alone)}"
            )
        if elsewhere["status"] != 401:
            problems.append(
                f"meanwhile app host 2 answered the same address {elsewhere['status']}, not 401"
            )
        if any(a["status"] != 401 for a in shared) or over != [429]:
            problems.append(
                "back on Redis, 21 failures across both hosts answered "
                f"{Counter(a['status'] for a in shared)}, then {over}"
            )
        return problems


def whole_window(needed: float = 15) -> None:
    """Waits, if need be, until the failed-key limit's window (a minute of the clock,
    infra.limits) has `needed` seconds left, so a count is never split across two."""
    left = 60 - time.time() % 60
    if left < needed:
        time.sleep(left + 0.1)


class Restarts(Scenario):
    name = (
        "PostgreSQL restarted and PgBouncer restarted: 503 JSON for seconds, then all back, "
        "no app host restarted"
    )

    SETTLE = 6  # seconds after a restart by which every valid key answers 200 again

    def check(self, cluster):
        processes = [(h.web.process.pid, h.mcp.process.pid) for h in cluster.app.values()]
        with Load(cluster, "restarts", steady(cluster)) as load:
            marks = []
            for restart in (cluster.restart_postgresql, cluster.restart_pgbouncer):
                began = time.monotonic()
                restart()
                marks.append((began, time.monotonic()))
                time.sleep(self.SETTLE + 2)
        problems = common_problems(load.answers, lambda a: a.status == 200 or unavailable(a))
        valid = [a for a in load.answers if a.stream.startswith("valid")]
        ends = [marks[1][0], load.stopped]  # each restart's window ends where the next begins
        for what, (_, done), end in zip(("PostgreSQL", "PgBouncer"), marks, ends, strict=True):
            seen = [a for a in valid if done + self.SETTLE < a.sent and a.answered < end]
            late = [a for a in seen if a.status != 200]
            if late or not seen:
                problems.append(
                    f"{self.SETTLE} s after {what} was back: "
                    f"{len(late)} of {len(seen)} valid keys refused"
                )
        now = [(h.web.process.pid, h.mcp.process.pid) for h in cluster.app.values()]
        alive = all(h.web.alive() and h.mcp.alive() for h in cluster.app.values())
        if now != processes or not alive:
            problems.append("an app host's server restarted")
        return problems


ADDITIVE_SQL = "ALTER TABLE apikeys_apikey ADD COLUMN cluster_rolling_note text NULL"
UNDO_ADDITIVE_SQL = "ALTER TABLE apikeys_apikey DROP COLUMN cluster_rolling_note"


def next_release(cluster: Cluster) -> Path:
    """The next release, as an operator gets it: this tree with one more migration, one
    that only adds (a nullable column on the keys table, which the running release never
    reads). Made in the cluster's folder: the product ships no such migration."""
    release = cluster.dir / "release"
    shutil.copytree(
        Path(__file__).resolve().parents[2], release,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "node_modules", "__pycache__", "*.sqlite3*", ".pytest_cache"
        ),
        symlinks=True,
    )  # fmt: skip
    cluster.manage(
        "app1",
        release,
        "makemigrations",
        "apikeys",
        "--empty",
        "--name",
        "cluster_rolling_note",
        "-v0",
    )
    migration = next((release / "apikeys" / "migrations").glob("*_cluster_rolling_note.py"))
    text = migration.read_text()
    operation = f"migrations.RunSQL({ADDITIVE_SQL!r}, {UNDO_ADDITIVE_SQL!r}),"
    migration.write_text(text.replace("operations = [", "operations = [\n        " + operation, 1))
    return release


class RollingDeploy(Scenario):
    name = (
        "a rolling deploy (drain, stop, migrate adding a column, start, then the other host): "
        "0 failed valid requests"
    )

    def check(self, cluster):
        release = next_release(cluster)
        with Load(cluster, "deploy", steady(cluster), seconds=150) as load:
            for name in ("app1", "app2"):
                host = cluster.app[name]
                host.stop()  # ExecStop: drain (/ready 503, the balancer takes it out), then SIGTERM
                if name == "app1":
                    cluster.manage("app1", release, "migrate", "--noinput", "-v0")
                host.release = release
                host.start()
                balancer_says(cluster, name, "up", 30)
                time.sleep(1)
        problems = common_problems(load.answers)
        plan = cluster.manage("app2", release, "showmigrations", "apikeys")
        if "[X]" not in next(line for line in plan.splitlines() if "cluster_rolling_note" in line):
            problems.append("the new release's migration did not run")
        return problems


def comparable(body: str):
    """An answer's JSON without when and how a key was last used (each request changes it)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    items = data if isinstance(data, list) else [data]
    for item in items:
        if isinstance(item, dict):
            for field in [f for f in item if f.startswith("last_used")]:
                del item[field]
    return data


class PooledEqualsDirect(Scenario):
    name = (
        "the key check through PgBouncer in transaction mode answers exactly as directly "
        "(prepared statements included)"
    )

    def check(self, cluster):
        keys = json.loads(cluster.keys_file.read_text())
        app1 = cluster.app["app1"]
        revoked = keys["doomed"][1]
        request(
            cluster,
            "POST",
            f"{app1.url}/api/v1/organization/keys/{revoked['id']}/revoke",
            keys["admin"]["key"],
            source=3,
        )
        # Three more servers on app host 1 (the unit's command, one worker): on PostgreSQL
        # itself, and through PgBouncer with psycopg's prepared statements (after 5 runs of
        # a statement on a connection) on and off.
        servers = {
            "direct": (
                8100,
                {
                    "DATABASE_URL": cluster.direct_database_url(),
                    "DATABASE_PREPARED_STATEMENTS": "1",
                },
            ),
            "PgBouncer, prepared statements": (8101, {"DATABASE_PREPARED_STATEMENTS": "1"}),
            "PgBouncer, no prepared statements": (8102, {"DATABASE_PREPARED_STATEMENTS": "0"}),
        }
        env = app1.env()
        started = []
        try:
            for port, extra in servers.values():
                command = server_command("genesis-web.service", 1, app1.address, port)
                started.append(
                    cluster.start(
                        "app1", command, f"app1-{port}.log", cwd=app1.release, env={**env, **extra}
                    )
                )
            for port, _ in servers.values():
                wait_for(
                    f"app1:{port}", lambda port=port: cluster.tcp_open("lb", app1.address, port), 60
                )
            calls = [
                ("GET", "/api/v1/me", keys["valid"][0]["key"]),
                ("GET", "/api/v1/keys", keys["admin"]["key"]),
                ("GET", "/api/v1/organization/keys", keys["valid"][1]["key"]),  # no org:admin: 403
                ("GET", "/api/v1/me", revoked["key"]),
                ("GET", "/api/v1/me", INVALID_KEY),
            ] * 8
            with Load(cluster, "pooled", steady(cluster)) as load:
                answers = {
                    what: requests(
                        cluster,
                        [(m, f"http://{app1.address}:{port}{path}", k) for m, path, k in calls],
                        source=6 + i,
                    )
                    for i, (what, (port, _)) in enumerate(servers.items())
                }
        finally:
            for process in started:
                process.stop()
                cluster.processes.remove(process)
        problems = common_problems(load.answers)
        expected = [(a["status"], comparable(a["body"])) for a in answers["direct"]]
        if Counter(s for s, _ in expected) != Counter({200: 16, 403: 8, 401: 16}):
            problems.append(f"directly: {Counter(s for s, _ in expected)}")
        for what, got in answers.items():
            differ = [
                (c[1], g["status"])
                for c, g, e in zip(calls, got, expected, strict=True)
                if (g["status"], comparable(g["body"])) != e
            ]
            if differ:
                problems.append(
                    f"{what}: {len(differ)} of {len(calls)} answers differ from direct "
                    f"({Counter(differ)})"
                )
        if problems and pgbouncer_version() < (1, 21):
            found = "; ".join(sorted(errors_in(cluster.dir / "app1-8101.log")))
            problems.append(
                f"PgBouncer {'.'.join(map(str, pgbouncer_version()))} has no "
                f"max_prepared_statements (1.21+){': ' + found if found else ''}"
            )
        return problems


def errors_in(log: Path) -> set[str]:
    """The database errors a server logged."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return {line.strip() for line in text.splitlines() if line.startswith("psycopg.errors.")}


SCENARIOS = [
    Revocation(),
    HostLoss(),
    DatabasePartition(),
    RedisPartition(),
    Restarts(),
    RollingDeploy(),
    PooledEqualsDirect(),
]
