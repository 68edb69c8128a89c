"""The shared-memory blocks of the DataLoader's worker processes, used again from batch to batch: a batch kept keeps
its values while later ones fill the blocks it came in, blocks too small for later batches are let go, and no block
is left mapped or named once the workers end (exhausted, deleted, or one of them killed)."""
import gc
import os
import signal
from contextlib import nullcontext

import numpy as np
import pytest

import minigrad.utils.data as mud
import minigrad.utils.workers as mg_workers

pytestmark = [pytest.mark.filterwarnings("ignore:This DataLoader will create"),
              pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="blocks are files in /dev/shm on Linux")]


def image(index, side=128):
    return np.random.default_rng(index).random((3, side, side), dtype=np.float32) + index


class Images(mud.Dataset):
    """Image-sized samples, each of its own values (and, `growing`, of its own size); one may kill its worker."""

    def __init__(self, size, growing=False, kill_at=None):
        self.size, self.growing, self.kill_at = size, growing, kill_at

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if index == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return {"image": image(index, 128 + 8 * index if self.growing else 128), "pid": os.getpid()}


received = []


def spied_shared_tensor(*args):
    received.append(args[0])
    return shared_tensor(*args)


shared_tensor = mg_workers._shared_tensor


@pytest.fixture
def blocks_received(monkeypatch):
    """The names of the blocks the main process receives batches in (set before the workers start)."""
    monkeypatch.setattr(mg_workers, "_shared_tensor", spied_shared_tensor)
    received.clear()
    return received


def named_blocks(pids):
    return [name for name in os.listdir("/dev/shm") if name.startswith(tuple(f"minigrad_{pid}_" for pid in pids))]


def workers_tokens(names):
    """The tokens by which the main process knows the workers that made the blocks `names` (minigrad_PID_TOKEN_N)."""
    return {name.split("_")[2] for name in names}


def assert_nothing_held(pids, names):
    """Neither named in /dev/shm nor mapped in the main process: the blocks of the workers `pids` are gone."""
    assert named_blocks(pids) == []
    tokens = workers_tokens(names)
    assert len(tokens) == len(pids) and not tokens & (set(mg_workers._mapped) | set(mg_workers._copied))


def test_a_kept_batch_keeps_its_values_while_its_blocks_carry_later_ones(blocks_received):
    loader = mud.DataLoader(Images(24), batch_size=2, num_workers=2)
    batches = iter(loader)
    kept = next(batches)
    view = kept["image"].numpy()[1, 2]  # a view outlives its batch's tensor as well
    del kept
    later, pids = [], set()
    for batch in batches:
        later.append(batch["image"].numpy())
        pids.update(batch["pid"].tolist())
    np.testing.assert_array_equal(view, image(1)[2])
    for number, images in enumerate(later, 1):
        np.testing.assert_array_equal(images, np.stack([image(2 * number), image(2 * number + 1)]))
    # each worker fills at most as many blocks as it has batches in flight and copied out but not yet given back
    assert len(blocks_received) == 12 and len(set(blocks_received)) <= 2 * 2 * loader.prefetch_factor
    del batches
    gc.collect()
    assert_nothing_held(pids, blocks_received)


def test_persistent_workers_fill_the_same_blocks_every_epoch(blocks_received):
    loader = mud.DataLoader(Images(12), batch_size=None, num_workers=2, persistent_workers=True)
    epochs, pids = [], set()
    for _ in range(2):
        blocks_received.clear()
        for index, batch in enumerate(loader):
            np.testing.assert_array_equal(batch["image"].numpy(), image(index))
            pids.add(int(batch["pid"]))
        epochs.append(list(blocks_received))
    assert len(epochs[0]) == len(epochs[1]) == 12 and set(epochs[1]) <= set(epochs[0])
    assert len(pids) == 2 and named_blocks(pids) == []  # mapped in both processes, the blocks need no names
    assert workers_tokens(blocks_received) <= set(mg_workers._mapped)
    del batch, loader
    gc.collect()
    assert_nothing_held(pids, blocks_received)


@pytest.mark.parametrize("end", ["exhausted", "deleted", "killed worker"])
def test_blocks_too_small_are_let_go_and_none_is_left_when_the_workers_end(blocks_received, end):
    loader = mud.DataLoader(Images(14, growing=True, kill_at=9 if end == "killed worker" else None),
                            batch_size=None, num_workers=2)
    pids, mapped = set(), []
    with pytest.raises(RuntimeError, match="exited unexpectedly") if end == "killed worker" else nullcontext():
        for index, batch in enumerate(loader):
            np.testing.assert_array_equal(batch["image"].numpy(), image(index, 128 + 8 * index))
            pids.add(int(batch["pid"]))
            mapped.append(sum(len(mg_workers._mapped[token]) for token in workers_tokens(blocks_received)))
            if end == "deleted" and index == 6:
                break
    assert len(pids) == 2
    assert max(mapped) <= 2 * 2 * loader.prefetch_factor and len(set(blocks_received)) > max(mapped)
    del batch, loader
    gc.collect()
    assert_nothing_held(pids, blocks_received)


class MappedBlocks(mud.Dataset):
    """Each sample: how many minigrad blocks its worker process has mapped as it loads it."""

    def __len__(self):
        return 2

    def __getitem__(self, index):
        with open("/proc/self/maps") as maps:
            return np.array([sum("/minigrad_" in line for line in maps)])


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads a process's mappings from /proc (Linux)")
def test_a_forked_worker_does_not_keep_another_loaders_blocks_mapped():
    first = iter(mud.DataLoader(Images(4), batch_size=None, num_workers=1, multiprocessing_context="fork"))
    next(first)  # the main process now maps a block of the first loader's worker
    assert sum(len(blocks) for blocks in mg_workers._mapped.values()) >= 1
    second = mud.DataLoader(MappedBlocks(), batch_size=None, num_workers=1, multiprocessing_context="fork")
    assert [int(count) for count in second] == [0, 0]
    del first
    gc.collect()
