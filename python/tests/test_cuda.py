"""CUDA tensors: the GPU passes equal the CPU's bit for bit, on torch's current stream. Skipped
without a CUDA device or with a CPU-only libzo."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import zo  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (torch.cuda.is_available() and zo.cuda_available()),
    reason="needs a CUDA device and a libzo built with CUDA")


def test_fill_direction_on_device_equals_the_host():
    out = torch.empty(1001, device="cuda")
    zo.fill_direction(out, seed=3, step=5, substream=1)
    np.testing.assert_array_equal(out.cpu().numpy(), zo.direction(3, 5, 1001, 1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_stepper_on_a_side_stream_equals_the_cpu(dtype):
    g = torch.Generator().manual_seed(0)
    host = [torch.randn(n, generator=g).to(dtype) for n in (5, 4097, 3)]
    dev = [t.cuda() for t in host]
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        s_dev = zo.Stepper(dev, lam=0.01, eta=0.1, q=2, seed=4, restore="exact")
    s_host = zo.Stepper(host, lam=0.01, eta=0.1, q=2, seed=4, restore="exact")
    assert s_dev.backend == "cuda" and s_host.backend == "cpu"
    values = [(1.0, 0.5), (0.25, 0.75)]
    with torch.cuda.stream(side):
        for fp, fm in values:
            for s in (s_host, s_dev):
                s.perturb()
                s.flip()
                s.update(fp, fm)
    side.synchronize()
    for a, b in zip(host, dev):
        assert torch.equal(a, b.cpu())
