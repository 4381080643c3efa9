"""The hot path's database work: an enqueue and one successful execution are five statements
(INSERT, the remote name, the read, taking the lease with the attempt's start, the outcome)."""

import pytest

from tasks_google.framework import TaskResultStatus
from tests.tasks_google import tasks
from tests.tasks_google.deliveries import post_execute

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_enqueue_and_one_successful_execution_take_five_statements(
    tasks_emulator, django_assert_num_queries
):
    tasks.noop_task.enqueue()  # warm: the first enqueue of a process reads the queue once
    tasks_emulator.run_until_idle()

    with django_assert_num_queries(5):
        result = tasks.noop_task.enqueue()
        tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL


def test_a_failed_attempt_that_will_be_retried_takes_three_statements(
    tasks_emulator, django_assert_num_queries
):
    tasks_emulator.configure_queue(max_attempts=2)
    result = tasks.always_fails.enqueue()

    with django_assert_num_queries(3):  # the read, the lease with the start, the outcome
        response = post_execute(result.id, 0)

    assert response.status_code == 500  # Cloud Tasks retries
    result.refresh()
    assert result.status == TaskResultStatus.READY and len(result.errors) == 1
