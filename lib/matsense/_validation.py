"""Argument checks shared by every public function.

Each check raises a :class:`ValueError` for a wrong value, or an :class:`ArgumentTypeError` (a
:class:`TypeError`) for a wrong type, whose message names the parameter, the value received and the
allowed range, so that a reader of the book who mistypes a parameter learns at once what to change.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np
import numpy.typing as npt

__all__: list[str] = []

#: What every stochastic function accepts as ``rng``: a generator or a non-negative integer seed
#: (a ``SeedSequence`` is accepted too, for spawned streams).
RNGLike = np.random.Generator | int | np.random.SeedSequence


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type.

    A :class:`TypeError`; also a :class:`ValueError`, so that code written when every bad argument
    raised ``ValueError`` (``except ValueError`` around a user's setting) keeps catching it.
    """

#: dtypes the library computes in.
SUPPORTED_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[low, high]``; raise otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be in {_range_text(low, high)}, got {value}")
    return value


def check_positive_float(name: str, value: Any, *, high: float | None = None) -> float:
    """Return ``value`` as a finite ``float`` in ``(0, high]``; raise otherwise."""
    value = check_finite_float(name, value)
    if value <= 0 or (high is not None and value > high):
        upper = f"{high:g}]" if high is not None else "inf)"
        raise ValueError(f"{name} must be in (0, {upper}, got {value:g}")
    return value


def check_nonnegative_float(name: str, value: Any) -> float:
    """Return ``value`` as a finite ``float`` >= 0; raise otherwise."""
    value = check_finite_float(name, value)
    if value < 0:
        raise ValueError(f"{name} must be in [0, inf), got {value:g}")
    return value


def check_finite_float(name: str, value: Any) -> float:
    """Return ``value`` as a finite ``float``; raise otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_positive_array(name: str, value: npt.ArrayLike, *, size: int | None = None
                         ) -> npt.NDArray[np.float64]:
    """Return ``value`` as a 1-D float64 array of finite, strictly positive entries.

    Only real numbers are accepted: a string (``"0.1"``), a boolean or an object array raises
    :class:`ArgumentTypeError`, as :func:`check_int` refuses ``steps=10.0``.
    """
    raw = _as_array(name, value)
    if raw.dtype.kind not in "iuf":
        raise ArgumentTypeError(f"{name} must be a real number or an array of real numbers, got {value!r}")
    arr = np.atleast_1d(raw.astype(np.float64, copy=False))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array, got shape {arr.shape}")
    if size is not None and arr.size not in (1, size):
        raise ValueError(f"{name} must have 1 or {size} entries (one per run), got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr}")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be in (0, inf), got {arr}")
    return arr


def _as_array(name: str, value: Any) -> np.ndarray:
    """``np.asarray(value)``, with numpy's own error (a ragged list, ...) turned into one naming ``name``."""
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as err:
        raise ArgumentTypeError(f"{name} must be a real array, got {type(value).__name__} that numpy "
                                f"cannot convert ({err})") from None


def check_dtype(name: str, value: npt.DTypeLike) -> np.dtype:
    """Return ``value`` as a supported numpy dtype (float64 or float32)."""
    try:
        dtype = np.dtype(value)
    except TypeError as err:
        raise ArgumentTypeError(f"{name} must be float64 or float32, got {value!r}") from err
    if dtype not in SUPPORTED_DTYPES:
        raise ValueError(f"{name} must be float64 or float32, got {dtype}")
    return dtype


def check_array(
    name: str,
    value: npt.ArrayLike,
    *,
    ndim: int | tuple[int, ...],
    dtype: npt.DTypeLike = None,
    shape: tuple[int | None, ...] | None = None,
) -> npt.NDArray[np.floating]:
    """Return ``value`` as a finite floating array with the given number of axes and shape.

    ``shape`` may hold ``None`` for an axis of any length; it is matched against the trailing axes.
    """
    arr = _as_array(name, value)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ArgumentTypeError(f"{name} must be a real array, got dtype {arr.dtype}")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} axes, got shape {arr.shape}")
    if shape is not None:
        tail = arr.shape[arr.ndim - len(shape):]
        if len(tail) != len(shape) or any(s is not None and s != t for s, t in zip(shape, tail)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have trailing shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (found NaN or inf)")
    return arr


def check_memory(what: str, nbytes: float, fix: str) -> None:
    """Refuse up front an allocation of ``nbytes`` above :func:`memory_limit_bytes`.

    ``what`` names the request (the user's parameters), ``fix`` says how to make it smaller; both go
    into the :class:`ValueError`'s message together with the size and the limit.
    """
    limit = memory_limit_bytes()
    if nbytes > limit:
        raise ValueError(f"{what} needs about {format_bytes(nbytes)}, more than the limit of "
                         f"{format_bytes(limit)} (matsense._validation.MEMORY_FRACTION = {MEMORY_FRACTION:g} of the "
                         f"{format_bytes(_physical_memory())} of physical memory); {fix}")


#: Fraction of the machine's physical memory one request (an operator, a recorded trajectory) may
#: take; larger requests are refused before anything is allocated instead of swapping or being
#: killed. Change it with ``matsense._validation.MEMORY_FRACTION = ...`` (or the environment variable
#: ``MATSENSE_MEMORY_FRACTION``, read at import).
MEMORY_FRACTION = float(os.environ.get("MATSENSE_MEMORY_FRACTION", "0.5"))


def _physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # not POSIX: assume 16 GiB
        return 16 * 1024**3


def memory_limit_bytes() -> int:
    """Largest single request in bytes: :data:`MEMORY_FRACTION` of the physical memory."""
    return int(MEMORY_FRACTION * _physical_memory())


def format_bytes(nbytes: float) -> str:
    """``1.5 GiB``-style size for messages."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} PiB"  # pragma: no cover


def as_generator(rng: RNGLike, name: str = "rng") -> np.random.Generator:
    """Normalise ``rng`` (a ``Generator``, an integer seed or a ``SeedSequence``) to a ``Generator``.

    ``None`` is refused on purpose: every random draw in the book is reproducible.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        if int(rng) < 0:
            raise ValueError(f"{name} seed must be in [0, inf), got {rng}")
        return np.random.default_rng(int(rng))
    raise ArgumentTypeError(
        f"{name} must be a numpy.random.Generator or a non-negative integer seed, got {rng!r}"
    )


def _range_text(low: int | None, high: int | None) -> str:
    lo = "-inf" if low is None else str(low)
    hi = "inf" if high is None else str(high)
    return f"[{lo}, {hi}]" if high is not None else f"[{lo}, inf)"
