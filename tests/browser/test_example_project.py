"""The example project `just dev` runs, in a real browser: its page and its admin are styled,
and the page's controls work (`manage.py tasks_dev`: the emulator and runserver)."""

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import PASSWORD, USERNAME
from tests.browser.pages import (
    TRANSPARENT,
    click_through,
    sign_in_to_admin,
    style,
    style_of,
    wait_for,
)
from tests.integration.dev_processes import free_port, free_port_pair, wait_until

MANAGE = Path(__file__).resolve().parents[2] / "example" / "manage.py"
SET_UP = f"""
from django.contrib.auth.models import User
from django.core.management import call_command
call_command("migrate", verbosity=0)
User.objects.create_superuser({USERNAME!r}, "admin@example.com", {PASSWORD!r})
"""


@pytest.fixture
def example_site(tmp_path):
    """The example project's development loop on free ports, with a superuser; its base URL."""
    tmp = tmp_path
    port, grpc = free_port(), free_port_pair()
    env = {
        **os.environ,
        "DEV_PORT": str(port),
        "EXAMPLE_DB": str(tmp / "example.sqlite3"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, str(MANAGE)]
    # One interpreter for both steps: each start of the project costs seconds.
    subprocess.run([*manage, "shell", "-c", SET_UP], env=env, check=True)
    log_path = tmp / "tasks_dev.log"
    with log_path.open("w") as log:
        command = [*manage, "tasks_dev", f"127.0.0.1:{port}", "--emulator-port", str(grpc)]
        proc = subprocess.Popen(
            [*command, "--memory"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: urllib.request.urlopen(base + "/", timeout=2), 60, "runserver")
            yield base
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            print(log_path.read_text()[-3000:])


def row(browser, execution_id: str):
    return browser.find_element(By.ID, f"execution-{execution_id}")


def message(browser) -> str:
    """The message the page shows after an action (until it next refreshes)."""
    return wait_for(
        browser, lambda b: b.find_element(By.CSS_SELECTOR, ".messages li").text, "a message"
    )


def enqueue(browser, demo: str) -> str:
    """Click a demo's button; the id of the execution the page says it enqueued."""
    click_through(browser, By.CSS_SELECTOR, f"button[value={demo}]")
    shown = message(browser)
    prefix = f"Enqueued {demo} as "
    assert shown.startswith(prefix), shown
    return shown.removeprefix(prefix).rstrip(".")


def badge(browser, execution_id: str, text: str) -> str:
    """Wait until the execution's row shows a status badge with `text`; its background colour."""

    def shown(browser):
        badges = row(browser, execution_id).find_elements(By.CSS_SELECTOR, ".status")
        return next((style(b, "background-color") for b in badges if b.text == text), None)

    return wait_for(browser, shown, f"{execution_id} to show {text}")


def test_the_page_and_the_admin_are_styled_and_the_page_controls_work(browser, example_site):
    browser.get(example_site + "/")
    # The shop app's stylesheet was served: a font of its own, a laid-out grid of demos.
    assert "Times" not in style_of(browser, "body", "font-family")
    assert style_of(browser, ".demos", "display") == "grid"
    empty = wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, ".empty").text, "text")
    assert empty.startswith("No executions yet")

    welcome, rejected = enqueue(browser, "welcome"), enqueue(browser, "reject")
    green = badge(browser, welcome, "SUCCESSFUL")
    wait_for(
        browser,
        lambda b: "welcome email sent to user 42" in row(b, welcome).text,
        "the welcome email's result",
    )
    red = badge(browser, rejected, "FAILED")
    assert TRANSPARENT not in (green, red) and green != red

    # Deferred by ten seconds: cancelled before it starts. A Cloud Tasks execution cannot be
    # stopped by force, so the page offers only the graceful cancel.
    later = enqueue(browser, "later")
    buttons = wait_for(
        browser,
        lambda b: [x.text for x in row(b, later).find_elements(By.CSS_SELECTOR, ".actions button")],
        "the cancel controls",
    )
    assert buttons == ["Cancel"]
    click_through(browser, By.CSS_SELECTOR, f"#execution-{later} .actions button")
    assert message(browser) == f"{later}: Cancelled before it started; it will not run."
    badge(browser, later, "cancelled")

    # The admin the page links to: signed in, styled.
    sign_in_to_admin(browser, example_site, USERNAME, PASSWORD)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Site administration"
    assert style_of(browser, "#header", "background-color") != TRANSPARENT
