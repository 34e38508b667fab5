"""Compression benchmark: every technique of `tunebook.compress` on the reviews MiniLM, side by side with ONNX Runtime.

The base model: MiniLM fine-tuned on the bundled reviews with tunebook's default recipe (full fine-tuning, lr 5e-5,
2 epochs), once per seed. From each base the run builds, through the Tuner and its default recipe:
  - structured: unit_importance + prune_units (a third of the heads and half the feed-forward neurons removed),
    then a 1-epoch recovery fine-tune;
  - unstructured: 50% global magnitude pruning kept during a 1-epoch fine-tune, then made permanent;
  - distilled: a 3-layer student (student_from: every other layer), trained 2 epochs with Distillation(T=2, alpha=0.5);
  - stacked: the distilled student, structurally pruned like above, 1 recovery epoch (still distilling), then int8.
Accuracies are on the 1,000 test reviews, mean over the seeds. Speed and size are measured on seed 0's variants,
together with every quantization path (torch.ao int8 = `quantize`'s default, torchao int8, int8-linear, bf16,
ONNX Runtime fp32 / dynamic int8 / static int8), timed interleaved by `tunebook.compress.compare` (batch-1
latency p50 and p90, batch-32 throughput, medians of --repeats), with `check_quantized` measuring agreement with
fp32 and the share of predictions that change with the batch.

Usage: python benchmarks/bench_compress.py [--seeds 0 1 2] [--limit N] [--repeats K]
Writes benchmarks/results/bench_compress-<time>.json (and updates it after each stage).
"""
import os, sys, json, time, argparse, platform, tempfile
for _k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(_k, '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
from pathlib import Path
import numpy as np, torch

HERE = Path(__file__).resolve().parent
HEADS_KEPT, NEURONS_KEPT, SPARSITY, STUDENT_LAYERS = 2 / 3, 0.5, 0.5, 3

def status(ok) -> str: return 'n/a' if ok is None else ('PASS' if ok else 'FAIL')

def trained(model, task, seed, epochs, **kw):
    "`model` fine-tuned with the default recipe for `epochs` (the Tuner's model, in eval mode)."
    from tunebook.train import Tuner
    tuner = Tuner(model, task, seed=seed, epochs=epochs, progress=False, **kw)
    tuner.fit()
    return tuner.model.eval()

def structured(model, task, seed, **kw):
    "A third of the heads and half the neurons removed by importance, then one recovery epoch."
    from tunebook.compress.prune import unit_importance, prune_units
    return trained(prune_units(model, unit_importance(model, task), HEADS_KEPT, NEURONS_KEPT), task, seed, 1, **kw)

def variants_of(task, seed, log):
    "The base model of `seed` and its compressed variants (float32 PyTorch), with the seconds each took."
    from tunebook.models import load_model
    from tunebook.compress.prune import magnitude_prune, make_permanent
    from tunebook.compress.distill import student_from
    from tunebook.objectives import Distillation
    out, secs = {}, {}
    def step(name, make):
        t0 = time.perf_counter(); out[name] = make(); secs[name] = time.perf_counter() - t0
        log(f'seed {seed}: {name} in {secs[name]:.0f} s')
    step('fp32', lambda: trained(load_model('minilm', task, seed=seed), task, seed, 2))
    base = out['fp32']
    step('structured', lambda: structured(base, task, seed))
    step('unstructured', lambda: make_permanent(trained(magnitude_prune(base, SPARSITY, 'global'), task, seed, 1)))
    step('distilled', lambda: trained(student_from(base, STUDENT_LAYERS), task, seed, 2, objective=Distillation(base)))
    step('stacked-float', lambda: structured(out['distilled'], task, seed, objective=Distillation(base)))
    return out, secs

def quantized_variants(models, task, tmp):
    "Seed 0's variants plus every quantization path of the base, and the stacked model in int8 (PyTorch and ONNX Runtime)."
    from tunebook.compress.quantize import quantize
    from tunebook.compress.onnx import export_onnx, quantize_onnx, OnnxClassifier
    fp32 = models['fp32']
    onnx = export_onnx(fp32, task, tmp/'fp32')
    stacked_onnx = export_onnx(models['stacked-float'], task, tmp/'stacked')
    return {'fp32': fp32,
            'int8 (torch.ao, default)': quantize(fp32),
            'int8 (torchao)': quantize(fp32, backend='torchao'),
            'int8-linear (torch.ao)': quantize(fp32, 'int8-linear'),
            'bf16': quantize(fp32, 'bf16'),
            'ONNX Runtime fp32': OnnxClassifier(onnx),
            'ONNX Runtime int8 dynamic': OnnxClassifier(quantize_onnx(onnx, tmp/'int8')),
            'ONNX Runtime int8 static': OnnxClassifier(quantize_onnx(onnx, tmp/'int8s', 'static', task)),
            'structured': models['structured'], 'unstructured 50%': models['unstructured'],
            'distilled 3 layers': models['distilled'],
            'stacked (distilled + structured + int8)': quantize(models['stacked-float']),
            'stacked, ONNX Runtime int8': OnnxClassifier(quantize_onnx(stacked_onnx, tmp/'stacked-int8'))}

QUANTIZED = ('int8 (torch.ao, default)', 'int8 (torchao)', 'int8-linear (torch.ao)', 'bf16', 'ONNX Runtime int8 dynamic',
             'ONNX Runtime int8 static', 'stacked (distilled + structured + int8)', 'stacked, ONNX Runtime int8')

def targets(t, acc) -> dict:
    "The issue's targets, from the speed table `t` (seed 0) and the mean test accuracies `acc` over the seeds."
    q, ort, base = t.loc['int8 (torch.ao, default)'], t.loc['ONNX Runtime int8 dynamic'], t.loc['fp32']
    flagged = q.batch_changes > 0.01 and bool(q.flagged)
    return {
        'int8: b1 and b32 at least as fast as ONNX Runtime int8': bool(q.latency_p50_ms <= ort.latency_p50_ms and q.throughput_per_s >= ort.throughput_per_s),
        'int8: <= 23 MB': bool(q.size_mb <= 23.0),
        'int8: within 0.5 point of fp32': bool(q.accuracy >= base.accuracy - 0.005),
        'int8: >= 99% agreement with fp32': bool(q.agreement >= 0.99),
        'int8: <= 1% change with the batch (or flagged)': bool(q.batch_changes <= 0.01 or flagged),
        'structured: >= 1.5x at b32': bool(t.speedup_b32['structured'] >= 1.5),
        'structured: within 1.5 points (mean of seeds)': bool(acc['structured'] >= acc['fp32'] - 0.015),
        'unstructured 50%: within 1 point (mean of seeds)': bool(acc['unstructured'] >= acc['fp32'] - 0.01),
        'distilled: >= 97% of the teacher (mean of seeds)': bool(acc['distilled'] >= 0.97 * acc['fp32']),
        'distilled: >= 1.9x at b32': bool(t.speedup_b32['distilled 3 layers'] >= 1.9),
        'stacked: >= 5x at b32': bool(t.speedup_b32['stacked (distilled + structured + int8)'] >= 5),
        'stacked: >= 5x smaller': bool(base.size_mb / t.size_mb['stacked (distilled + structured + int8)'] >= 5),
        'stacked: within 2 points (mean of seeds)': bool(acc['stacked'] >= acc['fp32'] - 0.02)}

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--limit', type=int, default=None, help='reviews per split (default: all)')
    ap.add_argument('--repeats', type=int, default=3)
    a = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get('TUNEBOOK_THREADS', '2')))
    from tunebook.core import set_verbosity
    from tunebook.recipes import reviews_task
    from tunebook.eval import predict
    from tunebook.compress.quantize import quantize, check_quantized
    from tunebook.compress.compare import compare
    set_verbosity('warning')
    out = HERE/'results'/f"bench_compress-{time.strftime('%Y-%m-%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    result = dict(args=vars(a), machine=platform.processor() or platform.machine(), torch=torch.__version__,
                  seeds={}, seconds={})
    def save(): out.write_text(json.dumps(result, indent=1, default=float))
    def log(msg): print(msg, flush=True)
    task, speed_models = reviews_task(a.limit, 0), None
    for seed in a.seeds:
        models, secs = variants_of(task, seed, log)
        models['stacked'] = quantize(models['stacked-float'])
        result['seeds'][seed] = {n: predict(m, task, 'test').metrics().accuracy for n, m in models.items()}
        result['seconds'][seed] = secs
        log(f"seed {seed}: " + ', '.join(f'{n} {v:.4f}' for n, v in result['seeds'][seed].items()))
        save()
        if speed_models is None: speed_models = models
    acc = {n: float(np.mean([s[n] for s in result['seeds'].values()])) for n in result['seeds'][a.seeds[0]]}
    with tempfile.TemporaryDirectory() as tmp:
        variants = quantized_variants(speed_models, task, Path(tmp))
        t = compare(variants, task, 'test', repeats=a.repeats).to_frame()
        checks = {n: check_quantized(variants[n], variants['fp32'], task, 'test') for n in QUANTIZED}
    t['batch_changes'] = [checks[n].batch_changes if n in checks else 0.0 for n in t.index]
    t['flagged'] = [bool(checks[n].problems) if n in checks else False for n in t.index]
    cols = ['size_mb', 'nonzero', 'accuracy', 'agreement', 'batch_changes', 'latency_p50_ms', 'latency_p90_ms',
            'throughput_per_s', 'speedup_b1', 'speedup_b32']
    print('\nseed 0 variants, test split (speed and size):')
    print(t[cols].to_string(float_format=lambda v: f'{v:.4g}'))
    print(f'\nmean test accuracy over seeds {a.seeds}:')
    for n, v in acc.items():
        print(f"  {n:<14s} {v:.4f}  (" + ', '.join(f"{result['seeds'][s][n]:.4f}" for s in a.seeds) + ')')
    tg = targets(t, acc)
    print('\ntarget                                                      status')
    for k, v in tg.items(): print(f'{k:<60s} {status(v)}')
    result |= dict(table=t.round(5).to_dict('index'), mean_accuracy=acc, targets={k: status(v) for k, v in tg.items()})
    save()
    print(f'\nwritten to {out.relative_to(HERE.parent)}')

if __name__ == '__main__': main()
