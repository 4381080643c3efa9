"""The tasks of the test project's app (defined with the rest of the suite's tasks)."""

from tests.tasks_google.tasks import calculate_meaning_of_life, noop_task

__all__ = ["calculate_meaning_of_life", "noop_task"]
