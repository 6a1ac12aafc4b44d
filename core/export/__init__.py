"""`/metrics` for Prometheus: the fleet's state, read from the snapshot the console renders.

`server.py` serves it (`fleetdeck run --metrics`, the console's `--metrics`, or the
inventory's `[fleet] metrics_address`); `collector.py` turns the latest `FleetSnapshot`
into metric families at scrape time, one family group per module (`replica_families`,
`host_families`, `gpu_families`, `deployment_families`); `groups.py` lists the groups
served, the one place a new group is added. Nothing is imported here, so parsing an
address does not load prometheus_client.
"""
