"""The admin in a real browser: signed in, styled, and its execution and schedule actions."""

import re

import pytest
from django.utils.text import capfirst
from selenium.webdriver.common.by import By

from tasks_google import schedule_task
from tests.browser.conftest import PASSWORD, USERNAME
from tests.browser.pages import (
    TRANSPARENT,
    click_through,
    listed_keys,
    messages,
    result_row,
    run_admin_action,
    sign_in_to_admin,
    style,
)
from tests.tasks_google import tasks

EXECUTIONS = "/admin/tasks_google/taskexecution/"
SCHEDULES = "/admin/tasks_google/scheduledtask/"


@pytest.fixture
def admin_page(browser, live_server, superuser):
    """A browser signed in to the admin; returns (browser, the server's base URL)."""
    sign_in_to_admin(browser, live_server.url, USERNAME, PASSWORD)
    return browser, live_server.url


def status_of(browser, execution_id: str) -> str:
    return result_row(browser, execution_id).find_element(By.CSS_SELECTOR, ".field-status").text


def test_a_superuser_signs_in_to_a_styled_admin(browser, live_server, superuser):
    browser.get(f"{live_server.url}/admin/")
    assert "/admin/login/" in browser.current_url
    sign_in_to_admin(browser, live_server.url, USERNAME, PASSWORD)

    assert browser.find_element(By.TAG_NAME, "h1").text == "Site administration"
    assert browser.find_element(By.LINK_TEXT, "Task executions").is_displayed()
    # The admin's stylesheets were served: its header is painted, its font is not the default.
    header = browser.find_element(By.ID, "header")
    assert style(header, "background-color") != TRANSPARENT
    assert "Times" not in style(browser.find_element(By.TAG_NAME, "body"), "font-family")


def test_filter_executions_by_status(admin_page, tasks_emulator):
    browser, base = admin_page
    tasks_emulator.configure_queue(max_attempts=1)
    failed = tasks.failing_task_value_error.enqueue()
    succeeded = tasks.calculate_meaning_of_life.enqueue()
    tasks_emulator.run_until_idle()

    browser.get(base + EXECUTIONS)
    assert listed_keys(browser) == {failed.id, succeeded.id}
    click_through(browser, By.CSS_SELECTOR, "#changelist-filter a[href*='status__exact=FAILED']")

    assert listed_keys(browser) == {failed.id}
    assert status_of(browser, failed.id) == "Failed"
    selected = browser.find_element(By.CSS_SELECTOR, "#changelist-filter li.selected a")
    assert selected.text == "Failed"


def test_cancel_an_execution_from_the_admin(admin_page, tasks_emulator):
    browser, base = admin_page
    waiting = tasks.noop_task.enqueue()

    run_admin_action(browser, base + EXECUTIONS, [waiting.id], "Cancel the selected executions")

    assert messages(browser) == [
        capfirst(f"{waiting.id}: Cancelled before it started; it will not run.")
    ]
    assert status_of(browser, waiting.id) == "Failed"
    cancelled = result_row(browser, waiting.id).find_element(By.CSS_SELECTOR, ".field-cancelled")
    assert cancelled.find_element(By.TAG_NAME, "img").get_attribute("alt") == "True"
    assert tasks_emulator.pending() == []  # its Cloud Task is gone: it never runs


def test_reenqueue_a_failed_execution_from_the_admin(admin_page, tasks_emulator):
    browser, base = admin_page
    tasks_emulator.configure_queue(max_attempts=1)
    failed = tasks.failing_task_value_error.enqueue()
    tasks_emulator.run_until_idle()

    run_admin_action(
        browser, base + EXECUTIONS, [failed.id], "Re-enqueue a copy of the selected executions"
    )

    [message] = messages(browser)
    copy_id = re.fullmatch(rf"{capfirst(failed.id)}: re-enqueued as (\S+)", message).group(1)
    assert listed_keys(browser) == {failed.id, copy_id}
    assert status_of(browser, copy_id) == "Ready"
    assert status_of(browser, failed.id) == "Failed"
    assert [t.name for t in tasks_emulator.pending()] == [copy_id]


def test_run_a_schedule_now_from_the_admin(admin_page, tasks_emulator):
    browser, base = admin_page
    schedule = schedule_task("nightly", tasks.calculate_meaning_of_life, "0 2 * * *")

    run_admin_action(
        browser, base + SCHEDULES, [str(schedule.pk)], "Run the selected schedules now"
    )
    assert messages(browser) == ["Nightly: fired"]
    tasks_emulator.run_until_idle()

    browser.get(base + EXECUTIONS)
    [fired] = listed_keys(browser)
    row = result_row(browser, fired)
    assert row.find_element(By.CSS_SELECTOR, ".field-task_name").text == (
        "tests.tasks_google.tasks.calculate_meaning_of_life"
    )
    assert status_of(browser, fired) == "Successful"
    click_through(browser, By.LINK_TEXT, fired)
    assert browser.find_element(By.CSS_SELECTOR, ".field-result pre").text == "42"
