"""The cluster's network: one namespace per host, each joined by a veth pair to a bridge
that lives in a namespace of its own (the switch), on a private /24. Nothing is added to
this machine's own network namespace, so all the traffic stays between these hosts.

Every name starts with PREFIX, so that `sweep` finds whatever an earlier run that was
killed (SIGKILL, a power cut) left: the processes inside our namespaces, then the
namespaces themselves.
"""

import contextlib
import os
import signal
import subprocess
import time

PREFIX = "gencl-"
SUBNET = "10.77.0"  # 10.77.0.0/24: private, and clashes with nothing this machine routes
SWITCH = PREFIX + "sw"
BRIDGE = "br0"


def run(*command: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own command lines)
        command, check=check, timeout=timeout, capture_output=True, text=True
    )


def in_ns(namespace: str, *command: str) -> list[str]:
    return ["ip", "netns", "exec", namespace, *command]


def namespaces() -> list[str]:
    listed = run("ip", "netns", "list").stdout.split("\n")
    return [line.split()[0] for line in listed if line.startswith(PREFIX)]


def kill_inside(namespace: str) -> None:
    """SIGKILL every process whose network namespace is `namespace`, until none is left."""
    for _ in range(50):
        pids = run("ip", "netns", "pids", namespace, check=False).stdout.split()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.05)


def sweep() -> None:
    """Remove every namespace of ours, and every process inside them."""
    for namespace in namespaces():
        kill_inside(namespace)
        run("ip", "netns", "del", namespace, check=False)


class Network:
    """The switch, and hosts added to it: `add(name, last_octets)` makes namespace
    PREFIX+name with eth0 at SUBNET.<octet> for each octet given (the first is its own)."""

    def __init__(self):
        self.hosts: dict[str, str] = {}
        run("ip", "netns", "add", SWITCH)
        run(*in_ns(SWITCH, "ip", "link", "add", BRIDGE, "type", "bridge"))
        run(*in_ns(SWITCH, "ip", "link", "set", BRIDGE, "up"))

    def add(self, name: str, *octets: int) -> str:
        namespace = PREFIX + name
        run("ip", "netns", "add", namespace)
        port = f"p-{name}"[:15]
        run(
            "ip", "link", "add", "eth0", "netns", namespace,
            "type", "veth", "peer", "name", port, "netns", SWITCH,
        )  # fmt: skip
        run(*in_ns(SWITCH, "ip", "link", "set", port, "master", BRIDGE, "up"))
        for octet in octets:
            run(*in_ns(namespace, "ip", "addr", "add", f"{SUBNET}.{octet}/24", "dev", "eth0"))
        run(*in_ns(namespace, "ip", "link", "set", "lo", "up"))
        run(*in_ns(namespace, "ip", "link", "set", "eth0", "up"))
        self.hosts[name] = f"{SUBNET}.{octets[0]}"
        return namespace

    def cut(self, name: str, peer: str) -> None:
        """From now on `name` and `peer` can't reach each other: their packets vanish, as
        on a partition (no refusal; a connection open between them just goes silent)."""
        for rule in self._rules(name, peer):
            run(*in_ns(PREFIX + name, "iptables", "-w", "-I", *rule))

    def mend(self, name: str, peer: str) -> None:
        for rule in self._rules(name, peer):
            run(*in_ns(PREFIX + name, "iptables", "-w", "-D", *rule))

    def _rules(self, name: str, peer: str) -> list[list[str]]:
        address = self.hosts[peer]
        return [
            ["OUTPUT", "-d", address, "-j", "DROP"],
            ["INPUT", "-s", address, "-j", "DROP"],
        ]
