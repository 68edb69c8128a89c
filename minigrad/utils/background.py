"""Work done ahead of its consumer on background threads, handed over in order."""
import queue
import threading

_DONE = object()


def in_background(iterable, depth):
    """Yield from the generator `iterable`, computed up to `depth` items ahead in a thread.

    An exception in the thread is re-raised here; when the consumer stops early the thread is told
    to stop and joined, so nothing is left running.
    """
    results = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                results.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in iterable:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as err:  # handed to the consumer, which re-raises it
            put((None, err))
        finally:
            iterable.close()  # a generator stopped early ends here, with its worker threads

    thread = threading.Thread(target=produce, name="data-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = results.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()

