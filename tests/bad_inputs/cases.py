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


def _host_key(line: str) -> tuple[tuple[str, str], ...]:
    """An edit that adds `line` to the host's table, after its transport (line 6)."""
    return (('transport = "local"\n', f'transport = "local"\n{line}\n'),)


def _endpoint(*lines: str, port: int = 9100) -> tuple[str, ...]:
    """An [[endpoints]] table named "chat" after the deployment: its name on the table's
    second line, its port on the third, `lines` after them."""
    return ("[[endpoints]]", 'name = "chat"', f"port = {port}", *lines)


@dataclass(frozen=True)
class Case:
    id: str
    first: str
    argv: tuple[str, ...] = ("plan", "{file}")
    extra: tuple[str, ...] = ()
    edit: tuple[tuple[str, str], ...] = ()
    raw: bytes | None = None  # the inventory's bytes, instead of BASE
    size: int | None = None  # pad `raw` to this many bytes (a sparse file, made in tmp)
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
    # Cost: prices and the currency they are written in
    Case(
        "gpu-hour-price-negative",
        "{file}:6: hosts[0].gpu_hour_price: must be 0 or more (a price per GPU-hour), got -1.0",
        edit=_host_key("gpu_hour_price = -1"),
    ),
    Case(
        "gpu-hour-price-huge",
        "{file}:6: hosts[0].gpu_hour_price: must be at most 1,000,000 per GPU-hour,"
        " got 1000000000000.0",
        edit=_host_key("gpu_hour_price = 1e12"),
    ),
    Case(
        "gpu-hour-price-text",
        '{file}:6: hosts[0].gpu_hour_price: expected a number, got "2.10"',
        edit=_host_key('gpu_hour_price = "2.10"'),
    ),
    Case(
        "defaults-gpu-hour-price-inf",
        "{file}:4: defaults.gpu_hour_price: expected a finite number, got inf",
        edit=(("[[hosts]]", "[defaults]\ngpu_hour_price = inf\n[[hosts]]"),),
    ),
    Case(
        "currency-lowercase",
        "{file}:3: fleet.currency: must be an ISO 4217 currency code: three capital letters"
        ' such as "USD" or "EUR"; got "usd"',
        edit=(('name = "t"', 'name = "t"\ncurrency = "usd"'),),
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
    # [[endpoints]]: lines 12.. are the endpoint's (the deployment "alpha" is 8-11)
    Case(
        "endpoint-unknown-deployment",
        '{file}:15: endpoints[0].backends[0].deployment: no deployment "alpah"; did you'
        ' mean "alpha"?',
        extra=_endpoint('backends = [{ deployment = "alpah", weight = 90 }]'),
    ),
    Case(
        "endpoint-shadow-unknown",
        '{file}:16: endpoints[0].shadow.deployment: no deployment "beta" in [[deployments]]'
        " (there: alpha)",
        extra=_endpoint(
            'backends = [{ deployment = "alpha" }]',
            'shadow = { deployment = "beta", fraction = 0.1 }',
        ),
    ),
    Case(
        "endpoint-weights-zero",
        "{file}:15: endpoints[0].backends: every weight is 0; give at least one backend a weight",
        extra=_endpoint('backends = [{ deployment = "alpha", weight = 0 }]'),
    ),
    Case(
        "endpoint-fraction",
        "{file}:16: endpoints[0].shadow.fraction: must be at most 1.0, got 1.5",
        extra=_endpoint(
            'backends = [{ deployment = "alpha" }]',
            'shadow = { deployment = "alpha", fraction = 1.5 }',
        ),
    ),
    Case(
        "endpoint-policy-typo",
        '{file}:16: endpoints[0].polcy: unknown key; did you mean "policy"?',
        extra=_endpoint('backends = [{ deployment = "alpha" }]', 'polcy = "round_robin"'),
    ),
    Case(
        "endpoint-port-clash",
        "{file}:15: endpoints[0].port: port 9000 is also deployments[0].endpoint_port; pick"
        " another",
        extra=(
            "endpoint_port = 9000",
            *_endpoint('backends = [{ deployment = "alpha" }]', port=9000),
        ),
    ),
    Case(
        "endpoint-duplicate-name",
        '{file}:17: endpoints[1].name: duplicate endpoint name "chat" (also endpoints[0])',
        extra=(
            *_endpoint('backends = [{ deployment = "alpha" }]'),
            *_endpoint('backends = [{ deployment = "alpha" }]', port=9101),
        ),
    ),
    Case(
        "endpoint-vllm-router-split",
        "{file}:20: endpoints[0].engine: weighted backends are builtin-only; use engine ="
        ' "builtin"',
        extra=(
            *("[[deployments]]", 'name = "beta"', 'model = "m"', "gpus_per_replica = 0"),
            *_endpoint(
                'backends = [{ deployment = "alpha" }, { deployment = "beta" }]',
                'engine = "vllm-router"',
            ),
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
        "file-50mb",
        "{file}:-: file: larger than the 1 MiB an inventory may be (1048576 bytes); is it"
        " the right file?",
        raw=b'[fleet]\nname = "t"\n',
        size=50 * 1024 * 1024,
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
    # Broken TOML: each says where, and what to write instead
    Case(
        "toml-unclosed-string",
        "{file}:10: syntax: illegal character '\\n' (column 11); a \"...\" string must end on "
        'its line: close the quote (or use """...""" for text over several lines)',
        edit=(('model = "m"', 'model = "m'),),
    ),
    Case(
        "toml-missing-equals",
        "{file}:10: syntax: expected '=' after a key in a key/value pair (column 7)",
        edit=(('model = "m"', 'model "m"'),),
    ),
    Case(
        "toml-duplicate-key",
        "{file}:6: hosts[0].transport: set twice (first on line 5); keep one of them",
        edit=_host_key('transport = "ssh"'),
    ),
    Case(
        "toml-duplicate-table",
        "{file}:3: syntax: [fleet] is declared twice (column 7); merge the two tables",
        raw=b'[fleet]\nname = "t"\n[fleet]\nname = "u"\n',
    ),
    Case(
        "toml-unclosed-header",
        "{file}:3: syntax: expected ']]' at the end of an array declaration (column 8)",
        edit=(("[[hosts]]", "[[hosts]"),),
    ),
    Case(
        "toml-bad-escape",
        "{file}:10: syntax: unescaped '\\' in a string (column 13); write \\\\ for a backslash, "
        "or use a 'literal string'",
        edit=(('model = "m"', 'model = "m\\q"'),),
    ),
    Case(
        "toml-bare-word",
        '{file}:12: syntax: invalid value (column 12); strings need quotes ("..."); true and '
        "false are lowercase",
        extra=("replicas = yes",),
    ),
    Case(
        "toml-no-value",
        '{file}:12: syntax: invalid value (column 11); strings need quotes ("..."); true and '
        "false are lowercase",
        extra=("replicas =",),
    ),
    Case(
        "toml-inline-trailing-comma",
        "{file}:7: syntax: invalid initial character for a key part (column 24); a key or a "
        "closing }} was expected here (inline tables take no trailing comma)",
        edit=(("{ gpus = 2 }", "{ gpus = 2, }"),),
    ),
    Case(
        "toml-latin1",
        "{file}:-: file: not UTF-8 text (byte 19); save it as UTF-8",
        raw=b'[fleet]\nname = "caf\xe9"\n',
    ),
    Case(
        "only-comments",
        '{file}:-: fleet: missing required table; add [fleet] with name = "..."',
        raw=b"# nothing here\n# at all\n",
    ),
    Case(
        "no-fleet-table",
        '{file}:-: fleet: missing required table; add [fleet] with name = "..."',
        raw=b'[[hosts]]\nname = "h"\ntransport = "local"\n',
    ),
    # Wrong types, one or more per key family
    Case(
        "fleet-name-int",
        "{file}:2: fleet.name: expected a string, got 5",
        edit=(('name = "t"', "name = 5"),),
    ),
    Case(
        "host-port-string",
        '{file}:6: hosts[0].port: expected an integer, got "22"',
        edit=_host_key('port = "22"'),
    ),
    Case(
        "host-port-huge",
        "{file}:6: hosts[0].port: must be at most 65535, got 70000",
        edit=_host_key("port = 70000"),
    ),
    Case(
        "simulate-not-table",
        "{file}:7: hosts[0].simulate: expected a table, got 2",
        edit=(("{ gpus = 2 }", "2"),),
    ),
    Case(
        "simulate-gpus-negative",
        "{file}:7: hosts[0].simulate.gpus: must be at least 0, got -1",
        edit=(("{ gpus = 2 }", "{ gpus = -1 }"),),
    ),
    Case(
        "simulate-gpus-float",
        "{file}:7: hosts[0].simulate.gpus: expected an integer, got 2.5",
        edit=(("{ gpus = 2 }", "{ gpus = 2.5 }"),),
    ),
    Case(
        "labels-not-table",
        '{file}:6: hosts[0].labels: expected a table, got "gpu"',
        edit=_host_key('labels = "gpu"'),
    ),
    Case(
        "label-value-int",
        "{file}:6: hosts[0].labels.a: expected a string, got 1",
        edit=_host_key("labels = { a = 1 }"),
    ),
    Case(
        "env-array",
        "{file}:12: deployments[0].env: expected a table, got an array",
        extra=('env = ["A=1"]',),
    ),
    Case(
        "env-bad-name",
        '{file}:12: deployments[0].env: "1A" is not a valid environment variable name (letters, '
        "digits and _, not starting with a digit)",
        extra=('env = { "1A" = "x" }',),
    ),
    Case(
        "env-value-int",
        "{file}:12: deployments[0].env.A: expected a string, got 1",
        extra=("env = { A = 1 }",),
    ),
    Case(
        "transport-typo",
        '{file}:5: hosts[0].transport: expected one of "ssh", "local"; got "sssh" (did you mean '
        '"ssh"?)',
        edit=(('transport = "local"', 'transport = "sssh"'),),
    ),
    Case(
        "hosts-not-array",
        "{file}:3: hosts: expected an array of tables: write [[hosts]], with two brackets",
        raw=b'[fleet]\nname = "t"\n[hosts]\nname = "h"\n',
    ),
    Case(
        "replicas-string",
        '{file}:12: deployments[0].replicas: expected an integer, got "2"',
        extra=('replicas = "2"',),
    ),
    Case(
        "replicas-negative",
        "{file}:12: deployments[0].replicas: must be at least 0, got -1",
        extra=("replicas = -1",),
    ),
    Case(
        "replicas-float",
        "{file}:12: deployments[0].replicas: expected an integer, got 2.0",
        extra=("replicas = 2.0",),
    ),
    Case(
        "replicas-bool",
        "{file}:12: deployments[0].replicas: expected an integer, got true",
        extra=("replicas = true",),
    ),
    Case(
        "gpus-per-replica-string",
        '{file}:11: deployments[0].gpus_per_replica: expected an integer, got "1"',
        edit=(("gpus_per_replica = 1", 'gpus_per_replica = "1"'),),
    ),
    Case(
        "max-model-len-string",
        '{file}:13: deployments[0].vllm.max_model_len: expected an integer, got "4k"',
        extra=("[deployments.vllm]", 'max_model_len = "4k"'),
    ),
    Case(
        "dtype-typo",
        '{file}:13: deployments[0].vllm.dtype: expected one of "auto", "half", "float16", '
        '"bfloat16", "float", "float32"; got "bfloat" (did you mean "float"?)',
        extra=("[deployments.vllm]", 'dtype = "bfloat"'),
    ),
    Case(
        "tensor-parallel-zero",
        "{file}:13: deployments[0].vllm.tensor_parallel_size: must be at least 1, got 0",
        extra=("[deployments.vllm]", "tensor_parallel_size = 0"),
    ),
    Case(
        "gpu-memory-utilization-over",
        "{file}:13: deployments[0].vllm.gpu_memory_utilization: must be at most 1.0, got 1.5",
        extra=("[deployments.vllm]", "gpu_memory_utilization = 1.5"),
    ),
    Case(
        "trust-remote-code-string",
        '{file}:13: deployments[0].vllm.trust_remote_code: expected true or false, got "yes"',
        extra=("[deployments.vllm]", 'trust_remote_code = "yes"'),
    ),
    Case(
        "extra-args-string",
        '{file}:13: deployments[0].vllm.extra_args: expected an array, got "--foo"',
        extra=("[deployments.vllm]", 'extra_args = "--foo"'),
    ),
    Case(
        "extra-args-api-key",
        "{file}:13: deployments[0].vllm.extra_args: --api-key is not allowed here: argv is "
        'world-readable in /proc/PID/cmdline; set api_key = {{ env = "NAME" }} and fleetdeck '
        "passes it as VLLM_API_KEY from a 0600 env file; remove it",
        extra=("[deployments.vllm]", 'extra_args = ["--api-key=sk-1"]'),
    ),
    Case(
        "extra-args-port",
        "{file}:13: deployments[0].vllm.extra_args: --port is not allowed here: fleetdeck picks "
        "each replica's port from the host's port_range; remove it",
        extra=("[deployments.vllm]", 'extra_args = ["--port", "80"]'),
    ),
    Case(
        "extra-args-twice",
        "{file}:12: deployments[0].vllm: --max-model-len is also set by vllm.max_model_len; "
        "keep only one of them",
        extra=(
            "[deployments.vllm]",
            "max_model_len = 4096",
            'extra_args = ["--max-model-len=8192"]',
        ),
    ),
    Case(
        "strategy-typo",
        '{file}:13: deployments[0].placement.strategy: expected one of "spread", "binpack"; got '
        '"pack" (did you mean "binpack"?)',
        extra=("[deployments.placement]", 'strategy = "pack"'),
    ),
    Case(
        "update-strategy-typo",
        '{file}:12: deployments[0].update_strategy: expected one of "rolling", "recreate"; got '
        '"rolling-update" (did you mean "rolling"?)',
        extra=('update_strategy = "rolling-update"',),
    ),
    Case(
        "api-key-plain",
        '{file}:12: deployments[0].api_key: secrets are references: write {{ env = "NAME" }} or '
        '{{ file = "PATH" }} and keep the value itself out of the inventory',
        extra=('api_key = "sk-live-123"',),
    ),
    Case(
        "api-key-both",
        '{file}:12: deployments[0].api_key: write exactly one of {{ env = "NAME" }} or {{ file '
        '= "PATH" }}',
        extra=('api_key = { env = "A", file = "b" }',),
    ),
    Case(
        "api-key-bad-env",
        '{file}:12: deployments[0].api_key.env: "1BAD" is not a valid environment variable name '
        "(letters, digits and _, not starting with a digit)",
        extra=('api_key = { env = "1BAD" }',),
    ),
    Case(
        "hf-token-empty",
        '{file}:12: deployments[0].hf_token: write exactly one of {{ env = "NAME" }} or {{ file '
        '= "PATH" }}',
        extra=("hf_token = {}",),
    ),
    Case(
        "autoscale-min-over-max",
        "{file}:13: deployments[0].autoscale.min: min (3) is greater than max (2)",
        extra=("[deployments.autoscale]", "min = 3", "max = 2"),
    ),
    Case(
        "autoscale-and-replicas",
        "{file}:12: deployments[0].replicas: set either replicas or an [autoscale] table, not "
        "both (autoscale.min is the floor)",
        extra=("replicas = 1", "[deployments.autoscale]", "min = 0", "max = 2"),
    ),
    Case(
        "autoscale-target-zero",
        "{file}:15: deployments[0].autoscale.target_running_per_replica: must be greater than "
        "0.0, got 0",
        extra=("[deployments.autoscale]", "min = 0", "max = 2", "target_running_per_replica = 0"),
    ),
    # Ports: privileged, inverted, out of range, the wrong shape
    Case(
        "endpoint-port-privileged",
        "{file}:12: deployments[0].endpoint_port: must be at least 1024, got 80",
        extra=("endpoint_port = 80",),
    ),
    Case(
        "port-range-reversed",
        "{file}:6: hosts[0].port_range: [8200, 8100] is reversed; write [low, high]",
        edit=_host_key("port_range = [8200, 8100]"),
    ),
    Case(
        "port-range-privileged",
        "{file}:6: hosts[0].port_range: ports must lie within 1024..65535, got [80, 90]",
        edit=_host_key("port_range = [80, 90]"),
    ),
    Case(
        "port-range-one",
        "{file}:6: hosts[0].port_range: expected an array of exactly 2 items, got 1",
        edit=_host_key("port_range = [8100]"),
    ),
    Case(
        "port-range-too-high",
        "{file}:6: hosts[0].port_range: ports must lie within 1024..65535, got [65000, 70000]",
        edit=_host_key("port_range = [65000, 70000]"),
    ),
    Case(
        "port-range-strings",
        '{file}:6: hosts[0].port_range[0]: expected an integer, got "8100"',
        edit=_host_key('port_range = ["8100", "8199"]'),
    ),
    # Durations that are no duration
    Case(
        "duration-words",
        '{file}:12: deployments[0].start_timeout: expected a duration like "30s", "5m", "2h", '
        '"1h30m", "500ms" or a number of seconds, got "5 minutes"',
        extra=('start_timeout = "5 minutes"',),
    ),
    Case(
        "duration-negative",
        '{file}:12: deployments[0].start_timeout: expected a duration like "30s", "5m", "2h", '
        '"1h30m", "500ms" or a number of seconds, got "-5s"',
        extra=('start_timeout = "-5s"',),
    ),
    Case(
        "duration-unit-twice",
        "{file}:12: deployments[0].start_timeout: each unit may appear once in a duration, got "
        '"1m1m"',
        extra=('start_timeout = "1m1m"',),
    ),
    Case(
        "duration-bool",
        '{file}:12: deployments[0].idle_timeout: expected a duration like "30s", "5m", "2h", '
        '"1h30m", "500ms" or a number of seconds, got true',
        extra=("idle_timeout = true",),
    ),
    Case(
        "keepalive-zero",
        '{file}:6: hosts[0].keepalive_interval: must be more than zero, e.g. "10s"',
        edit=_host_key('keepalive_interval = "0s"'),
    ),
    Case(
        "connect-timeout-negative",
        '{file}:6: hosts[0].connect_timeout: expected a duration like "30s", "5m", "2h", '
        '"1h30m", "500ms" or a number of seconds, got -1',
        edit=_host_key("connect_timeout = -1"),
    ),
    Case(
        "max-start-failures-zero",
        "{file}:12: deployments[0].max_start_failures: must be at least 1, got 0",
        extra=("max_start_failures = 0",),
    ),
    Case(
        "keepalive-count-zero",
        "{file}:6: hosts[0].keepalive_count: must be at least 1, got 0",
        edit=_host_key("keepalive_count = 0"),
    ),
    # Unknown keys, with did-you-mean
    Case(
        "unknown-replica",
        '{file}:12: deployments[0].replica: unknown key; did you mean "replicas"?',
        extra=("replica = 2",),
    ),
    Case(
        "unknown-host-adress",
        '{file}:6: hosts[0].adress: unknown key; did you mean "address"?',
        edit=_host_key('adress = "x"'),
    ),
    Case(
        "unknown-fleet-nmae",
        '{file}:2: fleet.nmae: unknown key; did you mean "name"?',
        edit=(('name = "t"', 'nmae = "t"'),),
    ),
    Case(
        "unknown-model-typo",
        '{file}:10: deployments[0].modle: unknown key; did you mean "model"?',
        edit=(('model = "m"', 'modle = "m"'),),
    ),
    Case(
        "ssh-host-adress-typo",
        '{file}:5: hosts[0].adress: unknown key; did you mean "address"?',
        edit=(('transport = "local"', 'adress = "gpu-a"'),),
    ),
    Case(
        "unknown-top-deployment",
        '{file}:3: deployment: unknown key; did you mean "deployments"?',
        raw=b'[fleet]\nname = "t"\n[[deployment]]\nname = "a"\n',
    ),
    Case(
        "unknown-vllm-dashes",
        '{file}:13: deployments[0].vllm.max-model-len: unknown key; did you mean "max_model_len"?',
        extra=("[deployments.vllm]", "max-model-len = 4096"),
    ),
    Case(
        "key-one-table-too-high",
        '{file}:12: deployments[0].max_model_len: unknown key here; "max_model_len" belongs in '
        "the vllm table (vllm.max_model_len)",
        extra=("max_model_len = 4096",),
    ),
    Case(
        "unknown-defaults-key",
        '{file}:4: defaults.prot: unknown key; did you mean "port"?',
        raw=b'[fleet]\nname = "t"\n[defaults]\nprot = 22\n',
    ),
    Case(
        "defaults-bad-port",
        '{file}:4: defaults.port: expected an integer, got "x"',
        raw=b'[fleet]\nname = "t"\n[defaults]\nport = "x"\n'
        b'[[hosts]]\nname = "h"\ntransport = "local"\n',
    ),
    # Duplicates, missing keys, and placements no host can take
    Case(
        "duplicate-host",
        '{file}:9: hosts[1].name: duplicate host name "h" (also hosts[0])',
        edit=(("[[deployments]]", '[[hosts]]\nname = "h"\ntransport = "local"\n[[deployments]]'),),
    ),
    Case(
        "duplicate-deployment",
        '{file}:13: deployments[1].name: duplicate deployment name "alpha" (also deployments[0])',
        extra=("[[deployments]]", 'name = "alpha"', 'model = "m"', "gpus_per_replica = 0"),
    ),
    Case(
        "deployment-no-model",
        "{file}:8: deployments[0].model: missing required key; add model = ...",
        edit=(('model = "m"\n', ""),),
    ),
    Case(
        "ssh-host-no-address",
        "{file}:3: hosts[0].address: missing required key; add address = ...",
        edit=(('transport = "local"\n', ""),),
    ),
    Case(
        "no-hosts",
        "{file}:3: deployments[0]: no [[hosts]] in the inventory to run it on",
        raw=b'[fleet]\nname = "t"\n[[deployments]]\nname = "a"\nmodel = "m"\n',
    ),
    Case(
        "gpus-more-than-host",
        "{file}:11: deployments[0].gpus_per_replica: each replica needs 4 GPUs but no matching "
        "host has that many: h (2 GPUs); gpus_per_replica = 0 runs a CPU build",
        edit=(("gpus_per_replica = 1", "gpus_per_replica = 4"),),
    ),
    Case(
        "tensor-parallel-beyond-host",
        "{file}:12: deployments[0].vllm.tensor_parallel_size: each replica needs 4 GPUs but no "
        "matching host has that many: h (2 GPUs); gpus_per_replica = 0 runs a CPU build",
        edit=(("gpus_per_replica = 1\n", ""),),
        extra=("[deployments.vllm]", "tensor_parallel_size = 4"),
    ),
    Case(
        "gpus-fewer-than-tp",
        "{file}:11: deployments[0].gpus_per_replica: 1 is fewer than tensor_parallel_size x "
        "pipeline_parallel_size = 2",
        extra=("[deployments.vllm]", "tensor_parallel_size = 2"),
    ),
    # Replicas over several hosts (Ray)
    Case(
        "nodes-zero",
        "{file}:12: deployments[0].nodes: must be at least 1, got 0",
        extra=("nodes = 0",),
    ),
    Case(
        "nodes-cpu-build",
        "{file}:12: deployments[0].nodes: nodes = 2 needs GPUs: a CPU build (gpus_per_replica = "
        "0) runs on one host; remove nodes or give the replica GPUs",
        edit=(("gpus_per_replica = 1", "gpus_per_replica = 0"),),
        extra=("nodes = 2",),
    ),
    Case(
        "nodes-uneven-split",
        "{file}:12: deployments[0].nodes: 3 GPUs per replica do not split evenly over 2 hosts; "
        "make tensor_parallel_size x pipeline_parallel_size (or gpus_per_replica) a multiple of "
        "nodes",
        edit=(("gpus_per_replica = 1", "gpus_per_replica = 3"),),
        extra=("nodes = 2",),
    ),
    Case(
        "nodes-more-than-hosts",
        "{file}:12: deployments[0].nodes: each replica spans 2 hosts but only 1 matching host "
        "can hold a part: h (2 GPUs); lower nodes or add hosts",
        edit=(("gpus_per_replica = 1", "gpus_per_replica = 2"),),
        extra=("nodes = 2",),
    ),
    Case(
        "tensor-parallel-fits-over-two-hosts",
        "{file}:16: deployments[0].vllm.tensor_parallel_size: each replica needs 4 GPUs but no "
        "matching host has that many: h (2 GPUs), g (2 GPUs); gpus_per_replica = 0 runs a CPU "
        "build, or nodes = 2 spans 2 hosts with Ray",
        edit=(
            ("gpus_per_replica = 1\n", ""),
            (
                "[[deployments]]",
                '[[hosts]]\nname = "g"\ntransport = "local"\nsimulate = { gpus = 2 }\n'
                "[[deployments]]",
            ),
        ),
        extra=("[deployments.vllm]", "tensor_parallel_size = 4"),
    ),
    Case(
        "placement-no-match",
        "{file}:13: deployments[0].placement.labels: no host has all of zone=eu; hosts have: h "
        "{{no labels}}",
        extra=("[deployments.placement]", 'labels = { zone = "eu" }'),
    ),
    Case(
        "identity-file-missing",
        "{file}:6: hosts[0].identity_file: /nonexistent/key does not exist; create it with "
        "ssh-keygen or fix the path",
        edit=(('transport = "local"', 'address = "gpu-a"\nidentity_file = "/nonexistent/key"'),),
    ),
    # Unicode and names that become paths or flags
    Case(
        "deployment-name-greek",
        '{file}:9: deployments[0].name: deployment names use 1 to 40 of a-z, 0-9 and "-", not '
        'starting with "-" (they become file and process names on hosts); got "αlpha"',
        edit=(('name = "alpha"', 'name = "αlpha"'),),
    ),
    Case(
        "deployment-name-zero-width",
        '{file}:9: deployments[0].name: deployment names use 1 to 40 of a-z, 0-9 and "-", not '
        'starting with "-" (they become file and process names on hosts); got "al\\u200Bpha"',
        edit=(('name = "alpha"', 'name = "al\\u200bpha"'),),
    ),
    Case(
        "fleet-name-umlaut",
        '{file}:2: fleet.name: fleet names use 1 to 63 of A-Z, a-z, 0-9, ".", "_" and "-", '
        'starting with a letter or digit (the name becomes a directory name); got "flötte"',
        edit=(('name = "t"', 'name = "flötte"'),),
    ),
    Case(
        "host-name-upper",
        '{file}:4: hosts[0].name: host names use 1 to 63 of a-z, 0-9 and "-", not starting with '
        '"-" (they become file and process names on hosts); got "GPU-A"',
        edit=(('name = "h"', 'name = "GPU-A"'),),
    ),
    Case(
        "host-name-dash",
        '{file}:4: hosts[0].name: host names use 1 to 63 of a-z, 0-9 and "-", not starting with '
        '"-" (they become file and process names on hosts); got "-h"',
        edit=(('name = "h"', 'name = "-h"'),),
    ),
    Case(
        "host-name-too-long",
        '{file}:4: hosts[0].name: host names use 1 to 63 of a-z, 0-9 and "-", not starting with '
        '"-" (they become file and process names on hosts); got '
        '"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh...',
        edit=(('name = "h"', 'name = "' + "h" * 64 + '"'),),
    ),
    Case(
        "deployment-name-too-long",
        '{file}:9: deployments[0].name: deployment names use 1 to 40 of a-z, 0-9 and "-", not '
        'starting with "-" (they become file and process names on hosts); got '
        '"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"',
        edit=(('name = "alpha"', 'name = "' + "a" * 41 + '"'),),
    ),
    Case(
        "deployment-name-dotdot",
        '{file}:9: deployments[0].name: deployment names use 1 to 40 of a-z, 0-9 and "-", not '
        'starting with "-" (they become file and process names on hosts); got ".."',
        edit=(('name = "alpha"', 'name = ".."'),),
    ),
    Case(
        "model-empty",
        "{file}:10: deployments[0].model: must not be empty",
        edit=(('model = "m"', 'model = "  "'),),
    ),
    Case(
        "model-bidi",
        "{file}:10: deployments[0].model: must not contain control characters (found the "
        "bidirectional control U+202E): the value reaches hosts, their command lines and logs; "
        'got "m\\u202Egnp.exe"',
        edit=(('model = "m"', 'model = "m\\u202egnp.exe"'),),
    ),
    Case(
        "state-dir-empty",
        "{file}:6: hosts[0].state_dir: must not be empty",
        edit=(('state_dir = "{state}"', 'state_dir = ""'),),
    ),
    Case(
        "python-empty",
        "{file}:6: hosts[0].python: must not be empty",
        edit=_host_key('python = ""'),
    ),
    Case(
        "vllm-command-empty",
        '{file}:6: hosts[0].vllm: must name a command, e.g. "vllm serve"',
        edit=_host_key('vllm = ""'),
    ),
    Case(
        "vllm-command-unclosed",
        "{file}:6: hosts[0].vllm: cannot split into words: No closing quotation",
        edit=_host_key('vllm = "vllm \'serve"'),
    ),
    # Control characters in more strings that reach a host or a log
    Case(
        "served-model-name-nul",
        "{file}:13: deployments[0].vllm.served_model_name: must not contain control characters "
        '(found NUL): the value reaches hosts, their command lines and logs; got "x\\u0000"',
        extra=("[deployments.vllm]", 'served_model_name = "x\\u0000"'),
    ),
    Case(
        "host-env-nul",
        "{file}:6: hosts[0].env: must not contain control characters other than newlines and "
        "tabs (found NUL): the value reaches hosts, their command lines and logs; got "
        '"x\\u0000y"',
        edit=_host_key('env = { A = "x\\u0000y" }'),
    ),
    Case(
        "env-key-newline",
        '{file}:12: deployments[0].env: "A\\nB" is not a valid environment variable name '
        "(letters, digits and _, not starting with a digit)",
        extra=('env = { "A\\nB" = "x" }',),
    ),
    Case(
        "label-key-tab",
        "{file}:6: hosts[0].labels: must not contain control characters (found a tab): the "
        'value reaches hosts, their command lines and logs; got "a\\tb"',
        edit=_host_key('labels = { "a\\tb" = "x" }'),
    ),
    Case(
        "extra-args-nul",
        "{file}:13: deployments[0].vllm.extra_args: must not contain control characters other "
        "than newlines and tabs (found NUL): the value reaches hosts, their command lines and "
        'logs; got "--x=\\u0000"',
        extra=("[deployments.vllm]", 'extra_args = ["--x=\\u0000"]'),
    ),
    Case(
        "python-newline",
        "{file}:6: hosts[0].python: must not contain control characters (found a newline): the "
        'value reaches hosts, their command lines and logs; got "python3\\nid"',
        edit=_host_key('python = "python3\\nid"'),
    ),
    Case(
        "vllm-command-newline",
        "{file}:6: hosts[0].vllm: must not contain control characters (found a newline): the "
        'value reaches hosts, their command lines and logs; got "vllm serve\\nid"',
        edit=_host_key('vllm = "vllm serve\\nid"'),
    ),
    Case(
        "user-newline",
        '{file}:6: hosts[0].user: user names use 1 to 64 of letters, digits, ".", "_", "-" and '
        '"@", not starting with "-" or "@"; got "root\\nid"',
        edit=_host_key('user = "root\\nid"'),
    ),
    Case(
        "quantization-cr",
        "{file}:13: deployments[0].vllm.quantization: must not contain control characters "
        "(found a carriage return): the value reaches hosts, their command lines and logs; got "
        '"awq\\r"',
        extra=("[deployments.vllm]", 'quantization = "awq\\r"'),
    ),
    Case(
        "gpu-name-escape",
        "{file}:7: hosts[0].simulate.gpu_name: must not contain control characters (found "
        'U+001B): the value reaches hosts, their command lines and logs; got "\\u001B[2J"',
        edit=(("{ gpus = 2 }", '{ gpus = 2, gpu_name = "\\u001b[2J" }'),),
    ),
    Case(
        "known-hosts-newline",
        "{file}:6: hosts[0].known_hosts: must not contain control characters (found a newline): "
        'the value reaches hosts, their command lines and logs; got "/tmp/k\\nx"',
        edit=_host_key('known_hosts = "/tmp/k\\nx"'),
    ),
    # Addresses and users with shell metacharacters or option syntax
    Case(
        "address-dollar",
        '{file}:5: hosts[0].address: must be a hostname (letters, digits, "-", "_" and dots) or '
        'an IP address; got "$(touch x)"',
        edit=(('transport = "local"', 'address = "$(touch x)"'),),
    ),
    Case(
        "address-option",
        '{file}:5: hosts[0].address: must be a hostname (letters, digits, "-", "_" and dots) or '
        'an IP address; got "-oProxyCommand=id"',
        edit=(('transport = "local"', 'address = "-oProxyCommand=id"'),),
    ),
    Case(
        "address-space",
        '{file}:5: hosts[0].address: must be a hostname (letters, digits, "-", "_" and dots) or '
        'an IP address; got "gpu a"',
        edit=(('transport = "local"', 'address = "gpu a"'),),
    ),
    Case(
        "address-backtick",
        '{file}:5: hosts[0].address: must be a hostname (letters, digits, "-", "_" and dots) or '
        'an IP address; got "`id`"',
        edit=(('transport = "local"', 'address = "`id`"'),),
    ),
    Case(
        "vllm-host-semicolon",
        '{file}:13: deployments[0].vllm.host: must be a hostname (letters, digits, "-", "_" and '
        'dots) or an IP address; got "127.0.0.1;reboot"',
        extra=("[deployments.vllm]", 'host = "127.0.0.1;reboot"'),
    ),
    Case(
        "user-option",
        '{file}:6: hosts[0].user: user names use 1 to 64 of letters, digits, ".", "_", "-" and '
        '"@", not starting with "-" or "@"; got "-oProxyCommand=id"',
        edit=_host_key('user = "-oProxyCommand=id"'),
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
    # Commands, deployments and replicas the CLI does not know
    Case(
        "unknown-subcommand",
        "fleetdeck: error: unknown command 'frobnicate' (and no file of that name); `fleetdeck "
        "--help` lists the commands",
        argv=("frobnicate", "{file}"),
    ),
    Case(
        "subcommand-typo",
        "fleetdeck: error: unknown command 'staus' (and no file of that name); did you mean "
        "`fleetdeck status`? `fleetdeck --help` lists the commands",
        argv=("staus", "{file}"),
    ),
    Case(
        "unknown-flag",
        "fleetdeck: error: unrecognized arguments: --frobnicate",
        argv=("plan", "{file}", "--frobnicate"),
    ),
    Case(
        "scale-minus-one",
        "fleetdeck scale: error: argument N: must be 0 or more, not -1",
        argv=("scale", "{file}", "alpha", "-1"),
    ),
    Case(
        "scale-abc",
        "fleetdeck scale: error: argument N: expected a whole number, not 'abc'",
        argv=("scale", "{file}", "alpha", "abc"),
    ),
    Case(
        "scale-1e9",
        "fleetdeck scale: error: argument N: expected a whole number, not '1e9'",
        argv=("scale", "{file}", "alpha", "1e9"),
    ),
    Case(
        "scale-unknown-deployment",
        "error: {file}: no deployment named 'nosuch': known: alpha",
        argv=("scale", "{file}", "nosuch", "1", "--no-wait"),
    ),
    Case(
        "stop-unknown-deployment",
        "error: {file}: no deployment named 'nosuch': known: alpha",
        argv=("stop", "{file}", "nosuch", "--no-wait"),
    ),
    Case(
        "start-unknown-deployment",
        "error: {file}: no deployment named 'nosuch': known: alpha",
        argv=("start", "{file}", "nosuch", "--no-wait"),
    ),
    Case(
        "restart-unknown-deployment",
        "error: {file}: no deployment named 'nosuch': known: alpha",
        argv=("restart", "{file}", "nosuch", "--no-wait"),
    ),
    Case(
        "logs-unknown-deployment",
        "error: {file}: no deployment named 'nosuch': known: alpha",
        argv=("logs", "{file}", "nosuch"),
    ),
    Case(
        "logs-bad-target",
        "error: no replica 'alpha/r9/x' is known: every host answered and none runs a replica "
        "of 'alpha'",
        argv=("logs", "{file}", "alpha/r9/x"),
    ),
    Case(
        "test-unknown-deployment",
        "error: {file}: no deployment named 'nosuch': known: alpha",
        argv=("test", "{file}", "nosuch"),
    ),
    Case(
        "export-unknown-deployment",
        "error: {file}: no deployment named 'nosuch': known: alpha",
        argv=("export", "{file}", "nosuch"),
    ),
    Case(
        "trust-unknown-host",
        "error: no host named 'nosuch': hosts: h",
        argv=("trust", "{file}", "nosuch"),
    ),
    Case(
        "events-unknown-deployment",
        "error: {file}: no deployment named 'nosuch': known: alpha; the journal has no events "
        "of it either",
        argv=("events", "{file}", "--deployment", "nosuch"),
    ),
    Case(
        "forget-failed-unknown",
        "error: {file}: no deployment named 'nosuch': known: alpha",
        argv=("forget-failed", "{file}", "nosuch"),
    ),
    # Numbers on the command line
    Case(
        "timeout-words",
        "fleetdeck apply: error: argument --timeout: expected a number of seconds, e.g. 30 or "
        "0.5, not 'soon'",
        argv=("apply", "{file}", "--wait", "--timeout", "soon"),
    ),
    Case(
        "timeout-zero",
        "fleetdeck apply: error: argument --timeout: must be more than 0 seconds, not 0",
        argv=("apply", "{file}", "--wait", "--timeout", "0"),
    ),
    Case(
        "timeout-nan",
        "fleetdeck start: error: argument --timeout: expected a finite number of seconds, not nan",
        argv=("start", "{file}", "alpha", "--timeout", "nan"),
    ),
    Case(
        "interval-inf",
        "fleetdeck run: error: argument --interval: expected a finite number of seconds, not inf",
        argv=("run", "{file}", "--interval", "inf"),
    ),
    Case(
        "interval-too-long",
        "fleetdeck status: error: argument --interval: must be at most 1d (86400 s), not 1e9",
        argv=("status", "{file}", "--watch", "--interval", "1e9"),
    ),
    Case(
        "tail-words",
        "fleetdeck logs: error: argument --tail: expected a whole number, not 'all'",
        argv=("logs", "{file}", "alpha", "--tail", "all"),
    ),
    Case(
        "tail-fraction",
        "fleetdeck events: error: argument --tail: expected a whole number, not '1.5'",
        argv=("events", "{file}", "--tail", "1.5"),
    ),
    Case(
        "logs-tail-huge",
        "fleetdeck logs: error: argument --tail: must be at most 1000000 lines, not 1000000000",
        argv=("logs", "{file}", "alpha", "--tail", "1000000000"),
    ),
    Case(
        "sample-words",
        "fleetdeck status: error: argument --sample: expected a number of seconds, e.g. 30 or "
        "0.5, not 'abc'",
        argv=("status", "{file}", "--sample", "abc"),
    ),
    Case(
        "max-tokens-negative",
        "fleetdeck test: error: argument --max-tokens: must be 0 or more, not -3",
        argv=("test", "{file}", "alpha", "--max-tokens", "-3"),
    ),
    # Choices and files
    Case(
        "completion-bad-shell",
        "fleetdeck completion: error: argument shell: invalid choice: 'powershell' (choose from "
        "'bash', 'zsh', 'fish')",
        argv=("completion", "powershell"),
    ),
    Case(
        "export-bad-format",
        "fleetdeck export: error: argument --format: invalid choice: 'yaml' (choose from "
        "'toml', 'json')",
        argv=("export", "{file}", "alpha", "--format", "yaml"),
    ),
    Case(
        "missing-file",
        "/nonexistent/fleet.toml:-: file: cannot read it: No such file or directory",
        argv=("plan", "/nonexistent/fleet.toml"),
    ),
    Case(
        "console-without-a-terminal",
        "error: the console needs a terminal: stdin and stdout must both be one: nothing"
        " could be seen or pressed here (a pipe, a file or no terminal)",
        argv=("tui", "{file}"),
    ),
    Case(
        "demo-without-a-terminal",
        "error: the console needs a terminal: stdin and stdout must both be one: nothing"
        " could be seen or pressed here (a pipe, a file or no terminal)",
        argv=("demo",),
    ),
    Case(
        "theme-unknown",
        "fleetdeck tui: error: argument --theme: invalid choice: 'pink' (choose from "
        "'fleetdeck-dark', 'fleetdeck-light', 'fleetdeck-high-contrast')",
        argv=("tui", "{file}", "--theme", "pink"),
    ),
    Case(
        "scale-missing-count",
        "fleetdeck scale: error: the following arguments are required: N",
        argv=("scale", "{file}", "alpha"),
    ),
    Case(
        "run-interval-zero",
        "fleetdeck run: error: argument --interval: must be more than 0 seconds, not 0",
        argv=("run", "{file}", "--interval", "0"),
    ),
    Case(
        "demo-seconds-negative",
        "fleetdeck demo: error: argument --seconds: must be more than 0 seconds, not -1",
        argv=("demo", "--headless", "--seconds", "-1"),
    ),
)
