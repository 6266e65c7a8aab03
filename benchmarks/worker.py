"""One benchmark task of one peer on one model, in a fresh process (so first calls are cold).

    python benchmarks/worker.py JOB.json OUT.json

``JOB.json``: ``{"peer": "hs3jax" | "pyhf-jax" | "pyhf-numpy" | "root" | "pyhs3", "task": "eval" |
"fit" | "hypotest" | "limit", "files": {"pyhf" | "hs3" | "root" | "pyhs3": path}, "opts": {...}}``.
``OUT.json`` gets the peer's numbers and ``"status"``: ``"ok"``, ``"n/a"`` (the peer cannot do
this; ``"reason"``) or ``"error"`` (``"error"``: the exception, ``"traceback"``), ``"vmhwm_bytes"``, the
process's peak resident memory, and ``"device_peak_bytes"``, the peak on the accelerator (GPU runs). Timeouts and the memory limit are enforced by the parent
(``run.py``), which owns the process.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

PEERS = {
    "hs3jax": ("peers.hs3jax_peer", {}),
    "pyhf-jax": ("peers.pyhf_peer", {"backend": "jax"}),
    "pyhf-numpy": ("peers.pyhf_peer", {"backend": "numpy"}),
    "root": ("peers.root_peer", {}),
    "pyhs3": ("peers.pyhs3_peer", {}),
}


def _peak_rss() -> int | None:
    """This process's peak resident memory (VmHWM). Not ``ru_maxrss``: after fork + exec that
    starts from the parent's resident size."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _device_peak() -> int | None:
    """Peak bytes the job held on an accelerator, where JAX ran on one (None on CPU). Host
    RSS does not see GPU memory, so both are recorded."""
    jax = sys.modules.get("jax")
    if jax is None:
        return None
    try:
        device = jax.devices()[0]
        if device.platform == "cpu":
            return None
        stats = device.memory_stats() or {}
        return int(stats["peak_bytes_in_use"]) if "peak_bytes_in_use" in stats else None
    except Exception:  # a backend without memory statistics: nothing to record
        return None


def main(job_file: str, out_file: str) -> int:
    job = json.loads(Path(job_file).read_text())
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    t0 = time.perf_counter()
    result: dict[str, Any]
    try:
        from peers import NotAvailable

        module, extra = PEERS[job["peer"]]
        peer = importlib.import_module(module)
        import_s = time.perf_counter() - t0
        result = {
            "status": "ok",
            "import_s": import_s,
            **peer.run(job["task"], job["files"], {**job["opts"], **extra}),
        }
    except NotAvailable as why:
        result = {"status": "n/a", "reason": str(why)}
    except Exception as exc:  # reported, not raised: the parent records it and goes on
        result = {
            "status": "error",
            "error": f"{type(exc).__name__}: {exc}"[:2000],
            "traceback": traceback.format_exc()[-4000:],
        }
    result["worker_s"] = time.perf_counter() - t0
    result["vmhwm_bytes"] = _peak_rss()
    result["device_peak_bytes"] = _device_peak()
    Path(out_file).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
