"""Compression benchmark, first part: quantization of the reviews MiniLM, every variant scored side by side.

The model: a MiniLM fine-tuned on the bundled reviews with tunebook's default recipe (full fine-tuning, lr 5e-5,
2 epochs), or the folder given with --model (e.g. the export of `tunebook demo`). --limit N trains on N reviews
per split instead of all of them (a quicker, weaker model). The variants (fp32, int8, int8-linear, bf16) are timed
interleaved on the same test batches by `tunebook.compress.compare` (batch-1 latency, batch-32 throughput), and
`check_quantized` scores accuracy, agreement with fp32 and the share of predictions that change with the batch.

Targets (issue "Compression"): the default quantized variant within 0.5 point of fp32's test accuracy, >= 99% of
predictions equal to fp32's, <= 1% that change with the batch, <= 23 MB, and at least as fast as ONNX Runtime's
dynamic int8 at batch 1 and 32. ONNX Runtime is not part of this run yet, so the speed targets print as n/a.

Usage: python benchmarks/bench_compress.py [--model DIR] [--limit N] [--repeats K]
Writes benchmarks/results/bench_compress-<time>.json.
"""
import os, sys, json, time, argparse, platform
for _k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(_k, '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
from pathlib import Path
import torch

HERE = Path(__file__).resolve().parent

def reviews_model(model_dir, limit, seed=0):
    "The reviews task and a fine-tuned MiniLM for it (loaded from `model_dir`, or trained with the default recipe)."
    from tunebook.recipes import reviews_task
    from tunebook.models import load_model
    from tunebook.train import Tuner
    task = reviews_task(limit, seed)
    if model_dir: return task, load_model(model_dir, task).eval(), 0.0
    t0 = time.perf_counter()
    tuner = Tuner(load_model('minilm', task, seed=seed), task, seed=seed)
    tuner.fit()
    return task, tuner.model.eval(), time.perf_counter() - t0

def status(ok) -> str: return 'n/a' if ok is None else ('PASS' if ok else 'FAIL')

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default=None, help='a fine-tuned reviews model folder (default: train one)')
    ap.add_argument('--limit', type=int, default=None, help='reviews per split (default: all)')
    ap.add_argument('--repeats', type=int, default=3)
    a = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get('TUNEBOOK_THREADS', '2')))
    from tunebook.compress.quantize import quantize, check_quantized, SCHEMES
    from tunebook.compress.compare import compare
    task, fp32, train_s = reviews_model(a.model, a.limit)
    variants = {'fp32': fp32, **{s: quantize(fp32, s) for s in SCHEMES}}
    cmp = compare(variants, task, 'test', repeats=a.repeats)
    checks = {s: check_quantized(variants[s], fp32, task, 'test') for s in SCHEMES}
    t = cmp.to_frame().assign(batch_changes=[0.0] + [checks[s].batch_changes for s in SCHEMES])
    print(t[['size_mb', 'accuracy', 'macro_f1', 'agreement', 'batch_changes', 'latency_p50_ms', 'latency_p90_ms',
             'throughput_per_s', 'speedup_b1', 'speedup_b32']].to_string(float_format=lambda v: f'{v:.4g}'))
    q = t.loc['int8']
    targets = {'int8 within 0.5 point of fp32 accuracy': q.accuracy >= t.accuracy['fp32'] - 0.005,
               'int8 agrees with fp32 on >= 99%': q.agreement >= 0.99,
               'int8 changes with the batch on <= 1%': q.batch_changes <= 0.01,
               'int8 <= 23 MB': q.size_mb <= 23.0,
               'int8 at least as fast as ONNX Runtime int8 (b1, b32)': None}
    print('\ntarget                                                 status')
    for k, v in targets.items(): print(f'{k:<54s} {status(v)}')
    out = HERE/'results'/f"bench_compress-{time.strftime('%Y-%m-%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(args=vars(a), train_seconds=train_s, machine=platform.processor() or platform.machine(),
                                   torch=torch.__version__, table=t.round(5).to_dict('index'),
                                   targets={k: status(v) for k, v in targets.items()}), indent=1, default=float))
    print(f'\nwritten to {out.relative_to(HERE.parent)}')

if __name__ == '__main__': main()
