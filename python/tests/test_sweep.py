import numpy as np
import pytest

import zo


def test_sweep_grid_and_rows():
    configs = zo.sweep_grid(["gd", "zo"], [0.1, 0.05], [1e-3])
    assert [c.method for c in configs] == ["gd", "zo", "zo"]
    sweep = zo.Sweep(zo.Example21(4), configs, [0, 1], 50, log_iterations=[0, 10], backend="cpu")
    assert sweep.num_runs == 6
    rows = {k: [] for k in ("run", "iteration", "loss")}
    while not sweep.done:
        got = sweep.advance(7)
        for k in rows:
            rows[k].extend(got[k].tolist())
    assert sorted(set(rows["iteration"])) == [0, 10, 50]
    assert len(rows["run"]) == 6 * 3
    finals = sweep.finals()
    assert finals["loss"].shape == (6,)
    # every configuration of a seed starts at the same point: equal losses at iteration 0
    loss0 = {r: l for r, i, l in zip(rows["run"], rows["iteration"], rows["loss"]) if i == 0}
    assert loss0[0] == loss0[2] == loss0[4]
    assert len(sweep.summarize()) == 3


def test_run_sweep_writes_the_table(tmp_path):
    sweep = zo.Sweep(zo.Example21(3), zo.sweep_grid(["zo"], [0.1], [1e-3]), [0, 1, 2], 20,
                     log_iterations=[5], backend="cpu")
    table = tmp_path / "t.csv"
    assert sweep.run(str(table), summary=str(tmp_path / "s.csv")) == "completed"
    lines = table.read_text().splitlines()
    assert len(lines) == 1 + 3 * 2
    assert (tmp_path / "s.csv").exists()


def test_sweep_with_a_python_objective_and_interruption(tmp_path):
    f = zo.CallbackObjective(4, lambda p: 0.5 * (p.astype(np.float64) ** 2).sum(1))
    sweep = zo.Sweep(f, zo.sweep_grid(["zo"], [0.1], [1e-2]), [0], 100, backend="cpu")
    status = sweep.run(str(tmp_path / "t.csv"), checkpoint=str(tmp_path / "c.bin"),
                       should_stop=lambda progress: True)
    assert status == "interrupted"
    assert (tmp_path / "c.bin").exists() and not (tmp_path / "t.csv").exists()


def test_ctrl_c_stops_at_a_step_boundary_with_a_checkpoint(tmp_path):
    import os
    import signal
    import threading

    # Example 2.1 runs in C++ only, so the signal is seen where zo polls between steps
    sweep = zo.Sweep(zo.Example21(50), zo.sweep_grid(["zo"], [0.1], [1e-4]), [0], 4_000_000,
                     backend="cpu")
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sweep.run(str(tmp_path / "t.csv"), checkpoint=str(tmp_path / "c.bin"))
    finally:
        timer.cancel()
    assert (tmp_path / "c.bin").exists() and not (tmp_path / "t.csv").exists()
    assert not sweep.done
