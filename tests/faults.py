"""Dependencies that fail on purpose, for the fault tests: a Redis the test starts, stops
and freezes, a TCP relay to PostgreSQL the test can cut, and a mail server that accepts
connections and never says a word. All on loopback, all stopped by the test."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

from .servers import free_port


def wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class RedisServer:
    """redis-server on a port of its own, nothing saved to disk."""

    binary = shutil.which("redis-server")

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(  # noqa: S603
            [
                self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)
        return self

    def stop(self):
        self.thaw()
        self.process.kill()
        self.process.wait(timeout=10)

    def freeze(self):
        """SIGSTOP: connections are accepted by the kernel, and nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.stop()


class TcpRelay:
    """Forwards a local port to another (the database); `cut()` closes every connection
    and refuses new ones, as a stopped server does; `restore()` listens again."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener = None
        self._sockets = set()
        self._lock = threading.Lock()

    def restore(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by cut()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self):
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def __enter__(self):
        return self.restore()

    def __exit__(self, *exc):
        self.cut()


class MailInbox:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it is sent, in
    `received` (the envelopes, in order)."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 OK"

    def __enter__(self):
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=free_port())
        self._controller.start()
        self.port = self._controller.port
        return self

    def __exit__(self, *exc):
        self._controller.stop()


class SilentMailServer:
    """Accepts SMTP connections and never answers: not even the greeting."""

    def __init__(self):
        self.port = free_port()
        self._listener = socket.socket()
        self._held = []

    def __enter__(self):
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self):
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(connection)

    def __exit__(self, *exc):
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for connection in self._held:
            connection.close()


def without_write_override() -> list[str]:
    """A command prefix under which a file's mode holds for its owner too: root writes a
    read-only file anyway, unless it runs without CAP_DAC_OVERRIDE (util-linux's setpriv)."""
    if os.geteuid() != 0:
        return []
    return [shutil.which("setpriv"), "--bounding-set=-dac_override,-dac_read_search", "--"]
