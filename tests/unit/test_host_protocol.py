"""The typed host protocol: hosts/remote/protocol.py, both ends of it.

Each message is built from its dataclass on the host program's side, sent as JSON and
validated by the console (hosts/observations.read_message) into the same dataclass. The
host program's real reply builders run here on temporary state dirs, and what they send
must hold the declared fields and nothing else.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import json
import shutil
import socket
import subprocess
import sys
import types
import typing
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from fleetdeck.hosts.errors import RemoteCommandFailed
from fleetdeck.hosts.host_program import HostProgram, LaunchRequest, program_zip
from fleetdeck.hosts.observations import read_message
from fleetdeck.hosts.remote import hostload, launch, layout, lease, logs, main, observe, stop
from fleetdeck.hosts.remote.protocol import (
    ExitRecord,
    GpuProcess,
    GpuReading,
    HostLoad,
    HostObservation,
    LaunchReply,
    Lease,
    LeaseReply,
    LogErrorMessage,
    LogLineMessage,
    Message,
    OrphanProcess,
    ReplicaObservation,
    StopReply,
    encode,
)
from fleetdeck.hosts.transport import CommandResult

PROTOCOL = Path(__file__).parents[2] / "hosts" / "remote" / "protocol.py"


def a_replica(name: str, **changes: Any) -> ReplicaObservation:
    replica = ReplicaObservation(
        deployment="llm",
        replica=name,
        port=8100,
        bind_host="127.0.0.1",
        spec_hash="abc",
        gpu_uuids=("GPU-0", "GPU-1"),
        pid=4242,
        alive=True,
        wrapper_alive=True,
        healthy=False,
        stop_requested=False,
        exits=(ExitRecord(1, 100.5), ExitRecord(-9, 101.0)),
        started_at=99.0,
        created_at=98.0,
        log_size=1234,
        log_tail=("loading", "weights ünïcode"),
        meta={"gpu_memory_utilization": 0.9, "nested": {"a": [1, 2]}},
        ready_at=None,
        start_failures=2,
        failed_reason="gave up",
        first_failure=("OSError",),
    )
    return dataclasses.replace(replica, **changes)


def a_gpu(index: int, *processes: GpuProcess) -> GpuReading:
    return GpuReading(
        index=index,
        uuid=f"GPU-{index}",
        name="NVIDIA H100 80GB HBM3",
        temperature_c=40.5,
        utilization_pct=None,
        memory_used_mib=70000.0,
        memory_total_mib=81559.0,
        power_w=300.0,
        power_limit_w=700.0,
        processes=processes,
    )


def an_observation(replicas: int = 2, gpus: int = 2) -> HostObservation:
    return HostObservation(
        time=1000.0,
        replicas=tuple(a_replica(f"r{i}") for i in range(replicas)),
        gpus=tuple(
            a_gpu(
                i,
                GpuProcess(4242 + i, 70000.0, ours=True, replica=f"llm/r{i}"),
                GpuProcess(None, None),
            )
            for i in range(gpus)
        ),
        gpu_source="nvml",
        load=HostLoad(12.5, 0.5, 1000.0, 64000.0, cpu_count=16, disk_path="/srv"),
        lease=Lease("me@box/abc:123", 1030.0, renewed_at=1000.0),
        gpu_error=None,
        ports_in_use=(22, 8100),
        orphans=(OrphanProcess(77, "/srv/state/llm/gone", "llm/gone", "no state dir", 77),),
    )


MESSAGES: list[Message] = [
    an_observation(),
    HostObservation(0.0, (), (), "none", HostLoad(None, None, None, None)),
    LaunchReply(ok=True, adopted=False, port=8100, wrapper_pid=999),
    LaunchReply(ok=True, adopted=True, port=8101),
    LaunchReply(ok=False, error="no free port in 8100-8101 on 127.0.0.1"),
    StopReply(ok=True, found=False),
    StopReply(ok=False, found=True, killed=True, left_running=True),
    LeaseReply(ok=True, acquired=True, lease=Lease("a", 30.0, 0.0)),
    LeaseReply(ok=True, acquired=False, lease=None),
    LogLineMessage(offset=12, line='{"not": "json to us"} \t ✓'),
    LogErrorMessage(error="no replica d/r0"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: Message) -> None:
    line = encode(message)
    assert "\n" not in line
    received = read_message(type(message), json.loads(line), host="h1", command="test")
    assert received == message
    assert type(received) is type(message)


def test_the_console_gets_immutable_tuples_not_lists() -> None:
    sent = an_observation()
    received = read_message(HostObservation, json.loads(encode(sent)), host="h", command="x")
    assert isinstance(received.replicas, tuple) and isinstance(received.replicas[0].exits, tuple)
    assert received.replicas[0].exits[0] == ExitRecord(1, 100.5)
    assert received.replicas[0].replica_id == "llm/r0"
    assert received.foreign_gpu_memory_mib == {"GPU-0": 0.0, "GPU-1": 0.0}  # None reads as 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        received.time = 1.0  # type: ignore[misc]


# --- malformed messages -----------------------------------------------------------


def observation_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(encode(an_observation()))
    return data


def refused(data: object, kind: type[Message] = HostObservation) -> RemoteCommandFailed:
    with pytest.raises(RemoteCommandFailed) as caught:
        read_message(kind, data, host="gpu-7", command="observe")
    return caught.value


def test_a_missing_field_is_named_with_the_host_and_the_command() -> None:
    data = observation_json()
    del data["replicas"][1]["healthy"]
    error = refused(data)
    assert error.title == "gpu-7 sent a reply to `observe` that fleetdeck cannot read"
    assert error.cause == (
        "not a valid HostObservation: replicas.1 (llm/r1).healthy: field required"
    )
    assert error.next_step


def test_a_wrong_type_shows_the_value_it_got() -> None:
    data = observation_json()
    data["replicas"][0]["port"] = "eighty"
    data["gpus"][1]["processes"][0]["memory_mib"] = [1]
    error = refused(data)
    assert "replicas.0 (llm/r0).port: input should be a valid integer" in error.cause
    assert "(got 'eighty')" in error.cause
    assert "gpus.1.processes.0.memory_mib" in error.cause
    assert "Traceback" not in str(error) and "errors.pydantic.dev" not in str(error)


def test_an_undeclared_field_is_refused_not_dropped() -> None:
    data = observation_json()
    data["load"]["gpu_temp"] = 40
    assert "load.gpu_temp: unexpected keyword argument" in refused(data).cause


def test_many_problems_are_summed_up() -> None:
    error = refused({"ok": True})  # five fields missing, one not declared
    assert error.cause == (
        "not a valid HostObservation: time: field required; replicas: field required; "
        "gpus: field required; and 3 more"
    )


@pytest.mark.parametrize("data", [None, [], "observation", 3])
def test_a_reply_that_is_not_an_object(data: object) -> None:
    assert refused(data, StopReply).cause.startswith("not a valid StopReply: the reply: ")


class FakeHost:
    """A Transport whose host program answers each command with canned stdout lines."""

    host_name = "gpu-7"
    connected = True

    def __init__(self, **replies: str) -> None:
        self.replies = replies

    async def connect(self) -> None:
        pass

    async def run(
        self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float | None = None
    ) -> CommandResult:
        if argv[1:3] == ["-S", "-c"] and len(argv) == 7:  # the bootstrap, installing only
            return CommandResult(0, "/state/.bin/program.pyz\n", "")
        return CommandResult(0, self.replies[argv[-1]], "")  # the bootstrap running a command

    async def stream_lines(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        more_stdin: asyncio.Queue[str] | None = None,
    ) -> AsyncIterator[str]:
        for line in self.replies[argv[3]].splitlines():
            yield line

    async def forward_port(self, remote_port: int, remote_host: str = "127.0.0.1") -> int:
        return remote_port

    def probe(self, suspect: bool) -> None:
        pass

    async def close(self) -> None:
        pass


def program(**replies: str) -> HostProgram:
    return HostProgram(FakeHost(**replies), state_dir="/state")


async def test_the_host_program_hands_back_typed_replies() -> None:
    host = program(
        stop=encode(StopReply(ok=True, found=True, killed=True)),
        lease=encode(LeaseReply(ok=True, acquired=False, lease=Lease("other", 5.0))),
        observe=encode(an_observation()),
        launch=encode(LaunchReply(ok=True, adopted=True, port=8100)),
    )
    assert (await host.stop("llm", "r0")).killed
    taken = await host.take_lease("me", 30)
    assert not taken.acquired and taken.lease == Lease("other", 5.0)
    assert (await host.observe()) == an_observation()
    launched = await host.launch(LaunchRequest("llm", "r0", ("vllm",), {}, (8100, 8101)))
    assert (launched.port, launched.adopted) == (8100, True)


async def test_a_malformed_reply_is_a_remote_command_failure() -> None:
    data = observation_json()
    del data["load"]
    with pytest.raises(RemoteCommandFailed, match="gpu-7 sent a reply to `observe`"):
        await program(observe=json.dumps(data)).observe()
    with pytest.raises(RemoteCommandFailed, match="gpu-7 sent a reply to `stop`"):
        await program(stop='{"ok": true}').stop("llm", "r0")
    with pytest.raises(RemoteCommandFailed, match="lease failed on gpu-7: Traceback"):
        await program(lease="Traceback (most recent call last):\nKeyError: 'x'").take_lease("a", 1)
    with pytest.raises(RemoteCommandFailed, match="runs without a known port"):
        await program(launch='{"ok": true, "adopted": true, "port": null}').launch(
            LaunchRequest("llm", "r0", ("vllm",), {}, (8100, 8101))
        )


async def test_streams_refuse_malformed_lines_but_let_cut_ones_be_retried() -> None:
    good = encode(an_observation())
    watched = program(watch=f"{good}\n{good[:-1]}\n").watch(1.0)
    assert await anext(watched) == an_observation()
    with pytest.raises(ValueError) as cut:  # LogFollower and the watchers reconnect
        await anext(watched)
    assert not isinstance(cut.value, RemoteCommandFailed)

    logs_program = program(logs='{"offset": 3, "line": "ab"}\n{"offset": "x", "line": "c"}\n')
    lines = logs_program.logs("llm", "r0")
    assert (await anext(lines)).text == "ab"
    with pytest.raises(RemoteCommandFailed, match="reply to `logs`"):
        await anext(lines)
    with pytest.raises(RemoteCommandFailed, match="no log for llm/r0 on gpu-7: no replica"):
        await anext(program(logs=encode(LogErrorMessage("no replica llm/r0"))).logs("llm", "r0"))


# --- the module itself: stdlib only, Python 3.8 --------------------------------------


def test_protocol_imports_only_the_standard_library() -> None:
    tree = ast.parse(PROTOCOL.read_text())
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    assert imported and imported <= sys.stdlib_module_names


def test_protocol_parses_and_runs_as_python_3_8() -> None:
    source = PROTOCOL.read_text()
    tree = ast.parse(source, feature_version=(3, 8))
    # No `from __future__ import annotations` here: dataclasses and pydantic evaluate the
    # annotations at import, so 3.8 must be able to evaluate them (no `X | None`, no
    # `list[int]`).
    runtime_generics = {"list", "dict", "tuple", "set", "frozenset", "type"}
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.arg) and node.annotation is not None:
            for part in ast.walk(node.annotation):
                assert not (isinstance(part, ast.BinOp) and isinstance(part.op, ast.BitOr))
                assert not (
                    isinstance(part, ast.Subscript)
                    and isinstance(part.value, ast.Name)
                    and part.value.id in runtime_generics
                ), ast.unparse(node)


def python38() -> str | None:
    """A working python3.8 on PATH (a pyenv shim may name one that does not run)."""
    path = shutil.which("python3.8")
    if path is None:
        return None
    probe = subprocess.run(
        [path, "-c", "import sys; print(sys.version_info[:2] == (3, 8))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return path if probe.stdout.strip() == "True" else None


@pytest.mark.skipif(python38() is None, reason="no python3.8 on PATH")
def test_the_shipped_program_observes_under_python_3_8(tmp_path: Path) -> None:
    name, data = program_zip()
    zipapp = tmp_path / name
    zipapp.write_bytes(data)
    request = {"state_dir": str(tmp_path / "state"), "simulate": {"gpus": 2}, "host_id": "h"}
    done = subprocess.run(
        [str(python38()), str(zipapp), "observe"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
    )
    seen = read_message(HostObservation, json.loads(done.stdout), host="h", command="observe")
    assert seen.gpu_source == "simulated" and len(seen.gpus) == 2


# --- what the real builders send: the declared fields, no more, no fewer -----------


def shape_problems(data: object, hint: Any, path: str = "reply") -> list[str]:
    """Where `data` (decoded JSON) has keys that `hint` does not declare, or lacks some."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return [] if data is None else shape_problems(data, options[0], path)
    if origin is tuple and isinstance(data, list):
        item = typing.get_args(hint)[0]
        return [p for i, v in enumerate(data) for p in shape_problems(v, item, f"{path}.{i}")]
    if not (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
        return []
    if not isinstance(data, dict):
        return [f"{path} is {type(data).__name__}, not an object"]
    hints = typing.get_type_hints(hint)
    declared = {f.name for f in dataclasses.fields(hint)}
    problems = [f"{path}.{key} is not declared" for key in sorted(set(data) - declared)]
    problems += [f"{path}.{key} is missing" for key in sorted(declared - set(data))]
    for key in sorted(declared & set(data)):
        problems += shape_problems(data[key], hints[key], f"{path}.{key}")
    return problems


def sent(message: Message) -> Any:
    """As the console receives it: checked for shape, then validated."""
    data = json.loads(encode(message))
    assert shape_problems(data, type(message)) == []
    assert read_message(type(message), data, host="h", command="test") == message
    return data


def replica_dir(state: Path, deployment: str, replica: str) -> Path:
    directory = state / deployment / replica
    directory.mkdir(parents=True)
    spec = {
        "deployment": deployment,
        "replica": replica,
        "port": 8100,
        "bind_host": "127.0.0.1",
        "gpu_uuids": ["GPU-0"],
        "spec_hash": "abc",
        "created_at": 98.5,
        "meta": {"gpu_memory_utilization": 0.8},
        "argv": ["vllm"],
        "env_names": [],
    }
    (directory / "spec.json").write_text(json.dumps(spec))
    (directory / "exits").write_text("1 100.25\n137 101\n143 102 stop 7\nnot a line\n")
    (directory / "log").write_text("one\ntwo\n")
    (directory / "first_failure").write_text("Traceback\nOSError\n")
    (directory / "failed").write_text("kept failing\n")
    (directory / "stop").write_text("")
    return directory


def test_an_observation_of_a_real_state_dir_sends_what_is_declared(tmp_path: Path) -> None:
    state = tmp_path / "state"
    replica_dir(state, "llm", "r0")
    replica_dir(state, "llm", "r1")
    lease.take({"state_dir": str(state), "holder": "me", "ttl_s": 30})
    request = {"state_dir": str(state), "simulate": {"gpus": 2}, "host_id": "h"}
    observation = main.observation(request, hostload.HostMeter())
    data = sent(observation)
    first = data["replicas"][0]
    assert first["exits"] == [
        {"code": 1, "at": 100.25, "stopped": None, "ran_s": None},
        {"code": 137, "at": 101.0, "stopped": None, "ran_s": None},
        {"code": 143, "at": 102.0, "stopped": True, "ran_s": 7.0},
    ]
    assert (first["log_tail"], first["first_failure"]) == (["one", "two"], ["Traceback", "OSError"])
    assert (first["failed_reason"], first["stop_requested"], first["alive"]) == (
        "kept failing",
        True,
        False,
    )
    assert data["lease"]["holder"] == "me" and data["gpu_source"] == "simulated"
    r1 = layout.ReplicaPaths(str(state), "llm", "r1")
    assert observe.observe_replica(r1) == observation.replicas[1]


def test_lease_replies_send_what_is_declared(tmp_path: Path) -> None:
    def take(holder: str, ttl: float) -> LeaseReply:
        return lease.take({"state_dir": str(tmp_path), "holder": holder, "ttl_s": ttl})

    assert sent(take("a", 30))["acquired"] is True
    assert sent(take("b", 30))["lease"]["holder"] == "a"
    assert sent(take("a", 0)) == {"ok": True, "acquired": False, "lease": None}


def test_a_lease_file_that_is_not_a_lease_reads_as_none(tmp_path: Path) -> None:
    for text in ("[]", '{"holder": "a"}', '{"holder": "a", "expires_at": "soon"}', "{"):
        (tmp_path / lease.LEASE).write_text(text)
        assert lease.read_lease(str(tmp_path)) is None


def test_stop_replies_send_what_is_declared(tmp_path: Path) -> None:
    request = {"state_dir": str(tmp_path), "deployment": "llm", "replica": "r0", "grace_s": 0.1}
    assert sent(stop.stop(request)) == {
        "ok": True,
        "found": False,
        "killed": False,
        "left_running": False,
    }
    replica_dir(tmp_path, "llm", "r0")
    assert sent(stop.stop({**request, "forget": True}))["found"] is True
    assert not (tmp_path / "llm").exists()


def test_launch_refusals_send_what_is_declared(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        request = {
            "state_dir": str(tmp_path),
            "deployment": "llm",
            "replica": "r0",
            "bind_host": "127.0.0.1",
            "port_range": [port, port],
        }
        reply = launch.launch(request, "program.pyz", "supervise.sh")
    assert sent(reply)["error"] == f"no free port in {port}-{port} on 127.0.0.1"
    assert not reply.ok and reply.wrapper_pid is None


def test_log_stream_lines_send_what_is_declared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replica_dir(tmp_path, "llm", "r0")
    request = {"state_dir": str(tmp_path), "deployment": "llm", "replica": "r0", "tail": 5}
    assert logs.stream(request) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"offset": 4, "line": "one"}, {"offset": 8, "line": "two"}]
    assert all(shape_problems(line, LogLineMessage) == [] for line in lines)
    assert logs.stream({**request, "replica": "gone"}) == 1
    (error,) = capsys.readouterr().out.splitlines()
    assert json.loads(error) == {"error": "no replica llm/gone"}
    assert shape_problems(json.loads(error), LogErrorMessage) == []
