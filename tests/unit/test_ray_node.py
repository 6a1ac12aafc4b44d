"""A Ray node's command line and ports for one host of a multi-node replica (pure)."""

from __future__ import annotations

from fleetdeck.hosts.remote import ray_node


def test_ports_come_from_the_block_and_the_rest_is_the_workers_range() -> None:
    ports = ray_node.node_ports(28100, 28119)
    assert ports is not None
    assert ports["gcs"] == 28100 and ports["metrics_export"] == 28106
    assert (ports["min_worker"], ports["max_worker"]) == (28107, 28119)
    assert all(28100 <= port <= 28119 for port in ports.values())


def test_a_block_too_small_for_ray_is_refused() -> None:
    assert ray_node.node_ports(28100, 28109) is None
    assert ray_node.node_ports(28100, 28110) is not None


def test_head_and_worker_command_lines() -> None:
    ports = ray_node.node_ports(28100, 28119)
    assert ports is not None
    head = ray_node.start_argv(["/env/bin/ray"], "10.0.0.11", ports, 4, "/tmp/fleetdeck-ray-x")
    assert head[:3] == ["/env/bin/ray", "start", "--block"]
    assert "--head" in head and "--port=28100" in head and "--include-dashboard=false" in head
    assert "--node-ip-address=10.0.0.11" in head and "--num-gpus=4" in head
    assert not any(arg.startswith("--address") for arg in head)
    worker = ray_node.start_argv(
        ["/env/bin/ray"], "10.0.0.12", ports, 4, "/tmp/fleetdeck-ray-y", "10.0.0.11:28100"
    )
    assert "--address=10.0.0.11:28100" in worker and "--head" not in worker
    # Every port Ray would otherwise pick itself is given (the host's range, nothing else).
    for flag in (
        "--node-manager-port",
        "--object-manager-port",
        "--metrics-export-port",
        "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port",
        "--runtime-env-agent-port",
        "--min-worker-port",
        "--max-worker-port",
    ):
        assert any(arg.startswith(flag + "=") for arg in worker), flag


def test_temp_dir_is_short_and_the_replicas_own() -> None:
    long_dir = "/home/someone/.fleetdeck/" + "d" * 40 + "/gpu-a-0/head"
    one, two = ray_node.temp_dir(long_dir), ray_node.temp_dir(long_dir + "x")
    assert one != two
    # Ray adds /session_<date>_<time>_<pid>/sockets/plasma_store (~70 bytes); 107 at most.
    assert len(one) + 70 < 107
