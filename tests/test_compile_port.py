"""mg.compile, torch.compile's stand-in for ported scripts: minigrad runs eagerly, so it gives back the model as it
is (with its own state dict keys), and checks its arguments as torch 2.13 does. torch's messages are written here,
as torch 2.13 gives them, since calling torch.compile imports its compiler (about 10 s)."""
import pytest

import minigrad as mg


def test_compile_gives_back_the_model_and_works_as_a_decorator():
    model = mg.nn.Linear(2, 3)
    assert mg.compile(model) is model
    assert mg.compile(model, mode="max-autotune", fullgraph=True, dynamic=False) is model
    assert list(mg.compile(model).state_dict()) == ["weight", "bias"]  # torch's would be "_orig_mod.weight", ...

    @mg.compile
    def double(x):
        return 2 * x

    @mg.compile(mode="reduce-overhead")
    def square(x):
        return x * x

    assert double(mg.tensor(3.0)).item() == 6.0 and square(mg.tensor(3.0)).item() == 9.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.compile(3), AssertionError, "A callable function is expected, but <class 'int'> is provided."),
    (lambda: mg.compile(len, mode="fast"), RuntimeError,
     "Unrecognized mode=fast, should be one of: default, lite, reduce-overhead, max-autotune-no-cudagraphs, "
     "max-autotune"),
    (lambda: mg.compile(len, mode="default", options={}), RuntimeError,
     "Either mode or options can be specified, but both can't be specified at the same time."),
], ids=["not callable", "mode", "mode and options"])
def test_compile_refuses_what_torch_refuses_with_its_message(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message
