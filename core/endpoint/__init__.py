"""Per-deployment endpoints: one local URL in front of a deployment's ready replicas.

Nothing is imported here: `proxy` and `upstreams` bring httpx, and the engine imports
`manager` on every command, so import each from its own module where it is needed."""
