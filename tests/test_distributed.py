"""The same training code in 2 CPU processes (gloo) matches one process with the same global batch.

On CPUs without MPI, `accelerate launch` starts a single process (its multi-CPU mode goes through `mpirun`), so the
processes are started with `torchrun`, the launcher that `accelerate launch --multi_gpu` itself uses: Accelerate
reads the same environment (WORLD_SIZE, RANK, MASTER_ADDR) and picks the gloo backend on CPU.

The run uses SGD: Adam divides each update by the gradient's running RMS, which turns float rounding differences
(the two processes sum gradients in another order) into update differences of the order of the learning rate for
near-zero gradients, so it cannot be compared at a tight tolerance."""
import os, subprocess, sys
from pathlib import Path
import pytest
from safetensors import safe_open

HERE = Path(__file__).parent

def run(cmd, tmp_path):
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1', 'TOKENIZERS_PARALLELISM': 'false'}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]

def free_port() -> int:
    import socket
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def load(path):
    with safe_open(path, 'pt') as f: return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()

@pytest.mark.parametrize('objective', ['default', 'kd'])
def test_two_cpu_processes_match_one(tmp_path, objective):
    "Also with a custom objective: distillation from a frozen teacher with label-smoothed hard targets."
    run([sys.executable, str(HERE/'dist_train.py'), str(tmp_path/'one.safetensors'), '16', objective], tmp_path)
    run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(free_port()),
         str(HERE/'dist_train.py'), str(tmp_path/'two.safetensors'), '8', objective], tmp_path)
    (one, m1), (two, m2) = load(tmp_path/'one.safetensors'), load(tmp_path/'two.safetensors')
    assert m1['processes'] == '1' and m2['processes'] == '2'
    assert one.keys() == two.keys()
    worst = max((one[k].float() - two[k].float()).abs().max().item() for k in one)
    moved = max((one[k].float() - load_initial(k, one)).abs().max().item() for k in ['classifier.weight'])
    assert worst < 1e-5, f"2 processes differ from 1 by {worst}"
    assert moved > 1e-3, "training did not change the weights, so the comparison would prove nothing"
    assert m1['n_eval'] == m2['n_eval'] and m1['accuracy'] == m2['accuracy']  # gather_for_metrics drops the padding duplicates
    assert m1['n_batches'] == m2['n_batches'], (m1, m2)  # each process counts its own share of the batches (the schedule's length)

def load_initial(key, like):
    "The initial value of parameter `key` (same seed as dist_train.py)."
    import torch
    sys.path.insert(0, str(HERE))
    from dist_train import toy_task
    from tunebook.models import tiny_text_model
    task = toy_task()
    torch.manual_seed(0)
    return tiny_text_model(task).state_dict()[key].float()
