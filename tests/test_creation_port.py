"""torch's creation, random and dtype-utility functions that ported code calls: empty, from_numpy, as_tensor,
scalar_tensor, randint, randperm, normal, bernoulli, multinomial, the in-place draws, Generator, tril/triu_indices,
cartesian_prod, result_type, promote_types, can_cast. Random values differ from torch's: their distributions,
determinism and generators are tested, and shapes, dtypes and errors against torch's."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch

torch = pytest.importorskip("torch")

N = 200_000  # draws for a distribution's moments: a mean's standard error is about 0.2% of the spread


def _dtype(lib, name):
    """The library's dtype of that name (NumPy's where minigrad names none, as float16)."""
    return getattr(lib, name, None) or np.dtype(name)


def _shape_and_dtype(result):
    return tuple(result.shape), str(result.dtype).removeprefix("torch.")


# calls of both libraries (lib is torch or minigrad) whose shape and dtype must be torch's
SHAPED = {
    "randint high": lambda lib: lib.randint(5, (3, 2)),
    "randint low high": lambda lib: lib.randint(-2, 5, (4,)),
    "randint named": lambda lib: lib.randint(high=5, size=(2, 2)),
    "randint size named": lambda lib: lib.randint(5, size=[3]),
    "randint dtype": lambda lib: lib.randint(0, 2, (3,), dtype=lib.bool),
    "randint float": lambda lib: lib.randint(0, 9, (2,), dtype=lib.float64),
    "randperm": lambda lib: lib.randperm(7),
    "randperm float": lambda lib: lib.randperm(7, dtype=lib.float32),
    "randperm empty": lambda lib: lib.randperm(0),
    "normal numbers": lambda lib: lib.normal(1.0, 2.0, (2, 3)),
    "normal numbers float64": lambda lib: lib.normal(1.0, 2.0, size=(2,), dtype=lib.float64),
    "normal tensor mean": lambda lib: lib.normal(lib.zeros(3), 2.0),
    "normal tensor std": lambda lib: lib.normal(0.5, lib.ones(3, dtype=lib.float64)),
    "normal both": lambda lib: lib.normal(lib.zeros(2, 1), lib.ones(3)),
    "normal mean's dtype": lambda lib: lib.normal(lib.zeros(3, dtype=lib.float64), lib.ones(3)),
    "normal empty": lambda lib: lib.normal(lib.zeros(0), lib.ones(0)),
    "empty": lambda lib: lib.empty(2, 3),
    "empty tuple int": lambda lib: lib.empty((2, 3), dtype=lib.int64),
    "empty list": lambda lib: lib.empty([0, 4]),
    "scalar_tensor int": lambda lib: lib.scalar_tensor(3),
    "scalar_tensor bool": lambda lib: lib.scalar_tensor(True),
    "scalar_tensor dtype": lambda lib: lib.scalar_tensor(3, dtype=lib.int64),
    "bernoulli": lambda lib: lib.bernoulli(lib.full((2, 3), 0.5)),
    "bernoulli p": lambda lib: lib.bernoulli(lib.zeros(3, dtype=lib.float64), 0.3),
    "bernoulli method": lambda lib: lib.full((4,), 0.2).bernoulli(),
    "multinomial": lambda lib: lib.multinomial(lib.tensor([0.1, 0.2, 0.7]), 2),
    "multinomial replacement": lambda lib: lib.multinomial(lib.tensor([[0.1, 0.2, 0.7]] * 2), 5, True),
    "multinomial no rows": lambda lib: lib.zeros(0, 3).multinomial(1),
    "tril_indices": lambda lib: lib.tril_indices(3, 4, 1),
    "triu_indices int32": lambda lib: lib.triu_indices(3, 4, -1, dtype=lib.int32),
    "triu_indices empty": lambda lib: lib.triu_indices(0, 0),
    "random_": lambda lib: lib.zeros(3).random_(),
    "random_ int8": lambda lib: lib.zeros(3, dtype=lib.int8).random_(-5, 5),
    "random_ bool": lambda lib: lib.zeros(3, dtype=lib.bool).random_(),
    "bernoulli_ int": lambda lib: lib.zeros(3, dtype=lib.int64).bernoulli_(0.5),
    "bernoulli_ tensor p": lambda lib: lib.zeros(2, 3).bernoulli_(lib.tensor([0.5, 0.3, 0.1])),
    "exponential_": lambda lib: lib.zeros(3, dtype=lib.float64).exponential_(2.0),
    "geometric_ int": lambda lib: lib.zeros(3, dtype=lib.int64).geometric_(0.5),
    "cauchy_": lambda lib: lib.zeros(2, 2).cauchy_(1.0, 2.0),
    "log_normal_": lambda lib: lib.zeros(4).log_normal_(),
}


@pytest.mark.parametrize("name", sorted(SHAPED))
def test_shapes_and_dtypes_are_torchs(name):
    assert _shape_and_dtype(SHAPED[name](mg)) == _shape_and_dtype(SHAPED[name](torch))


ERRORS = {
    "randint from >= to": lambda lib: lib.randint(5, 2, (3,)),
    "randint size an int": lambda lib: lib.randint(5, 3),
    "randint to beyond uint8": lambda lib: lib.randint(0, 300, (3,), dtype=lib.uint8),
    "randint from below uint8": lambda lib: lib.randint(-1, 3, (3,), dtype=lib.uint8),
    "randint to beyond bool": lambda lib: lib.randint(0, 3, (3,), dtype=lib.bool),
    "randint to beyond int16": lambda lib: lib.randint(0, 2 ** 40, (3,), dtype=lib.int16),
    "randint from below int32": lambda lib: lib.randint(-2 ** 40, 0, (3,), dtype=lib.int32),
    "randn negative size": lambda lib: lib.randn(2, -1),
    "empty negative size": lambda lib: lib.empty(-1),
    "randperm negative": lambda lib: lib.randperm(-1),
    "randperm beyond int8": lambda lib: lib.randperm(300, dtype=lib.int8),
    "randperm beyond float16": lambda lib: lib.randperm(3000, dtype=_dtype(lib, "float16")),
    "normal two numbers": lambda lib: lib.normal(0.0, 1.0),
    "normal tensor and size": lambda lib: lib.normal(lib.zeros(3), 1.0, (3,)),
    "normal shapes": lambda lib: lib.normal(lib.zeros(3), lib.ones(4)),
    "normal negative std": lambda lib: lib.normal(lib.zeros(3), -1.0),
    "normal negative std numbers": lambda lib: lib.normal(0.0, -1.5, (3,)),
    "normal a negative std tensor": lambda lib: lib.normal(lib.zeros(3), lib.tensor([1.0, -1, 1])),
    "normal integer mean": lambda lib: lib.normal(lib.zeros(3, dtype=lib.int64), 1.0),
    "bernoulli beyond 1": lambda lib: lib.bernoulli(lib.tensor([0.5, 2.0])),
    "bernoulli integers": lambda lib: lib.bernoulli(lib.zeros(3, dtype=lib.int64)),
    "bernoulli_ p": lambda lib: lib.zeros(3).bernoulli_(1.3),
    "bernoulli_ negative p": lambda lib: lib.zeros(3).bernoulli_(-0.5),
    "bernoulli_ tensor p": lambda lib: lib.zeros(3).bernoulli_(lib.tensor([0.5, 2.0, 0])),
    "multinomial too many": lambda lib: lib.multinomial(lib.tensor([0.1, 0.2, 0.7]), 4),
    "multinomial negative": lambda lib: lib.multinomial(lib.tensor([-1, 0.2, 0.7]), 1),
    "multinomial nan": lambda lib: lib.multinomial(lib.tensor([1.0, float("nan")]), 1),
    "multinomial inf": lambda lib: lib.multinomial(lib.tensor([1.0, float("inf")]), 1),
    "multinomial zero sum": lambda lib: lib.multinomial(lib.tensor([[1.0, 1], [0, 0]]), 1),
    "multinomial integers": lambda lib: lib.multinomial(lib.tensor([1, 2, 3]), 1),
    "multinomial 3-d": lambda lib: lib.multinomial(lib.ones(2, 2, 2, dtype=lib.int64), -1),
    "multinomial no samples": lambda lib: lib.multinomial(lib.ones(3), 0),
    "tril_indices float": lambda lib: lib.tril_indices(3, 4, dtype=lib.float32),
    "triu_indices uint8": lambda lib: lib.triu_indices(3, 4, dtype=lib.uint8),
    "tril_indices negative row": lambda lib: lib.tril_indices(-1, 4),
    "triu_indices negative col": lambda lib: lib.triu_indices(3, -4),
    "cartesian_prod 2-d": lambda lib: lib.cartesian_prod(lib.zeros(2, 2), lib.zeros(3)),
    "cartesian_prod dtypes": lambda lib: lib.cartesian_prod(lib.arange(3), lib.zeros(2)),
    "cartesian_prod nothing": lambda lib: lib.cartesian_prod(),
    "scalar_tensor str": lambda lib: lib.scalar_tensor("a"),
    "from_numpy list": lambda lib: lib.from_numpy([1]),
    "from_numpy object": lambda lib: lib.from_numpy(np.array([None])),
    "promote_types int": lambda lib: lib.promote_types(lib.int32, 3),
    "can_cast int": lambda lib: lib.can_cast(3, lib.int8),
    "random_ from >= to": lambda lib: lib.zeros(3).random_(5, 2),
    "random_ beyond uint8": lambda lib: lib.zeros(3, dtype=lib.uint8).random_(0, 300),
    "random_ below int8": lambda lib: lib.zeros(2, dtype=lib.int8).random_(-200, 5),
    "random_ bool": lambda lib: lib.zeros(3, dtype=lib.bool).random_(3),
    "exponential_ lambda": lambda lib: lib.zeros(3).exponential_(0),
    "exponential_ integers": lambda lib: lib.zeros(3, dtype=lib.int64).exponential_(),
    "exponential_ lambda first": lambda lib: lib.zeros(3, dtype=lib.int64).exponential_(-1),
    "geometric_ 0": lambda lib: lib.zeros(3).geometric_(0),
    "geometric_ 1": lambda lib: lib.zeros(3).geometric_(1),
    "cauchy_ sigma": lambda lib: lib.zeros(3).cauchy_(0, -1),
    "cauchy_ integers": lambda lib: lib.zeros(3, dtype=lib.int64).cauchy_(),
    "cauchy_ uint8": lambda lib: lib.zeros(3, dtype=lib.uint8).cauchy_(),
    "log_normal_ std": lambda lib: lib.zeros(3).log_normal_(1, 0),
    "log_normal_ integers": lambda lib: lib.zeros(3, dtype=lib.int64).log_normal_(),
    "manual_seed float": lambda lib: lib.Generator().manual_seed(1.5),
    "manual_seed str": lambda lib: lib.Generator().manual_seed("a"),
    "manual_seed too large": lambda lib: lib.Generator().manual_seed(2 ** 64),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_argument_errors_are_torchs(name):
    assert_raises_as_torch(lambda: ERRORS[name](torch), lambda: ERRORS[name](mg), first_line=True)


@pytest.mark.parametrize("args", [(3, 4), (3, 4, 1), (4, 3, -2), (5, 5, 0), (2, 6, 10), (6, 2, -10), (1, 1)])
@pytest.mark.parametrize("name", ["tril_indices", "triu_indices"])
def test_triangle_indices_are_torchs(name, args):
    ours, theirs = getattr(mg, name)(*args), getattr(torch, name)(*args)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype == theirs.numpy().dtype


def test_cartesian_prod_values_and_gradients_are_torchs_and_pass_gradcheck():
    values = [[1.0, -2.0, 3.0], [0.5, 4.0], [7.0, 8.0]]
    results = {}
    for lib in (torch, mg):
        inputs = [lib.tensor(v, requires_grad=True) for v in values]
        out = lib.cartesian_prod(*inputs)
        direction = lib.tensor(np.random.default_rng(0).uniform(-1, 1, size=(12, 3)).astype(np.float32))
        (out * direction).sum().backward()
        results[lib] = [out.detach().numpy()] + [t.grad.numpy() for t in inputs]
    for ours, theirs in zip(results[mg], results[torch]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    one = mg.arange(3)
    assert mg.cartesian_prod(one) is one
    assert mg.cartesian_prod(mg.arange(3), mg.arange(2)).tolist() == torch.cartesian_prod(
        torch.arange(3), torch.arange(2)).tolist()
    assert mg.gradcheck(lambda a, b: mg.cartesian_prod(a, b),
                        [mg.tensor(v, dtype=mg.float64, requires_grad=True) for v in values[:2]])


def test_from_numpy_shares_and_as_tensor_shares_where_it_can():
    array = np.arange(6, dtype=np.float64).reshape(2, 3)
    shared = mg.from_numpy(array)
    assert shared.dtype == torch.from_numpy(array).numpy().dtype
    array[0, 0] = 9
    shared[1, 2] = -1
    assert shared[0, 0].item() == 9 and array[1, 2] == -1
    assert mg.from_numpy(np.zeros(2, dtype=np.float16)).dtype == np.float16
    as_is = mg.as_tensor(array)
    array[0, 1] = 7
    assert as_is.dtype == np.float64 and as_is[0, 1].item() == 7
    cast = mg.as_tensor(array, dtype=mg.float32)
    array[0, 1] = 8
    assert cast.dtype == np.float32 and cast[0, 1].item() == 7
    listed = mg.as_tensor([1.5, 2])
    assert listed.dtype == torch.as_tensor([1.5, 2]).numpy().dtype and listed.tolist() == [1.5, 2.0]
    leaf = mg.zeros(2, requires_grad=True)
    assert mg.as_tensor(leaf) is leaf and mg.as_tensor(leaf, dtype=mg.float32) is leaf
    converted = mg.as_tensor(leaf, dtype=mg.float64)
    assert converted.dtype == np.float64 and converted.requires_grad and not converted.is_leaf
    converted.sum().backward()
    assert leaf.grad.tolist() == [1.0, 1.0]


def test_scalar_tensor_empty_and_is_tensor():
    for value in (3, 2.5, True, mg.tensor(4)):
        ours = mg.scalar_tensor(value)
        theirs = torch.scalar_tensor(value.item() if isinstance(value, mg.Tensor) else value)
        assert ours.shape == () and ours.item() == theirs.item() and ours.dtype == theirs.numpy().dtype
    assert mg.scalar_tensor(2.0, requires_grad=True).requires_grad
    assert mg.empty(2, 3, requires_grad=True).requires_grad
    assert mg.is_tensor(mg.zeros(1)) and not mg.is_tensor(np.zeros(1)) and not mg.is_tensor(3)


DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


@pytest.mark.parametrize("first", DTYPES)
def test_promote_types_and_can_cast_are_torchs(first):
    for second in DTYPES:
        ours_types, their_types = (np.dtype(first), np.dtype(second)), (getattr(torch, first), getattr(torch, second))
        assert mg.promote_types(*ours_types) == np.dtype(str(torch.promote_types(*their_types))[6:])
        assert mg.can_cast(*ours_types) == torch.can_cast(*their_types)
    assert mg.promote_types(mg.int32, mg.float32) == mg.float32


@pytest.mark.parametrize("operands", [("int32", 2.0), (2, 2.0), (2, 3), (True, 3), ("uint8", "int8"),
                                      ("int64", "float16"), ("float32", "0d float64"), ("bool", True),
                                      ("0d int64", "int8"), (2.5, "int16")])
def test_result_type_is_torchs(operands):
    def made(lib, operand):
        if not isinstance(operand, str):
            return operand
        shape, name = ((), operand[3:]) if operand.startswith("0d ") else ((2,), operand)
        return lib.zeros(shape, dtype=_dtype(lib, name))

    ours = mg.result_type(*(made(mg, x) for x in operands))
    theirs = torch.result_type(*(made(torch, x) for x in operands))
    assert ours == np.dtype(str(theirs)[6:])
    assert mg.get_default_dtype() == mg.float32 == np.dtype(str(torch.get_default_dtype())[6:])


# (a draw of 1-d minigrad values, their expected mean and standard deviation)
MOMENTS = {
    "normal": (lambda: mg.normal(1.5, 0.5, (N,)), 1.5, 0.5),
    "normal tensors": (lambda: mg.normal(mg.full((N,), -2.0), mg.full((N,), 3.0)), -2.0, 3.0),
    "randn generator": (lambda: mg.randn(N, generator=mg.Generator()), 0.0, 1.0),
    "rand_like generator": (lambda: mg.rand_like(mg.zeros(N), generator=mg.Generator()), 0.5, 12 ** -0.5),
    "randint": (lambda: mg.randint(-3, 7, (N,)), 1.5, (99 / 12) ** 0.5),
    "randint_like": (lambda: mg.randint_like(mg.zeros(N), 10), 4.5, (99 / 12) ** 0.5),
    "random_ to": (lambda: mg.zeros(N).random_(10), 4.5, (99 / 12) ** 0.5),
    "random_ float32": (lambda: mg.zeros(N).random_() / 2 ** 24, 0.5, 12 ** -0.5),
    "random_ uint8": (lambda: mg.zeros(N, dtype=mg.uint8).random_().double(), 127.5, ((256 ** 2 - 1) / 12) ** 0.5),
    "bernoulli_": (lambda: mg.zeros(N).bernoulli_(0.3), 0.3, (0.3 * 0.7) ** 0.5),
    "bernoulli": (lambda: mg.full((N,), 0.8).bernoulli(), 0.8, 0.4),
    "exponential_": (lambda: mg.zeros(N).exponential_(4.0), 0.25, 0.25),
    "geometric_": (lambda: mg.zeros(N).geometric_(0.25), 4.0, 0.75 ** 0.5 / 0.25),
    "log_normal_": (lambda: mg.zeros(N, dtype=mg.float64).log_normal_(0.5, 0.25).log(), 0.5, 0.25),
    "uniform_ generator": (lambda: mg.zeros(N).uniform_(2, 4, generator=mg.Generator()), 3.0, 12 ** -0.5 * 2),
}


@pytest.mark.parametrize("name", sorted(MOMENTS))
def test_draws_have_their_distributions_moments(name):
    draw, mean, std = MOMENTS[name]
    mg.manual_seed(11)
    values = draw().numpy().astype(np.float64)
    assert values.mean() == pytest.approx(mean, abs=0.01 * std)
    assert values.std() == pytest.approx(std, rel=0.01)


def test_draws_take_the_values_their_distributions_may():
    mg.manual_seed(1)
    assert set(mg.randint(-3, 7, (N,)).tolist()) == set(range(-3, 7))
    assert sorted(mg.randperm(50).tolist()) == list(range(50))
    assert set(mg.zeros(N, dtype=mg.bool).random_().tolist()) == {False, True}
    assert set(mg.zeros(1000).bernoulli_(mg.tensor([0.0, 1.0]).repeat(500)).tolist()[:2]) == {0.0, 1.0}
    geometric = mg.zeros(N, dtype=mg.int64).geometric_(0.5).numpy()
    assert geometric.min() == 1 and (geometric == 1).mean() == pytest.approx(0.5, abs=0.01)
    cauchy = mg.zeros(N, dtype=mg.float64).cauchy_(2.0, 3.0).numpy()  # quartiles at median -+ sigma
    np.testing.assert_allclose(np.quantile(cauchy, [0.25, 0.5, 0.75]), [-1.0, 2.0, 5.0], atol=0.05)
    assert (mg.zeros(N).exponential_() > 0).all().item()
    uint8 = mg.zeros(N, dtype=mg.uint8).random_()
    assert uint8.numpy().min() == 0 and uint8.numpy().max() == 255


def test_multinomial_draws_in_proportion_to_the_weights():
    weights = mg.tensor([[1.0, 0.0, 3.0, 6.0], [0.0, 0.0, 5.0, 5.0]])
    mg.manual_seed(2)
    drawn = mg.multinomial(weights, 50_000, replacement=True).numpy()
    assert drawn.shape == (2, 50_000) and drawn.dtype == np.int64
    for row, probabilities in zip(drawn, (weights / weights.sum(1, keepdim=True)).numpy()):
        np.testing.assert_allclose(np.bincount(row, minlength=4) / row.size, probabilities, atol=0.01)
    firsts = mg.multinomial(weights.repeat(20_000, 1), 3).numpy()
    assert all(len(set(row)) == 3 for row in firsts[:500])  # without replacement, no category twice
    np.testing.assert_allclose(np.bincount(firsts[0::2, 0], minlength=4) / 20_000, [0.1, 0, 0.3, 0.6], atol=0.01)
    # a second draw picks among the rest in proportion: after category 3 (6 of 10), category 2 has 3 of 4
    after_three = firsts[0::2][firsts[0::2, 0] == 3]
    assert (after_three[:, 1] == 2).mean() == pytest.approx(0.75, abs=0.02)
    assert set(firsts[1::2, 2]) <= {0, 1}  # categories of weight 0 come last
    everything = mg.multinomial(mg.tensor([0.2, 0.0, 0.8]), 3).tolist()
    assert sorted(everything) == [0, 1, 2] and everything[-1] == 1
    np.testing.assert_array_equal(mg.multinomial(mg.tensor([[0.0, 2.0], [3.0, 0.0]]), 4, True).numpy(),
                                  [[1] * 4, [0] * 4])


def test_multinomial_never_draws_a_category_of_weight_zero_at_a_rows_end():
    """Uniform draws just below 1, in rows far from the first, still land on the row's last positive weight."""
    class HighDraws:
        @staticmethod
        def random(shape):
            return np.full(shape, 1 - 2 ** -53)

    weights = np.tile([[0.0, 1, 0], [1, 0, 0], [0, 0, 1]], (100_000, 1))
    drawn = mg.random.draw_categories(weights, 2, True, HighDraws())
    np.testing.assert_array_equal(drawn[-3:], [[1, 1], [0, 0], [2, 2]])


DRAWS = {
    "rand": lambda g: mg.rand(5, generator=g), "randn": lambda g: mg.randn(2, 3, generator=g),
    "randint": lambda g: mg.randint(0, 100, (5,), generator=g), "randperm": lambda g: mg.randperm(9, generator=g),
    "normal": lambda g: mg.normal(mg.zeros(4), 1.0, generator=g),
    "rand_like": lambda g: mg.rand_like(mg.zeros(4), generator=g),
    "randn_like": lambda g: mg.randn_like(mg.zeros(4), generator=g),
    "randint_like": lambda g: mg.randint_like(mg.zeros(4), 50, generator=g),
    "bernoulli": lambda g: mg.bernoulli(mg.full((9,), 0.5), generator=g),
    "multinomial": lambda g: mg.multinomial(mg.ones(9), 4, generator=g),
    "random_": lambda g: mg.zeros(4).random_(generator=g),
    "bernoulli_": lambda g: mg.zeros(9).bernoulli_(generator=g),
    "exponential_": lambda g: mg.zeros(4).exponential_(generator=g),
    "geometric_": lambda g: mg.zeros(4).geometric_(0.2, generator=g),
    "cauchy_": lambda g: mg.zeros(4).cauchy_(generator=g),
    "log_normal_": lambda g: mg.zeros(4).log_normal_(generator=g),
    "uniform_": lambda g: mg.zeros(4).uniform_(generator=g),
    "normal_": lambda g: mg.zeros(4).normal_(generator=g),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_draws_repeat_under_a_seed_and_a_generator_of_their_own(name):
    draw = DRAWS[name]
    mg.manual_seed(5)
    first = draw(None).numpy()
    mg.manual_seed(5)
    assert np.array_equal(draw(None).numpy(), first)
    assert not np.array_equal(draw(None).numpy(), first)  # the stream moves on
    generator = mg.Generator().manual_seed(5)
    state = mg.get_rng_state()
    ours = draw(generator).numpy()
    assert mg.get_rng_state() == state  # a generator of its own leaves the default stream where it was
    np.testing.assert_array_equal(draw(mg.Generator().manual_seed(5)).numpy(), ours)
    assert not np.array_equal(draw(mg.Generator().manual_seed(6)).numpy(), ours)


def test_generators_states_and_seeds():
    one, two = mg.Generator().manual_seed(1), mg.Generator().manual_seed(1)
    assert mg.manual_seed(3) is mg.default_generator and mg.initial_seed() == 3
    a = mg.rand(5, generator=one)
    mg.rand(100)  # neither the default stream nor another generator moves a generator
    mg.rand(100, generator=mg.Generator())
    assert mg.rand(5, generator=two).tolist() == a.tolist()
    state = one.get_state()
    b = mg.rand(5, generator=one)
    assert one.set_state(state) is one and mg.rand(5, generator=one).tolist() == b.tolist()
    assert one.initial_seed() == 1 and mg.Generator().initial_seed() == torch.Generator().initial_seed()
    assert mg.Generator().manual_seed(-1).initial_seed() == torch.Generator().manual_seed(-1).initial_seed()
    seeded = mg.seed()
    assert mg.initial_seed() == seeded and 0 <= seeded < 2 ** 64
    replay = mg.Generator().manual_seed(seeded)
    assert mg.rand(3).tolist() == mg.rand(3, generator=replay).tolist()
    with pytest.raises(TypeError):
        mg.rand(2, generator=3)
    with pytest.raises(TypeError):
        one.set_state(3)


@pytest.mark.parametrize("call", [lambda lib, m, s: lib.normal(m, 1.0), lambda lib, m, s: lib.normal(0.5, s),
                                  lambda lib, m, s: lib.normal(m, s), lambda lib, m, s: lib.bernoulli(m.sigmoid())])
def test_draws_from_tensor_parameters_are_in_the_graph_with_a_zero_gradient_as_torchs(call):
    grads = {}
    for lib in (torch, mg):
        mean = lib.zeros(2, 3, requires_grad=True)
        std = lib.ones(3, dtype=lib.float64, requires_grad=True)
        out = call(lib, mean, std)
        assert out.requires_grad and out.grad_fn.name() == call(torch, torch.zeros(2, 3, requires_grad=True),
                                                                torch.ones(3, requires_grad=True)).grad_fn.name()
        out.sum().backward()
        grads[lib] = [None if t.grad is None else (t.grad.numpy(), str(t.grad.dtype)[-7:]) for t in (mean, std)]
    for ours, theirs in zip(grads[mg], grads[torch]):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_array_equal(ours[0], theirs[0])
            assert ours[1] == theirs[1]
    with mg.no_grad():
        assert not mg.normal(mg.zeros(2, requires_grad=True), 1.0).requires_grad


def test_drawing_in_place_is_refused_for_a_recorded_leaf():
    weight = mg.zeros(3, requires_grad=True)
    for draw in (lambda t: t.random_(), lambda t: t.bernoulli_(), lambda t: t.exponential_()):
        with pytest.raises(RuntimeError, match="leaf Variable"):
            draw(weight)
    with mg.no_grad():
        weight.exponential_()
    assert (weight.numpy() > 0).all()


def test_creation_and_draws_run_on_the_gpu_path(gpu_path):
    """Draws of either device from one seed give the same values, each on its device."""
    def run(device):
        mg.manual_seed(4)
        made = [mg.randint(0, 9, (3,), device=device), mg.randperm(5, device=device),
                mg.normal(0.0, 1.0, (3,), device=device), mg.normal(mg.zeros(3, device=device), 2.0),
                mg.empty(2, device=device), mg.scalar_tensor(2, device=device),
                mg.tril_indices(3, 3, device=device), mg.triu_indices(3, 4, 1, device=device),
                mg.cartesian_prod(mg.arange(3, device=device), mg.arange(2, device=device)),
                mg.full((4,), 0.5, device=device).bernoulli(),
                mg.tensor([[0.2, 0.8], [0.5, 0.5]], device=device).multinomial(2),
                mg.as_tensor([1.0, 2.0], device=device)]
        made += [draw(mg.zeros(4, device=device)) for draw in (
            lambda t: t.random_(), lambda t: t.bernoulli_(0.5), lambda t: t.exponential_(),
            lambda t: t.geometric_(0.5), lambda t: t.cauchy_(), lambda t: t.log_normal_())]
        assert all(t.device == device for t in made)
        return [t.numpy() for t in made]

    for gpu, cpu in zip(run("gpu"), run("cpu")):
        assert gpu.dtype == cpu.dtype
        np.testing.assert_allclose(gpu, cpu, rtol=1e-6)
