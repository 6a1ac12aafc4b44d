"""Bad inputs found by hand, as data: what was given, and the exact first line of the
refusal. test_bad_inputs.py runs each through `fleetdeck` and expects exit 2.

`inventory` edits a small valid inventory (BASE, below): `edit` replaces text in it and
`extra` appends lines to its one deployment. `argv` is the command line, with {file} for
the inventory's path. `first` is the first line of stderr that is not argparse's usage,
with {file} for the path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Line numbers in the expectations below count from here: 1 [fleet] ... 11
# gpus_per_replica; a deployment's `extra` lines start at line 12.
BASE = """\
[fleet]
name = "t"
[[hosts]]
name = "h"
transport = "local"
state_dir = "{state}"
simulate = { gpus = 2 }
[[deployments]]
name = "alpha"
model = "m"
gpus_per_replica = 1
"""

CONTROL = "must not contain control characters"
REACHES = "the value reaches hosts, their command lines and logs"


@dataclass(frozen=True)
class Case:
    id: str
    first: str
    argv: tuple[str, ...] = ("plan", "{file}")
    extra: tuple[str, ...] = ()
    edit: tuple[tuple[str, str], ...] = ()
    raw: bytes | None = None  # the inventory's bytes, instead of BASE
    path: str | None = None  # a path to use instead of writing an inventory
    not_recorded: bool = field(default=False)  # also check that no override was kept


INVENTORY_CASES = (
    # Counts
    Case(
        "replicas-huge",
        "{file}:12: deployments[0].replicas: must be at most 1024, got 1000000000",
        extra=("replicas = 1000000000",),
    ),
    Case(
        "replicas-beyond-gpus",
        "{file}:12: deployments[0].replicas: 3 replicas of 1 GPU each do not fit: the"
        " matching hosts hold at most 2; lower replicas or add hosts",
        extra=("replicas = 3",),
    ),
    Case(
        "autoscale-max-huge",
        "{file}:14: deployments[0].autoscale.max: must be at most 1024, got 5000",
        extra=("[deployments.autoscale]", "min = 0", "max = 5000"),
    ),
    Case(
        "autoscale-min-huge",
        "{file}:13: deployments[0].autoscale.min: must be at most 1024, got 2000",
        extra=("[deployments.autoscale]", "min = 2000", "max = 1024"),
    ),
    # Durations
    Case(
        "start-timeout-absurd",
        '{file}:12: deployments[0].start_timeout: must be at most 7d, got "99999999999999d"',
        extra=('start_timeout = "99999999999999d"',),
    ),
    Case(
        "idle-timeout-too-long",
        '{file}:12: deployments[0].idle_timeout: must be at most 30d, got "31d"',
        extra=('idle_timeout = "31d"',),
    ),
    Case(
        "restart-backoff-1e308",
        "{file}:12: deployments[0].restart_backoff: must be at most 5m, got 1e+308",
        extra=("restart_backoff = 1e308",),
    ),
    Case(
        "restart-backoff-inf",
        '{file}:12: deployments[0].restart_backoff: expected a duration like "30s", "5m",'
        ' "2h", "1h30m", "500ms" or a number of seconds, got inf',
        extra=("restart_backoff = inf",),
    ),
    Case(
        "restart-backoff-nan",
        '{file}:12: deployments[0].restart_backoff: expected a duration like "30s", "5m",'
        ' "2h", "1h30m", "500ms" or a number of seconds, got nan',
        extra=("restart_backoff = nan",),
    ),
    Case(
        "scale-down-delay-too-long",
        '{file}:13: deployments[0].autoscale.scale_down_delay: must be at most 1d, got "2d"',
        extra=("[deployments.autoscale]", 'scale_down_delay = "2d"', "min = 0", "max = 2"),
    ),
    Case(
        "connect-timeout-too-long",
        '{file}:6: hosts[0].connect_timeout: must be at most 10m, got "1h"',
        edit=(('transport = "local"\n', 'transport = "local"\nconnect_timeout = "1h"\n'),),
    ),
    # Control characters in strings that reach a host or a log
    Case(
        "model-nul",
        f'{{file}}:10: deployments[0].model: {CONTROL} (found NUL): {REACHES}; got "m\\u0000x"',
        edit=(('model = "m"', 'model = "m\\u0000x"'),),
    ),
    Case(
        "model-newline",
        f"{{file}}:10: deployments[0].model: {CONTROL} (found a newline): {REACHES};"
        ' got "m\\nINFO fake line"',
        edit=(('model = "m"', 'model = "m\\nINFO fake line"'),),
    ),
    Case(
        "served-model-name-newline",
        f"{{file}}:13: deployments[0].vllm.served_model_name: {CONTROL} (found a newline):"
        f' {REACHES}; got "x\\nINFO fake"',
        extra=("[deployments.vllm]", 'served_model_name = "x\\nINFO fake"'),
    ),
    Case(
        "state-dir-newline",
        f'{{file}}:6: hosts[0].state_dir: {CONTROL} (found a newline): {REACHES}; got "/tmp/x\\ny"',
        edit=(('state_dir = "{state}"', 'state_dir = "/tmp/x\\ny"'),),
    ),
    Case(
        "label-escape",
        f'{{file}}:7: hosts[0].labels: {CONTROL} (found U+001B): {REACHES}; got "\\u001B[31mred"',
        edit=(("\nsimulate", '\nlabels = { z = "\\u001b[31mred" }\nsimulate'),),
    ),
    Case(
        "env-value-nul",
        "{file}:12: deployments[0].env: must not contain control characters other than"
        " newlines and tabs"
        f' (found NUL): {REACHES}; got "x\\u0000"',
        extra=('env = { A = "x\\u0000" }',),
    ),
    # Names that become paths
    Case(
        "fleet-name-path",
        '{file}:2: fleet.name: fleet names use 1 to 63 of A-Z, a-z, 0-9, ".", "_" and "-",'
        " starting with a letter or digit (the name becomes a directory name);"
        ' got "../../x"',
        edit=(('name = "t"', 'name = "../../x"'),),
    ),
    Case(
        "deployment-name-path",
        '{file}:9: deployments[0].name: deployment names use 1 to 40 of a-z, 0-9 and "-",'
        ' not starting with "-" (they become file and process names on hosts);'
        ' got "../x"',
        edit=(('name = "alpha"', 'name = "../x"'),),
    ),
    Case(
        "host-name-path",
        '{file}:4: hosts[0].name: host names use 1 to 63 of a-z, 0-9 and "-",'
        ' not starting with "-" (they become file and process names on hosts);'
        ' got "a/b"',
        edit=(('name = "h"', 'name = "a/b"'),),
    ),
    # Addresses and ports
    Case(
        "address-semicolon",
        '{file}:5: hosts[0].address: must be a hostname (letters, digits, "-", "_" and'
        ' dots) or an IP address; got "gpu-a;reboot"',
        edit=(('transport = "local"', 'address = "gpu-a;reboot"'),),
    ),
    Case(
        "duplicate-endpoint-port",
        "{file}:17: deployments[1].endpoint_port: endpoint_port 9000 is also"
        " deployments[0]'s; each deployment's endpoint needs a port of its own (leave it"
        " out to have a free one chosen)",
        extra=(
            "endpoint_port = 9000",
            "[[deployments]]",
            'name = "beta"',
            'model = "m"',
            "gpus_per_replica = 0",
            "endpoint_port = 9000",
        ),
    ),
    # Files that are no inventory
    Case(
        "deep-nesting",
        "{file}:3: syntax: arrays or inline tables nested more than 100 deep; an inventory"
        " needs a few levels at most",
        raw=b'[fleet]\nname = "t"\nx = ' + b"[" * 5000 + b"]" * 5000 + b"\n",
    ),
    Case(
        "deep-inline-tables",
        "{file}:3: syntax: arrays or inline tables nested more than 100 deep; an inventory"
        " needs a few levels at most",
        raw=b'[fleet]\nname = "t"\nx = ' + b"{a=" * 3000 + b"1" + b"}" * 3000 + b"\n",
    ),
    Case(
        "dev-zero",
        "{file}:-: file: larger than the 1 MiB an inventory may be (1048576 bytes); is it"
        " the right file?",
        path="/dev/zero",
    ),
    Case(
        "too-large",
        "{file}:-: file: larger than the 1 MiB an inventory may be (1048576 bytes); is it"
        " the right file?",
        raw=b'[fleet]\nname = "t"\n' + b"# padding\n" * 110_000,
    ),
    Case(
        "directory",
        "{file}:-: file: cannot read it: it is a directory; name the inventory file in it",
        path="{tmp}",
    ),
    Case(
        "binary",
        "{file}:-: file: not a text file (a NUL byte at byte 3); an inventory is TOML text",
        raw=b"\x7fEL\x00\x02\x01\x01",
    ),
    Case(
        "empty",
        '{file}:-: file: the file is empty; an inventory starts with [fleet] and name = "..."',
        raw=b"",
    ),
)

CLI_CASES = (
    Case(
        "scale-huge",
        "fleetdeck scale: error: argument N: must be at most 1024 replicas, not 1000000000",
        argv=("scale", "{file}", "alpha", "1000000000"),
        not_recorded=True,
    ),
    Case(
        "scale-beyond-gpus",
        "error: cannot scale alpha to 3: each replica needs 1 GPU and the hosts it may run"
        " on hold at most 2 of them",
        argv=("scale", "{file}", "alpha", "3", "--no-wait"),
        not_recorded=True,
    ),
    Case(
        "scale-timeout-negative",
        "fleetdeck scale: error: argument --timeout: must be more than 0 seconds, not -5",
        argv=("scale", "{file}", "alpha", "1", "--timeout", "-5"),
    ),
    Case(
        "apply-timeout-inf",
        "fleetdeck apply: error: argument --timeout: expected a finite number of seconds, not inf",
        argv=("apply", "{file}", "--wait", "--timeout", "inf"),
    ),
    Case(
        "apply-timeout-too-long",
        "fleetdeck apply: error: argument --timeout: must be at most 7d (604800 s), not 1e9",
        argv=("apply", "{file}", "--wait", "--timeout", "1e9"),
    ),
    Case(
        "status-interval-zero",
        "fleetdeck status: error: argument --interval: must be more than 0 seconds, not 0",
        argv=("status", "{file}", "--watch", "--interval", "0"),
    ),
    Case(
        "status-interval-negative",
        "fleetdeck status: error: argument --interval: must be more than 0 seconds, not -1",
        argv=("status", "{file}", "--watch", "--interval", "-1"),
    ),
    Case(
        "status-interval-tiny",
        "fleetdeck status: error: argument --interval: must be at least 0.1 s, not 1e-9",
        argv=("status", "{file}", "--watch", "--interval", "1e-9"),
    ),
    Case(
        "status-sample-negative",
        "fleetdeck status: error: argument --sample: must be 0 or more seconds, not -1",
        argv=("status", "{file}", "--sample", "-1"),
    ),
    Case(
        "run-interval-words",
        "fleetdeck run: error: argument --interval: expected a number of seconds, e.g. 30"
        " or 0.5, not 'fast'",
        argv=("run", "{file}", "--interval", "fast"),
    ),
    Case(
        "logs-tail-negative",
        "fleetdeck logs: error: argument --tail: must be 0 or more, not -1",
        argv=("logs", "{file}", "alpha", "--tail", "-1"),
    ),
    Case(
        "events-tail-huge",
        "fleetdeck events: error: argument --tail: must be at most 1000000 lines, not 10000000",
        argv=("events", "{file}", "--tail", "10000000"),
    ),
    Case(
        "test-max-tokens-huge",
        "fleetdeck test: error: argument --max-tokens: must be at most 1000000 tokens,"
        " not 99999999999",
        argv=("test", "{file}", "alpha", "--max-tokens", "99999999999"),
    ),
    Case(
        "demo-seconds-nan",
        "fleetdeck demo: error: argument --seconds: expected a finite number of seconds, not nan",
        argv=("demo", "--headless", "--seconds", "nan"),
    ),
    Case(
        "logs-unknown-replica",
        "error: no replica 'alpha/r9' is known: every host answered and none runs a replica"
        " of 'alpha'",
        argv=("logs", "{file}", "alpha/r9"),
    ),
    Case(
        "logs-never-applied",
        "error: no replica of 'alpha' is known: every host answered and none runs a replica"
        " of 'alpha'",
        argv=("logs", "{file}", "alpha"),
    ),
)
