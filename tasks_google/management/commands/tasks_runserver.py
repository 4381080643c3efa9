"""`manage.py tasks_runserver`: runserver as `tasks_dev` runs it (see `tasks_google.dev.server`)."""

from tasks_google.dev.server import runserver_command

Command = runserver_command()
