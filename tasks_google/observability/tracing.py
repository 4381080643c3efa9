"""OpenTelemetry traces of enqueues and attempts: the one module that uses OpenTelemetry.

It imports `opentelemetry` only when a span is about to start, and never fails without it: the
context managers then record nothing. The enqueue's span travels with the remote work as a W3C
`traceparent` (and `tracestate`): stored on the row, sent as headers of the Cloud Task and as env
overrides of a Run Jobs execution. Each attempt's span continues that trace, so the retries of
one execution are sibling spans of one trace. While an attempt runs, `current_attempt()` says
which execution and trace it belongs to (for log lines, even without OpenTelemetry).
"""

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

#: Prefix of every span and attribute name this package records.
PREFIX = "tasks_google."
ENQUEUE_SPAN = f"{PREFIX}enqueue"
EXECUTE_SPAN = f"{PREFIX}execute"
#: W3C Trace Context headers (lower case, as HTTP/2 sends them), and Google's older one.
TRACEPARENT_HEADER = "traceparent"
TRACESTATE_HEADER = "tracestate"
CLOUD_TRACE_HEADER = "x-cloud-trace-context"
#: The env overrides that carry them to a Run Jobs execution.
TRACE_ENV = {"TRACEPARENT": TRACEPARENT_HEADER, "TRACESTATE": TRACESTATE_HEADER}
#: Length of a version-00 traceparent ("00-" trace id "-" span id "-" flags).
TRACEPARENT_LENGTH = 55
#: Longest tracestate kept (W3C asks to propagate at least this much); a longer one is dropped.
TRACESTATE_MAX_LENGTH = 512
#: Outcomes of an attempt recorded with an error status on its span.
ERROR_OUTCOMES = frozenset({"failed", "retry", "lost"})

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d+))?")


@dataclass(frozen=True)
class AttemptTrace:
    """The attempt running in this context: its execution, and the trace it continues."""

    execution_id: str
    trace_id: str | None
    span_id: str | None


_attempt: ContextVar[AttemptTrace | None] = ContextVar("tasks_google_attempt", default=None)


def current_attempt() -> AttemptTrace | None:
    """The attempt this code runs in (None outside one)."""
    return _attempt.get()


@cache
def _api() -> Any:
    """OpenTelemetry's trace API and a W3C propagator; None when it is not installed."""
    try:
        from opentelemetry import trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    except ImportError:
        return None
    return trace, TraceContextTextMapPropagator()


class Span:
    """A span being recorded; without OpenTelemetry (or a tracer provider), one that records
    nothing and carries no trace."""

    def __init__(self, span: Any = None) -> None:
        self._span = span

    def set(self, name: str, value: Any) -> None:
        """Set the attribute `tasks_google.<name>` (None: left unset)."""
        if self._span is not None and value is not None:
            self._span.set_attribute(f"{PREFIX}{name}", value)

    def end_with(self, outcome: str) -> None:
        """Record an attempt's outcome; those in ERROR_OUTCOMES mark the span as an error."""
        self.set("outcome", outcome)
        if self._span is not None and outcome in ERROR_OUTCOMES:
            trace = _api()[0]
            self._span.set_status(trace.Status(trace.StatusCode.ERROR, outcome))

    def propagation(self) -> dict[str, str]:
        """This span as W3C headers (`traceparent`, `tracestate`); {} if it carries no trace."""
        if self._span is None:
            return {}
        trace, w3c = _api()
        carrier: dict[str, str] = {}
        w3c.inject(carrier, context=trace.set_span_in_context(self._span))
        return trace_headers(
            carrier.get(TRACEPARENT_HEADER, ""), carrier.get(TRACESTATE_HEADER, "")
        )


def trace_headers(trace_parent: str, trace_state: str = "") -> dict[str, str]:
    """The W3C headers of a stored trace (those set): what a Cloud Task carries."""
    headers = {}
    if _TRACEPARENT.match(trace_parent):
        headers[TRACEPARENT_HEADER] = trace_parent
        if trace_state and len(trace_state) <= TRACESTATE_MAX_LENGTH:
            headers[TRACESTATE_HEADER] = trace_state
    return headers


def trace_env(trace_parent: str, trace_state: str = "") -> dict[str, str]:
    """The env overrides that carry a stored trace to a Run Jobs execution."""
    headers = trace_headers(trace_parent, trace_state)
    return {env: headers[header] for env, header in TRACE_ENV.items() if header in headers}


def received_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The trace a Run Jobs execution received (TRACE_ENV), as headers."""
    return {header: env[name] for name, header in TRACE_ENV.items() if env.get(name)}


def received_from_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The trace headers of a delivery (keys in lower case; `headers` may ignore case)."""
    names = (TRACEPARENT_HEADER, TRACESTATE_HEADER, CLOUD_TRACE_HEADER)
    return {name: headers[name] for name in names if headers.get(name)}


def trace_ids(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Trace id and span id (hex) of `traceparent`, else of `X-Cloud-Trace-Context`."""
    parent = _TRACEPARENT.match(headers.get(TRACEPARENT_HEADER, ""))
    if parent and set(parent.group(1)) != {"0"}:
        return parent.group(1), parent.group(2)
    cloud = _CLOUD_TRACE.match(headers.get(CLOUD_TRACE_HEADER, ""))
    if cloud is None:
        return None, None
    span = cloud.group(2)
    return cloud.group(1).lower(), format(int(span), "016x") if span else None


@contextmanager
def enqueue_span(task_path: str, queue: str, backend: str) -> Iterator[Span]:
    """The span of one enqueue (current inside the block)."""
    api = _api()
    if api is None:
        yield Span()
        return
    trace = api[0]
    attributes = {f"{PREFIX}task_path": task_path, f"{PREFIX}queue": queue}
    attributes[f"{PREFIX}backend"] = backend
    tracer = trace.get_tracer("tasks_google")
    with tracer.start_as_current_span(
        ENQUEUE_SPAN, kind=trace.SpanKind.PRODUCER, attributes=attributes
    ) as span:
        yield Span(span)


@contextmanager
def attempt_span(
    row: Any, received: Mapping[str, str], attributes: Mapping[str, Any]
) -> Iterator[Span]:
    """The span of one delivery of execution `row`, continuing the trace it `received` (its
    headers, or env overrides) or else the one stored on it; `current_attempt()` inside."""
    stored = trace_headers(row.trace_parent, row.trace_state)
    carrier = received if _TRACEPARENT.match(received.get(TRACEPARENT_HEADER, "")) else stored
    logged = received if trace_ids(received)[0] else stored
    token = _attempt.set(AttemptTrace(row.pk, *trace_ids(logged)))
    try:
        api = _api()
        if api is None:
            yield Span()
            return
        trace = api[0]
        values = {f"{PREFIX}{name}": value for name, value in attributes.items()}
        tracer = trace.get_tracer("tasks_google")
        with tracer.start_as_current_span(
            EXECUTE_SPAN, context=_parent(carrier), kind=trace.SpanKind.CONSUMER, attributes=values
        ) as span:
            yield Span(span)
    finally:
        _attempt.reset(token)


def _parent(carrier: Mapping[str, str]) -> Any:
    """The context an attempt's span starts in: the current one when it already continues the
    carried trace (a server instrumented by OpenTelemetry), else the carried trace's."""
    trace, w3c = _api()
    if TRACEPARENT_HEADER not in carrier:
        return None  # the current context
    current = trace.get_current_span().get_span_context()
    if current.is_valid and format(current.trace_id, "032x") == trace_ids(carrier)[0]:
        return None
    return w3c.extract(carrier)


def active_span_ids() -> tuple[str, str] | None:
    """Trace id and span id (hex) of the current OpenTelemetry span, if one is recording."""
    api = _api()
    if api is None:
        return None
    context = api[0].get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
