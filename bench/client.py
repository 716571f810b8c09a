"""Client throughput: user/get calls per second against the emulator answering in 30 ms, at 1, 8 and 16
workers, and the share of the configured rate achieved when the rate is the bound.

    python bench/client.py            # prints a table; takes about 20 seconds
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from bulkdir.config import Settings
from bulkdir.emulator.models import EmulatorOptions
from bulkdir.emulator.server import EmulatorServer
from bulkdir.wecom.client import WeComClient

LATENCY_MS = 30


def run(server: EmulatorServer, workers: int, calls: int, rate: int) -> tuple[float, float]:
    """(calls per second, seconds) for `calls` user/get at `workers` threads and `rate` per minute."""
    settings = Settings(corp_id=server.corp_id, secret=server.secret, base_url=server.url, rate=rate,
                        workers=workers, timeout=10)
    with WeComClient(settings) as client:
        client.gettoken()  # not part of the measure
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            for member in pool.map(lambda n: client.user_get(f"m{n % 10}"), range(calls)):
                assert member["userid"].startswith("m")
        seconds = time.perf_counter() - started
    return calls / seconds, seconds


def main() -> None:
    os.environ["BULKDIR_HOME"] = tempfile.mkdtemp(prefix="bulkdir-bench-")  # a private token cache
    server = EmulatorServer(EmulatorOptions(latency_ms=LATENCY_MS)).start()
    try:
        seed = Settings(corp_id=server.corp_id, secret=server.secret, base_url=server.url, rate=600_000)
        with WeComClient(seed) as client:
            for n in range(10):
                client.user_create({"userid": f"m{n}", "name": f"成员{n}", "email": f"m{n}@example.com"})
        print(f"user/get against the emulator (latency {LATENCY_MS} ms), Python {sys.version.split()[0]}")
        print()
        print("| workers | configured rate (/min) | calls | seconds | calls/s | share of configured rate |")
        print("|---:|---:|---:|---:|---:|---:|")
        for workers, calls in ((1, 100), (8, 600), (16, 1000)):
            per_second, seconds = run(server, workers, calls, rate=600_000)
            print(f"| {workers} | 600,000 (not the bound) | {calls} | {seconds:.2f} | {per_second:.0f} | - |")
        for workers, rate, calls in ((16, 1800, 150), (16, 6000, 500)):
            per_second, seconds = run(server, workers, calls, rate=rate)
            share = per_second * 60 / rate
            print(f"| {workers} | {rate:,} (the bound) | {calls} | {seconds:.2f} | {per_second:.1f} | {share:.1%} |")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
