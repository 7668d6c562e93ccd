"""Debian's chromium, headless, driven by Selenium: for the console's browser tests and
benchmarks/console.py (one way to find and start it, a laptop-sized window)."""

from __future__ import annotations

import shutil
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.remote.webdriver import WebDriver


class NoChromium(RuntimeError):
    """chromium or its driver is not installed."""


def headless_chromium(downloads: Path | None = None) -> WebDriver:
    """A headless chromium (Ubuntu's names too) at 1366x900; files it downloads go to
    `downloads`. NoChromium, saying how to install it, when it is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or shutil.which("chromium.chromedriver")
    if chromium is None or driver is None:
        raise NoChromium("needs Debian's chromium and chromium-driver: run make install")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1366,900")  # (a laptop's screen)
    if downloads is not None:
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
    return webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=driver)
    )
