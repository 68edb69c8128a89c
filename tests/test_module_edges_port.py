"""Module's repr, lazy modules' uninitialized parameters in ops, and EmbeddingBag's scale_grad_by_freq, as torch's."""
import numpy as np
import pytest
import torch

import minigrad as mg


def _module_class(library, extra):
    """A module of `library` (torch.nn or mg.nn) whose extra_repr is `extra`, and whose children are given."""

    class Block(library.Module):
        def __init__(self, **children):
            super().__init__()
            for name, child in children.items():
                setattr(self, name, child)

        def extra_repr(self):
            return extra

    return Block


def _built(library, spec):
    """The module that `spec` describes: (extra_repr, {name: spec of a child, or a ready layer's maker})."""
    extra, children = spec
    built = {name: child(library) if callable(child) else _built(library, child) for name, child in children.items()}
    return _module_class(library, extra)(**built)


def _linear(library):
    return library.Linear(2, 3)


def _sequential(library):
    return library.Sequential(library.ReLU(), library.Linear(3, 1, bias=False))


@pytest.mark.parametrize("spec", [
    ("in=2, out=3", {"fc": _linear, "act": lambda library: library.ReLU()}),
    ("first line\nsecond line", {"fc": _linear}),
    ("", {"fc": _linear, "body": _sequential}),
    ("", {}),
    ("one line", {}),
    ("first line\n\nthird line", {}),
    ("outer", {"inner": ("a\nb", {"fc": _linear, "deep": ("c", {"seq": _sequential})}), "act": _sequential}),
], ids=["children-and-one-line", "children-and-lines", "children-only", "empty", "one-line-only", "lines-only",
        "nested"])
def test_module_repr_matches_torch(spec):
    assert repr(_built(mg.nn, spec)) == repr(_built(torch.nn, spec))
