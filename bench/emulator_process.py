"""The emulator the benchmarks measure against: `bulkdir emulator` in a process of its own (so it shares no
GIL with the client it serves), with its default corp id and secret."""

from __future__ import annotations

import subprocess
import sys

CORP_ID, SECRET = "wwsandbox", "sandbox-secret"


def start_emulator(*flags: str) -> tuple[subprocess.Popen, str]:
    """`bulkdir emulator --port 0 FLAGS` started, and its URL once it listens."""
    process = subprocess.Popen([sys.executable, "-m", "bulkdir", "emulator", "--port", "0", *flags],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline() if process.stdout else ""
    url = next((word for word in line.split() if word.startswith("http://")), None)
    if url is None:
        process.kill()
        raise SystemExit(f"the emulator did not start: {line!r}")
    return process, url
