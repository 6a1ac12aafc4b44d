"""How one replica of a deployment is launched on a host: argv, env and spec hash (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from fleetdeck.core.inventory import Deployment, Host

# Not part of the spec hash: placement decides it, and a replica moved to other GPUs is
# still the same spec.
PLACEMENT_ENV = ("CUDA_VISIBLE_DEVICES",)


def vllm_argv(host: Host, deployment: Deployment) -> tuple[str, ...]:
    """The vLLM command line, without --port (the host program picks a free one).

    `vllm serve MODEL` takes the model as a positional argument; other launchers (for
    example `python -m vllm.entrypoints.openai.api_server`) take `--model MODEL`.
    """
    base = list(host.vllm_argv)
    model = [deployment.model] if base and base[-1] == "serve" else ["--model", deployment.model]
    argv = [*base, *model, "--host", deployment.vllm.host]
    if deployment.vllm.served_model_name:
        argv += ["--served-model-name", deployment.vllm.served_model_name]
    argv += deployment.vllm.to_cli_args()
    return tuple(argv)


def served_model_name(deployment: Deployment) -> str:
    return deployment.vllm.served_model_name or deployment.model


def replica_env(
    host: Host,
    deployment: Deployment,
    gpu_uuids: tuple[str, ...],
    secrets: Mapping[str, str],
) -> dict[str, str]:
    """Everything the replica gets in its environment; secrets only travel this way."""
    env = {**host.env, **deployment.env, **secrets}
    if deployment.gpus_needed > 0:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(gpu_uuids)
    return env


def resolve_secrets(deployment: Deployment) -> dict[str, str]:
    """VLLM_API_KEY and HF_TOKEN from their references; raises SecretError naming the key."""
    secrets: dict[str, str] = {}
    index_path = f"deployments.{deployment.name}"
    if deployment.api_key is not None:
        secrets["VLLM_API_KEY"] = deployment.api_key.resolve(f"{index_path}.api_key")
    if deployment.hf_token is not None:
        secrets["HF_TOKEN"] = deployment.hf_token.resolve(f"{index_path}.hf_token")
    return secrets


def spec_hash(argv: tuple[str, ...], env: Mapping[str, str], restart_token: str = "") -> str:
    hashed_env = {
        key: hashlib.sha256(value.encode()).hexdigest()
        for key, value in sorted(env.items())
        if key not in PLACEMENT_ENV
    }
    blob = json.dumps(
        {"argv": list(argv), "env": hashed_env, "restart": restart_token}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
