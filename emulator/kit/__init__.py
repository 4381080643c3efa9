"""The shared core the three emulated services are built on: clock, store, OIDC issuer, delivery
and its dispatch loop, fault rules, resource names, paging, field masks and timestamps."""
