"""deploy/cluster/haproxy.cfg never repeats a request that reached a node (SPEC §9): the shipped
template in front of two stand-in nodes, one of which reads each request and closes the
connection without an answer — as a node killed mid-request does. nginx's default
`proxy_next_upstream error timeout` would send that GET /?like= to the other node too."""
from __future__ import annotations

import http.client
import shutil
import socket
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from cluster import Balancer  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (apt-get install haproxy)")


class StandInNode:
    """Answers /readyz 200 (so the balancer keeps it in rotation); any other request is counted
    and then answered (`drop=False`) or met with a closed connection (`drop=True`)."""

    def __init__(self, drop: bool):
        self.drop = drop
        self.received: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as reader:
            request_line = reader.readline()
            while reader.readline() not in (b"\r\n", b""):
                pass  # the rest of the head
            if not request_line:
                return
            path = request_line.split(b" ", 2)[1].decode()
            if path != "/readyz":
                self.received.append(path)
                if self.drop:
                    return
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")

    def close(self) -> None:
        self.listener.close()


def test_a_request_that_reached_a_node_is_never_sent_again(tmp_path):
    dropping, answering = StandInNode(drop=True), StandInNode(drop=False)
    balancer = Balancer(tmp_path, {"dropping": dropping.port, "answering": answering.port}).start()
    try:
        balancer.wait_in_rotation(["dropping", "answering"])
        statuses = []
        for i in range(10):
            connection = http.client.HTTPConnection("127.0.0.1", balancer.port, timeout=10)
            connection.request("GET", f"/?like={i}")
            statuses.append(connection.getresponse().status)
            connection.close()
        # Round robin: five reached the dropping node and failed (502), none of them was sent on.
        assert sorted(dropping.received + answering.received) == sorted(f"/?like={i}" for i in range(10))
        assert len(dropping.received) == 5 and statuses.count(502) == 5 and statuses.count(200) == 5, statuses
    finally:
        balancer.stop()
        dropping.close()
        answering.close()
