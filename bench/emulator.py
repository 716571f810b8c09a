"""How many calls a second the emulator answers: user/get with 1, 8 and 32 clients, and user/create.

    python bench/emulator.py [--seconds 3] [--members 1000] [--processes 2]

The emulator runs as `bulkdir emulator` in a process of its own (its own GIL). Each client is a
thread with its own keep-alive connection, spread over `--processes` client processes. Two kinds
of client are measured:

- `requests`: a requests.Session per thread, as bulkdir's client and third-party SDKs call;
- `raw`: a minimal HTTP/1.1 client on a socket, so the figure shows what the server can answer
  rather than how fast Python's requests can ask.

The server's CPU time per call is read from /proc (Linux). On a shared 2-core machine the server and
the clients compete for the same cores, so the figures are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import threading
import time
from urllib.parse import urlsplit

import requests
from emulator_process import CORP_ID, SECRET, start_emulator


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RawClient:
    """One keep-alive HTTP/1.1 connection, no more than the benchmark needs."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def call(self, method: str, target: str, body: dict | None = None) -> dict:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        head = f"{method} {target} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(data)}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + data)
        length = 0
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return json.loads(self.reader.read(length))


def one_call(client, kind: str, url: str, token: str, api: str, userid: str) -> dict:
    if api == "user/get":
        if kind == "raw":
            return client.call("GET", f"/cgi-bin/user/get?access_token={token}&userid={userid}")
        return client.get(f"{url}/cgi-bin/user/get", params={"access_token": token, "userid": userid}).json()
    body = {"userid": userid, "name": "压测", "email": f"{userid}@example.com"}
    if kind == "raw":
        return client.call("POST", f"/cgi-bin/user/create?access_token={token}", body)
    return client.post(f"{url}/cgi-bin/user/create", params={"access_token": token}, json=body).json()


def client_process(kind: str, url: str, token: str, api: str, threads: int, seconds: float, first: int,
                   members: int, start_at: float, results: multiprocessing.Queue) -> None:
    counts, errors = [0] * threads, [0] * threads
    stop_at = start_at + seconds

    def run(index: int) -> None:
        client = RawClient(url) if kind == "raw" else requests.Session()
        n = 0
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < stop_at:
            if api == "user/get":
                userid = f"m{((first + index) * 7919 + n) % members:06d}"
            else:
                userid = f"{kind}{first + index:03d}x{n:07d}"
            answer = one_call(client, kind, url, token, api, userid)
            n += 1
            counts[index] += 1
            errors[index] += answer["errcode"] != 0

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((sum(counts), sum(errors)))


def measure(kind: str, url: str, token: str, api: str, clients: int, processes: int, seconds: float,
            members: int, server_pid: int) -> tuple[float, int, float | None]:
    """Calls per second, errors, and the server's CPU microseconds per call."""
    processes = max(1, min(processes, clients))
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    results: multiprocessing.Queue = multiprocessing.Queue()
    start_at = time.time() + 0.5  # every client starts together, after the processes are up
    workers = [multiprocessing.Process(target=client_process, args=(
        kind, url, token, api, share, seconds, sum(shares[:i]), members, start_at, results))
        for i, share in enumerate(shares)]
    for worker in workers:
        worker.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = cpu_seconds(server_pid)
    totals = [results.get() for _ in workers]
    cpu_after = cpu_seconds(server_pid)
    for worker in workers:
        worker.join()
    calls = sum(t[0] for t in totals)
    cpu = None if cpu_before is None or cpu_after is None or not calls else (cpu_after - cpu_before) / calls * 1e6
    return calls / seconds, sum(t[1] for t in totals), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each measurement")
    parser.add_argument("--members", type=int, default=1000, help="members in the directory for user/get")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    args = parser.parse_args()

    process, url = start_emulator()
    try:
        token = requests.get(f"{url}/cgi-bin/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}
                             ).json()["access_token"]
        session = requests.Session()
        for i in range(args.members):
            session.post(f"{url}/cgi-bin/user/create", params={"access_token": token},
                         json={"userid": f"m{i:06d}", "name": f"成员{i}", "mobile": f"+86 139{i:08d}"})
        rows = []
        for api, clients in (("user/get", 1), ("user/get", 8), ("user/get", 32), ("user/create", 8)):
            row = [api, clients]
            for kind in ("requests", "raw"):
                rate, errors, cpu = measure(kind, url, token, api, clients, args.processes, args.seconds,
                                            args.members, process.pid)
                row += [rate, errors, cpu]
            rows.append(row)
    finally:
        process.terminate()
        process.wait(10)

    print(f"emulator calls per second: {os.cpu_count()} cores shared by server and clients, "
          f"{args.processes} client processes, {args.seconds:g} s per figure, {args.members} members")
    print("| api          | clients | requests calls/s | raw HTTP calls/s | server CPU µs/call (raw) | errors |")
    print("|--------------|---------|------------------|------------------|--------------------------|--------|")
    for api, clients, rate, errors, _, raw_rate, raw_errors, raw_cpu in rows:
        cpu = f"{raw_cpu:.0f}" if raw_cpu is not None else "n/a"
        print(f"| {api:<12} | {clients:>7} | {rate:>16.0f} | {raw_rate:>16.0f} | {cpu:>24} "
              f"| {errors + raw_errors:>6} |")


if __name__ == "__main__":
    main()
