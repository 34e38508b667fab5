"""Train a tiny BERT with `Tuner` and save its final weights; run alone or under `accelerate launch` (see test_distributed.py)."""
import os, sys
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np, pandas as pd, torch
from safetensors.torch import save_file
from tunebook.data import Task
from tunebook.models import tiny_text_model
from tunebook.train import Tuner
from tunebook.methods import Full
from tunebook.objectives import CrossEntropy, Distillation

def toy_task(n=192, seed=0):
    "A small, learnable text task: the label is whether the text mentions a positive word."
    rng = np.random.default_rng(seed)
    good, bad = ['great', 'lovely', 'tasty', 'fresh'], ['stale', 'awful', 'bland', 'broken']
    rows = [(f"the {w} snack was {'very ' * int(rng.integers(0, 4))}{w}", 'pos' if w in good else 'neg')
            for w in rng.choice(good + bad, n)]
    return Task.from_df(pd.DataFrame(rows, columns=['text', 'label']), text='text', label='label', seed=seed)

def no_dropout(model):
    "Remove every source of randomness that depends on the process layout."
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout): m.p = 0.0
        if hasattr(m, 'dropout_prob'): m.dropout_prob = 0.0  # attention dropout is a float, not a module
    return model

def objective(name, task):
    "The objective `name`: 'default' (the Tuner's cross-entropy) or 'kd' (distillation with label-smoothed hard targets)."
    if name == 'default': return None
    torch.manual_seed(1)
    teacher = no_dropout(tiny_text_model(task, hidden_size=48))
    return Distillation(teacher, temperature=2.0, alpha=0.5, hard=CrossEntropy(label_smoothing=0.1))

def main(out, batch_size, objective_name='default'):
    task = toy_task()
    obj = objective(objective_name, task)
    torch.manual_seed(0)
    model = no_dropout(tiny_text_model(task))
    tuner = Tuner(model, task, Full(), objective=obj, optimizer='sgd', lr=0.1, warmup_pct=0.3, batch_size=batch_size, max_steps=6,
                  by_length=False, mixed_precision='no', grad_clip=None, progress=False, seed=0)
    tuner.fit()
    metrics = tuner.evaluate('valid')
    if tuner.accelerator.is_main_process:
        state = {k: v.detach().cpu().contiguous() for k, v in tuner.model.state_dict().items()}
        save_file(state, out, metadata={'accuracy': str(metrics.accuracy), 'n_eval': str(len(metrics.labels)),
                                        'processes': str(tuner.accelerator.num_processes), 'n_batches': str(tuner.n_batches),
                                        'total_steps': str(tuner.total_steps)})

if __name__ == '__main__': main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:])
