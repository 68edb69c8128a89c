"""The benchmarks run end to end on tiny shapes and print their comparisons (no timing is asserted).

They run as users run them, `python -m benchmarks.<name>` from the repository root.
"""
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, requires_gpu

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
    assert "geometric mean ratio (minigrad / torch) over 16 ops" in result.stdout


def test_ops_benchmark_times_only_the_cases_named():
    result = _benchmark("ops", "--size", "16", "--batch", "1", "--repeats", "1", "--cases", "port",
                        "--only", "layer_norm", "silu")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    first_rule, last_rule = [index for index, line in enumerate(lines) if set(line) == {"-"}]
    assert [line.split()[0] for line in lines[first_rule + 1:last_rule]] == ["layer_norm", "silu"], result.stdout
    assert "geometric mean ratio (minigrad / torch) over 2 ops" in result.stdout


@pytest.mark.parametrize("extra", [[], ["--inference", "--profile"], ["--gradient-penalty", "0.1"]])
def test_train_step_benchmark_prints_both_frameworks(extra):
    result = _benchmark("train_step", "--size", "32", "--batch", "1", "--steps", "1", "--warmup", "0", "--no-memory",
                        *extra)
    assert result.returncode == 0, result.stderr
    assert "minigrad" in result.stdout and "pytorch" in result.stdout and "ratio minigrad/pytorch" in result.stdout
    assert ("per-op time" in result.stdout) == ("--profile" in extra)
    assert ("with a gradient penalty" in result.stdout) == ("--gradient-penalty" in extra)


@pytest.mark.parametrize("name, argv, message", [
    ("train_step", ["--size", "30"], "argument --size: must be a positive multiple of 8, got 30"),
    ("train_step", ["--batch", "0"], "argument --batch: must be positive, got 0"),
    ("train_step", ["--steps", "0"], "argument --steps: must be positive, got 0"),
    ("train_step", ["--warmup", "-1"], "argument --warmup: must be 0 or more, got -1"),
    ("train_step", ["--threads", "0"], "argument --threads: must be positive, got 0"),
    ("ops", ["--size", "-8"], "argument --size: must be a positive multiple of 8, got -8"),
    ("ops", ["--batch", "0"], "argument --batch: must be positive, got 0"),
    ("ops", ["--cases", "port", "--only", "sigmoid"], "argument --only: no port case is named by sigmoid"),
])
def test_impossible_sizes_and_counts_are_usage_errors(name, argv, message):
    """They used to end in a traceback (a size off the U-Net's multiple of 8, no step to take the median of), or to
    run as asked: a batch of none, a negative warm-up."""
    result = _benchmark(name, *argv)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1].endswith(f"error: {message}")

@pytest.mark.parametrize("setting", ["--tf32", "--kernels", "--cuda-graph"])
def test_gpu_only_settings_are_refused_on_the_cpu(setting):
    result = _benchmark("train_step", setting)
    assert result.returncode != 0
    assert result.stderr.strip() == f"train_step: {setting} is a GPU setting: use it with --device gpu"


def test_the_kernel_table_sums_each_kernel_and_leaves_out_annotations(monkeypatch):
    """Run on the CPU's profiler events, which have the GPU's fields: the table of --kernels is made the same way."""
    import torch
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile, record_function

    monkeypatch.syspath_prepend(str(REPO_ROOT))  # the benchmarks are run from the repository, not installed
    from benchmarks.train_step import kernel_table

    matrix = torch.ones(32, 32)
    with profile(activities=[ProfilerActivity.CPU]) as recorded:
        with record_function("a_user_annotation"):
            for _ in range(3):
                torch.mm(matrix, matrix)
    events = [event for event in recorded.events() if event.device_type == DeviceType.CPU]
    lines = kernel_table(recorded.events(), DeviceType.CPU, rows=len(events))
    assert not any("a_user_annotation" in line for line in lines)
    totals = [float(line.split()[0]) for line in lines[1:]]
    assert totals and totals == sorted(totals, reverse=True)
    counts = {line.split(maxsplit=3)[3]: int(line.split()[2]) for line in lines}
    assert counts["aten::mm"] == 3 and counts["all kernels"] == len(events) - 1


@requires_gpu
@pytest.mark.parametrize("extra", [[], ["--inference"]])
def test_train_step_benchmark_replays_minigrads_step_as_a_cuda_graph(extra):
    result = _benchmark("train_step", "--device", "gpu", "--size", "32", "--batch", "1", "--steps", "2",
                        "--cuda-graph", *extra)
    assert result.returncode == 0, result.stderr
    assert "replayed as one CUDA graph" in result.stdout and "ratio minigrad/pytorch" in result.stdout


@requires_gpu
def test_train_step_benchmark_lists_the_kernels_of_both_frameworks():
    result = _benchmark("train_step", "--device", "gpu", "--size", "32", "--batch", "1", "--steps", "1",
                        "--no-memory", "--kernels")
    assert result.returncode == 0, result.stderr
    assert "minigrad CUDA kernels over 2 steps" in result.stdout and "pytorch CUDA kernels" in result.stdout
    assert "im2col" in result.stdout
