"""Choose the LoRA configuration and learning rate that benchmark (b) compares with full fine-tuning, on a validation split.

The test reviews stay untouched: 15% of the training reviews (stratified, seed 1) become a validation split, each
candidate trains one epoch on the rest (seed 0, Tuner defaults otherwise) and we print its validation accuracy and
trainable share. bench_train.py's LORA / LORA_LR hold the winner.

Usage: python benchmarks/select_lora.py [candidate ...]   (default: all; each takes 2-5 minutes on 2 cores)
"""
import os, sys, time
for _k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(_k, '1')
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import reviews_df

ALL_LINEAR, QV = ['query', 'key', 'value', 'dense'], ['query', 'value']
CANDIDATES = {'full 5e-5': (None, 5e-5),
              'r8 q,v 5e-4': (dict(r=8, alpha=16, target_modules=QV), 5e-4),
              'r8 q,v 1e-3': (dict(r=8, alpha=16, target_modules=QV), 1e-3),
              'r8 q,v 2e-3': (dict(r=8, alpha=16, target_modules=QV), 2e-3),
              'r4 all-linear 1e-3': (dict(r=4, alpha=8, target_modules=ALL_LINEAR), 1e-3),
              'r4 all-linear 2e-3': (dict(r=4, alpha=8, target_modules=ALL_LINEAR), 2e-3)}

def run(name:str) -> dict:
    "Train one candidate for one epoch; its validation accuracy, trainable share and time."
    from tunebook.data import Task
    from tunebook.models import load_model
    from tunebook.train import Tuner
    from tunebook.methods import LoRA, Full
    df = reviews_df()
    task = Task.from_df(df[df.split == 'train'].drop(columns='split'), text='review', label='score', valid_pct=0.15, test_pct=0, seed=1)
    lora, lr = CANDIDATES[name]
    t0 = time.perf_counter()
    tuner = Tuner(load_model('minilm', task), task, LoRA(**lora) if lora else Full(), lr=lr, epochs=1, progress=False, seed=0)
    tuner.fit()
    return dict(candidate=name, trainable_pct=tuner.trainable_params().pct, valid_accuracy=tuner.evaluate('valid').accuracy, seconds=time.perf_counter() - t0)

if __name__ == '__main__':
    names = sys.argv[1:] or list(CANDIDATES)
    if bad := [n for n in names if n not in CANDIDATES]: sys.exit(f"unknown candidate(s) {bad}; choose from {list(CANDIDATES)}")
    for n in names: print('{candidate:<20s} {trainable_pct:8.3f}% trainable  valid accuracy {valid_accuracy:.4f}  ({seconds:.0f} s)'.format(**run(n)), flush=True)
