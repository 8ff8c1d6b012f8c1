"""Debian's chromium driven by Selenium through chromium-driver: headless, a fresh profile per
browser, nothing fetched from the network. A missing chromium skips (or fails in CI)."""

import shutil
import tempfile
from pathlib import Path

from devstack.paths import ROOT
from tests.support.ci import missing

SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1920,1080")


def start_chromium():
    """(driver, profile folder); quit the driver and remove the folder afterwards."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        missing("chromium and chromium-driver are not installed (make deps)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="console-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (*CHROMIUM_ARGS, f"--user-data-dir={profile}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.implicitly_wait(0)
    return driver, profile


def screenshot(driver, name):
    """Keep what the browser shows as build/screenshots/<name>.png (a file of the test run)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = Path(SCREENSHOTS / f"{name}.png")
    driver.save_screenshot(str(path))
    return path
