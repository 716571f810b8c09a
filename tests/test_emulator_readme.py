"""The README's emulator section, run again: its curl session against `bulkdir emulator`, with the
answers it shows (hints and QR codes differ on every run and are left out of the comparison)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = re.compile(r"<!-- section:emulator -->\n(.*?)<!-- /section:emulator -->", re.S)
END = "<<<end of answer>>>"


def curl_session() -> list[tuple[str, str]]:
    """The section's curl commands (continuation lines joined) with the output shown under each."""
    section = SECTION.search(README.read_text(encoding="utf-8"))
    assert section, "README.md has no emulator section"
    steps: list[tuple[str, str]] = []
    lines = section.group(1).splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.startswith("    $ "):
            continue
        command = line[6:]
        while command.endswith("\\"):
            command = command[:-1] + " " + lines[index].strip()
            index += 1
        output = []
        while index < len(lines) and lines[index].startswith("    ") and not lines[index].startswith("    $ "):
            output.append(lines[index][4:])
            index += 1
        if "curl" in command:
            steps.append((command, "\n".join(output)))
    return steps


def comparable(text: str) -> object:
    if not text.strip():
        return None
    answer = json.loads(text)
    answer.pop("qr_code", None)
    if answer.get("errcode"):
        answer["errmsg"] = answer["errmsg"].split(", hint: [")[0]
    return answer


def test_the_readme_curl_session_answers_as_shown():
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    steps = curl_session()
    assert len(steps) >= 3 and "gettoken" in steps[0][0]
    process = subprocess.Popen([sys.executable, "-m", "bulkdir", "emulator", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = next(word for word in process.stdout.readline().split() if word.startswith("http://"))
        script = "\n".join(f"{command.replace('http://127.0.0.1:8765', url)}\necho; echo '{END}'"
                           for command, _ in steps)
        ran = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    answers = ran.stdout.split(END + "\n")[:-1]
    assert len(answers) == len(steps), ran.stderr
    for (command, shown), answer in zip(steps, answers):
        assert comparable(answer) == comparable(shown), command
