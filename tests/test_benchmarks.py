"""The benchmarks run end to end on tiny shapes and print their comparisons (no timing is asserted)."""
import pytest

pytest.importorskip("torch")
from benchmarks import ops, train_step  # noqa: E402


def test_ops_benchmark_prints_a_ratio_per_op(capsys):
    ops.main(["--size", "16", "--batch", "1", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "sigmoid_gate (SCA)" in out and "charbonnier_loss" in out
    assert f"over {len(ops.build_cases(16, 1))} ops" in out


@pytest.mark.parametrize("extra", [[], ["--inference", "--profile"]])
def test_train_step_benchmark_prints_both_frameworks(extra, capsys):
    train_step.main(["--size", "32", "--batch", "1", "--steps", "1", "--warmup", "0", "--no-memory", *extra])
    out = capsys.readouterr().out
    assert "minigrad" in out and "pytorch" in out and "ratio minigrad/pytorch" in out
    assert ("per-op time" in out) == ("--profile" in extra)


def test_gpu_only_settings_are_refused_on_the_cpu(capsys):
    with pytest.raises(SystemExit, match="--tf32 is a GPU setting"):
        train_step.main(["--tf32"])
