"""torch.compile for code ported from PyTorch: minigrad runs every op eagerly, as it is called, and has no
compiler, so compiling gives back what it is given. The model keeps its own state dict keys (torch's compiled
module puts "_orig_mod." before each), and a script that compiles its model runs unchanged."""

COMPILE_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


def compile(model=None, *, fullgraph=False, dynamic=None, backend=None, mode=None, options=None, name=None,
            disable=False, **settings):
    """`model` itself, checked as torch checks its arguments; without `model`, a decorator that gives back what it
    decorates. torch's other keyword settings are taken and, as the rest, change nothing."""
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if mode is not None and mode not in COMPILE_MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(COMPILE_MODES)}")
    if model is None:
        return _given_back
    return _given_back(model)


def _given_back(model):
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    return model
