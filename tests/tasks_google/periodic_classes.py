"""PeriodicTasks declared at import, as a project would in its tasks module."""

from datetime import timedelta

from tasks_google.scheduling.declarations import Fire, PeriodicTask

RUNS: list[dict] = []
#: What each run of Heartbeat saw as `self.fire`.
HEARTBEAT_FIRES: list[Fire | None] = []


class CleanupSessions(PeriodicTask):
    """Delete expired sessions."""

    run_every = "@hourly"

    @classmethod
    def schedule_time_zone(cls) -> str:
        return "Europe/Paris"

    @classmethod
    def schedule_body_payload(cls) -> dict:
        return {"older_than_days": 30}

    def run(self, older_than_days: int) -> str:
        RUNS.append({"older_than_days": older_than_days})
        return f"cleaned sessions older than {older_than_days} days"


class PublicPing(PeriodicTask):
    run_every = "*/15 * * * *"
    schedule_use_oidc = False

    @classmethod
    def schedule_headers(cls) -> dict:
        return {"X-Purpose": "ping"}

    @classmethod
    def schedule_retries(cls) -> int:
        return 2

    def run(self) -> str:
        return "pong"


class Heartbeat(PeriodicTask):
    """Say the service is alive, every half hour."""

    run_every = timedelta(minutes=30)

    @classmethod
    def schedule_headers(cls) -> dict:
        return {"X-Tenant": "acme"}

    def run(self) -> str:
        HEARTBEAT_FIRES.append(self.fire)
        return "alive"
