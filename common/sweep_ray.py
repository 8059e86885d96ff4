"""The Ray backend of ``common.sweep``: one Ray task per configuration, the same ``run(config)``.

``ray`` is an optional dependency (``pip install -r requirements-ray.txt``). ``address="auto"``
joins a running cluster (``ray start --head`` on one machine, ``ray start --address=HEAD:6379``
on the others) or, when there is none, starts a local Ray for this sweep and stops it at the end.
With more than one node, every task writes its run folder under ``--out``, which must therefore
be storage that every node sees (NFS or a mounted bucket).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from common.configs import out_of
from common.errors import UserError, describe_error
from common.runs import check_writable_folder


def _call(run_fn, config):
    from common import quiet_tensorflow

    quiet_tensorflow.install()  # a worker process imports TensorFlow afresh
    run_fn(config)
    return out_of(config)


def connect(address: str) -> bool:
    """Join the cluster at ``address`` (auto: a running one, else a new local Ray); True when
    this call started Ray itself (and should stop it)."""
    try:
        import ray
    except ImportError:
        raise UserError("the ray backend needs the ray package: pip install -r "
                        "requirements-ray.txt", param="backend") from None
    if ray.is_initialized():
        return False
    quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    try:
        ray.init(address=address, **quiet)
        return False
    except ConnectionError:
        if address != "auto":
            raise UserError(f"no Ray cluster at {address}; start one with `ray start --head`, "
                            "or use the address auto", param="address") from None
    ray.init(**quiet)
    return True


def common_root(pending: list[dict]) -> Path:
    """The folder all run folders share (checked writable by the driver before any task)."""
    parents = [Path(out_of(c)).resolve().parent for c in pending]
    root = parents[0]
    while not all(p.is_relative_to(root) for p in parents):
        root = root.parent
    return root


def run_ray(run_fn, pending: list[dict], *, address: str = "auto", cpus_per_run: float = 1.0,
            gpus_per_run: float = 0.0) -> dict[str, str]:
    """Run every configuration as a Ray task; ``{out: error}`` of the failed ones."""
    import ray

    check_writable_folder(common_root(pending))
    started = connect(address)
    try:

        # A worker that dies (killed, out of memory) is retried once: runs resume exactly from
        # their backup, so a retry costs only the epochs since it. An error in run_fn is not.
        task = ray.remote(num_cpus=cpus_per_run, num_gpus=gpus_per_run, max_retries=1)(_call)
        outs = {task.remote(run_fn, config): out_of(config) for config in pending}
        slots = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_run))
        failures, waiting, done = {}, list(outs), 0
        try:
            while waiting:
                ready, waiting = ray.wait(waiting, num_returns=1, timeout=10.0)
                for ref in ready:
                    done += 1
                    try:
                        ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        cause = exc.cause if getattr(exc, "cause", None) else exc
                        failures[outs[ref]] = describe_error(cause)
                    except ray.exceptions.RayError as exc:  # the worker died twice, etc.
                        failures[outs[ref]] = describe_error(exc)
                running = min(len(waiting), slots)
                print(f"ray: {done} done, {running} running, {len(waiting) - running} pending"
                      + (f", {len(failures)} failed" if failures else ""), file=sys.stderr)
        except KeyboardInterrupt:
            for ref in waiting:
                ray.cancel(ref, force=True)
            raise
        return failures
    finally:
        if started:
            ray.shutdown()
            time.sleep(0.1)
