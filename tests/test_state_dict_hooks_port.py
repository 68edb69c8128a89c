"""A module's extra state (get_extra_state, set_extra_state) and the state dict hooks (register_state_dict_pre_hook,
register_state_dict_post_hook, _register_state_dict_hook, register_load_state_dict_pre_hook,
_register_load_state_dict_pre_hook, register_load_state_dict_post_hook), against torch's on mirrored modules: the
keys, the hooks' calls in order with their arguments, what their return values do, and the missing and unexpected
keys of strict and non-strict loads."""
import numpy as np
import pytest
import torch

import minigrad as mg

LIBRARIES = {"torch": (torch, torch.tensor), "minigrad": (mg, mg.tensor)}


def _model(library):
    """Sequential(Linear, Counter (a Linear inside, and a count as its extra state), BatchNorm1d), the same in both."""
    nn = library.nn

    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(2, 2)
            self.count = 0

        def get_extra_state(self):
            return {"count": self.count}

        def set_extra_state(self, state):
            self.count = state["count"]

    return nn.Sequential(nn.Linear(3, 2), Counter(), nn.BatchNorm1d(2))


def _both(make):
    """make(library, tensor) for torch and minigrad."""
    return [make(*LIBRARIES[name]) for name in ("torch", "minigrad")]


def _state(tensor, model_state, **changes):
    """A state dict of the library's tensors with model_state's keys and shapes (values drawn), the extra states
    kept, then changed: a key given None is dropped."""
    rng = np.random.default_rng(0)
    arrays = {key: value if key.endswith("_extra_state") else value.numpy() for key, value in model_state.items()}
    state = {key: value if key.endswith("_extra_state") else
             tensor(rng.standard_normal(value.shape).astype(np.float32) if value.dtype.kind == "f" else value)
             for key, value in arrays.items()}
    state.update(changes)
    return {key: value for key, value in state.items() if value is not None}


def _names(model):
    return {id(module): name for name, module in model.named_modules()}


def test_state_dict_keeps_the_extra_state_and_each_modules_version_as_torch():
    theirs, ours = (_model(library).state_dict() for library in (torch, mg))
    assert list(ours) == list(theirs)
    assert "1._extra_state" in ours and ours["1._extra_state"] == theirs["1._extra_state"] == {"count": 0}
    assert ours._metadata == theirs._metadata  # BatchNorm's version 2, the others' 1


def test_load_state_dict_gives_the_extra_state_to_set_extra_state_as_torch():
    reference, model = _model(torch), _model(mg)
    reference[1].count = 7
    model.load_state_dict(reference.state_dict())  # torch's tensors, and its extra state
    assert model[1].count == 7
    model[1].count = 9
    reference.load_state_dict({key: value if key.endswith("_extra_state") else torch.from_numpy(value.numpy())
                               for key, value in model.state_dict().items()})
    assert reference[1].count == 9


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("changes", [{"1._extra_state": None}, {"0._extra_state": {"count": 1}}, {"0.bias": None},
                                     {"1.inner.gain": 1.0, "head.weight": 2.0, "extra": 3.0}], ids=str)
def test_missing_and_unexpected_keys_are_torchs(changes, strict):
    def load(library, tensor):
        model = _model(library)
        state = _state(tensor, model.state_dict(), **{key: value if key.endswith("_extra_state") or value is None
                                                      else tensor([value]) for key, value in changes.items()})
        try:
            return model.load_state_dict(state, strict=strict)
        except RuntimeError as error:
            return type(error).__mro__[-3]  # RuntimeError, whatever subclass minigrad's is

    theirs, ours = _both(load)
    assert ours == theirs


def _recording_state_dict_hooks(model, calls):
    names = _names(model)

    def pre_hook(module, prefix, keep_vars):
        calls.append(("pre", names[id(module)], prefix, keep_vars))

    def post_hook(module, state_dict, prefix, local_metadata):
        calls.append(("post", names[id(module)], list(state_dict), prefix, local_metadata))

    for module in model.modules():
        module.register_state_dict_pre_hook(pre_hook)
        module.register_state_dict_post_hook(post_hook)


@pytest.mark.parametrize("keep_vars", [False, True])
def test_state_dict_hooks_are_called_as_torchs(keep_vars):
    def calls_of(library, tensor):
        model, calls = _model(library), []
        _recording_state_dict_hooks(model, calls)
        state = model.state_dict(prefix="model.", keep_vars=keep_vars)
        return calls, list(state)

    theirs, ours = _both(calls_of)
    assert ours == theirs


def test_a_state_dict_post_hook_changes_the_dict_in_place_and_must_return_none_as_torchs():
    def outcome(library, tensor):
        model = _model(library)
        handle = model[1].register_state_dict_post_hook(lambda module, state, prefix, metadata:
                                                        state.pop(prefix + "inner.bias"))
        with pytest.raises(RuntimeError) as error:
            model.state_dict()
        handle.remove()
        model[1].register_state_dict_post_hook(lambda module, state, prefix, metadata:
                                               state.__setitem__(prefix + "note", "kept") and None)
        return str(error.value), list(model.state_dict())

    theirs, ours = _both(outcome)
    assert ours == theirs


def test_the_older_state_dict_hooks_return_value_replaces_the_roots_dict_only_as_torchs():
    def outcome(library, tensor):
        model = _model(library)
        model._register_state_dict_hook(lambda module, state, prefix, metadata: {"root": 1})
        model[1]._register_state_dict_hook(lambda module, state, prefix, metadata: {"child": 1})
        replaced = dict(model.state_dict())

        def hook(module, state, prefix, metadata):
            pass

        model.register_state_dict_post_hook(hook)
        with pytest.raises(RuntimeError) as error:
            model[0]._register_state_dict_hook(hook)
        return replaced, str(error.value)

    theirs, ours = _both(outcome)
    assert ours == theirs


def _recording_load_hooks(model, calls):
    names = _names(model)

    def pre_hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        calls.append(("pre", names[id(module)], list(state_dict), prefix, local_metadata, strict, list(missing_keys),
                      list(unexpected_keys), list(error_msgs)))

    def post_hook(module, incompatible_keys):
        calls.append(("post", names[id(module)], list(incompatible_keys.missing_keys),
                      list(incompatible_keys.unexpected_keys)))

    for module in model.modules():
        module.register_load_state_dict_pre_hook(pre_hook)
        module.register_load_state_dict_post_hook(post_hook)


@pytest.mark.parametrize("assign", [False, True])
@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("own_dict", [True, False], ids=["state_dict()", "plain dict"])
def test_load_state_dict_hooks_are_called_as_torchs(own_dict, strict, assign):
    def calls_of(library, tensor):
        model, calls = _model(library), []
        _recording_load_hooks(model, calls)
        state = model.state_dict() if own_dict else _state(tensor, model.state_dict())
        del state["1.inner.bias"]
        state["2.extra"] = tensor([1.0])
        try:
            result = model.load_state_dict(state, strict=strict, assign=assign)
        except RuntimeError:
            result = "RuntimeError"
        return calls, result

    theirs, ours = _both(calls_of)
    assert ours == theirs


def test_a_load_pre_hook_renames_old_keys_and_a_post_hook_forgives_as_torchs():
    """The uses torch documents: a pre-hook maps a checkpoint's old names to the module's, a post-hook clears what a
    strict load may ignore; an error message a pre-hook adds fails the load."""
    def outcome(library, tensor):
        model = _model(library)
        state = _state(tensor, model.state_dict())
        state["1.inner.w"] = state.pop("1.inner.weight")

        def rename(module, state_dict, prefix, *rest):
            if prefix + "w" in state_dict:
                state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")

        model[1].inner.register_load_state_dict_pre_hook(rename)
        model.load_state_dict(state)
        loaded = model[1].inner.weight.detach().numpy().tolist()
        del state["0.bias"]
        handle = model.register_load_state_dict_post_hook(lambda module, keys: keys.missing_keys.clear())
        forgiven = model.load_state_dict(state)
        handle.remove()
        model._register_load_state_dict_pre_hook(lambda state_dict, prefix, metadata, strict, missing, unexpected,
                                                 errors: errors.append("refused"))
        with pytest.raises(RuntimeError) as error:
            model.load_state_dict(state, strict=False)
        return loaded, forgiven, "refused" in str(error.value)

    theirs, ours = _both(outcome)
    assert ours == theirs


def test_a_load_post_hook_must_return_none_as_torchs():
    def message(library, tensor):
        model = _model(library)
        model[0].register_load_state_dict_post_hook(lambda module, keys: keys)
        with pytest.raises(AssertionError) as error:
            model.load_state_dict(model.state_dict())
        return str(error.value)

    theirs, ours = _both(message)
    assert ours == theirs


def test_removed_hooks_are_not_called_as_torchs():
    def calls_of(library, tensor):
        model, calls = _model(library), []
        handles = [model.register_state_dict_pre_hook(lambda *args: calls.append("state pre")),
                   model.register_state_dict_post_hook(lambda *args: calls.append("state post") and None),
                   model.register_load_state_dict_pre_hook(lambda *args: calls.append("load pre")),
                   model.register_load_state_dict_post_hook(lambda *args: calls.append("load post") and None)]
        model.load_state_dict(model.state_dict())
        for handle in handles:
            handle.remove()
        model.load_state_dict(model.state_dict())
        return calls

    theirs, ours = _both(calls_of)
    assert ours == theirs
