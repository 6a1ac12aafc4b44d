"""One verb, one implementation: each verb run through the CLI (the real `fleetdeck`
process) and through the console's backend (the FleetIntents object the TUI is handed,
in this process) on a fleet of its own over real sshd, with the same outcome.

Two drifts this guards: the console's `start` once left replicas that had been given up
on, so the deployment stayed blocked; and its log pane once detached after a replica's
crash-restart, while `fleetdeck logs -f` carried on.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.errors import UsageError
from fleetdeck.core.intents import FleetIntents
from fleetdeck.core.inventory import load_inventory
from fleetdeck.core.state.overrides import Overrides
from fleetdeck.core.state.user_state import user_state_dir
from tests.harness.fleetdeck_cli import FLEETDECK, fleetdeck, status
from tests.harness.inventory_writer import simulator_command, write_inventory
from tests.harness.sshd import SshdFleet

pytestmark = pytest.mark.integration

VIAS = ("cli", "console")
DEPLOYMENT = """
[[deployments]]
name = "llm"
model = "sim/llm"
replicas = 1
restart_backoff = "1s"
max_start_failures = 1
start_timeout = "60s"
[deployments.vllm]
extra_args = ["--sim-load-seconds", "0.3", "--sim-log-interval", "0.2"]
"""


class Fleet:
    """One sshd host, an inventory, and a way to run a verb either way."""

    def __init__(self, sshd: SshdFleet, workdir: Path, via: str) -> None:
        self.sshd = sshd
        self.via = via
        self.marker = workdir / "fail-at-start"
        launcher = workdir / "maybe-fail"
        # A launch command that fails while the marker exists: a replica given up on
        # that can come up once the cause is gone.
        launcher.write_text(
            "#!/bin/sh\n"
            f'if [ -e "{self.marker}" ]; then echo "RuntimeError: told to fail" >&2; exit 1; fi\n'
            f'exec {simulator_command().removesuffix(" serve")} "$@"\n'
        )
        launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
        self.inventory = write_inventory(
            sshd,
            workdir / "fleet.toml",
            deployments_toml=DEPLOYMENT,
            vllm_command=f"{launcher} serve",
        )

    async def verb(self, cli_args: list[str], console: Callable[[FleetIntents], Any]) -> Any:
        """Run a verb through the CLI or through the console's backend."""
        if self.via == "cli":
            result = await asyncio.to_thread(fleetdeck, *cli_args[:1], str(self.inventory),
                                             *cli_args[1:])  # fmt: skip
            return result
        intents = FleetIntents(Engine(load_inventory(self.inventory)))
        try:
            result = console(intents)
            if asyncio.iscoroutine(result):
                result = await result
            return result
        finally:
            await intents.close()

    def deployment(self) -> dict[str, Any]:
        (found,) = status(self.inventory)["deployments"]
        return dict(found)

    def wait_ready(self, count: int, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            seen = self.deployment()
            ready = [r for r in seen["replicas"] if r["status"] in ("active", "idle")]
            if len(ready) == count and len(seen["replicas"]) == count:
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(f"not {count} ready in {timeout}s: {seen}")
            time.sleep(0.5)

    def overrides(self) -> dict[str, int]:
        intents = FleetIntents(Engine(load_inventory(self.inventory)))
        return intents.overrides_in_force()


@pytest.fixture(params=VIAS)
def fleet(request: pytest.FixtureRequest, sshd_fleet_factory: Any, tmp_path: Path) -> Any:
    made = Fleet(sshd_fleet_factory(1), tmp_path, request.param)
    yield made
    fleetdeck("down", str(made.inventory))


def converged(verb: Callable[[FleetIntents], Any]) -> Callable[[FleetIntents], Any]:
    async def run(intents: FleetIntents) -> Any:
        outcome = await verb(intents)
        result = await intents.settle(outcome, timeout_s=60, wait_ready=True)
        assert result.ok, result.reason
        return outcome

    return run


async def test_apply(fleet: Fleet) -> None:
    await fleet.verb(["apply", "--wait"], converged(lambda i: i.apply()))
    assert fleet.wait_ready(1)["status"] in ("active", "idle")


async def test_scale_and_stop(fleet: Fleet) -> None:
    await fleet.verb(["apply", "--wait"], converged(lambda i: i.apply()))
    await fleet.verb(["scale", "llm", "2"], converged(lambda i: i.scale("llm", 2)))
    assert fleet.wait_ready(2)["desired"] == 2
    assert fleet.overrides() == {"llm": 2}
    await fleet.verb(["stop", "llm"], converged(lambda i: i.stop("llm")))
    seen = fleet.wait_ready(0)
    assert (seen["status"], seen["desired"]) == ("stopped", 0)
    assert fleet.overrides() == {"llm": 0}


async def test_start_clears_replicas_given_up_on(fleet: Fleet) -> None:
    fleet.marker.touch()
    gave_up = fleetdeck("apply", str(fleet.inventory), "--wait", "--timeout", "60")
    assert gave_up.returncode == 1, gave_up.stdout + gave_up.stderr
    (replica,) = fleet.deployment()["replicas"]
    assert replica["reason"] and "failed at start" in replica["reason"]
    fleet.marker.unlink()  # the cause is fixed; `start` must not stay blocked
    await fleet.verb(["start", "llm"], converged(lambda i: i.start("llm")))
    (replica,) = fleet.wait_ready(1)["replicas"]
    assert replica["status"] in ("active", "idle")


async def test_forget_failed(fleet: Fleet) -> None:
    fleet.marker.touch()
    fleetdeck("apply", str(fleet.inventory), "--wait", "--timeout", "60")
    assert fleet.deployment()["replicas"], "a replica was given up on and kept"
    result = await fleet.verb(["forget-failed", "llm"], lambda i: i.forget_failed("llm"))
    if fleet.via == "cli":
        assert result.returncode == 0, result.stderr
    assert fleet.deployment()["replicas"] == []


async def test_restart_replaces_every_replica(fleet: Fleet) -> None:
    await fleet.verb(["apply", "--wait"], converged(lambda i: i.apply()))
    (before,) = fleet.wait_ready(1)["replicas"]
    await fleet.verb(["restart", "llm"], converged(lambda i: i.restart("llm")))
    (after,) = fleet.wait_ready(1)["replicas"]
    assert after["id"] != before["id"] and after["pid"] != before["pid"]


async def test_down_forgets_replicas_and_overrides(fleet: Fleet) -> None:
    await fleet.verb(["scale", "llm", "2"], converged(lambda i: i.scale("llm", 2)))
    fleet.wait_ready(2)
    await fleet.verb(["down"], lambda i: i.down())
    assert fleet.deployment()["replicas"] == []
    assert fleet.overrides() == {}, "down then apply must not bring back an old scale"


async def test_export(fleet: Fleet) -> None:
    result = await fleet.verb(["export", "llm", "--format", "json"], lambda i: i.export("llm"))
    data = json.loads(result.stdout) if fleet.via == "cli" else result
    assert data["name"] == "llm" and data["replicas"] == 1
    assert data["vllm"]["extra_args"][0] == "--sim-load-seconds"


async def test_test_request(fleet: Fleet) -> None:
    fleetdeck("apply", str(fleet.inventory), "--wait", "--timeout", "60")

    async def probe(intents: FleetIntents) -> Any:
        return await intents.test_request("llm", prompt="hi", max_tokens=4, timeout_s=30)

    result = await fleet.verb(["test", "llm", "--max-tokens", "4"], probe)
    if fleet.via == "cli":
        assert result.returncode == 0 and " 200 in " in result.stdout, result.stderr
    else:
        assert result.ok and result.status == 200 and result.text


async def test_trust_writes_the_same_line(fleet: Fleet) -> None:
    lines = fleet.sshd.known_hosts.read_text()
    fleet.sshd.known_hosts.write_text("")

    async def trust(intents: FleetIntents) -> bool:
        report = await intents.host_key(fleet.sshd.hosts[0].name)
        return intents.trust(report)

    result = await fleet.verb(["trust", fleet.sshd.hosts[0].name, "--yes"], trust)
    if fleet.via == "cli":
        assert result.returncode == 0, result.stderr
    assert fleet.sshd.known_hosts.read_text() == lines


async def test_follow_logs_survives_a_crash_restart(fleet: Fleet) -> None:
    """The stream follows the replica, not the pid: a kill -9 and the supervisor's
    restart show up as the next run's start-up lines in the same stream."""
    fleetdeck("apply", str(fleet.inventory), "--wait", "--timeout", "60")
    (replica,) = fleet.wait_ready(1)["replicas"]
    starts: list[str] = []
    lines: AsyncIterator[str]
    if fleet.via == "cli":
        process = await asyncio.create_subprocess_exec(
            FLEETDECK, "logs", str(fleet.inventory), replica["id"], "-f", "--tail", "500",
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        lines = _process_lines(process)
    else:
        intents = FleetIntents(Engine(load_inventory(fleet.inventory)))
        lines = intents.follow_logs(replica["id"], tail=500)
    killed = False
    try:
        async with asyncio.timeout(60):
            async for line in lines:
                if "Starting vLLM server on" in line:
                    starts.append(line)
                if len(starts) == 1 and not killed:
                    os.kill(replica["pid"], signal.SIGKILL)
                    killed = True
                if len(starts) == 2:
                    break
    finally:
        if fleet.via == "cli":
            process.kill()
            await process.wait()
        else:
            await lines.aclose()  # type: ignore[attr-defined]
            await intents.close()
    assert len(starts) == 2, "the second run's start-up reached the same stream"


async def _process_lines(process: asyncio.subprocess.Process) -> AsyncIterator[str]:
    assert process.stdout is not None
    async for raw in process.stdout:
        yield raw.decode(errors="replace")


@pytest.mark.parametrize("via", VIAS)
async def test_route_records_the_same_switch(
    via: str, sshd_fleet_factory: Any, tmp_path: Path
) -> None:
    """Both ways, `route` keeps the same override (a controller takes it from there, see
    test_blue_green.py) and refuses a deployment that is not a backend the same way."""
    endpoint = """
[[deployments]]
name = "blue"
model = "sim/m"
replicas = 0
[[deployments]]
name = "green"
model = "sim/m"
replicas = 0
[[endpoints]]
name = "chat"
port = 9000
backends = [{ deployment = "blue", weight = 100 }, { deployment = "green", weight = 0 }]
"""
    made = Fleet(sshd_fleet_factory(1), tmp_path, via)
    made.inventory.write_text(
        write_inventory(made.sshd, tmp_path / "routes.toml", deployments_toml=endpoint).read_text()
    )
    await made.verb(["route", "chat", "--to", "green"], lambda i: i.route("chat", "green"))
    inventory = load_inventory(made.inventory)
    assert Overrides(user_state_dir(inventory), inventory).routes() == {"chat": "green"}
    if via == "cli":
        refused = fleetdeck("route", str(made.inventory), "chat", "--to", "red")
        assert refused.returncode == 2 and "its backends are blue, green" in refused.stderr
    else:
        with pytest.raises(UsageError, match="cannot route chat to red"):
            await made.verb([], lambda i: i.route("chat", "red"))
