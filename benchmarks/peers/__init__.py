"""The peers of the benchmark, one module each. Every module has ``run(task, files, opts)``,
which the worker calls in a fresh process and which returns a JSON-able dict of numbers.

Tasks: ``eval`` (build, compile, steady NLL and value-and-grad), ``batch`` (the NLL at 1000
parameter points with ``jax.vmap``), ``fit``, ``hypotest`` (CLs at mu = 1, q~mu, asymptotic) and ``limit`` (95% CL upper limit,
asymptotic); each returns ``{"first_s": ..., "warm_s": ...}`` style keys (see ``worker.py``).
A peer that cannot do a task raises ``NotAvailable`` with the reason.
"""

from __future__ import annotations


class NotAvailable(Exception):
    """The peer has no way to run this task (the message says why); recorded, not an error."""
