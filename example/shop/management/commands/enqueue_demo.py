"""`manage.py enqueue_demo`: enqueue one of each demo task (`just dev` runs it at start)."""

from typing import Any

from django.core.management.base import BaseCommand

from shop.demos import DEMOS


class Command(BaseCommand):
    help = "Enqueue one of each demo task."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, demo in DEMOS.items():
            result = demo.enqueue()
            self.stdout.write(f"enqueued {name}: {result.task.name} {result.id}")
