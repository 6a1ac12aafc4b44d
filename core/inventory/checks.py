"""Rules that span several tables: unique names, placement that can be satisfied, files
that must exist. Each returns (key path, message) pairs; the loader adds file and line."""

from __future__ import annotations

from collections.abc import Sequence

from fleetdeck.core.inventory.models import Deployment, Endpoint, Host
from fleetdeck.core.inventory.problems import KeyPath, did_you_mean

Found = list[tuple[KeyPath, str]]
Indexed = Sequence[tuple[int, Host]]


def check_unique_names(table: str, entries: Sequence[tuple[int, Host | Deployment]]) -> Found:
    """Names identify hosts and deployments in commands, state directories and logs."""
    first_index: dict[str, int] = {}
    found: Found = []
    what = "host" if table == "hosts" else "deployment"
    for index, entry in entries:
        if entry.name in first_index:
            first = f"{table}[{first_index[entry.name]}]"
            message = f'duplicate {what} name "{entry.name}" (also {first})'
            found.append(((table, index, "name"), message))
        else:
            first_index[entry.name] = index
    return found


def check_unique_endpoint_ports(deployments: Sequence[tuple[int, Deployment]]) -> Found:
    """Each deployment's endpoint listens on its own port of 127.0.0.1."""
    first_index: dict[int, int] = {}
    found: Found = []
    for index, deployment in deployments:
        port = deployment.endpoint_port
        if port is None:
            continue
        if port in first_index:
            first = f"deployments[{first_index[port]}]"
            message = (
                f"endpoint_port {port} is also {first}'s; each deployment's endpoint needs"
                " a port of its own (leave it out to have a free one chosen)"
            )
            found.append((("deployments", index, "endpoint_port"), message))
        else:
            first_index[port] = index
    return found


def check_identity_files(hosts: Indexed) -> Found:
    """Checked here rather than at connect time, so a typo fails before anything runs."""
    found: Found = []
    for index, host in hosts:
        path = host.identity_file
        if host.transport != "ssh" or path is None or path.is_file():
            continue
        state = "is not a file" if path.exists() else "does not exist"
        found.append(
            (
                ("hosts", index, "identity_file"),
                f"{path} {state}; create it with ssh-keygen or fix the path",
            )
        )
    return found


def check_placements(hosts: Indexed, deployments: Sequence[tuple[int, Deployment]]) -> Found:
    """Every deployment needs a host it may run on; GPUs are checked only where known.

    A real host's GPUs are discovered at runtime, so only simulated hosts can fail the
    GPU check here.
    """
    found: Found = []
    for index, deployment in deployments:
        wanted = deployment.placement.labels
        matching = [host for _, host in hosts if wanted.items() <= host.labels.items()]
        if not hosts:
            found.append((("deployments", index), "no [[hosts]] in the inventory to run it on"))
        elif not matching:
            found.append(
                (
                    ("deployments", index, "placement", "labels"),
                    f"no host has all of {_labels(wanted)}; hosts have: {_host_labels(hosts)}",
                )
            )
        elif deployment.nodes > 1:
            found.extend(_check_nodes(index, deployment, matching))
        elif not any(_has_gpus(host, deployment) for host in matching):
            need = deployment.gpus_needed
            found.append(
                (
                    ("deployments", index, *_gpu_count_key(deployment)),
                    f"each replica needs {need} GPU{'s' if need != 1 else ''} but no matching"
                    f" host has that many: {_offered(matching)}; gpus_per_replica = 0 runs a"
                    f" CPU build{_nodes_hint(need, matching)}",
                )
            )
        else:
            found.extend(_check_capacity(index, deployment, matching))
    return found


def _check_nodes(index: int, deployment: Deployment, matching: list[Host]) -> Found:
    """A replica over `nodes` hosts needs that many matching hosts, each with
    gpus_per_node GPUs where their GPUs are known (simulated hosts)."""
    nodes, per_node = deployment.nodes, deployment.gpus_per_node
    able = [host for host in matching if host.simulate is None or host.simulate.gpus >= per_node]
    if len(able) >= nodes:
        return []
    enough = "" if len(able) == len(matching) else f" with {per_node} GPU(s) each"
    return [
        (
            ("deployments", index, "nodes"),
            f"each replica spans {nodes} hosts{enough} but only {len(able)} matching host"
            f"{'s' if len(able) != 1 else ''} can hold a part: {_offered(matching)}; lower"
            " nodes or add hosts",
        )
    ]


def _nodes_hint(need: int, matching: list[Host]) -> str:
    """Where the replica would fit split evenly over several known hosts: say so."""
    if any(host.simulate is None for host in matching):
        return ""
    for nodes in range(2, len(matching) + 1):
        if (
            need % nodes == 0
            and sum(1 for host in matching if host.simulate and host.simulate.gpus >= need // nodes)
            >= nodes
        ):
            return f", or nodes = {nodes} spans {nodes} hosts with Ray"
    return ""


def _offered(matching: list[Host]) -> str:
    return ", ".join(
        f"{host.name} ({host.simulate.gpus if host.simulate else '?'} GPUs)" for host in matching
    )


def _check_capacity(index: int, deployment: Deployment, matching: list[Host]) -> Found:
    """Fixed replicas that the matching hosts' GPUs can never hold, where all are known."""
    need, wanted = deployment.gpus_needed, deployment.replicas
    if need == 0 or wanted is None or any(host.simulate is None for host in matching):
        return []
    room = sum(host.simulate.gpus // need for host in matching if host.simulate is not None)
    if wanted <= room:
        return []
    return [
        (
            ("deployments", index, "replicas"),
            f"{wanted} replicas of {need} GPU{'s' if need != 1 else ''} each do not fit: the"
            f" matching hosts hold at most {room}; lower replicas or add hosts",
        )
    ]


def _gpu_count_key(deployment: Deployment) -> tuple[str, ...]:
    """The key that made the GPU count what it is, so the message points at it."""
    if deployment.gpus_per_replica is None and deployment.vllm.tensor_parallel_size > 1:
        return ("vllm", "tensor_parallel_size")
    if deployment.gpus_per_replica is None and deployment.vllm.pipeline_parallel_size > 1:
        return ("vllm", "pipeline_parallel_size")
    return ("gpus_per_replica",)


def _has_gpus(host: Host, deployment: Deployment) -> bool:
    need = deployment.gpus_needed
    return need == 0 or host.simulate is None or host.simulate.gpus >= need


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(labels.items()))


def _host_labels(hosts: Indexed, limit: int = 6) -> str:
    shown = [f"{host.name} {{{_labels(host.labels) or 'no labels'}}}" for _, host in hosts[:limit]]
    more = len(hosts) - limit
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def check_endpoints(
    endpoints: Sequence[tuple[int, Endpoint]], deployments: Sequence[tuple[int, Deployment]]
) -> Found:
    """[[endpoints]] name deployments that exist, and each listens on a port of its own.

    A deployment's own endpoint (endpoint_port, or a free port) is named after it, so an
    [[endpoints]] name may not be a deployment's either.
    """
    found: Found = []
    names = {deployment.name for _, deployment in deployments}
    ports = {d.endpoint_port: i for i, d in deployments if d.endpoint_port is not None}
    first_name: dict[str, int] = {}
    first_port: dict[int, int] = {}
    for index, endpoint in endpoints:
        where = ("endpoints", index)
        if endpoint.name in first_name:
            first = f"endpoints[{first_name[endpoint.name]}]"
            message = f'duplicate endpoint name "{endpoint.name}" (also {first})'
            found.append(((*where, "name"), message))
        elif endpoint.name in names:
            message = (
                f'"{endpoint.name}" is a deployment\'s name, and so the name of that'
                " deployment's own endpoint; name this one differently"
            )
            found.append(((*where, "name"), message))
        first_name.setdefault(endpoint.name, index)
        if endpoint.port in first_port:
            message = f"port {endpoint.port} is also endpoints[{first_port[endpoint.port]}]'s"
            found.append(((*where, "port"), message + "; each endpoint needs a port of its own"))
        elif endpoint.port in ports:
            other = f"deployments[{ports[endpoint.port]}].endpoint_port"
            found.append(((*where, "port"), f"port {endpoint.port} is also {other}; pick another"))
        first_port.setdefault(endpoint.port, index)
        wanted: list[tuple[KeyPath, str]] = [
            ((*where, "backends", i, "deployment"), b.deployment)
            for i, b in enumerate(endpoint.backends)
        ]
        if endpoint.shadow is not None:
            wanted.append(((*where, "shadow", "deployment"), endpoint.shadow.deployment))
        for path, name in wanted:
            if name not in names:
                found.append((path, _unknown_deployment(name, names)))
    return found


def _unknown_deployment(name: str, names: set[str]) -> str:
    suggestion = did_you_mean(name, names)
    if suggestion is not None:
        return f'no deployment "{name}"; did you mean "{suggestion}"?'
    known = ", ".join(sorted(names)) or "none"
    return f'no deployment "{name}" in [[deployments]] (there: {known})'
