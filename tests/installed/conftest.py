"""The files under project/ are a user's project, run by `python -m tests.installed`, not here."""

collect_ignore = ["project"]
