"""Progress bars on stderr (tqdm), fed by the library's progress callbacks. Only the command line draws;
the library only says how far it is."""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable


class RunBar:
    """The bar of an import, apply or delete: operations done of all, rate, time left, failures so far.
    The executor calls it from its worker threads. `hourly_pause(remaining)`, when given, is how much longer
    the rest takes because of the platform's hourly limit: the bar adds it to the time left it shows."""

    def __init__(self, hourly_pause: Callable[[int], float] | None = None) -> None:
        self._bar: Any = None
        self._lock = threading.Lock()
        self._hourly_pause = hourly_pause

    def __call__(self, done: int, total: int, failures: int) -> None:
        from tqdm import tqdm

        with self._lock:
            if self._bar is None:
                self._bar = tqdm(total=total, unit="op", file=sys.stderr, dynamic_ncols=True, desc="Importing",
                                 leave=True, postfix={"failed": 0})
            self._bar.n = done
            postfix: dict[str, Any] = {"failed": failures} if failures else {}
            pause = self._hourly_pause(total - done) if self._hourly_pause else 0.0
            if pause >= 60:
                postfix["hourly limit"] = f"+{pause / 60:.0f} min"
            if postfix:
                self._bar.set_postfix(postfix, refresh=False)
            self._bar.refresh()

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None


class StageBars:
    """One bar at a time for the stages of an export (reading the directory, writing the rows)."""

    labels = {"read": "Reading the directory", "write": "Writing members"}

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            self.__exit__()  # one bar at a time: the stage before is over
            bar = self.bars[stage] = tqdm(total=total, desc=self.labels.get(stage, stage), unit="",
                                          file=sys.stderr, leave=False)
        bar.n = done
        bar.refresh()

    def __enter__(self) -> "StageBars":
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars = {}
