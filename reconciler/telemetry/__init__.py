"""Telemetry to Application Insights through OpenTelemetry (README "Telemetry").

`setup` switches the Azure Monitor distro on when APPLICATIONINSIGHTS_CONNECTION_STRING is
set; `correlation` turns the host's trace context into our correlation id without importing
OpenTelemetry (the webhook's cold path); `tracing` and `metrics` are what the jobs record,
no-ops until a provider is configured.
"""
