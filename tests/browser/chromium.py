"""Headless Chromium from Debian's packages, driven by Selenium through Debian's chromedriver.

Selenium is given both binaries, so it never looks for (or downloads) a driver of its own.
"""

from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver"

#: Headless, no sandbox (tests run as root), and none of Chromium's own network traffic
#: (updates, sync, safe browsing lists): the machine's network is closed, and those connections
#: would be refused or hang.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1024",
)


def start_chromium(
    profile: Path, *, chromium: Path = CHROMIUM, chromedriver: Path = CHROMEDRIVER
) -> webdriver.Chrome:
    """A headless Chromium with a fresh profile in `profile`; fails the test if not installed."""
    missing = [str(path) for path in (chromium, chromedriver) if not path.exists()]
    if missing:
        pytest.fail(
            f"The browser tests need Debian's chromium and chromium-driver packages "
            f"({', '.join(missing)} not found). Install them as root: {INSTALL} "
            "(.ci/run does this by itself).",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(service=Service(executable_path=str(chromedriver)), options=options)
