"""`manage.py enqueue_demo`: enqueue one of each demo task (`just dev` runs it at start)."""

from typing import Any

from django.core.management.base import BaseCommand

from shop.views import DEMOS


class Command(BaseCommand):
    help = "Enqueue one of each demo task."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, enqueue in DEMOS.items():
            result = enqueue()
            self.stdout.write(f"enqueued {name}: {result.task.name} {result.id}")
