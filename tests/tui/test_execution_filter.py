"""The search line's filter words."""

import pytest

from tui.execution_filter import ExecutionFilter, FilterError


def test_field_words_become_filters_and_the_rest_free_text():
    flt = ExecutionFilter.parse("queue:emails send Backend:default task:shop.tasks now")
    assert flt == ExecutionFilter(
        text="send now", backend="default", queue="emails", task="shop.tasks"
    )


def test_a_status_word_overrides_the_status_key_and_accepts_a_prefix():
    assert ExecutionFilter.parse("status:canc", status="READY").status == "CANCELLED"
    assert ExecutionFilter.parse("status:all", status="READY").status is None
    assert ExecutionFilter.parse("x", status="READY").status == "READY"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("status:x", "status:x is not a status; use one of ready, running, successful"),
        ("status:r", "status:r is ambiguous; use one of ready, running"),
        ("queue:", "queue: needs a value"),
    ],
)
def test_bad_filter_words_say_what_is_allowed(line, message):
    with pytest.raises(FilterError, match=message):
        ExecutionFilter.parse(line)


def test_describe_names_every_filter():
    flt = ExecutionFilter.parse("queue:emails task:send x", status="FAILED")
    assert flt.describe() == "status=FAILED, queue=emails, task=send, text='x'"
