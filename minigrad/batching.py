"""vmap's batched tensors. minigrad.func.vmap runs its function once per sample; the tensors computed from a
vmap's samples are marked with the vmap's level, as torch's are batched at it, so that vmap tells, as torch's does
and whatever the values, an output that depends on the samples (which out_dims=None refuses) and a random op's
parameters that do (which randomness="same" refuses), and an in-place draw into a tensor that does not (which
randomness="different" refuses). Function.apply carries the marks from an op's inputs to its output."""

levels = []  # the vmaps running, innermost last


class Level:
    """One running vmap and its randomness setting; each call its own, so that the marks its results keep match
    no later vmap."""

    def __init__(self, randomness):
        self.randomness = randomness


def batched(tensor, level):
    """`tensor`, a sample of the vmap at `level`, marked as batched at it."""
    tensor._vmap_levels = tensor._vmap_levels | {level}
    return tensor


def is_batched(value, *at):
    """Whether `value` is a tensor batched at any of the levels `at`."""
    return not getattr(value, "_vmap_levels", frozenset()).isdisjoint(at)


def marked(output, inputs):
    """An op's output (a tensor or a tuple of them) marked as batched at every level at which an input is."""
    if not levels:
        return output
    found = frozenset().union(*(getattr(value, "_vmap_levels", ()) for value in inputs))
    if found:
        for tensor in output if isinstance(output, tuple) else (output,):
            if hasattr(tensor, "_vmap_levels"):  # a tensor: a custom Function may return anything
                tensor._vmap_levels = tensor._vmap_levels | found
    return output


def refuse_batched_parameters(*tensors):
    """torch's refusal of a random op whose parameters (bernoulli's probabilities, normal's means, ...) are batched
    at a vmap whose randomness is "same"."""
    if any(level.randomness == "same" and is_batched(tensor, level) for level in levels for tensor in tensors):
        raise RuntimeError("Vmap does not currently support same randomness with a batched tensor input. Please file "
                           "an issue with functorch")


def drawn_anew(tensor):
    """`tensor`, made for an out-of-place random op to draw into, batched at each level whose randomness is
    "different", as torch's draws are there."""
    tensor._vmap_levels = tensor._vmap_levels | {level for level in levels if level.randomness == "different"}
    return tensor


def refuse_unbatched_draw(tensor):
    """torch's refusal of an in-place random draw into a tensor not batched at a vmap whose randomness is
    "different": its one set of numbers would be every sample's."""
    if any(level.randomness == "different" and not is_batched(tensor, level) for level in levels):
        raise RuntimeError("vmap: Cannot ask for different inplace randomness on an unbatched tensor. This will "
                           "appear like same randomness. If this is necessary for your usage, please file an issue "
                           "with functorch.")


def refuses_randomness():
    """Whether a vmap running refuses random ops (randomness "error")."""
    return any(level.randomness == "error" for level in levels)
