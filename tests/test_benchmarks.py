"""The benchmarks run end to end on tiny shapes and print their comparisons (no timing is asserted).

They run as users run them, `python -m benchmarks.<name>` from the repository root.
"""
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

pytest.importorskip("torch")


def _benchmark(name, *args):
    return subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def test_ops_benchmark_prints_a_ratio_per_op():
    result = _benchmark("ops", "--size", "16", "--batch", "1", "--repeats", "1")
    assert result.returncode == 0, result.stderr
    assert "sigmoid_gate (SCA)" in result.stdout and "charbonnier_loss" in result.stdout
    assert "geometric mean ratio (minigrad / torch) over 20 ops" in result.stdout


def test_ops_benchmark_times_the_layers_of_ported_models_on_request():
    result = _benchmark("ops", "--size", "16", "--batch", "1", "--repeats", "1", "--cases", "port")
    assert result.returncode == 0, result.stderr
    assert "conv_transpose2d 2 stride 2" in result.stdout and "batch_norm training" in result.stdout
    assert "geometric mean ratio (minigrad / torch) over 11 ops" in result.stdout


@pytest.mark.parametrize("extra", [[], ["--inference", "--profile"]])
def test_train_step_benchmark_prints_both_frameworks(extra):
    result = _benchmark("train_step", "--size", "32", "--batch", "1", "--steps", "1", "--warmup", "0", "--no-memory",
                        *extra)
    assert result.returncode == 0, result.stderr
    assert "minigrad" in result.stdout and "pytorch" in result.stdout and "ratio minigrad/pytorch" in result.stdout
    assert ("per-op time" in result.stdout) == ("--profile" in extra)


def test_gpu_only_settings_are_refused_on_the_cpu():
    result = _benchmark("train_step", "--tf32")
    assert result.returncode != 0
    assert result.stderr.strip() == "train_step: --tf32 is a GPU setting: use it with --device gpu"
