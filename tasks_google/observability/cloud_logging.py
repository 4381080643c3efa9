"""`CloudLoggingFormatter`: log records as the JSON lines Cloud Logging reads on Cloud Run."""

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from tasks_google.observability import tracing

#: Environment variable naming the project, when the formatter is not given one.
PROJECT_ENV = "GOOGLE_CLOUD_PROJECT"
#: Cloud Logging's severity of each Python level (a level in between takes the one below it).
SEVERITIES = (
    (logging.CRITICAL, "CRITICAL"),
    (logging.ERROR, "ERROR"),
    (logging.WARNING, "WARNING"),
    (logging.INFO, "INFO"),
    (logging.DEBUG, "DEBUG"),
)
#: Fields of the JSON object that Cloud Logging files as the entry's trace and span.
TRACE_FIELD = "logging.googleapis.com/trace"
SPAN_FIELD = "logging.googleapis.com/spanId"
#: Field naming the execution whose attempt wrote the line.
EXECUTION_FIELD = f"{tracing.PREFIX}execution_id"


def severity(level: int) -> str:
    """Cloud Logging's severity for a Python logging level."""
    for threshold, name in SEVERITIES:
        if level >= threshold:
            return name
    return "DEFAULT"


class CloudLoggingFormatter(logging.Formatter):
    """One JSON object per line: `severity`, `message` (with the exception's traceback, where
    Error Reporting finds it), `time`, `logger`, the trace and span the line belongs to, and
    the execution id inside an attempt.

    The trace is the current OpenTelemetry span's; without one, inside an attempt, the trace
    its delivery carried (`traceparent` or `X-Cloud-Trace-Context`) or its enqueue stored.
    `project`: the Google Cloud project of the trace's name (default: GOOGLE_CLOUD_PROJECT);
    without a project, lines carry no trace.
    """

    def __init__(self, *args: Any, project: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project or os.environ.get(PROJECT_ENV, "")

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        if record.stack_info:
            message = f"{message}\n{self.formatStack(record.stack_info)}"
        entry: dict[str, Any] = {
            "severity": severity(record.levelno),
            "message": message,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        entry.update(self.trace_fields())
        return json.dumps(entry, ensure_ascii=False, default=str)

    def trace_fields(self) -> dict[str, str]:
        """The trace, span and execution id fields of a line written now."""
        fields = {}
        attempt = tracing.current_attempt()
        if attempt is not None:
            fields[EXECUTION_FIELD] = attempt.execution_id
        ids = tracing.active_span_ids()
        if ids is None and attempt is not None and attempt.trace_id:
            ids = attempt.trace_id, attempt.span_id
        if ids is not None and self.project:
            fields[TRACE_FIELD] = f"projects/{self.project}/traces/{ids[0]}"
            if ids[1]:
                fields[SPAN_FIELD] = ids[1]
        return fields
