"""Carrying out a plan's actions on hosts, with bounded parallelism and an event each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from fleetdeck.core.engine.host_session import HostSession
from fleetdeck.core.inventory import Deployment, Host, Inventory
from fleetdeck.core.policy.launch_spec import replica_env, vllm_argv
from fleetdeck.core.policy.plan import Plan, Start, Stop
from fleetdeck.hosts.errors import ActionableError, HostError
from fleetdeck.hosts.host_program import LaunchRequest

# Launches and stops in flight across the fleet at once.
APPLY_PARALLELISM = 8
STOP_GRACE_S = 15.0

Emit = Callable[[str, str, str, str], None]  # kind, subject, message, level


@dataclass(frozen=True)
class ApplyOutcome:
    done: tuple[Start | Stop, ...]
    failed: tuple[tuple[Start | Stop, str], ...]


class ActionRunner:
    def __init__(
        self,
        inventory: Inventory,
        sessions: Mapping[str, HostSession],
        secrets: Callable[[], dict[str, dict[str, str]]],
        hash_for: Callable[[Deployment, Host], str],
        emit: Emit,
        before_stop: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.inventory = inventory
        self.sessions = sessions
        self._secrets = secrets
        self._hash_for = hash_for
        self._emit = emit
        self._before_stop = before_stop
        self.pending: dict[str, Start] = {}  # replica id -> start in flight (shown as pending)

    async def apply(self, plan: Plan) -> ApplyOutcome:
        limit = asyncio.Semaphore(APPLY_PARALLELISM)
        done: list[Start | Stop] = []
        failed: list[tuple[Start | Stop, str]] = []

        async def run(action: Start | Stop) -> None:
            async with limit:
                try:
                    if isinstance(action, Start):
                        await self._start(action)
                    else:
                        await self._stop(action)
                    done.append(action)
                except (ActionableError, asyncio.TimeoutError) as exc:
                    message = str(exc) or type(exc).__name__
                    failed.append((action, message))
                    subject = f"{action.deployment}/{action.replica}"
                    self._emit("apply.failed", subject, message, "error")

        # Stops first: they free the GPUs and ports that starts may need.
        await asyncio.gather(*(run(a) for a in plan.actions if isinstance(a, Stop)))
        starts = [a for a in plan.actions if isinstance(a, Start)]
        for start in starts:
            self.pending[f"{start.deployment}/{start.replica}"] = start
        try:
            await asyncio.gather(*(run(a) for a in starts))
        finally:
            # A launched replica stays "pending" until an observation shows it (the
            # engine clears it then); one that failed to launch goes now.
            for start in starts:
                if start not in done:
                    self.pending.pop(f"{start.deployment}/{start.replica}", None)
        return ApplyOutcome(tuple(done), tuple(failed))

    async def _start(self, start: Start) -> None:
        host = self.inventory.host(start.host)
        deployment = self.inventory.deployment(start.deployment)
        assert host is not None and deployment is not None, "plans name inventory entries"
        secrets = self._secrets()[deployment.name]
        argv = vllm_argv(host, deployment)
        request = LaunchRequest(
            deployment=deployment.name,
            replica=start.replica,
            argv=argv,
            env=replica_env(host, deployment, start.gpu_uuids, secrets),
            port_range=host.port_range,
            bind_host=deployment.vllm.host,
            gpu_uuids=start.gpu_uuids,
            spec_hash=self._hash_for(deployment, host),
            meta={"gpu_memory_utilization": deployment.vllm.gpu_memory_utilization or 0.9},
            restart_backoff_s=max(1, round(deployment.restart_backoff)),
        )
        result = await self.sessions[host.name].program.launch(request)
        verb = "adopted" if result.adopted else "started"
        self._emit(
            f"replica.{verb}",
            f"{start.deployment}/{start.replica}",
            f"{verb} on {host.name} port {result.port} ({start.reason})",
            "info",
        )

    async def _stop(self, stop: Stop) -> None:
        if self._before_stop is not None:
            await self._before_stop(f"{stop.deployment}/{stop.replica}")
        reply = await self.sessions[stop.host].program.stop(
            stop.deployment,
            stop.replica,
            grace_s=STOP_GRACE_S,
            forget=not stop.mark_failed,
            mark_failed=stop.reason if stop.mark_failed else None,
        )
        subject = f"{stop.deployment}/{stop.replica}"
        if reply.left_running:
            raise HostError(
                f"{subject} on {stop.host} did not stop", "its process group survived SIGKILL"
            )
        if stop.mark_failed:
            self._emit("replica.failed", subject, f"gave up on {stop.host}: {stop.reason}", "error")
            return
        how = "killed after the grace period" if reply.killed else "stopped"
        self._emit("replica.stopped", subject, f"{how} on {stop.host} ({stop.reason})", "info")
