"""`fleetdeck check`: can each host be reached, does it have python3, vLLM and GPUs?"""

from __future__ import annotations

import asyncio
import shlex
from dataclasses import dataclass
from typing import Any

from fleetdeck.core.engine.engine import Engine
from fleetdeck.core.engine.host_session import HostSession
from fleetdeck.hosts.errors import HostError

# Prints the python version, then where the vLLM launch command's program is (or "missing").
PROBE = """\
import shutil, sys
print("%d.%d.%d" % sys.version_info[:3])
print(shutil.which(sys.argv[1]) or "missing")
"""


@dataclass(frozen=True)
class HostCheck:
    host: str
    ssh: str
    python: str
    vllm: str
    gpus: str
    problem: str

    @property
    def ok(self) -> bool:
        return not self.problem

    def cells(self) -> list[str]:
        return [self.host, self.ssh, self.python, self.vllm, self.gpus, self.problem or "-"]

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


async def check_hosts(engine: Engine) -> list[HostCheck]:
    return list(await asyncio.gather(*(check_host(s) for s in engine.sessions.values())))


async def check_host(session: HostSession) -> HostCheck:
    host = session.host
    launcher = shlex.split(host.vllm)[0]
    try:
        result = await session.transport.run([host.python, "-c", PROBE, launcher], timeout=30)
    except (HostError, asyncio.TimeoutError) as exc:
        return HostCheck(host.name, "failed", "-", "-", "-", str(exc) or "timed out")
    lines = result.stdout.split()
    if result.exit_status != 0 or len(lines) < 2:
        problem = f"`{host.python}` does not run there: {result.stderr.strip()[-200:]}"
        return HostCheck(host.name, "ok", "missing", "-", "-", problem)
    version, where = lines[0], lines[1]
    problems = []
    if tuple(int(p) for p in version.split(".")[:2]) < (3, 8):
        problems.append(f"python {version} is older than 3.8")
    if where == "missing":
        problems.append(f"the launch command {launcher!r} is not on the host's PATH (set `vllm`)")
    observation = await session.observe()
    gpus = "-"
    if observation is not None:
        gpus = f"{len(observation.gpus)} ({observation.gpu_source})"
    elif session.error is not None:
        problems.append(str(session.error))
    return HostCheck(host.name, "ok", version, where, gpus, "; ".join(problems))
