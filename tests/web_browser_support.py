"""Helpers for the browser tests (tests/test_web_browser.py) and bench/serve.py: headless Chromium driven by
Selenium, and `bulkdir serve` run as a real process on 127.0.0.1.

    browser = start_browser(downloads)          # Debian's chromium + chromedriver, a 1280x800 page
    served = Served.start(env)                  # `bulkdir serve --no-browser --port 0 ...`; .url .base .stop()
    served.log_in(browser)                      # opens the printed token URL: the session cookie is set
    upload(browser, path)                       # sets the `sheet-input` file input
    wait_download(folder, ".xlsx")              # the file the browser downloaded, once it is complete
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NO_BROWSER = ("no browser: install Debian's chromium and chromium-driver "
              "(apt-get install chromium chromium-driver fonts-noto-cjk)")
WIDTH, HEIGHT = 1280, 800
WAIT = 30.0  # seconds: the longest any step of a test waits for the page


def browser_missing() -> str | None:
    """Why there is no browser to drive (NO_BROWSER), or None when chromium and chromedriver are here."""
    chromium = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    driver = CHROMEDRIVER if os.path.exists(CHROMEDRIVER) else shutil.which("chromedriver")
    return None if chromium and driver else NO_BROWSER


def start_browser(downloads: Path) -> Any:
    """Headless Chromium laid out at 1280x800 (the viewport, as a 13" laptop shows it), downloading
    into `downloads` without asking."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={WIDTH},{HEIGHT}", "--lang=zh-CN"):
        options.add_argument(argument)
    chromium = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if chromium:
        options.binary_location = chromium
    downloads.mkdir(parents=True, exist_ok=True)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False,
                                              "download.directory_upgrade": True,
                                              "safebrowsing.enabled": False})
    driver_path = CHROMEDRIVER if os.path.exists(CHROMEDRIVER) else shutil.which("chromedriver")
    browser = webdriver.Chrome(service=Service(str(driver_path)), options=options)
    # the window is 1280x800; the page inside it is laid out at exactly 1280x800 too
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
    set_downloads(browser, downloads)
    return browser


def set_downloads(browser: Any, folder: Path) -> None:
    """Downloads go to `folder` from now on."""
    folder.mkdir(parents=True, exist_ok=True)
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})


def forget_cookies(browser: Any) -> None:
    """Every cookie of every site (a cookie ignores the port: each server's session and language start
    afresh)."""
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})


class Served:
    """`bulkdir serve` as a real process on 127.0.0.1 (a free port), stopped with SIGINT as Ctrl-C stops it."""

    def __init__(self, process: subprocess.Popen, url: str):
        self.process = process
        self.url = url  # with its one-time token
        self.base = url.split("/?", 1)[0]

    @classmethod
    def start(cls, env: Mapping[str, str], *args: str, timeout: float = 30.0) -> "Served":
        """`bulkdir serve --no-browser --port 0 ARGS` with `env` (BULKDIR_HOME, connection settings)."""
        command = [sys.executable, "-m", "bulkdir", "serve", "--no-browser", "--port", "0", *args]
        process = subprocess.Popen(command, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line or line.startswith("bulkdir serve: "):
                break
        url = next((word for word in line.split() if word.startswith("http://127.0.0.1:")), None)
        if url is None:
            process.kill()
            _, err = process.communicate(timeout=10)
            raise RuntimeError(f"bulkdir serve did not start: {line!r} {err[-2000:]}")
        return cls(process, url)

    def log_in(self, browser: Any) -> None:
        """Open the printed address: the token becomes the session cookie and the start page shows."""
        forget_cookies(browser)
        browser.get(self.url)
        wait_for(browser, "sheet-input")

    def stop(self, timeout: float = 60.0) -> tuple[int, str]:
        """Ctrl-C: the exit code and what it said on stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
        return self.process.returncode, err


def by_testid(name: str) -> tuple[str, str]:
    from selenium.webdriver.common.by import By

    return By.CSS_SELECTOR, f'[data-testid="{name}"]'


def wait_for(browser: Any, testid: str, timeout: float = WAIT) -> Any:
    """The element with this data-testid, once it is in the page."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(expected_conditions.presence_of_element_located(by_testid(testid)))


def wait_until(browser: Any, condition: Callable[[Any], Any], timeout: float = WAIT, message: str = "",
               every: float = 0.05) -> Any:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)  # the page may be reloading
    return WebDriverWait(browser, timeout, poll_frequency=every, ignored_exceptions=ignored).until(condition, message)


def text_of(browser: Any, testid: str) -> str:
    return str(wait_for(browser, testid).text).strip()


def number(browser: Any, testid: str) -> int:
    """The figure an element holds (the page puts just the number in it)."""
    return int(text_of(browser, testid))


def upload(browser: Any, path: Path, testid: str = "sheet-input") -> None:
    """Choose `path` in the page's file input; the page uploads it and goes to its problems page."""
    wait_for(browser, testid).send_keys(str(Path(path).resolve()))


def go_to_next_page(browser: Any, click: Callable[[], Any], timeout: float = WAIT) -> None:
    """Do `click` and wait until the browser has loaded another page."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    old = browser.find_element(By.TAG_NAME, "html")
    click()

    def replaced(_: Any) -> bool:
        try:
            old.tag_name  # noqa: B018 (raises once the page is replaced)
            return False
        except StaleElementReferenceException:
            return browser.execute_script("return document.readyState") == "complete"

    wait_until(browser, replaced, timeout, "the page did not change")


def wait_download(browser: Any, folder: Path, suffix: str, before: Sequence[Path] = (), timeout: float = WAIT) -> Path:
    """The file with this suffix the browser finished downloading into `folder` (not one of `before`)."""
    known = set(before)

    def finished(_: Any) -> Path | bool:
        if any(p.suffix == ".crdownload" for p in folder.iterdir()):
            return False
        fresh = [p for p in folder.iterdir() if p.suffix == suffix and p not in known and p.stat().st_size > 0]
        return fresh[0] if fresh else False

    found: Path = wait_until(browser, finished, timeout, f"no {suffix} file was downloaded into {folder}",
                             every=0.1)
    return found


def no_horizontal_overflow(browser: Any) -> list[str]:
    """What sticks out of the 1280px page sideways (the page scrolling sideways, or a box whose text
    overflows it); [] when nothing does. A table inside its own scrolling box is fine."""
    script = """
    const out = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth + 1) out.push('page ' + root.scrollWidth + 'px wide');
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('.sheet-wrap') || ['INPUT', 'SELECT', 'TEXTAREA', 'OPTION'].includes(el.tagName)) continue;
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.overflowX === 'auto' || style.overflowX === 'scroll') continue;
      if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && style.display !== 'inline') {
        out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ': '
                 + el.scrollWidth + ' > ' + el.clientWidth + ' ' + (el.textContent || '').trim().slice(0, 40));
      }
    }
    return out;
    """
    return list(browser.execute_script(script))
