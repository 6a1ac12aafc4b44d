"""`fleetdeck check`: can each host be reached, does it have python3, vLLM and GPUs?"""

from __future__ import annotations

import asyncio
import shlex
from dataclasses import dataclass
from typing import Any

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.engine.host_session import HostSession
from fleetdeck.core.inventory import Deployment, Host
from fleetdeck.hosts.errors import HostError

# Prints the python version, where the vLLM launch command's program is (or "missing"),
# and where `ray` is: beside that program first (the vLLM environment's own, which a
# replica over several hosts starts), else on PATH, else "missing".
PROBE = """\
import os, shutil, sys
print("%d.%d.%d" % sys.version_info[:3])
where = shutil.which(sys.argv[1])
print(where or "missing")
beside = os.path.join(os.path.dirname(where), "ray") if where else ""
print(beside if beside and os.access(beside, os.X_OK) else shutil.which("ray") or "missing")
"""


@dataclass(frozen=True)
class HostCheck:
    host: str
    ssh: str
    python: str
    vllm: str
    ray: str
    gpus: str
    problem: str

    @property
    def ok(self) -> bool:
        return not self.problem

    def cells(self) -> list[str]:
        cells = [self.host, self.ssh, self.python, self.vllm, self.ray, self.gpus]
        return [*cells, self.problem or "-"]

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


async def check_hosts(engine: Engine) -> list[HostCheck]:
    multi_node = [d for d in engine.inventory.deployments if d.nodes > 1]
    return list(
        await asyncio.gather(
            *(
                check_host(session, _ray_needed_by(session.host, multi_node))
                for session in engine.sessions.values()
            )
        )
    )


def _ray_needed_by(host: Host, multi_node: list[Deployment]) -> list[str]:
    """The deployments over several hosts that may place a part on this host."""
    return [d.name for d in multi_node if d.placement.labels.items() <= host.labels.items()]


def ray_problem(ray: str, needed_by: list[str]) -> str | None:
    """Ray missing matters only where a replica over several hosts may run."""
    if ray != "missing" or not needed_by:
        return None
    return (
        f"ray is neither beside the launch command nor on PATH; {', '.join(needed_by)}"
        " (nodes > 1) need it: install ray in the host's vLLM environment"
    )


async def check_host(session: HostSession, ray_needed_by: list[str] | None = None) -> HostCheck:
    host = session.host
    launcher = shlex.split(host.vllm)[0]
    try:
        result = await session.transport.run([host.python, "-c", PROBE, launcher], timeout=30)
    except (HostError, asyncio.TimeoutError) as exc:
        return HostCheck(host.name, "failed", "-", "-", "-", "-", str(exc) or "timed out")
    lines = result.stdout.split()
    if result.exit_status != 0 or len(lines) < 3:
        problem = f"`{host.python}` does not run there: {result.stderr.strip()[-200:]}"
        return HostCheck(host.name, "ok", "missing", "-", "-", "-", problem)
    version, where, ray = lines[0], lines[1], lines[2]
    problems = []
    if tuple(int(p) for p in version.split(".")[:2]) < (3, 8):
        problems.append(f"python {version} is older than 3.8")
    if where == "missing":
        problems.append(f"the launch command {launcher!r} is not on the host's PATH (set `vllm`)")
    missing_ray = ray_problem(ray, ray_needed_by or [])
    if missing_ray:
        problems.append(missing_ray)
    observation = await session.observe()
    gpus = "-"
    if observation is not None:
        gpus = f"{len(observation.gpus)} ({observation.gpu_source})"
    elif session.error is not None:
        problems.append(str(session.error))
    return HostCheck(host.name, "ok", version, where, ray, gpus, "; ".join(problems))
