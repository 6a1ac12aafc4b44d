"""Property tests: a value full of shell metacharacters, quotes, newlines or NUL, written
into any string of the inventory that reaches a host, is either refused by the loader
with FILE:LINE and the key, or reaches the host literally, never through a shell.

"Reaches the host literally" is checked where it could go wrong: the host program's
calls are recorded (hosts.host_program.HostProgram over a recording transport), the
command line the SSH transport sends (hosts.transport.command_line) is split back with
shlex.split as the remote shell would, and the request on stdin is decoded. The
real-sshd check of the same promise is tests/integration/test_literal_values_over_sshd.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import unicodedata
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetdeck.core.errors import InventoryError
from fleetdeck.core.inventory import Deployment, Host, Inventory, parse_inventory
from fleetdeck.core.policy.launch_spec import replica_env, vllm_argv
from fleetdeck.hosts.host_program import BOOTSTRAP, HostProgram, LaunchRequest
from fleetdeck.hosts.transport import CommandResult, command_line
from tests.bad_inputs.cases import BASE

SOURCE = Path("/nonexistent/fleet.toml")  # parse_inventory reads text, never this file
STATE = "/tmp/fleetdeck-property-state"

# What a shell would act on, what breaks a line, what a terminal acts on.
METACHARACTERS = "$`;|&<>()'\"\\ *?~#!{}[]=%^,:@+\n\t\r\0\x1b\x7f\u202e\u200b"
PAYLOADS = (
    "$(touch PWNED)",
    "`touch PWNED`",
    "; touch PWNED",
    "' ; touch PWNED ; '",
    '" ; touch PWNED ; "',
    "&& touch PWNED",
    "| touch PWNED",
    "$HOME",
    "${IFS}x",
    "~root",
    "*",
    "a b",
    "\nINFO forged line",
    "--x=$(id)",
    "\\",
)
_WORD = st.text(alphabet="abcdefgh-_./0123456789", max_size=6)
NASTY = st.one_of(
    st.text(
        alphabet=st.one_of(
            st.sampled_from(METACHARACTERS),
            st.characters(min_codepoint=0x20, max_codepoint=0x7E),
            st.sampled_from("éß中ж"),
        ),
        min_size=1,
        max_size=24,
    ),
    st.builds(lambda a, p, b: a + p + b, _WORD, st.sampled_from(PAYLOADS), _WORD),
)


def toml_string(value: str) -> str:
    """`value` as a TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif unicodedata.category(char) == "Cc":
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@dataclass(frozen=True)
class Field:
    """Where a value goes in BASE, the line and key a refusal must name, and how to read
    the loaded value back."""

    name: str
    line: int
    key: str

    def inventory(self, value: str) -> str:
        text = BASE.replace("{state}", STATE)
        literal = toml_string(value)
        host_key = 'transport = "local"\n'
        edits = {
            "deployment-name": ('name = "alpha"', f"name = {literal}"),
            "host-name": ('name = "h"', f"name = {literal}"),
            "fleet-name": ('name = "t"', f"name = {literal}"),
            "model": ('model = "m"', f"model = {literal}"),
            "state-dir": (f'state_dir = "{STATE}"', f"state_dir = {literal}"),
            "label": (host_key, f"{host_key}labels = {{ zone = {literal} }}\n"),
            "host-env": (host_key, f"{host_key}env = {{ A = {literal} }}\n"),
        }
        if self.name in edits:
            old, new = edits[self.name]
            return text.replace(old, new)
        extra = {
            "deployment-env": f"env = {{ B = {literal} }}\n",
            "served-model-name": f"[deployments.vllm]\nserved_model_name = {literal}\n",
            "extra-args": f'[deployments.vllm]\nextra_args = ["--seed", {literal}]\n',
        }
        return text + extra[self.name]

    def loaded(self, inventory: Inventory) -> Any:
        host, deployment = inventory.hosts[0], inventory.deployments[0]
        read = {
            "deployment-name": lambda: deployment.name,
            "host-name": lambda: host.name,
            "fleet-name": lambda: inventory.fleet.name,
            "model": lambda: deployment.model,
            "state-dir": lambda: host.state_dir,
            "label": lambda: host.labels["zone"],
            "host-env": lambda: host.env["A"],
            "deployment-env": lambda: deployment.env["B"],
            "served-model-name": lambda: deployment.vllm.served_model_name,
            "extra-args": lambda: deployment.vllm.extra_args[1],
        }
        return read[self.name]()


FIELDS = (
    Field("deployment-name", 9, "deployments[0].name"),
    Field("host-name", 4, "hosts[0].name"),
    Field("fleet-name", 2, "fleet.name"),
    Field("model", 10, "deployments[0].model"),
    Field("state-dir", 6, "hosts[0].state_dir"),
    Field("label", 6, "hosts[0].labels"),
    Field("host-env", 6, "hosts[0].env"),
    Field("deployment-env", 12, "deployments[0].env"),
    Field("served-model-name", 13, "deployments[0].vllm.served_model_name"),
    Field("extra-args", 13, "deployments[0].vllm.extra_args"),
)


class RecordingTransport:
    """Answers the host program's calls as the real one would; keeps every argv and stdin."""

    host_name = "h"
    connected = True

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], bytes | None]] = []

    async def connect(self) -> None:
        pass

    async def run(
        self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float | None = None
    ) -> CommandResult:
        self.calls.append((list(argv), stdin))
        if argv[1:4] == ["-S", "-c", BOOTSTRAP] and len(argv) == 7:
            # The bootstrap with no command installs: it prints the zipapp's path under
            # the expanded state dir.
            state_dir = os.path.abspath(os.path.expanduser(argv[4]))
            return CommandResult(0, f"{state_dir}/.bin/{argv[5]}\n", "")
        return CommandResult(0, json.dumps({"ok": True, "port": 8100}) + "\n", "")

    def stream_lines(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        more_stdin: asyncio.Queue[str] | None = None,
    ) -> AsyncIterator[str]:
        raise AssertionError("a launch streams nothing")

    async def forward_port(self, remote_port: int, remote_host: str = "127.0.0.1") -> int:
        return remote_port

    def probe(self, suspect: bool) -> None:
        pass

    async def close(self) -> None:
        pass


async def _launch(host: Host, deployment: Deployment) -> RecordingTransport:
    """What the engine's ActionRunner sends to start one replica (core/engine/action_runner)."""
    transport = RecordingTransport()
    program = HostProgram(transport, state_dir=host.state_dir, python=host.python)
    await program.launch(
        LaunchRequest(
            deployment=deployment.name,
            replica="r0",
            argv=vllm_argv(host, deployment),
            env=replica_env(host, deployment, ("GPU-0",), {}),
            port_range=host.port_range,
            bind_host=deployment.vllm.host,
        )
    )
    return transport


def _assert_refused_at_the_key(field: Field, error: InventoryError) -> None:
    lines = str(error).splitlines()
    assert len(lines) == len(error.problems), "a refusal printed a raw line break"
    first = re.fullmatch(rf"{re.escape(str(SOURCE))}:(\d+): (\S+): .+", lines[0])
    assert first is not None, lines[0]
    assert (int(first.group(1)), first.group(2)) == (field.line, field.key), lines[0]


def _assert_reaches_the_host_literally(field: Field, value: str, inventory: Inventory) -> None:
    host, deployment = inventory.hosts[0], inventory.deployments[0]
    transport = asyncio.run(_launch(host, deployment))
    for argv, _ in transport.calls:
        # The remote shell splits the line back into exactly these words.
        assert shlex.split(command_line(argv)) == argv
    # One exec: the bootstrap, its state dir, the program's name and hash, the command.
    [(argv, stdin)] = transport.calls
    assert argv[4] == host.state_dir  # one word, unexpanded: the host expands ~
    assert argv[7:] == ["launch"]  # the request travels on stdin, never in argv
    size, _, rest = (stdin or b"").partition(b"\n")
    request = json.loads(rest[int(size) :])  # after the zipapp, when one is sent
    assert request["state_dir"] == host.state_dir
    assert request["deployment"] == deployment.name
    assert request["argv"] == list(vllm_argv(host, deployment))
    words = {
        "model": [deployment.model],
        "served-model-name": ["--served-model-name", value],
        "extra-args": ["--seed", value],
    }.get(field.name)
    if words is not None:  # whole words of vLLM's argv, as written
        assert any(
            request["argv"][i : i + len(words)] == words for i in range(len(request["argv"]))
        )
    if field.name == "host-env":
        assert request["env"]["A"] == value
    if field.name == "deployment-env":
        assert request["env"]["B"] == value


@pytest.mark.parametrize("field", FIELDS, ids=lambda field: field.name)
@settings(max_examples=200, deadline=None)
@given(value=NASTY)
def test_refused_with_file_and_line_or_reaches_the_host_literally(field: Field, value: str) -> None:
    try:
        inventory = parse_inventory(field.inventory(value), SOURCE)
    except InventoryError as error:
        _assert_refused_at_the_key(field, error)
        return
    assert field.loaded(inventory) == value  # nothing trimmed, expanded or unescaped
    _assert_reaches_the_host_literally(field, value, inventory)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (FIELDS[3], "$(touch PWNED); `id` 'q' \"d\" a b"),
        (FIELDS[7], "$(touch PWNED)\n; rm -rf ~"),
        (FIELDS[9], "--x='$(id)' \"; touch PWNED\""),
        (FIELDS[4], "~/fleet deck/$(touch PWNED)"),
    ],
    ids=["model", "env-value", "extra-args", "state-dir"],
)
def test_these_metacharacters_are_accepted_and_reach_the_host_literally(
    field: Field, value: str
) -> None:
    """The property above could pass by refusing everything: these must be accepted."""
    inventory = parse_inventory(field.inventory(value), SOURCE)
    assert field.loaded(inventory) == value
    _assert_reaches_the_host_literally(field, value, inventory)


def test_a_nul_never_reaches_a_command_line() -> None:
    with pytest.raises(ValueError, match="NUL"):
        command_line(["python3", "a\0b"])
