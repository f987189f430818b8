"""A real headless Chromium on the desk: Debian's `chromium` and `chromium-driver` (`.ci/run` installs them), driven
by Selenium with both paths given, so Selenium never looks for or downloads a browser of its own.

The app under test is the one the TestClient runs (`running_service`); uvicorn serves the same app on a real port
with its lifespan off, so the chat (signed WeChat deliveries) and the browser see one service, one clock, one
database.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service as DriverService

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LAPTOP = (1366, 768)
PHONE = (390, 844)
# `make screenshots` sets this to a scratch folder and copies what the tests took into docs/desk/.
SCREENSHOTS = os.environ.get("UNIONBOT_DESK_SCREENSHOTS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[str]:
    """`app` on http://127.0.0.1:port until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def chromium(profile: Path, size: tuple[int, int] = LAPTOP) -> Iterator[webdriver.Chrome]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={size[0]},{size[1]}",
        f"--user-data-dir={profile}",
        "--lang=zh-CN",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=CHROMEDRIVER))
    driver.implicitly_wait(2)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: webdriver.Chrome, folder: Path, name: str) -> Path:
    """A PNG of the whole page under `folder` (tmp_path), also into UNIONBOT_DESK_SCREENSHOTS when set."""
    size = driver.get_window_size()
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(size["width"], max(height + 140, size["height"]))
    target = folder / f"{name}.png"
    driver.save_screenshot(str(target))
    driver.set_window_size(size["width"], size["height"])
    if SCREENSHOTS:
        shutil.copy(target, Path(SCREENSHOTS) / target.name)
    return target
