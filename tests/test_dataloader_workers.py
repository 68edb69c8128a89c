"""The DataLoader's worker processes against torch's: batches and their order, worker info and seeds, sharded
streams, errors from workers (raised, killed, timed out), persistent workers, and no process left behind; large
batches in shared memory, no block left behind; the thread pool of ops in workers and other forked children."""
import gc
import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import minigrad as mg
import minigrad.utils.data as mud
import minigrad.utils.workers as mg_workers
from minigrad import parallel

torch = pytest.importorskip("torch")
tud = pytest.importorskip("torch.utils.data")
from torch.utils.data._utils.worker import _generate_state  # noqa: E402 (torch's seeding of NumPy in a worker)

pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create")


def plain(batch):
    """A batch of either library as Python data (tensors as lists), and each tensor of ours checked to hold a
    NumPy array."""
    if isinstance(batch, mg.Tensor):
        assert isinstance(batch.data, np.ndarray)
    if isinstance(batch, (mg.Tensor, torch.Tensor)):
        return batch.tolist()
    if isinstance(batch, dict):
        return {key: plain(value) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [plain(value) for value in batch]
    return batch


def assert_no_workers_left():
    deadline = time.monotonic() + 2  # torch's own workers may still be ending
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert multiprocessing.active_children() == []


class Samples:
    """Pure-Python samples of either library, recording the worker that made each (-1 in the main process)."""

    def __init__(self, lib, size=9, fail_at=None, error=ValueError, slow_at=None):
        self.lib, self.size, self.fail_at, self.error, self.slow_at, self.offset = lib, size, fail_at, error, slow_at, 0

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if index == self.fail_at:
            raise self.error(f"bad sample {index}")
        if index == self.slow_at:
            time.sleep(0.2)
        info = self.lib.get_worker_info()
        return {"index": index, "image": np.full(2, index + self.offset, np.float32), "name": f"s{index}",
                "worker": -1 if info is None else info.id, "pid": os.getpid()}


def shift_by_worker(worker_id):
    """A worker_init_fn, as torch's documentation writes them: it sets up its worker's copy of the data set."""
    info = mud.get_worker_info() or tud.get_worker_info()
    assert info.id == worker_id
    info.dataset.offset = 100 * (worker_id + 1)


def without(batches, *keys):
    return [{key: value for key, value in batch.items() if key not in keys} for batch in batches]


@pytest.mark.parametrize("options", [dict(batch_size=2, shuffle=True), dict(batch_size=None, sampler=[4, 0, 3]),
                                     dict(batch_size=4, drop_last=True)])
def test_batches_and_their_order_are_those_of_loading_in_process(options):
    def epochs(num_workers):
        mg.manual_seed(3)
        loader = mud.DataLoader(Samples(mud), num_workers=num_workers, **options)
        return [[plain(batch) for batch in loader] for _ in range(2)]

    ours, in_process = epochs(2), epochs(0)
    assert without(ours[0], "worker", "pid") == without(in_process[0], "worker", "pid")
    assert without(ours[1], "worker", "pid") == without(in_process[1], "worker", "pid")
    main = os.getpid()
    assert all(pid != main for batch in ours[0] for pid in np.ravel(batch["pid"]))
    assert_no_workers_left()


def test_worker_info_and_worker_init_fn_match_torch():
    loaders = [lib.DataLoader(Samples(lib, slow_at=0), batch_size=2, num_workers=2, worker_init_fn=shift_by_worker)
               for lib in (mud, tud)]
    ours, theirs = ([plain(batch) for batch in loader] for loader in loaders)
    # batches round-robin over the workers, handed out in order though the first comes last
    assert without(ours, "pid") == without(theirs, "pid")
    assert [batch["worker"] for batch in ours] == [[0, 0], [1, 1], [0, 0], [1, 1], [0]]
    assert [batch["image"][0][0] for batch in ours] == [100, 202, 104, 206, 108]
    assert loaders[0].dataset.offset == 0 and mud.get_worker_info() is None  # the workers changed their copies


class Draws(mud.Dataset):
    """Augmentation-like draws from the global generators a worker's seed seeds."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        info = mud.get_worker_info()
        return {"worker": info.id, "seed": info.seed, "python": random.random(), "numpy": np.random.random(),
                "minigrad": mg.rand(()).item()}


def draws(**options):
    return [plain(batch) for batch in mud.DataLoader(Draws(), batch_size=2, num_workers=2, **options)]


def test_workers_are_seeded_as_torch_seeds_them_and_reproducibly():
    batches = draws(generator=mg.Generator().manual_seed(5))
    by_worker = {worker: [batch for batch in batches if batch["worker"][0] == worker] for worker in (0, 1)}
    seeds = [by_worker[worker][0]["seed"][0] for worker in (0, 1)]
    assert seeds[1] == seeds[0] + 1 and 0 <= seeds[0] < 2 ** 63
    for worker, seed in enumerate(seeds):
        python, numpy = random.Random(seed), np.random.RandomState(_generate_state(seed - worker, worker))
        minigrad = mg.Generator().manual_seed(seed)
        values = {name: sum((batch[name] for batch in by_worker[worker]), []) for name in ("python", "numpy",
                                                                                           "minigrad")}
        assert values["python"] == [python.random() for _ in range(4)]
        assert values["numpy"] == [numpy.random_sample() for _ in range(4)]
        np.testing.assert_array_equal(values["minigrad"], [mg.rand((), generator=minigrad).item() for _ in range(4)])
    assert by_worker[0][0]["python"] != by_worker[1][0]["python"]
    assert draws(generator=mg.Generator().manual_seed(5)) == batches
    assert draws(generator=mg.Generator().manual_seed(6)) != batches
    mg.manual_seed(1)
    unseeded = draws()
    mg.manual_seed(1)
    assert draws() == unseeded != batches


def make_shards(base, get_worker_info):
    class Shards(base):
        """range(size) split between the workers as torch's documentation splits it, so unevenly."""

        def __init__(self, size):
            self.size = size

        def __iter__(self):
            info = get_worker_info()
            share = -(-self.size // info.num_workers)
            return iter(range(info.id * share, min((info.id + 1) * share, self.size)))
    return Shards


MgShards, TorchShards = make_shards(mud.IterableDataset, mud.get_worker_info), \
    make_shards(tud.IterableDataset, tud.get_worker_info)


@pytest.mark.parametrize("options", [dict(batch_size=2), dict(batch_size=None, persistent_workers=True)])
def test_iterable_dataset_sharded_by_worker_info_matches_torch(options):
    ours, theirs = mud.DataLoader(MgShards(11), num_workers=2, **options), \
        tud.DataLoader(TorchShards(11), num_workers=2, **options)
    expected = [plain(batch) for batch in theirs]
    assert [plain(batch) for batch in ours] == expected
    assert [plain(batch) for batch in ours] == expected  # the streams restart at each epoch
    del ours, theirs
    assert_no_workers_left()


@pytest.mark.parametrize("error", [ValueError, KeyError])
def test_an_error_in_a_worker_is_raised_with_its_traceback_as_torchs(error):
    loaded = []
    with pytest.raises(error) as caught:
        for batch in mud.DataLoader(Samples(mud, fail_at=5, error=error), batch_size=2, num_workers=2):
            loaded.append(plain(batch["index"]))
    assert loaded == [[0, 1], [2, 3]]
    ours = str(caught.value).splitlines()
    del caught
    try:  # the error as torch's workers report it (theirs take 10 s to shut down after one)
        Samples(tud, fail_at=5, error=error)[5]
    except error:
        wrapper = torch._utils.ExceptionWrapper(where="in DataLoader worker process 0")
    with pytest.raises(error) as caught:
        wrapper.reraise()
    theirs = str(caught.value).splitlines()
    assert ours[:2] == theirs[:2] == ["Caught " + error.__name__ + " in DataLoader worker process 0.",
                                      "Original Traceback (most recent call last):"]
    assert ours[-1] == theirs[-1] and "bad sample 5" in ours[-1]
    assert '    raise self.error(f"bad sample {index}")' in ours
    assert_no_workers_left()


def failing_init(worker_id):
    raise ValueError(f"no set-up for worker {worker_id}")


def test_errors_of_worker_init_fn_and_of_unpicklable_batches_are_raised():
    with pytest.raises(ValueError, match="Caught ValueError in DataLoader worker process 0.(.|\n)*no set-up for "
                                         "worker 0"):
        next(iter(mud.DataLoader(Samples(mud), num_workers=2, worker_init_fn=failing_init)))
    def as_generator(batch):
        return (sample for sample in batch)

    loader = mud.DataLoader(Samples(mud), batch_size=2, num_workers=2, collate_fn=as_generator)
    with pytest.raises(TypeError, match="Caught TypeError in DataLoader worker process 0.(.|\n)*cannot pickle"):
        next(iter(loader))
    assert_no_workers_left()


class Stalling(Samples):
    def __getitem__(self, index):
        if index == 2:
            time.sleep(1)
        if index == 4:
            os.kill(os.getpid(), signal.SIGKILL)
        return index


@pytest.mark.parametrize("index, timeout", [(2, 0.3), (4, 0)])
def test_a_stalled_or_killed_worker_raises_torchs_error(index, timeout):
    messages = []
    for lib in (mud, tud):
        with pytest.raises(RuntimeError) as caught:
            list(lib.DataLoader(Stalling(lib), sampler=[0, 1, index], num_workers=2, timeout=timeout))
        messages.append(re.sub(r"\d+\)", "PID)", str(caught.value)))
        del caught
    gc.collect()  # torch's iterator is kept by a reference cycle through its error
    assert messages[0] == messages[1] == (f"DataLoader timed out after {timeout} seconds" if timeout else
                                          "DataLoader worker (pid(s) PID) exited unexpectedly")
    assert_no_workers_left()


def test_persistent_workers_serve_every_epoch():
    loader = mud.DataLoader(Samples(mud), batch_size=2, num_workers=2, persistent_workers=True, shuffle=True,
                            generator=mg.Generator().manual_seed(2))
    for batch in loader:
        break  # the batches loaded ahead for this epoch are not handed out in the next
    epochs = [[plain(batch) for batch in loader] for _ in range(2)]
    workers = {tuple(np.unique(batch["pid"])) for epoch in epochs for batch in epoch}
    assert len(workers) == 2 and len(multiprocessing.active_children()) == 2
    for epoch in epochs:
        assert sorted(sum((batch["index"] for batch in epoch), [])) == list(range(9))
    assert epochs[0] != epochs[1]
    del loader, batch
    assert_no_workers_left()


def test_no_worker_is_left_after_a_break_or_an_unfinished_iterator():
    loader = mud.DataLoader(Samples(mud, size=40), batch_size=2, num_workers=2)
    for _ in loader:
        break
    assert_no_workers_left()
    iterator = iter(loader)
    assert len(multiprocessing.active_children()) == 2
    del iterator
    assert_no_workers_left()


def test_persistent_workers_end_with_the_interpreter_leaving_no_block_and_saying_nothing():
    script = ("import multiprocessing, os, time\nimport numpy as np\nimport minigrad as mg\n"
              "import minigrad.utils.data as mud\n"
              "images = [mg.tensor(np.full((3, 128, 128), index, np.float32)) for index in range(40)]\n"
              "loader = mud.DataLoader(images, batch_size=2, num_workers=2, persistent_workers=True)\n"
              "next(iter(loader))\ntime.sleep(0.3)\n"
              "pids = [process.pid for process in multiprocessing.active_children()]\nprint(*pids)\n"
              "prefixes = tuple(f'minigrad_{pid}_' for pid in pids)\n"
              "names = os.listdir('/dev/shm') if os.path.isdir('/dev/shm') else []\n"
              "print(*[name for name in names if name.startswith(prefixes)])\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    quiet_on_one_cpu = "ignore:This DataLoader will create:UserWarning"  # as this file's marks: 2 workers on 1 CPU
    done = subprocess.run([sys.executable, "-W", quiet_on_one_cpu, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=root)
    assert done.returncode == 0 and done.stderr == ""  # nor the resource tracker's warnings of leaked blocks
    pids, in_flight = (line.split() for line in done.stdout.splitlines())
    assert len(pids) == 2
    for pid in pids:  # gone, or a zombie that nothing has reaped yet
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1][0] in "ZX"
    if os.path.isdir("/dev/shm"):  # where blocks are files (Linux)
        assert in_flight and not set(in_flight) & set(os.listdir("/dev/shm"))


@pytest.mark.parametrize("context", ["thread", 3, "fork"])
def test_multiprocessing_context_is_checked_as_torchs(context):
    for num_workers in (0, 2):
        try:
            tud.DataLoader(list(range(4)), num_workers=num_workers, multiprocessing_context=context)
        except (ValueError, TypeError) as error:
            with pytest.raises(type(error)) as ours:
                mud.DataLoader(list(range(4)), num_workers=num_workers, multiprocessing_context=context)
            assert str(ours.value) == str(error)
        else:
            loader = mud.DataLoader(list(range(4)), num_workers=num_workers, multiprocessing_context=context)
            assert loader.multiprocessing_context.get_start_method() == context
            assert [batch.tolist() for batch in loader] == [[0], [1], [2], [3]]


def test_more_workers_than_cpus_warn_as_torch():
    too_many = len(os.sched_getaffinity(0)) + 1
    warned = []
    for lib in (mud, tud):
        with pytest.warns(UserWarning, match="This DataLoader will create") as caught:
            lib.DataLoader(list(range(4)), num_workers=too_many)
        warned.append([str(warning.message) for warning in caught])
    assert warned[0] == warned[1][:1]


def large_op():
    """An op large enough that minigrad splits it over its thread pool."""
    return (mg.tensor(np.linspace(-1, 1, 3 * 512 * 512, dtype=np.float32).reshape(3, 512, 512)) * 2.0).exp()


class LargeOps(mud.Dataset):
    def __len__(self):
        return 3

    def __getitem__(self, index):
        return {"value": large_op()[index], "threads": parallel.get_num_threads()}


@pytest.fixture
def two_threads():
    """minigrad's pool of threads, started (as by any large op) before a fork."""
    pytest.importorskip("threadpoolctl")  # without it minigrad runs on one thread
    threads = parallel.get_num_threads()
    parallel.set_num_threads(2)
    large_op()
    yield
    parallel.set_num_threads(threads)


def test_large_ops_in_workers_after_the_main_pool_has_run_complete_on_one_thread(two_threads):
    loader = mud.DataLoader(LargeOps(), batch_size=2, num_workers=2, timeout=10)  # a pool waiting forever times out
    batches = list(loader)
    expected = large_op()
    np.testing.assert_array_equal(np.concatenate([batch["value"].numpy() for batch in batches]), expected.numpy())
    assert [batch["threads"].tolist() for batch in batches] == [[1, 1], [1]]  # as torch's workers
    assert parallel.get_num_threads() == 2


def run_large_op(results):
    results.put((parallel.get_num_threads(), large_op().numpy()))


def test_a_forked_child_of_the_users_own_runs_large_ops(two_threads):
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=run_large_op, args=(results,))
    child.start()
    try:
        threads, value = results.get(timeout=10)
    finally:
        child.join(1)
        if child.is_alive():
            child.kill()
    assert threads == 2 and child.exitcode == 0
    np.testing.assert_array_equal(value, large_op().numpy())


class Images(mud.Dataset):
    """Image-sized samples (float64 ones, and batches of float32 ones, cross in shared memory), small labels; a
    sample may fail, or kill its worker as it is sent."""

    def __init__(self, size=8, fail_at=None, kill_at=None):
        self.size, self.fail_at, self.kill_at = size, fail_at, kill_at

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if index == self.fail_at:
            raise ValueError(f"bad sample {index}")
        image = np.random.default_rng(index).random((3, 128, 128))
        sample = {"image": mg.tensor(image, dtype=mg.float32), "mask": mg.tensor(image > 0.5), "label": index,
                  "grad": mg.tensor(image.T, requires_grad=True), "pid": os.getpid()}
        if index == self.kill_at:
            sample["end"] = KillsItsProcessWhenPickled()  # after "grad" has gone into a block
        return sample


class KillsItsProcessWhenPickled:
    def __reduce__(self):
        os.kill(os.getpid(), signal.SIGKILL)


received = []


def spied_shared_tensor(*args):
    received.append(args[0])
    return shared_tensor(*args)


shared_tensor = mg_workers._shared_tensor


def test_large_batches_cross_in_shared_memory_equal_to_loading_in_process(monkeypatch):
    monkeypatch.setattr(mg_workers, "_shared_tensor", spied_shared_tensor)
    received.clear()
    ours, in_process = (list(mud.DataLoader(Images(), batch_size=2, num_workers=workers)) for workers in (2, 0))
    assert len(ours) == len(in_process) == 4
    for batch, expected in zip(ours, in_process):
        for key in ("image", "mask", "label", "grad"):
            assert batch[key].dtype == expected[key].dtype and batch[key].requires_grad == expected[key].requires_grad
            np.testing.assert_array_equal(batch[key].numpy(), expected[key].detach().numpy())
    assert len(received) == 4 * 2  # image and grad; the masks (96 KiB) and labels are small enough to pickle


def blocks(pids):
    """The shared-memory blocks of the workers `pids` (not of others' tests running beside these)."""
    return [name for name in os.listdir("/dev/shm") if name.startswith(tuple(f"minigrad_{pid}_" for pid in pids))]


def load_until(end, loader):
    """Loads batches until `end` (None, "break" or an error of the loader's); at the second batch, once both
    workers have sent one, they are given time to fill the pipe (up to 10 s, on a loaded machine). Returns the
    workers and their blocks then."""
    pids, in_flight = set(), []
    try:
        for number, batch in enumerate(loader):
            pids.add(int(batch["pid"]))
            if number == 1:
                deadline = time.monotonic() + 10
                while not in_flight and time.monotonic() < deadline:
                    time.sleep(0.05)
                    in_flight = blocks(pids)
                if end == "break":
                    break
    except (ValueError, RuntimeError):
        pass
    return pids, in_flight


needs_dev_shm = pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="blocks are files in /dev/shm on Linux")


@needs_dev_shm
@pytest.mark.parametrize("end, options", [(None, {}), ("break", {}), ("break", dict(persistent_workers=True)),
                                          ("error", dict(fail_at=12)), ("killed worker", dict(kill_at=12))])
def test_no_shared_memory_block_is_left_behind(end, options):
    persistent = options.pop("persistent_workers", False)
    loader = mud.DataLoader(Images(size=16, **options), batch_size=None, num_workers=2, persistent_workers=persistent)
    pids, in_flight = load_until(end, loader)
    assert len(pids) == 2 and in_flight  # batches loaded ahead wait in shared memory
    if persistent:
        assert [batch["label"] for batch in loader] == list(range(16))  # the old epoch's in flight are discarded
        assert blocks(pids) == []
        del loader
    gc.collect()
    assert blocks(pids) == []
    assert_no_workers_left()
