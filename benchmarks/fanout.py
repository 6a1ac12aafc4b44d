"""Fleet status fan-out: fleetdeck against the tools people use, over N real sshd hosts.

For each fleet size N (default 5, 10, 20, 40) every row runs side by side in the same
round, `--runs` rounds (default 5, tools interleaved so load hits all alike), and the
median is printed with its ratio to the floor:

  fleetdeck cold        `fleetdeck status INVENTORY --json`, the whole process
  asyncssh floor        a whole python process: asyncssh connect (host keys verified)
                        and run `cat /proc/loadavg` on every host, nothing else
  parallel-ssh          the same probe with ParallelSSHClient (.venv-bench; it does not
                        verify host keys)
  ansible -m raw        `ansible all -m raw -a 'cat /proc/loadavg' -f N`
  ansible -m command    the same with `-m command` and Ansible's default 5 forks
  fleetdeck warm        in this process, as the console has it: a watch channel open to
                        each host (Engine.watching), then Engine.refresh(): from asking
                        to every host's fresh observation recorded and a snapshot built
                        (one line up each open channel, one observation back; no exec)
  asyncssh warm exec    `cat /proc/loadavg` as a new exec on open connections
  persistent channel    one line echoed by a `cat` already running on each host: the
                        round trip that a refresh over long-lived channels cannot beat

Ansible runs with ControlMaster off, so that each of its runs is as cold as ours.

The hosts are tests/harness sshd servers on loopback. Each size runs twice: as root,
whose login shell (bash) sources ~/.bashrc (on this machine it runs `pyenv init`, and
`python3` is a pyenv shim), and as the account `fleetdeck-bench`, whose shell /bin/sh
reads no rc file (created by scripts/install-bench, which also makes .venv-bench with
parallel-ssh and ansible-core). A missing tool or account prints "not installed".

Goals: cold <= 1.2x the asyncssh floor; warm refresh of 20 hosts <= 2x a persistent
channel round trip; fleetdeck cold linear or better up to 40 hosts.

    .venv/bin/python benchmarks/fanout.py [--sizes 5,10,20,40] [--runs 5] [--shells heavy,light]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness.inventory_writer import inventory_toml  # noqa: E402
from tests.harness.sshd import SshdFleet, start_sshd_fleet  # noqa: E402

PROBE = "cat /proc/loadavg"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
ANSIBLE = ROOT / ".venv-bench" / "bin" / "ansible"
FLEETDECK = Path(sys.executable).parent / "fleetdeck"
LIGHT_ACCOUNT = "fleetdeck-bench"
COLD_GOAL, WARM_GOAL, WARM_GOAL_HOSTS = 1.2, 2.0, 20
WATCH_INTERVAL_S = 1.0  # the console's

FLOOR_CHILD = """\
import asyncio, json, sys
import asyncssh
spec = json.load(open(sys.argv[1]))
async def one(host):
    async with asyncssh.connect(host["address"], port=host["port"], username=spec["user"],
            client_keys=[spec["key"]], known_hosts=spec["known_hosts"]) as conn:
        return (await conn.run(spec["probe"], check=True)).stdout
async def main():
    return await asyncio.gather(*(one(h) for h in spec["hosts"]))
assert all(asyncio.run(main()))
"""
PSSH_CHILD = """\
import json, sys
from pssh.clients import ParallelSSHClient
from pssh.config import HostConfig
spec = json.load(open(sys.argv[1]))
hosts = [h["address"] for h in spec["hosts"]]
config = [HostConfig(port=h["port"], user=spec["user"], private_key=spec["key"])
          for h in spec["hosts"]]
client = ParallelSSHClient(hosts, host_config=config, pool_size=len(hosts))
output = client.run_command(spec["probe"])
client.join(output)
assert all(list(o.stdout) and o.exit_code == 0 for o in output)
"""


@dataclasses.dataclass
class Shell:
    """Whom the tools log in as, and what that account's shell does first."""

    label: str
    user: str
    note: str


def shells(wanted: list[str]) -> list[Shell | str]:
    """The accounts to run as; a string says why one is missing."""
    found: list[Shell | str] = []
    me = pwd.getpwuid(os.getuid())
    if "heavy" in wanted:
        rc = Path(me.pw_dir) / ".bashrc"
        heavy = rc.is_file() and "pyenv init" in rc.read_text(errors="replace")
        what = "runs `pyenv init`" if heavy else "exists" if rc.is_file() else "absent"
        found.append(Shell("heavy", me.pw_name, f"{me.pw_shell}, ~/.bashrc {what}"))
    if "light" in wanted:
        try:
            light = pwd.getpwnam(LIGHT_ACCOUNT)
            found.append(Shell("light", LIGHT_ACCOUNT, f"{light.pw_shell}, reads no rc file"))
        except KeyError:
            found.append(f"light: account {LIGHT_ACCOUNT} not installed (scripts/install-bench)")
    return found


class Bench:
    """One sshd fleet of the largest size; each size uses its first N hosts."""

    def __init__(self, fleet: SshdFleet, workdir: Path) -> None:
        self.fleet = fleet
        self.workdir = workdir

    def view(self, n: int, shell: Shell) -> SshdFleet:
        """The first n hosts, as `shell.user`, with state dirs that user may write."""
        hosts = self.fleet.hosts[:n]
        if shell.user != self.fleet.user:
            account = pwd.getpwnam(shell.user)
            moved = []
            for host in hosts:
                state = self.workdir / "light-state" / host.name
                state.mkdir(parents=True, exist_ok=True)
                os.chown(state, account.pw_uid, account.pw_gid)
                os.chown(state.parent, account.pw_uid, account.pw_gid)
                moved.append(dataclasses.replace(host, state_dir=state))
            hosts = moved
        view = SshdFleet(hosts, self.fleet.client_key, self.fleet.known_hosts, {})
        view.user = shell.user
        return view

    def files(self, view: SshdFleet, tag: str) -> tuple[Path, Path, Path]:
        """The fleetdeck inventory, the probe spec and the Ansible inventory for `view`."""
        folder = self.workdir / tag
        folder.mkdir(exist_ok=True)
        inventory = folder / "fleet.toml"
        inventory.write_text(inventory_toml(view, fleet_name=f"bench-{tag}"))
        spec = folder / "spec.json"
        hosts = [{"address": h.address, "port": h.port} for h in view.hosts]
        spec.write_text(
            json.dumps(
                {
                    "hosts": hosts,
                    "user": view.user,
                    "key": str(view.client_key),
                    "known_hosts": str(view.known_hosts),
                    "probe": PROBE,
                }
            )
        )
        ansible = folder / "hosts.ini"
        common = f"-o UserKnownHostsFile={view.known_hosts} -o StrictHostKeyChecking=yes"
        ansible.write_text(
            "[fleet]\n"
            + "".join(
                f"{h.name} ansible_host={h.address} ansible_port={h.port} "
                f"ansible_user={view.user} ansible_ssh_private_key_file={view.client_key} "
                f"ansible_ssh_common_args='{common}' ansible_python_interpreter=python3\n"
                for h in view.hosts
            )
        )
        return inventory, spec, ansible


def timed_process(argv: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        why = (done.stderr or done.stdout)[-600:]
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {why}")
    return elapsed


async def timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


class Warm:
    """Open connections for the in-process rows: fleetdeck's engine and bare asyncssh."""

    def __init__(self, inventory: Path, view: SshdFleet, state: Path) -> None:
        self.inventory, self.view, self.state = inventory, view, state

    async def __aenter__(self) -> Warm:
        import asyncssh

        from fleetdeck.core.engine.engine import Engine
        from fleetdeck.core.inventory import load_inventory

        self.engine = Engine(load_inventory(self.inventory), state_dir=self.state)
        await self.engine.refresh()  # connects; the host program is already installed
        self.watching = self.engine.watching(WATCH_INTERVAL_S)
        await self.watching.__aenter__()
        deadline = time.monotonic() + 30
        while not all(s.watch_live for s in self.engine.sessions.values()):
            if time.monotonic() > deadline:
                raise RuntimeError("the watch channels did not open in 30 s")
            await asyncio.sleep(0.05)
        self.conns = await asyncio.gather(
            *(
                asyncssh.connect(
                    h.address,
                    port=h.port,
                    username=self.view.user,
                    client_keys=[str(self.view.client_key)],
                    known_hosts=str(self.view.known_hosts),
                )
                for h in self.view.hosts
            )
        )
        self.cats = [await c.create_process("cat") for c in self.conns]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for process in self.cats:
            process.close()
        for conn in self.conns:
            conn.close()
        await self.watching.__aexit__(None, None, None)
        await self.engine.close()

    async def refresh(self) -> None:
        snapshot = await self.engine.refresh()
        states = [h.state.value for h in snapshot.hosts]
        if any(state != "up" for state in states):
            raise RuntimeError(f"a host is not up: {states}")

    async def exec(self) -> None:
        await asyncio.gather(*(c.run(PROBE, check=True) for c in self.conns))

    async def echo(self) -> None:
        async def one(process: object) -> None:
            process.stdin.write("ping\n")  # type: ignore[attr-defined]
            await process.stdout.readline()  # type: ignore[attr-defined]

        await asyncio.gather(*(one(p) for p in self.cats))


def cold_rows(
    inventory: Path, spec: Path, ansible_inventory: Path, n: int, env: dict[str, str]
) -> dict[str, Callable[[], float] | str]:
    rows: dict[str, Callable[[], float] | str] = {
        "fleetdeck cold": lambda: timed_process(
            [str(FLEETDECK), "status", str(inventory), "--json"], env
        ),
        "asyncssh floor": lambda: timed_process([sys.executable, "-c", FLOOR_CHILD, str(spec)]),
    }
    if BENCH_PYTHON.exists():
        rows["parallel-ssh"] = lambda: timed_process(
            [str(BENCH_PYTHON), "-c", PSSH_CHILD, str(spec)]
        )
    else:
        rows["parallel-ssh"] = "not installed (scripts/install-bench)"
    if ANSIBLE.exists():
        base = [str(ANSIBLE), "all", "-i", str(ansible_inventory), "-a", PROBE]
        rows["ansible -m raw"] = lambda: timed_process([*base, "-m", "raw", "-f", str(n)], env)
        rows["ansible -m command"] = lambda: timed_process([*base, "-m", "command"], env)
    else:
        rows["ansible -m raw"] = rows["ansible -m command"] = "not installed"
    return rows


async def measure(bench: Bench, n: int, shell: Shell, runs: int) -> dict[str, float | str]:
    tag = f"{shell.label}-{n}"
    view = bench.view(n, shell)
    inventory, spec, ansible_inventory = bench.files(view, tag)
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(bench.workdir / tag / "xdg"),
        "ANSIBLE_HOME": str(bench.workdir / tag / "ansible"),
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=no",
        "ANSIBLE_REMOTE_TMP": f"/tmp/.fleetdeck-bench-ansible-{shell.user}",
        "ANSIBLE_PYTHON_INTERPRETER": "python3",
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "LC_ALL": "C.UTF-8",
    }
    rows = cold_rows(inventory, spec, ansible_inventory, n, env)
    timed_process([str(FLEETDECK), "status", str(inventory), "--json"], env)  # installs
    samples: dict[str, list[float]] = {name: [] for name in rows}
    warm_names = ("fleetdeck warm", "asyncssh warm exec", "persistent channel")
    samples |= {name: [] for name in warm_names}
    async with Warm(inventory, view, bench.workdir / tag / "engine") as warm:
        for _ in range(runs):
            for name, row in rows.items():
                if not isinstance(row, str):
                    samples[name].append(await asyncio.to_thread(row))
            for name, work in zip(warm_names, (warm.refresh, warm.exec, warm.echo), strict=True):
                samples[name].append(await timed(work))
    medians: dict[str, float | str] = {}
    for name, values in samples.items():
        skipped = rows.get(name)
        medians[name] = skipped if isinstance(skipped, str) else statistics.median(values)
    return medians


def uptime() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


HEADER = f"{'hosts':>5}  {'shell':<5}  {'row':<20} {'median':>9} {'x floor':>8}  goal"


def rows_for(n: int, shell: Shell, row: dict[str, float | str]) -> list[str]:
    """One size's rows for one shell, as the table prints them."""
    floor = row["asyncssh floor"]
    channel = row["persistent channel"]
    lines = []
    for name, value in row.items():
        lead = f"{n:>5}  {shell.label:<5}  {name:<20}"
        if isinstance(value, str):
            lines.append(f"{lead} {value}")
            continue
        ratio = value / floor if isinstance(floor, float) else float("nan")
        goal = ""
        if name == "fleetdeck cold":
            goal = f"<= {COLD_GOAL}x floor: {'met' if ratio <= COLD_GOAL else 'MISSED'}"
        if name == "fleetdeck warm" and isinstance(channel, float):
            times = value / channel
            goal = f"{times:.0f}x a channel round trip"
            if n == WARM_GOAL_HOSTS:
                goal += f" (goal <= {WARM_GOAL}x: {'met' if times <= WARM_GOAL else 'MISSED'})"
        if name in ("fleetdeck warm", "asyncssh warm exec", "persistent channel"):
            lines.append(f"{lead} {value * 1000:>7.1f}ms {ratio:>8.2f}  {goal}")
        else:
            lines.append(f"{lead} {value:>8.2f}s {ratio:>8.2f}  {goal}")
    return lines


def growth(results: dict[int, dict[str, float | str]], shell: Shell) -> str | None:
    """Whether fleetdeck cold stayed linear or better from the smallest size to the largest."""
    sizes = sorted(results)
    cold = [results[n]["fleetdeck cold"] for n in sizes]
    if len(sizes) < 2 or not all(isinstance(c, float) for c in cold):
        return None
    first, last = sizes[0], sizes[-1]
    grew = float(cold[-1]) / float(cold[0])
    verdict = "met" if grew <= last / first else "MISSED"
    return (
        f"{shell.label}: fleetdeck cold grows {grew:.2f}x from {first} to {last} hosts "
        f"(linear would be {last / first:.0f}x): linear or better {verdict}"
    )


async def run_all(bench: Bench, sizes: list[int], runs: int, accounts: list[Shell | str]) -> None:
    shells_run = [s for s in accounts if isinstance(s, Shell)]
    for account in accounts:
        if isinstance(account, str):
            print(account)
        else:
            print(f"login shell {account.label}: user {account.user}, {account.note}")
    print(f"median of {runs} runs; load average now {uptime()}")
    print(HEADER, flush=True)
    results: dict[str, dict[int, dict[str, float | str]]] = {s.label: {} for s in shells_run}
    for n in sizes:  # both shells per size, so that a run cut short still compares them
        for shell in shells_run:
            results[shell.label][n] = await measure(bench, n, shell, runs)
            print("\n".join(rows_for(n, shell, results[shell.label][n])), flush=True)
    for shell in shells_run:
        line = growth(results[shell.label], shell)
        if line:
            print(line)


def run(sizes: list[int], runs: int, wanted: list[str]) -> None:
    accounts = shells(wanted)
    print(f"load average before: {uptime()}; {os.cpu_count()} CPUs", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="fleetdeck-fanout-"))
    workdir.chmod(0o755)  # the light account's sshd reads authorized_keys in here
    try:
        fleet = start_sshd_fleet(max(sizes), workdir)
        try:
            asyncio.run(run_all(Bench(fleet, workdir), sizes, runs, accounts))
        finally:
            fleet.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average after: {uptime()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,10,20,40", help="fleet sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="rounds per size (median)")
    parser.add_argument("--shells", default="heavy,light", help="heavy, light or both")
    args = parser.parse_args()
    # SIGTERM unwinds like ctrl-C, so that the finally blocks stop every sshd started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [int(s) for s in args.sizes.split(",")]
    run(sizes, args.runs, args.shells.split(","))


if __name__ == "__main__":
    main()
