"""python/examples/flat_minima.py runs end to end (a few steps): the digits task, and the Hugging
Face path against a stand-in `transformers` module (the real one needs a download)."""
import csv
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "flat_minima.py"

FAKE_TRANSFORMERS = textwrap.dedent("""
    import torch

    class _Tok:
        def __call__(self, texts, padding, truncation, max_length, return_tensors):
            ids = [[ord(c) % 50 for c in t[:max_length]] for t in texts]
            width = max(len(i) for i in ids)
            ids = [i + [0] * (width - len(i)) for i in ids]
            return {"input_ids": torch.tensor(ids)}

    class AutoTokenizer:
        @staticmethod
        def from_pretrained(name):
            return _Tok()

    class _Out:
        def __init__(self, logits):
            self.logits = logits

    class _Model(torch.nn.Module):
        def __init__(self, num_labels):
            super().__init__()
            torch.manual_seed(0)
            self.emb = torch.nn.Embedding(50, 8)
            self.head = torch.nn.Linear(8, num_labels)

        def forward(self, input_ids):
            return _Out(self.head(self.emb(input_ids).mean(1)))

    class AutoModelForSequenceClassification:
        @staticmethod
        def from_pretrained(name, num_labels):
            return _Model(num_labels)
""")


def rows_of(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_digits(tmp_path):
    pytest.importorskip("sklearn")
    out = tmp_path / "fm"
    subprocess.run([sys.executable, str(EXAMPLE), "--steps", "20", "--every", "10",
                    "--samples", "4", "--out", str(out)], check=True, capture_output=True)
    rows = rows_of(str(out) + ".csv")
    assert [(r["method"], r["step"]) for r in rows] == [
        ("gd", "0"), ("gd", "10"), ("gd", "20"), ("zo", "0"), ("zo", "10"), ("zo", "20")]
    assert float(rows[2]["train_loss"]) < float(rows[0]["train_loss"])
    assert (tmp_path / "fm.png").stat().st_size > 1000


def test_hugging_face_path_with_a_stand_in_model(tmp_path):
    (tmp_path / "transformers.py").write_text(FAKE_TRANSFORMERS)
    for name, n in (("train.jsonl", 12), ("test.jsonl", 6)):
        with open(tmp_path / name, "w") as f:
            for i in range(n):
                f.write(json.dumps({"sentence": "good" if i % 2 else "bad movie", "label": i % 2}) + "\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    out = tmp_path / "hf"
    subprocess.run([sys.executable, str(EXAMPLE), "--hf-model", "stand-in", "--data",
                    str(tmp_path / "train.jsonl"), "--test-data", str(tmp_path / "test.jsonl"),
                    "--steps", "4", "--every", "2", "--samples", "3", "--out", str(out)],
                   check=True, capture_output=True, env=env)
    assert len(rows_of(str(out) + ".csv")) == 6
    assert (tmp_path / "hf.png").exists()
