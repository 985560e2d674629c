"""Prometheus and Alertmanager: where the fleet's metrics come from and where risk goes back to.

- :mod:`.config`: the targets an operator configured (``FLEET_PROMETHEUS_TARGETS``,
  ``FLEET_PROMETHEUS_CONFIG``), their PromQL mapping onto the schema, the Alertmanager;
- :mod:`.client`: the HTTP API (``/api/v1/query_range``) through requests, with errors
  that say what went wrong in words;
- :mod:`.exporter`: a replay of a generated scenario (or a data file) as live metrics
  shaped like node_exporter's and an application's, for demos, tests and benchmarks;
- :mod:`.metrics`: ``/metrics`` (risk probability and alert state of every server);
- :mod:`.alertmanager`: alert transitions posted once per deployment.

The source kind itself is :mod:`dashboard.sources.prometheus` (``prometheus:NAME``).
"""
