"""The benchmark (``benchmarks/bench_step.py``) in smoke mode: it runs end to end and writes the documented JSON.

Not a timed test: nothing here asserts on a time or a speed ratio (the targets are evaluated, and
their statuses checked for form only). The trajectory agreement is a correctness check and is
asserted.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import matsense

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPT = BENCH_DIR / "bench_step.py"
sys.path.insert(0, str(BENCH_DIR))
import bench_step as bench  # noqa: E402  (benchmarks/ is not a package: it is put on the path above)

TARGETS = {"single_run_dense_vs_two_gemv", "gram_vs_dense", "gram_vs_two_pass_dense", "batch64_speedup",
           "batch64_gemm_fraction", "batch64_speedup_gram", "batch64_gemm_fraction_gram",
           "symmetric_packed_vs_full", "sweep64_vs_torch_autograd", "sweep64_vs_numpy_einsum",
           "trajectory_agreement", "book_budget"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One smoke run through the command line, without torch (the optional peer is skipped)."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    lib = str(Path(matsense.__file__).resolve().parents[1])
    # python benchmarks/bench_step.py, with torch made unimportable first
    code = ("import runpy, sys; sys.modules['torch'] = None; sys.path[:0] = [%r, %r]; "
            "sys.argv[0] = %r; runpy.run_path(sys.argv[0], run_name='__main__')"
            % (str(BENCH_DIR), lib, str(SCRIPT)))
    proc = subprocess.run([sys.executable, "-c", code, "--smoke", "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), proc.stdout


def test_smoke_writes_json_and_table(smoke):
    result, stdout = smoke
    assert result["schema"] == bench.SCHEMA and result["smoke"] is True
    for header in ("Limits per operator array", "Library GD step", "Peers", "Trajectory agreement",
                   "Targets (issue 4)"):
        assert header in stdout
    assert result["settings"]["threads"] == 1 and result["settings"]["clock"] == "process_time"
    env = result["environment"]
    assert env["torch"] is None and "torch not importable" in env["torch_skipped"]
    assert {"numpy", "scipy", "blas", "cpu", "warnings"} <= set(env)


def test_limits_structure(smoke):
    result, _ = smoke
    lim = result["limits"]
    assert lim["dgemm_GFs"] > 0 and lim["sgemm_GFs"] > 0
    cases = {f"n={n},m={m},k={k}" for n, m, k in bench.SMOKE_SIZES}
    seen = {(a["case"], a["kind"], a["dtype"]) for a in result["limits_arrays"]}
    for case in cases:
        for kind in ("asym", "sym_packed", "sym_full"):
            for dtype in ("float64", "float32"):
                assert (case, kind, dtype) in seen
    for a in result["limits_arrays"]:
        assert a["two_gemv_ms"] > 0 and a["two_gemm_ms"] > 0 and a["read_GBs"] > 0
        assert a["batch"] == max(bench.BATCHES)


def test_library_rows_cover_every_configuration(smoke):
    result, _ = smoke
    rows = {(r["case"], r["kind"], r["dtype"], r["form"], r["batch"]) for r in result["library"]}
    for n, m, k in bench.SMOKE_SIZES:
        case = f"n={n},m={m},k={k}"
        for dtype in ("float64", "float32"):
            for B in bench.BATCHES:
                for kind in ("asym", "sym_packed"):
                    for form in ("dense", "gram"):
                        assert (case, kind, dtype, form, B) in rows
                assert (case, "sym_full", dtype, "dense", B) in rows
    keys = {"ms_step", "ms_per_run", "kernel", "auto_form", "vs_two_gemv", "vs_two_gemm", "GFs",
            "frac_gemm_peak", "bytes_step", "two_gemv_ms"}
    for r in result["library"]:
        assert keys <= set(r)
        assert r["ms_step"] > 0 and r["ms_per_run"] == pytest.approx(r["ms_step"] / r["batch"])
        assert r["kernel"] in matsense.engine.KERNELS[r["form"]]
    assert {r["kernel"] for r in result["kernels"]} >= {"fused", "gemm", "symv"}


def test_peers_einsum_measured_torch_skipped(smoke):
    result, _ = smoke
    peers = {(p["case"], p["kind"], p["peer"]): p for p in result["peers"]}
    case = "n={},m={},k={}".format(*bench.SMOKE_SIZES[0])
    for kind in ("asym", "sym_packed"):
        assert peers[case, kind, "numpy_einsum"]["status"] == "ok"
        assert peers[case, kind, "numpy_einsum"]["ms_per_run"] > 0
        assert peers[case, kind, "torch_autograd"]["status"] == "skipped"
    assert result["sweep"] and {s["form"] for s in result["sweep"]} <= {"dense", "gram"}


def test_paired_ratios(smoke):
    result, _ = smoke
    names = {(p["case"], p["dtype"], p["kind"], p["name"]) for p in result["pairs"]}
    for n, m, k in bench.SMOKE_SIZES:
        case = f"n={n},m={m},k={k}"
        for dtype in ("float64", "float32"):
            for kind in ("asym", "sym_packed"):
                for name in ("gram_vs_dense", "batch_speedup_dense", "batch_speedup_gram"):
                    assert (case, dtype, kind, name) in names
            for B in bench.BATCHES:
                assert (case, dtype, "sym_packed", f"packed_vs_full_B{B}") in names
    for p in result["pairs"]:
        assert p["ms_a"] > 0 and p["ms_b"] > 0
        assert p["ratio"] == pytest.approx(p["ms_a"] / (p["ms_b"] / p["per"]))


def test_trajectories_agree(smoke):
    traj = smoke[0]["trajectory"]
    assert traj["ok"] and traj["max_relerr"] <= 1e-10
    impls = {(r["kind"], r["impl"]) for r in traj["results"] if r["status"] == "ok"}
    assert ("asym", "numpy einsum peer") in impls and ("sym", "library full-matrix dense B=1") in impls
    assert all(r["relerr"] <= traj["tolerance"] for r in traj["results"] if r["status"] == "ok")
    assert any(r["status"] == "skipped" for r in traj["results"])  # torch


def test_targets_evaluated(smoke):
    result, stdout = smoke
    targets = {t["name"]: t for t in result["targets"]}
    assert set(targets) == TARGETS
    for t in result["targets"]:
        assert t["pass"] in (True, False, None) and isinstance(t["status"], str)
        if "worst" in t:
            assert t["checks"] and t["worst"] in [c["value"] for c in t["checks"]]
    assert targets["sweep64_vs_torch_autograd"]["status"].startswith("skipped")
    assert targets["trajectory_agreement"]["pass"] is True
    assert targets["batch64_speedup_gram"]["pass"] is None   # information only
    assert "measured targets" in stdout


def test_torch_peer_when_available():
    torch = pytest.importorskip("torch")
    import numpy as np
    problem = bench.make_problems(4, 60, np.float64, False)["asym"]
    factors = tuple(f[0] for f in bench._factors(problem, False, 2, 1))
    A3 = bench.peer_tensor(problem)
    ts, tstate = bench.torch_peer(torch, A3, problem.y, factors, 0.2, False)
    es, estate = bench.einsum_peer(A3, problem.y, factors, 0.2, False)
    for _ in range(5):
        ts()
        es()
    np.testing.assert_allclose(tstate[0].detach().numpy(), estate[0], rtol=1e-12)


def test_benchmark_uses_only_public_seams():
    """The benchmark reaches the library through public names only (no ``matsense._x`` or ``obj._x``)."""
    import re
    for path in BENCH_DIR.glob("*.py"):
        text = path.read_text()
        assert "matsense.bench" not in text
        for line in text.splitlines():
            if "matsense" in line and "import" in line:
                assert not re.search(r"\b_[a-zA-Z]", line.split("import", 1)[1]), line
        assert not re.search(r"\b(loop|engine|op|problem)\._[a-zA-Z]", text), path.name
