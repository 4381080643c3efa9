"""What an operator sees of executions from outside: OpenTelemetry traces (`tracing`) and log
lines that Cloud Logging files under an execution's trace (`cloud_logging`)."""
