"""The two peers of the GD-step benchmark: a GD step written as a researcher would write it.

Both run ONE run over the ``(m, n, n)`` tensor of sensing matrices (a batch of ``B`` runs takes ``B``
times one step): numpy ``einsum`` and PyTorch CPU autograd (optional: ``torch`` may be absent). Each
factory returns ``(step, state)``: calling ``step()`` replaces the factors held in ``state``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from matsense.problems import SensingProblem

__all__ = ["einsum_peer", "torch_peer", "peer_tensor", "import_torch"]


def einsum_peer(A3: np.ndarray, y: np.ndarray, factors: tuple, eta: float, symmetric: bool):
    """numpy ``einsum`` over the ``(m, n, n)`` tensor, one run; returns ``(step, state)``."""
    state = [f.copy() for f in factors]

    def step() -> None:
        if symmetric:
            U = state[0]
            r = np.einsum("mij,ij->m", A3, U @ U.T) - y
            S = np.einsum("m,mij->ij", r, A3)
            state[0] = U - eta * (S @ U)
        else:
            F, G = state
            r = np.einsum("mij,ij->m", A3, F @ G.T) - y
            S = np.einsum("m,mij->ij", r, A3)
            state[0], state[1] = F - eta * (S @ G), G - eta * (S.T @ F)
    return step, state


def torch_peer(torch: Any, A3: np.ndarray, y: np.ndarray, factors: tuple, eta: float,
               symmetric: bool):
    """PyTorch CPU autograd over the ``(m, n, n)`` tensor, one run; returns ``(step, state)``."""
    At, yt = torch.from_numpy(A3), torch.from_numpy(y)
    params = [torch.tensor(f, requires_grad=True) for f in factors]

    def step() -> None:
        if symmetric:
            (U,) = params
            r = torch.einsum("mij,ij->m", At, U @ U.T) - yt
            loss = 0.25 * (r * r).sum()
        else:
            F, G = params
            r = torch.einsum("mij,ij->m", At, F @ G.T) - yt
            loss = 0.5 * (r * r).sum()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= eta * p.grad
                p.grad = None
    return step, params


def peer_tensor(problem: SensingProblem) -> np.ndarray:
    """The sensing matrices as one ``(m, n1, n2)`` tensor (unpacked for a symmetric operator)."""
    op = problem.operator
    design = op.full_design() if hasattr(op, "full_design") else op.matrix
    return design.reshape(op.m, op.n1, op.n2)


def import_torch(enabled: bool, threads: int) -> tuple[Any, str | None]:
    """``(torch, None)``, or ``(None, reason)`` when disabled or not importable."""
    if not enabled:
        return None, "disabled (--no-torch)"
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - any import failure means "skipped"
        return None, f"torch not importable ({type(exc).__name__}: {exc})"
    torch.set_num_threads(threads)
    return torch, None
