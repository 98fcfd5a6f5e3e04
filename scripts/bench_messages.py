#!/usr/bin/env python3
"""Direct-message throughput and latency of a real chat-server process.

Starts `chat-server` on a fresh SQLite file in a temporary directory, logs in PAIRS sender /
recipient pairs, and has every sender send MESSAGES messages with up to WINDOW requests in
flight; recipients read and ack. Prints messages/s (ok'd, i.e. committed), the p50/p99 latency
from send to `ok`, and the server's CPU time per message (from /proc). Run:

    .venv/bin/python scripts/bench_messages.py --pairs 8 --messages 2000 --window 16
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.client import TestClient
from tests.support.server import create_users, spawn_server

PASSWORD = "benchmark password"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send_stream(client: TestClient, to: str, count: int, window: int, out: list[float]) -> None:
    sent_at: dict[int, float] = {}
    next_id, done = 0, 0
    while done < count:
        while next_id < count and next_id - done < window:
            frame = {"op": "message", "id": next_id, "to": to, "text": f"message {next_id}"}
            sent_at[next_id] = time.perf_counter()
            client.send_raw(json.dumps(frame).encode() + b"\n")
            next_id += 1
        reply = client.read_frame(30)
        if reply is None:
            raise ConnectionError("server closed the sender")
        if "re" in reply:
            assert reply["ok"], reply
            out.append(time.perf_counter() - sent_at.pop(reply["re"]))
            done += 1


def receive(client: TestClient, count: int) -> None:
    seen = 0
    while seen < count:
        frame = client.read_frame(30)
        if frame is None:
            raise ConnectionError("server closed the recipient")
        if frame.get("ev") == "message":
            client.send_raw(b'{"op":"ack","msg_id":%d}\n' % frame["msg_id"])
            seen += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--messages", type=int, default=2000, help="per sender")
    parser.add_argument("--window", type=int, default=16, help="requests in flight per sender")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        names = [f"u{i}" for i in range(args.pairs * 2)]
        create_users(db_url, dict.fromkeys(names, PASSWORD))
        server = spawn_server(db_url, Path(tmp), "--log-level", "WARNING")
        try:
            clients = []
            for name in names:
                client = TestClient(server.host, server.port, timeout_s=30)
                client.login(name, PASSWORD)
                client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                clients.append(client)
            latencies: list[float] = []
            threads = []
            for i in range(args.pairs):
                sender, recipient = clients[2 * i], clients[2 * i + 1]
                threads.append(
                    threading.Thread(
                        target=send_stream,
                        args=(sender, names[2 * i + 1], args.messages, args.window, latencies),
                    )
                )
                threads.append(threading.Thread(target=receive, args=(recipient, args.messages)))
            cpu_before, start = cpu_seconds(server.process.pid), time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - start
            cpu = cpu_seconds(server.process.pid) - cpu_before
        finally:
            server.terminate()
    total = args.pairs * args.messages
    latencies.sort()
    print(f"{total} messages from {args.pairs} senders (window {args.window}) in {elapsed:.2f} s")
    print(f"throughput: {total / elapsed:,.0f} messages/s delivered and committed")
    print(
        f"latency send->ok: p50 {statistics.median(latencies) * 1e3:.2f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1e3:.2f} ms"
    )
    print(f"server CPU: {cpu / total * 1e6:.0f} us per message (incl. its ack)")


if __name__ == "__main__":
    main()
