"""Headless Chromium drives the running web app on 127.0.0.1 (screenshots: artifacts/screenshots/)."""

from __future__ import annotations

import pytest

from browser import RequestLog, launch_chromium, open_tab, screenshot
from web_server import running_app

pytestmark = pytest.mark.browser

TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def app_url():
    with running_app() as (url, _app):
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch_chromium(p)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    requests = RequestLog(page)
    page.goto(app_url)
    page.get_by_role("tab", name="Verify", exact=True).wait_for()
    yield page
    assert requests.off_loopback() == []  # no CDN fonts, analytics or share links
    context.close()


def test_verify_tab_reports_an_unsigned_sample(page, samples):
    open_tab(page, "Verify")
    page.locator("#verify-file input[type=file]").set_input_files(str(samples["single_face.jpg"]))
    page.locator("#verify-run").click()
    summary = page.locator("#verify-summary")
    summary.get_by_text("no manifest").wait_for()
    screenshot(page, "verify_unsigned_sample")


def test_plugins_tab_lists_the_builtin_plugins(page):
    open_tab(page, "Plugins")
    table = page.locator("#plugins-table")
    table.get_by_text("builtin").first.wait_for()
    screenshot(page, "plugins")
