"""Long calls into libzo release the GIL. With a switch interval of 30 s the interpreter never
takes the GIL away from a thread, so the main thread runs while a worker is inside zo only if zo
released it."""
import sys
import threading

import numpy as np

import zo


def test_stepper_passes_release_the_gil():
    x = np.ones(4_000_000, np.float32)
    s = zo.Stepper([x], lam=1e-3, eta=0.0)
    done = threading.Event()
    passes = 12

    def work():
        for _ in range(passes // 2):
            s.perturb()
            s.restore()
        done.set()

    old = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    try:
        count = 0
        t = threading.Thread(target=work)
        t.start()
        while not done.is_set():
            count += 1
            done.wait(0.0005)  # releases the GIL briefly; the worker keeps it unless zo drops it
        t.join()
    finally:
        sys.setswitchinterval(old)
    # Holding the GIL through the passes would leave the main thread about one iteration.
    assert count >= passes, count
