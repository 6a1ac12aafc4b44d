"""Plain-text and JSON renderings of plans, snapshots and events for the CLI (pure)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from fleetdeck.core.fleet.events import Event
from fleetdeck.core.fleet.snapshot import (
    READY,
    EndpointSnapshot,
    FleetSnapshot,
    HostSnapshot,
    MetricsSnapshot,
    ReplicaStatus,
)
from fleetdeck.core.metrics.cost_text import gpu_hours, money, span, tokens
from fleetdeck.core.policy.plan import Plan, Start, Stop
from fleetdeck.core.policy.rollout_phase import rollout_phase


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def plan_text(fleet: str, plan: Plan) -> str:
    lines = [f"Plan for fleet {fleet!r}:"]
    for action in plan.actions:
        if isinstance(action, Start):
            gpus = f" GPUs {','.join(u[:12] for u in action.gpu_uuids)}" if action.gpu_uuids else ""
            lines.append(
                f"  + start  {action.deployment}/{action.replica} on {action.host}{gpus}"
                f"  ({action.reason})"
            )
        else:
            replica = f"{action.deployment}/{action.replica}"
            lines.append(f"  - stop   {replica} on {action.host}  ({action.reason})")
    for item in plan.unschedulable:
        lines.append(f"  ! cannot place {item.deployment}: {item.reason}")
    if plan.in_sync:
        lines.append(f"  = {len(plan.in_sync)} replica(s) already as described")
    for host in plan.unreachable_hosts:
        lines.append(f"  ? {host} is unreachable: its replicas are left as they are")
    for hold in plan.holds:
        lines.append(f"  ~ {hold.reason}")
    starts = sum(isinstance(a, Start) for a in plan.actions)
    stops = sum(isinstance(a, Stop) for a in plan.actions)
    if plan.empty:
        lines.append("Nothing to do.")
    else:
        lines.append(f"Plan: {starts} to start, {stops} to stop.")
    return "\n".join(lines)


def plan_json(plan: Plan) -> dict[str, Any]:
    def action(a: Start | Stop) -> dict[str, Any]:
        base: dict[str, Any] = {
            "action": "start" if isinstance(a, Start) else "stop",
            "deployment": a.deployment,
            "replica": f"{a.deployment}/{a.replica}",
            "host": a.host,
            "reason": a.reason,
        }
        if isinstance(a, Start):
            base["gpu_uuids"] = list(a.gpu_uuids)
        return base

    return {
        "actions": [action(a) for a in plan.actions],
        "unschedulable": [
            {"deployment": u.deployment, "reason": u.reason} for u in plan.unschedulable
        ],
        "in_sync": list(plan.in_sync),
        "unreachable_hosts": list(plan.unreachable_hosts),
        "holds": [
            {"deployment": h.deployment, "replica": h.replica, "host": h.host, "reason": h.reason}
            for h in plan.holds
        ],
    }


def status_table(snapshot: FleetSnapshot) -> str:
    hosts = table(
        ["host", "state", "gpus", "hottest", "gpu memory", "cpu", "load"],
        [
            [
                h.name,
                f"{h.state.value}, disk full" if h.disk_full else h.state.value,
                str(len(h.gpus)),
                _num(max((g.temperature_c for g in h.gpus if g.temperature_c is not None),
                         default=None), "°C"),
                _gpu_memory(h),
                _num(h.cpu_pct, "%"),
                _num(h.load_1m, digits=1),
            ]
            for h in snapshot.hosts
        ],
    )  # fmt: skip
    rows = []
    for d in snapshot.deployments:
        rate, p95 = _rate_and_p95(d.metrics)
        # Mid-rollout the ratio misleads ("3/2"): say what is happening instead.
        ready = rollout_phase(d) or f"{d.ready}/{d.desired}"
        rows.append([d.name, d.status.value, ready, rate, p95, *[""] * 6])
        for r in d.replicas:
            detail = r.phase or r.reason or ""
            rate, p95 = _rate_and_p95(r.metrics)
            last_exit = "-" if r.last_exit_code is None else _exit_text(r.last_exit_code)
            rows.append([
                f"  {r.id}", r.status.value, "", rate, p95, r.host, str(r.port or "-"),
                str(r.pid or "-"), str(r.restarts), last_exit, detail,
            ])  # fmt: skip
    headers = [
        "deployment", "status", "ready", "req/s", "p95", "host", "port", "pid", "restarts",
        "last exit", "detail",
    ]  # fmt: skip
    deployments = table(headers, rows)
    endpoints = [
        f"{d.name}: {d.endpoint}" + (f" (key {d.api_key_masked})" if d.api_key_masked else "")
        for d in snapshot.deployments
        if d.endpoint
    ]
    endpoints.extend(_router_line(e) for e in snapshot.endpoints if not e.own)
    served = ("\n\nendpoints\n  " + "\n  ".join(endpoints)) if endpoints else ""
    failed = failed_replicas_text(snapshot)
    failures = f"\n\nfailed\n{failed}" if failed else ""
    spent = cost_text(snapshot)
    spending = f"\n\n{spent}" if spent else ""
    state = snapshot.fleet_state
    # Desired counts from this machine's copy, not the fleet's home host: say why.
    local = f"\n\nfleet state: {state.note}" if state is not None and state.note else ""
    return f"fleet {snapshot.fleet}\n\n{hosts}\n\n{deployments}{spending}{failures}{served}{local}"


def cost_text(snapshot: FleetSnapshot) -> str:
    """What each deployment holds and spends now, and over the last hour; "" when no
    deployment has held anything."""
    costs = [(d.name, d.cost) for d in snapshot.deployments if d.cost is not None]
    if not any(c.gpus_held or c.since_start.gpu_hours for _, c in costs):
        return ""
    currency = costs[0][1].currency
    watched = max(c.last_hour.window_s for _, c in costs)
    rows = [
        [
            name,
            str(c.gpus_held),
            money(c.price_per_hour),
            gpu_hours(c.last_hour.gpu_hours),
            gpu_hours(c.last_hour.idle_gpu_hours),
            tokens(c.last_hour.output_tokens),
            money(c.last_hour.cost),
            money(c.last_hour.cost_per_million_output_tokens),
            money(c.last_hour.cost_per_million_total_tokens),
        ]
        for name, c in costs
    ]
    headers = [
        "deployment", "gpus", f"{currency}/h", "gpu·h", "idle gpu·h", "out tokens",
        currency, f"{currency}/M out", f"{currency}/M total",
    ]  # fmt: skip
    # A one-shot command has watched for a moment: say so rather than imply an hour.
    title = (
        f"cost in {currency}: GPUs and {currency}/h now; the rest over the last"
        f" {span(watched)} (an hour at most; counted since this command began watching)"
    )
    return f"{title}\n{table(headers, rows)}"


def _router_line(endpoint: EndpointSnapshot) -> str:
    """`chat: URL -> llama-v1 90 (812 req, p95 240ms), llama-v2 10 (...); shadow ...`"""
    arms = ", ".join(
        f"{b.deployment} {b.weight:g} ({b.requests} req, {b.errors} err,"
        f" p95 {_num(b.p95_ms, 'ms')})"
        for b in endpoint.backends
    )
    routed = f" [routed to {endpoint.routed_to}]" if endpoint.routed_to else ""
    line = f"{endpoint.name}: {endpoint.url} -> {arms}{routed}"
    if endpoint.shadow is not None:
        shadow = endpoint.shadow
        line += (
            f"; shadow {shadow.deployment} {shadow.weight:g} ({shadow.sent} sent,"
            f" {shadow.errors} err, p95 {_num(shadow.p95_ms, 'ms')})"
        )
    return line


def failed_replicas_text(snapshot: FleetSnapshot) -> str:
    """Each failed replica's reason and what its last run said, indented under it."""
    lines = []
    for d in snapshot.deployments:
        for r in d.replicas:
            if r.status == ReplicaStatus.FAILED:
                lines.append(f"  {r.id} on {r.host}: {r.reason}")
                lines += [f"    {line}" for line in r.log_excerpt]
    return "\n".join(lines)


def _gpu_memory(host: HostSnapshot) -> str:
    used = [g.memory_used_mib for g in host.gpus if g.memory_used_mib is not None]
    total = [g.memory_total_mib for g in host.gpus if g.memory_total_mib is not None]
    if not total:
        return "-"
    return f"{sum(used) / 1024:.0f}/{sum(total) / 1024:.0f} GiB"


def _exit_text(code: int) -> str:
    """An exit code as a person reads it: 137 and -9 are both a SIGKILL."""
    if code < 0:
        return f"signal {-code}"
    if code > 128:
        return f"{code} (signal {code - 128})"
    return str(code)


def progress_line(snapshot: FleetSnapshot) -> str:
    parts = []
    for d in snapshot.deployments:
        starting = [r for r in d.replicas if r.status == ReplicaStatus.STARTING]
        phase = f" ({starting[0].phase})" if starting and starting[0].phase else ""
        parts.append(f"{d.name} {d.status.value} {d.ready}/{d.desired}{phase}")
    return "waiting: " + "; ".join(parts)


def not_ready_reasons(snapshot: FleetSnapshot) -> str:
    lines = []
    for d in snapshot.deployments:
        for r in d.replicas:
            if r.status == ReplicaStatus.FAILED:
                lines.append(f"{r.id} on {r.host} failed: {r.reason}")
            if r.first_failure:
                lines.append(f"{r.id}: its first failure's log ends with:")
                lines += [f"    {line}" for line in r.first_failure[-6:]]
            if r.status == ReplicaStatus.FAILED and r.log_excerpt:
                if r.log_excerpt != r.first_failure[-len(r.log_excerpt) :]:
                    lines.append(f"{r.id}: its last run ended with:")
                    lines += [f"    {line}" for line in r.log_excerpt]
            elif r.status not in READY:
                phase = f" ({r.phase})" if r.phase else ""
                lines.append(f"{r.id} on {r.host} is {r.status.value}{phase}")
        if d.ready < d.desired and not d.replicas:
            lines.append(f"{d.name}: no replica is running")
    hint = "see `fleetdeck logs FILE DEPLOYMENT/REPLICA` for the log"
    return "not ready:\n  " + "\n  ".join(lines) + f"\n  next: {hint}" if lines else "not ready"


def gpu_table(snapshot: FleetSnapshot) -> str:
    rows = []
    for h in snapshot.hosts:
        for g in h.gpus:
            rows.append([
                h.name, str(g.index), g.name, _num(g.temperature_c, "°C"),
                _num(g.utilization_pct, "%"),
                f"{_num(g.memory_used_mib)}/{_num(g.memory_total_mib)} MiB",
                _num(g.power_w, "W"), g.uuid,
            ])  # fmt: skip
        if not h.gpus:
            rows.append(
                [
                    h.name,
                    "-",
                    "no GPU" if h.state.value == "up" else h.state.value,
                    "",
                    "",
                    "",
                    "",
                    "",
                ]
            )
    return table(["host", "gpu", "name", "temp", "util", "memory", "power", "uuid"], rows)


class CheckRow(Protocol):
    @property
    def ok(self) -> bool: ...

    def cells(self) -> list[str]: ...


def check_table(source: Path, results: Sequence[CheckRow]) -> str:
    body = table(
        ["host", "ssh", "python", "vllm", "ray", "gpus", "problem"], [r.cells() for r in results]
    )
    bad = sum(1 for r in results if not r.ok)
    summary = "every host is ready" if not bad else f"{bad} host(s) need attention"
    return f"inventory {source}: ok\n\n{body}\n\n{summary}"


def event_line(event: Event) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
    marker = {"error": "✖", "warning": "!"}.get(event.level, "·")
    return f"{stamp} {marker} {event.subject}: {event.message}"


def _rate_and_p95(metrics: MetricsSnapshot | None) -> tuple[str, str]:
    if metrics is None:
        return "-", "-"
    rate = "-" if metrics.request_rate is None else f"{metrics.request_rate:.1f}"
    p95 = metrics.e2e_latency_s.p95
    return rate, "-" if p95 is None else f"{p95 * 1000:.0f}ms"


def _num(value: float | None, unit: str = "", digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}{unit}"


def handed_over(hosts: Sequence[str]) -> str:
    return (
        "another controller is in charge of "
        + ", ".join(hosts)
        + ": it applies the inventory and overrides itself on its next tick"
    )
