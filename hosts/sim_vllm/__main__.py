"""`python -m hosts.sim_vllm serve MODEL ...`, the same as `fleetdeck-sim-vllm`."""

from fleetdeck.hosts.sim_vllm.cli import main

raise SystemExit(main())
