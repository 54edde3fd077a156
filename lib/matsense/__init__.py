"""matsense: matrix sensing by factorized gradient descent from small random initialisation.

The library behind the book: measurement operators (:mod:`matsense.operators`), sensing problems
(:mod:`matsense.problems`), the batched GD engine (:mod:`matsense.engine`) and algorithms
(:mod:`matsense.dynamics`), what is recorded along a trajectory (:mod:`matsense.metrics`); reference points of the landscape
(:mod:`matsense.solutions`), baselines (:mod:`matsense.baselines`), what the theorems predict
(:mod:`matsense.theory`), events read off trajectories (:mod:`matsense.analysis`) and sweeps
(:mod:`matsense.experiments`).
"""

from .dynamics import (DivergenceError, DivergenceWarning, Trajectory, gd_asymmetric, gd_symmetric,
                       small_random_init, small_random_init_asymmetric)
from .engine import ResidualEngine, choose_form, gram_matrix
from .metrics import (distance, effective_rank, eigenvalues, every, imbalance, imbalance_norm,
                      log_schedule, loss, relative_error, singular_values)
from .operators import (DenseOperator, IdentityOperator, MeasurementOperator, SymmetricOperator,
                        gaussian_operator, identity_operator, rip_ratios, symmetric_gaussian_operator)
from .problems import (SensingProblem, factorization_problem, gaussian_problem, low_rank_matrix,
                       make_sensing_problem, psd_matrix, random_orthonormal,
                       symmetric_gaussian_problem)

# -- submodules used through their name (ms.theory.learning_time_slope, ms.solutions.eigen_truncation);
# -- documented as modules in book/api.md. Add a new user-facing submodule here (and a section there);
# -- the names above, in __all__, are the curated top-level API, documented as matsense.<name>.
from . import analysis, baselines, experiments, solutions, theory  # noqa: E402  (after the core)
from . import operators, setups, sweepcache  # noqa: E402

#: Submodules loaded on first use (they import matplotlib / ipywidgets): ``ms.plotting``, ``ms.widgets``.
_LAZY = ("plotting", "widgets")


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'matsense' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = [
    "DivergenceError", "DivergenceWarning", "Trajectory", "gd_asymmetric", "gd_symmetric",
    "small_random_init", "small_random_init_asymmetric",
    "ResidualEngine", "choose_form", "gram_matrix",
    "distance", "effective_rank", "eigenvalues", "every", "imbalance", "imbalance_norm",
    "log_schedule", "loss", "relative_error", "singular_values",
    "DenseOperator", "IdentityOperator", "MeasurementOperator", "SymmetricOperator",
    "gaussian_operator", "identity_operator", "rip_ratios", "symmetric_gaussian_operator",
    "SensingProblem", "factorization_problem", "gaussian_problem", "low_rank_matrix",
    "make_sensing_problem", "psd_matrix", "random_orthonormal", "symmetric_gaussian_problem",
]
