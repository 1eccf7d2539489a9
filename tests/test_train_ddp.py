"""scripts/train_ddp.py: DCGAN training with DistributedDataParallel, on CPU with the gloo backend."""

import importlib.util
import json
import subprocess
import sys

import pytest
import torch

from gancourse import nets
from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("train_ddp", REPO / "scripts" / "train_ddp.py")
train_ddp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_ddp)


def run(command: list[str], out) -> dict:
    result = subprocess.run([*command, str(REPO / "scripts" / "train_ddp.py"), "--steps", "4", "--batch-size", "32",
                             "--backend", "gloo", "--out", str(out)], cwd=out.parent, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "[measured] DDP on" in result.stdout
    return json.loads((out / "summary.json").read_text())


def trained_fingerprint(out) -> str:
    state = torch.load(out / "dcgan_ddp.pt", map_location="cpu", weights_only=False)
    G, D = nets.DCGANGenerator(), nets.DCGANDiscriminator()
    G.load_state_dict(state["generator"])
    D.load_state_dict(state["discriminator"])
    return train_ddp.fingerprint(G, D)


def test_two_processes_train_identical_replicas_on_disjoint_shards(tmp_path):
    out = tmp_path / "ddp"
    summary = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"], out)
    assert summary["world_size"] == 2 and summary["backend"] == "gloo" and summary["steps"] == 4
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["shard_size"] for r in ranks] == [2500, 2500]  # every other digit each: 5,000 in all
    assert ranks[0]["weights"] == ranks[1]["weights"], "DDP let the two replicas drift apart"
    assert ranks[0]["last_d_loss"] != ranks[1]["last_d_loss"], "both ranks trained on the same batches"
    torch.manual_seed(0)
    untrained = train_ddp.fingerprint(nets.DCGANGenerator(), nets.DCGANDiscriminator())
    assert trained_fingerprint(out) == ranks[0]["weights"] != untrained


def test_one_process_runs_without_torchrun(tmp_path):
    out = tmp_path / "single"
    summary = run([sys.executable], out)
    assert summary["world_size"] == 1
    assert json.loads((out / "rank0.json").read_text())["shard_size"] == 5000
    assert (out / "dcgan_ddp.pt").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="nccl is available with cuda: nothing to refuse")
def test_nccl_without_cuda_is_refused_with_the_way_out(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "train_ddp.py"), "--backend", "nccl", "--out",
                             str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "--backend gloo" in result.stderr
