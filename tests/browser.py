"""Headless Chromium (Debian's, not a Playwright download) driving the running web app."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = os.environ.get("DFTK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


def launch_chromium(playwright, extra_args: list[str] | None = None):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + (extra_args or []))


class RequestLog:
    """Every URL the page asked for, to prove nothing left loopback."""

    def __init__(self, page) -> None:
        self.urls: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))

    def off_loopback(self) -> list[str]:
        out = []
        for url in self.urls:
            parsed = urlparse(url)
            if parsed.scheme in ("data", "blob", "about"):
                continue
            if parsed.hostname not in ("127.0.0.1", "localhost"):
                out.append(url)
        return out


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_tab(page, title: str) -> None:
    page.get_by_role("tab", name=title, exact=True).click()


def upload(page, elem_id: str, path) -> None:
    """Put a file into a Gradio upload component (switching it to its upload source first)."""
    root = page.locator(f"#{elem_id}")
    source = root.get_by_role("button", name="Upload file")
    if source.count():
        source.first.click()
    root.locator("input[type=file]").set_input_files(str(path))
