"""The DataLoader's worker processes, as torch's: each loads whole batches in a copy of the data set, sent to it
round-robin, and the main process hands them out in order (or as they arrive, where order is not asked for).
Tensors cross from a worker as their arrays and are made tensors again in the main process; large NumPy arrays
cross in shared memory, as torch's tensors do, in blocks that each worker keeps and fills again once the main
process has copied a batch out."""
import collections
import itertools
import math
import multiprocessing.queues
import multiprocessing.util
import os
import queue
import random
import secrets
import sys
import threading
import time
import traceback
from multiprocessing import resource_tracker, shared_memory
from multiprocessing.reduction import ForkingPickler

import numpy as np

from .. import parallel
from .. import random as minigrad_random
from ..tensor import Tensor

_POLL_SECONDS = 0.5  # how often a waiting main process checks its workers, and a waiting worker its parent
_NO_KEY = object()
# Smaller arrays are pickled. A reused block costs less than pickling even at 48 KiB (measured), but each stays
# mapped in both processes while the workers last, and holds two file descriptors in the main process.
_SHARED_MIN_BYTES = 1 << 17
_SHM_DIR = "/dev/shm"  # where the blocks are files (Linux), so that those never received can be found
_block_numbers = itertools.count()

WorkerInfo = collections.namedtuple("WorkerInfo", "id num_workers seed dataset")
WorkerInfo.__doc__ = "What get_worker_info() tells a worker process: its id, their number, its seed, its data set."

_worker_info = None
_pool = None  # a worker's blocks
# In the main process, by the token of each running worker (see _Pool): the blocks it holds mapped, by name, and
# those copied out of since the worker's last task was sent.
_mapped, _copied = {}, {}


def get_worker_info():
    """The WorkerInfo of this worker process (a data set picks its share of a stream by it); None in the main
    process."""
    return _worker_info


def _reduce_tensor(tensor):
    """A tensor as its array (no graph) when it crosses between processes; a large NumPy one from a worker in a
    shared-memory block (a pipe copies pickled data several times), which the main process copies out of."""
    array = tensor.data
    if _worker_info is None or not isinstance(array, np.ndarray) or array.nbytes < _SHARED_MIN_BYTES:
        return Tensor, (array, tensor.requires_grad)
    block, retired = _pool.taken(array.nbytes)
    np.ndarray(array.shape, array.dtype, block.buf)[...] = array
    return _shared_tensor, (block.name, _pool.token, array.shape, array.dtype, tensor.requires_grad, retired)


def _shared_tensor(name, token, shape, dtype, requires_grad, retired):
    """The tensor worker `token` sent in block `name`, copied out of it; the block is then the worker's to use again
    (see _Pool). A block new to the main process is unlinked once mapped, and those its worker has `retired`
    closed."""
    mapped = _mapped[token]
    for old in retired:
        mapped.pop(old).close()
    block = mapped.get(name)
    if block is None:
        block = mapped[name] = shared_memory.SharedMemory(name)
        block.unlink()  # mapped in both processes, it needs no name: none is left behind
    array = np.ndarray(shape, dtype, block.buf).copy()
    _copied[token].append(name)
    return Tensor(array, requires_grad)


class _Pool:
    """A worker's shared-memory blocks, each used again once the main process has copied out the array it carried
    (it says so with the worker's next task): the first writes to a new block fault its pages in, which costs many
    times the copy (measured: 8-14 ms to fill a new block of 3 MiB and copy it out, 0.3-0.5 ms for one used before).
    The main process knows the worker by its token, which the blocks' names carry too (see _block_prefix)."""

    def __init__(self, token):
        self.token, self.blocks, self.free = token, {}, []
        self.lock = threading.Lock()  # taken from by the results queue's sending thread

    def taken(self, size):
        """A free block of `size` bytes or more (the smallest), else a new one, and the names of the free blocks
        retired for being too small: at most as many blocks are kept as have been in flight at once."""
        with self.lock:
            fitting = [name for name in self.free if self.blocks[name].size >= size]
            if fitting:
                name = min(fitting, key=lambda name: self.blocks[name].size)
                self.free.remove(name)
                return self.blocks[name], ()
            retired, self.free = tuple(self.free), []
            for name in retired:
                self.blocks.pop(name).close()
            name = f"{_block_prefix(os.getpid())}{self.token}_{next(_block_numbers)}"
            block = self.blocks[name] = shared_memory.SharedMemory(name, create=True, size=size)
            return block, retired

    def give_back(self, names):
        with self.lock:
            self.free.extend(names)


def _block_prefix(pid):
    """The start of the names of worker `pid`'s blocks; a token of the worker's own follows, so that a block left by
    an earlier process of the same pid (a main process that crashed) never stands in a new worker's way."""
    return f"minigrad_{pid}_"


def _unlink_blocks(pids):
    """Unlinks the blocks that the (stopped) workers `pids` made and the main process did not receive: those in
    flight at a break, or made by a worker that died."""
    if not os.path.isdir(_SHM_DIR):
        return
    prefixes = tuple(_block_prefix(pid) for pid in pids)
    for name in os.listdir(_SHM_DIR):
        if name.startswith(prefixes):
            try:
                block = shared_memory.SharedMemory(name)  # attached and unlinked: the tracker forgets it
            except ValueError:  # empty: its worker was killed making it, before the tracker heard of it
                os.unlink(os.path.join(_SHM_DIR, name))
                continue
            block.close()
            block.unlink()


ForkingPickler.register(Tensor, _reduce_tensor)


class _KeyErrorMessage(str):
    """KeyError shows repr() of its argument: this text shows as itself, traceback lines and all."""

    def __repr__(self):
        return self


class WorkerError:
    """An exception raised in a worker, carried to the main process as its type and traceback text (a traceback
    does not cross processes), and raised there as torch raises it."""

    def __init__(self, worker_id):
        error_type, error, trace = sys.exc_info()
        self.type = error_type
        self.message = (f"Caught {error_type.__name__} in DataLoader worker process {worker_id}.\n"
                        f"Original {''.join(traceback.format_exception(error_type, error, trace))}")

    def reraise(self):
        raise self._rebuilt()

    def _rebuilt(self):
        """The exception, of the original type where it takes a message (KeyError's shown as it is)."""
        try:
            return self.type(_KeyErrorMessage(self.message) if self.type is KeyError else self.message)
        except Exception:
            return RuntimeError(self.message)


class _Results(multiprocessing.queues.Queue):
    """The workers' answers: a batch that fails to pickle (in the queue's sending thread) is answered with the
    error, rather than never."""

    def _on_queue_feeder_error(self, error, answer):
        epoch, number, _ = answer
        self.put((epoch, number, WorkerError(_worker_info.id)))


class _StreamEnd:
    """A worker's answer once its copy of an iterable-style data set has no batch left this epoch."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


def _seed_worker(info):
    """Python's, minigrad's and NumPy's global generators seeded as torch seeds them in a worker (NumPy's from the
    base seed and the worker id by SeedSequence, whose words torch's _generate_state computes)."""
    random.seed(info.seed)
    minigrad_random.manual_seed(info.seed)
    np.random.seed(np.random.SeedSequence([info.id, info.seed - info.id]).generate_state(4))


def _unmap_inherited_blocks():
    """A forked worker starts with the main process's mappings of other loaders' blocks: it closes them, so that
    their memory is freed once the main process closes its own, not only when this worker exits."""
    for blocks in _mapped.values():
        for block in blocks.values():
            block.close()
    _mapped.clear()
    _copied.clear()


def _work(fetcher, info, token, worker_init_fn, tasks, results, stopping):
    """A worker process: answers each task (epoch, number, key, blocks copied out of) with (epoch, number, batch)
    until it is sent None, the pool is stopping or its parent has exited. An iterable-style data set's stream
    restarts each epoch."""
    global _worker_info, _pool
    _unmap_inherited_blocks()
    _worker_info, _pool = info, _Pool(token)
    parallel.set_num_threads(1)  # as torch's workers: the workers, not threads within each, share the cores
    _seed_worker(info)
    parent = os.getppid()
    failure = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(info.id)
    except Exception:
        failure = WorkerError(info.id)  # answers the first task, as in torch
    epoch, stream = None, None
    try:
        while True:
            try:
                task = tasks.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if os.getppid() != parent:
                    break
                continue
            if task is None or stopping.is_set():
                break
            task_epoch, number, key, copied = task
            _pool.give_back(copied)
            if fetcher.iterable and task_epoch != epoch:
                stream = fetcher.stream()
            epoch = task_epoch
            if failure is not None:
                batch, failure = failure, None
            else:
                try:
                    batch = next(stream, _StreamEnd(info.id)) if fetcher.iterable else fetcher(key)
                except Exception:
                    batch = WorkerError(info.id)
            results.put((epoch, number, batch))
            del batch  # not held while waiting for the next task
    except KeyboardInterrupt:  # the main process gets its own
        pass
    results.cancel_join_thread()  # exit now: the main process is no longer reading


class Workers:
    """num_workers processes loading a DataLoader's batches, started with `context`, each seeded with
    base_seed + its id; they serve the epochs one after the other (persistent workers serve many)."""

    def __init__(self, fetcher, num_workers, base_seed, worker_init_fn, context, depth, timeout):
        self.depth, self.timeout, self.epoch = depth, timeout, 0
        self.results, self.stopping = _Results(ctx=context), context.Event()
        self.tasks = [context.Queue() for _ in range(num_workers)]
        self.tokens = [secrets.token_hex(4) for _ in range(num_workers)]
        self.processes = []
        if os.name == "posix":  # one tracker for the blocks of all, not one per worker ending with it
            resource_tracker.ensure_running()
        for worker_id, (tasks, token) in enumerate(zip(self.tasks, self.tokens)):
            tasks.cancel_join_thread()  # nothing left to send matters once the main process exits
            info = WorkerInfo(worker_id, num_workers, base_seed + worker_id, fetcher.dataset)
            _mapped[token], _copied[token] = {}, []
            process = context.Process(target=_work, args=(fetcher, info, token, worker_init_fn, tasks, self.results,
                                                           self.stopping), daemon=True)
            process.start()
            self.processes.append(process)
        # run by close, or at exit once multiprocessing has ended the workers (its finalizers of priority < 0)
        self.unlink_blocks = multiprocessing.util.Finalize(self, _unlink_blocks, args=(
            [process.pid for process in self.processes],), exitpriority=-1)

    @property
    def closed(self):
        return self.stopping.is_set()

    def batches(self, keys, close_at_end, in_order):
        """An iterator over one epoch's batches, one for each of `keys` (each None for an iterable-style data set,
        whose epoch ends as every worker's stream has), in the order of the keys or, not in_order, of their
        arrival."""
        self.epoch += 1
        return _Epoch(self, keys, close_at_end, in_order)

    def receive(self):
        """The next (epoch, number, batch) from any worker, waiting at most `timeout` seconds where it is set;
        a worker that died is an error rather than a wait without end."""
        deadline = time.monotonic() + self.timeout if self.timeout else math.inf
        while True:
            try:
                return self.results.get(timeout=min(_POLL_SECONDS, max(deadline - time.monotonic(), 0)))
            except queue.Empty:
                dead = [process for process in self.processes if not process.is_alive()]
                if dead:
                    self.close()
                    raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(str(process.pid) for process in dead)}) "
                                       f"exited unexpectedly") from None
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds") from None

    def close(self):
        """Stops the workers (at the task they are on), then ends any that do not stop at once."""
        if self.closed:
            return
        self.stopping.set()
        for tasks, process in zip(self.tasks, self.processes):
            if process.is_alive():
                tasks.put(None)
        for process in self.processes:
            process.join(_POLL_SECONDS)
            if process.is_alive():
                process.terminate()
                process.join()
        for channel in (*self.tasks, self.results):
            channel.close()
        self.unlink_blocks()
        for token in self.tokens:
            del _copied[token]
            for block in _mapped.pop(token).values():
                block.close()

    def __del__(self):
        self.close()


class _Epoch:
    """The batches of one epoch: up to `depth` tasks out at a time, each sent to the next worker whose stream has not
    ended. In order, batches that arrive early wait for their turn; else, as torch's, each is handed out as it
    arrives, and a task goes to the next worker with fewer than its share of the depth out, so that a slow batch
    holds up no others."""

    def __init__(self, workers, keys, close_at_end, in_order):
        self.workers, self.keys, self.close_at_end, self.epoch = workers, keys, close_at_end, workers.epoch
        self.in_order = in_order
        self.turns = itertools.cycle(range(len(workers.processes)))
        self.streaming = [True] * len(workers.processes)
        self.owners, self.arrived = [], {}  # the worker of each task sent; the batches arrived early, by task
        self.handed_out = 0  # the task whose batch is next in order
        self.handed_early = set()  # tasks whose batches were handed out before their turn
        self.tasks_out = [0] * len(workers.processes)  # by worker: tasks sent whose batches are not handed out
        for _ in range(workers.depth):
            self._send()

    def __iter__(self):
        return self

    def _send(self):
        key = next(self.keys, _NO_KEY)
        if key is _NO_KEY:
            return
        share = self.workers.depth // max(sum(self.streaming), 1)
        worker = next((worker for worker in itertools.islice(self.turns, len(self.streaming))
                       if self.streaming[worker] and (self.in_order or self.tasks_out[worker] < share)), None)
        if worker is not None:
            token = self.workers.tokens[worker]
            copied, _copied[token] = _copied[token], []
            self.workers.tasks[worker].put((self.epoch, len(self.owners), key, copied))
            self.owners.append(worker)
            self.tasks_out[worker] += 1

    def _handed_out(self, number, batch):
        """The batch of task `number`, handed out: its worker is sent another task."""
        self.tasks_out[self.owners[number]] -= 1
        self._send()
        if isinstance(batch, WorkerError):
            batch.reraise()
        return batch

    def __next__(self):
        while True:
            if self.epoch != self.workers.epoch:  # a later epoch of persistent workers has begun
                raise StopIteration
            while self.handed_out < len(self.owners) and self.handed_out not in self.arrived and (
                    self.handed_out in self.handed_early or not self.streaming[self.owners[self.handed_out]]):
                self.handed_early.discard(self.handed_out)
                self.handed_out += 1  # a task handed out already, or one its worker's ended stream has no batch for
            if self.handed_out == len(self.owners):
                if self.close_at_end:
                    self.workers.close()
                raise StopIteration
            if self.handed_out in self.arrived:
                number, self.handed_out = self.handed_out, self.handed_out + 1
                return self._handed_out(number, self.arrived.pop(number))
            epoch, number, batch = self.workers.receive()
            if epoch != self.epoch:
                continue
            if isinstance(batch, _StreamEnd):
                self.streaming[batch.worker_id] = False
                self._send()
            elif self.in_order:
                self.arrived[number] = batch
            else:
                self.handed_early.add(number)
                return self._handed_out(number, batch)
