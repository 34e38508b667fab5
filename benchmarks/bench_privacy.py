"""Privacy benchmarks for tunebook: DP-SGD (the `DP` callback, Opacus underneath) and the membership-inference audit.

Competitors run side by side in one process run, interleaved (the order rotates every repeat), and we report
medians and paired ratios, because this 2-core machine is shared and noisy. Everything trains in fp32
(`mixed_precision='no'`). DP runs use SGD with momentum (`optimizer='sgd'`, learning rates chosen on valid splits):
with AdamW at non-private learning rates DP-SGD stays at chance (see nbs/07i_privacy.ipynb).
Sections (see benchmarks/README.md):
  a  step time: DP-SGD step vs non-private step, same (expected) batch size, on the MNIST CNN (dp_ready) and on
     MiniLM + LoRA and MiniLM fully fine-tuned (reviews), with per-example gradients and with ghost clipping; Opacus's own `make_private` on a
     plain loop beside a plain non-private loop as the reference; peak RSS of each (one subprocess per run)
  b  accuracy: MNIST CNN from fresh weights, non-private vs DP at eps 3; the pretrained CNN fine-tuned on digits,
     non-private vs DP at eps 3; reviews MiniLM + LoRA at eps 8 against the frozen-feature baseline
  c  membership: a deliberately overfit CNN and the same CNN trained with DP-SGD at eps 3, audited with
     `membership_audit` (loss attack, and RMIA with two reference models)
  d  the eps of every DP run of this process (and a small grid) against Opacus's RDPAccountant computed directly

Usage: python benchmarks/bench_privacy.py [--quick] [--sections a,b,c,d] [--a-models cnn,minilm,minilm-full] [--b-parts mnist,digits,reviews] [--seeds S] [--limit N] [--repeats K] [--threads T]
"""
from __future__ import annotations
import os
for _k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(_k, '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
os.environ.setdefault('TRANSFORMERS_VERBOSITY', 'error')
import argparse, copy, datetime, functools, gc, json, math, platform, statistics, subprocess, sys, time, warnings
from pathlib import Path
import numpy as np, pandas as pd, torch, torch.nn.functional as F

warnings.filterwarnings('ignore')
HERE = Path(__file__).resolve().parent
DELTA = 1e-5  # delta of every private run (below 1 / n for every training split used here)
SEQ = 128     # tokens per text in the MiniLM step-time runs (a)
LORA = dict(r=4, alpha=8, target_modules=['query', 'key', 'value', 'dense'])  # bench_train's LoRA setting (every linear layer)
THREADS = None  # --threads, passed on to the worker processes

# Training recipes. The DP learning rates were chosen on valid splits (see benchmarks/README.md), never on test.
RECIPES = dict(
    # MNIST CNN from fresh weights (dp_ready: BatchNorm -> GroupNorm, for both runs so that only DP differs)
    mnist_np=dict(optimizer='adamw', lr=3e-3, batch_size=64, epochs=3),
    mnist_dp=dict(optimizer='sgd', lr=1.0, batch_size=128, epochs=3),
    # the pretrained CNN fine-tuned on digits: the bench_robust recipe without privacy, SGD with DP
    digits_np=dict(optimizer='adamw', lr=1e-3, batch_size=32, epochs=10),
    digits_dp=dict(optimizer='sgd', lr=0.02, batch_size=128, epochs=20),
    digits_dp_frozen=dict(optimizer='sgd', lr=0.005, batch_size=128, epochs=20),  # BatchNorm kept at its pretrained statistics
    # MiniLM + LoRA on the reviews, private
    reviews_dp=dict(optimizer='sgd', lr=0.02, batch_size=64, epochs=1),
    # membership: the overfit CNN and its private twin
    member_np=dict(optimizer='adamw', lr=3e-3, batch_size=32, epochs=30),
    member_dp=dict(optimizer='sgd', lr=1.0, batch_size=64, epochs=30),
)
BASELINE = dict(valid=0.776, test=0.783)  # frozen-feature baseline of the reviews (nbs/05e_probe.ipynb, nbs/12_cli.ipynb)

# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def mnist_task():
    "MNIST on its own 50,000 / 10,000 / 10,000 split (uint8 pixels, scaled to [0, 1] by the Task)."
    from tunebook.assets import load_mnist
    from tunebook.data import Task
    d = load_mnist()
    names = ('train', 'valid', 'test')
    x, y = np.concatenate([d[k][0] for k in names]), np.concatenate([d[k][1] for k in names])
    return Task.from_arrays(x, y, split=np.repeat(names, [len(d[k][1]) for k in names]))

def sized(task, sizes:dict):
    "The task with each split cut to at most sizes[split] examples (`Task.subset`, seed 0: the same draw for every seed)."
    return task.replace_splits({s: task.subset(n, seed=0).splits[s] for s, n in sizes.items() if n and n < len(task.splits[s])})

def digits_task(seed:int):
    "scikit-learn's digits framed like MNIST digits (upscaled to 20x20, padded to 28x28), split 70/10/20 with `seed` (as bench_robust)."
    from tunebook.assets import load_digits
    from tunebook.data import Task
    x, y = load_digits()
    framed = F.pad(F.interpolate(torch.from_numpy(x)[:, None], size=20, mode='bilinear', align_corners=False), (4, 4, 4, 4))[:, 0].numpy()
    return Task.from_arrays(framed, y, valid_pct=0.1, test_pct=0.2, seed=seed)

def reviews_task(max_length:int):
    "The reviews on their own train/test split with the valid split the frozen-feature baseline used (seed 0)."
    from tunebook.assets import load_reviews
    from tunebook.data import Task
    return Task.from_df(load_reviews(), text='review', label='score', split='split', seed=0, max_length=max_length)

def joined_reviews_task(n:int):
    "n texts of >= SEQ tokens (successive reviews joined), so that every batch is exactly [B, SEQ] tokens; train split only."
    from tunebook.assets import load_reviews
    from tunebook.data import Task
    from tunebook.models import load_tokenizer
    df, tok = load_reviews(), load_tokenizer('minilm')
    rev, lab = df.review.tolist(), df.score.tolist()
    ntok = [len(i) - 2 for i in tok(rev)['input_ids']]
    texts, labels, i = [], [], 0
    while len(texts) < n:
        parts, k = [], 0
        while k < SEQ + 4: parts.append(rev[i % len(rev)]); k += ntok[i % len(rev)]; i += 1
        texts.append(' '.join(parts)); labels.append(lab[(i - 1) % len(lab)])
    return Task.from_df(pd.DataFrame({'text': texts, 'label': labels}), text='text', label='label', valid_pct=0, test_pct=0,
                        max_length=SEQ, tokenizer=tok)

def cnn_step_task(n:int=10000):
    "The first n MNIST training images as a task with a train split only (for the step-time runs)."
    from tunebook.data import Task
    t = mnist_task().train
    return Task.from_arrays(t.x[:n], t.y[:n], valid_pct=0, test_pct=0)

# ---------------------------------------------------------------------------------------------------------------
# Models and loops
# ---------------------------------------------------------------------------------------------------------------
def cnn(task, pretrained:bool, seed:int=0, batchnorm:str='groupnorm'):
    "The bundled MNIST CNN (pretrained, or fresh weights from `seed`) made DP-ready (`dp_ready`: BatchNorm -> GroupNorm, or 'frozen')."
    from tunebook.models import load_model
    from tunebook.audit.privacy import dp_ready
    return dp_ready(load_model('mnist-cnn', task, pretrained=pretrained, seed=seed), batchnorm=batchnorm)

@functools.lru_cache(maxsize=1)
def _steps_class():
    from tunebook.callbacks import Callback
    class StepLog(Callback):
        "Times every optimizer step, counts the examples of each batch, prints a progress line every `every` seconds."
        order = 80
        def __init__(self, label:str='', every:float=60.0):
            self.t, self.sizes, self.label, self.every, self.last = [], [], label, every, time.perf_counter()
        def on_step_end(self):
            now, tu = time.perf_counter(), self.tuner
            self.t.append(now); self.sizes.append(len(tu.batch['labels']))
            if self.label and now - self.last > self.every:
                self.last = now
                print(f"      {self.label}: step {tu.step}/{tu.total_steps}, loss {tu.loss:.3f}", flush=True)
    return StepLog

def Steps(label:str='', every:float=60.0):
    "A callback that times every optimizer step and counts its examples (a progress line every `every` s when labelled)."
    return _steps_class()(label, every)

def dp_record(dp, tuner) -> dict:
    "What a private run spent and how: eps by the callback, sigma, q, steps, and the accountant's own history."
    return dict(epsilon=dp.epsilon, target_epsilon=dp.target_epsilon, delta=dp.delta, sigma=float(dp.sigma), sample_rate=dp.sample_rate,
                steps=tuner.step, max_grad_norm=dp.max_grad_norm, accountant_history=[list(map(float, h)) for h in dp.engine.accountant.history])

DP_RUNS = []  # every private run of this process: (label, dp_record), checked in (d)

def train_eval(model, task, label:str, hp:dict, private:dict|None=None, method=None, seed:int=0, splits=('valid', 'test')) -> dict:
    "Train with the Tuner in fp32 (DP when `private` gives the DP arguments); accuracy on `splits`, time, steps, eps."
    from tunebook.train import Tuner
    from tunebook.audit.privacy import DP
    steps = Steps(label)
    dp = DP(**private) if private else None
    t0 = time.perf_counter()
    tuner = Tuner(model, task, method, mixed_precision='no', progress=False, seed=seed, callbacks=[steps] + ([dp] if dp else []), **hp)
    tuner.fit()
    out = dict(fit_s=time.perf_counter() - t0, steps=tuner.step, examples_seen=int(sum(steps.sizes)),
               sizes={s: len(task.splits[s]) for s in task.splits})
    out |= {s: float(tuner.evaluate(s).accuracy) for s in splits if s in task.splits and len(task.splits[s])}
    if dp:
        out |= dp_record(dp, tuner)
        DP_RUNS.append((label, out))
    out['model'] = tuner.model
    eps = f", eps {out['epsilon']:.3f} (sigma {out['sigma']:.3f}, q {out['sample_rate']:.4f})" if dp else ''
    print(f"    {label}: " + ', '.join(f"{s} {out[s]:.4f}" for s in splits if s in out) +
          f"; {out['steps']} steps, {out['fit_s']:.0f} s{eps}", flush=True)
    return out

def strip(r:dict) -> dict:
    "A run's record without its model (for the JSON)."
    return {k: v for k, v in r.items() if k != 'model'}

def run_tunebook(model, task, steps:int, bs:int, private:bool|str, method=None, lr:float=0.05) -> tuple[list, list]:
    "The Tuner for `steps` steps (SGD with momentum, fp32, no length grouping); DP with sigma 1 when `private` ('ghost': ghost clipping)."
    from tunebook.train import Tuner
    from tunebook.audit.privacy import DP
    cb = Steps()
    dp = [DP(noise_multiplier=1.0, delta=DELTA, ghost=private == 'ghost')] if private else []
    Tuner(model, task, method, optimizer='sgd', lr=lr, batch_size=bs, max_steps=steps, mixed_precision='no', by_length=False,
          progress=False, seed=0, callbacks=[cb] + dp).fit()
    return cb.t, cb.sizes

def run_plain(model, task, steps:int, bs:int, private:bool, lr:float=0.05) -> tuple[list, list]:
    """A plain PyTorch loop over a TensorDataset of the same images (fused SGD with momentum, fp32); with `private`,
    Opacus's `PrivacyEngine.make_private` with its defaults (GradSampleModule with hooks, Poisson sampling), sigma 1."""
    from torch.utils.data import DataLoader, TensorDataset
    s = task.train
    ds = TensorDataset(torch.from_numpy(s.x), torch.from_numpy(s.y))
    dl = DataLoader(ds, batch_size=bs, shuffle=True, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, fused=True)
    if private:
        from opacus import PrivacyEngine
        model, opt, dl = PrivacyEngine().make_private(module=model, optimizer=opt, data_loader=dl, noise_multiplier=1.0, max_grad_norm=1.0)
    model.train()
    times, sizes = [], []
    while len(times) < steps:
        for x, y in dl:
            loss = F.cross_entropy(model(pixel_values=x).logits, y)
            loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
            loss.item(); times.append(time.perf_counter()); sizes.append(len(y))
            if len(times) >= steps: break
    return times, sizes

# ---------------------------------------------------------------------------------------------------------------
# Measuring helpers
# ---------------------------------------------------------------------------------------------------------------
def med(xs): return float(statistics.median(xs)) if len(xs) else float('nan')

def steady(t:list, sizes:list, warm:int) -> tuple[float, float]:
    "Median seconds per step after the first `warm` steps, and seconds per example over those steps."
    dt = np.diff(t[warm - 1:])
    return med(dt), float(dt.sum() / max(1, sum(sizes[warm:])))

def interleave(runners:dict, base, repeats:int, warm:int) -> dict:
    "Run every runner `repeats` times on a copy of `base`, rotating the order each repeat; (s/step, s/example) per runner."
    names, out = list(runners), {n: [] for n in runners}
    for r in range(repeats):
        for n in names[r % len(names):] + names[:r % len(names)]:
            gc.collect()
            model = copy.deepcopy(base)
            t0 = time.perf_counter(); t, sizes = runners[n](model); wall = time.perf_counter() - t0
            out[n].append(steady(t, sizes, warm))
            print(f"    repeat {r+1}/{repeats} {n:<24s} {out[n][-1][0]*1e3:9.1f} ms/step {out[n][-1][1]*1e3:7.2f} ms/example  ({wall:.1f} s incl. setup)", flush=True)
            del model
    return out

def paired(times:dict, a:str, b:str, k:int=0) -> float:
    "Median over repeats of a's time / b's time in the same repeat (k=0: per step, k=1: per example)."
    return med([x[k] / y[k] for x, y in zip(times[a], times[b])])

def status(ok) -> str: return 'n/a' if ok is None else ('PASS' if ok else 'FAIL')

def table(rows:list[dict], title:str):
    print(f"\n{title}\n" + pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"), flush=True)

def rss_mib(field:str='VmHWM') -> float:
    "Peak (VmHWM) or current (VmRSS) memory of this process in MiB (not ru_maxrss: Linux keeps it across exec from the parent)."
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(field + ':')) / 1024

def worker(spec:dict) -> dict:
    "Run one job in a fresh Python process (so peak RSS does not mix between runs); its RESULT line as a dict."
    cmd = [sys.executable, str(Path(__file__).resolve()), '--_worker', json.dumps(spec)] + (['--threads', str(THREADS)] if THREADS else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    res = [l for l in p.stdout.splitlines() if l.startswith('RESULT ')]
    if p.returncode or not res: raise RuntimeError(f"worker {spec} failed (rc={p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(res[-1][7:])

def step_setup(model_name:str, steps:int):
    "(task, base model, batch size, lr, method) of a step-time measurement."
    from tunebook.models import load_model
    from tunebook.methods import LoRA
    if model_name == 'cnn':
        task = cnn_step_task()
        return task, cnn(task, pretrained=True), 256, 0.05, None
    task = joined_reviews_task(max(200, 4 * 16 * steps))
    return task, load_model('minilm', task, seed=0), 16, 0.05, LoRA(**LORA) if model_name == 'minilm' else None

RUNNERS = {'tunebook': ('tunebook', False), 'tunebook DP': ('tunebook', True), 'tunebook DP ghost': ('tunebook', 'ghost'),
           'plain loop': ('plain', False), 'Opacus make_private': ('plain', True)}

def runner(name:str, task, steps:int, bs:int, lr:float, method):
    kind, private = RUNNERS[name]
    if kind == 'tunebook': return lambda m: run_tunebook(m, task, steps, bs, private, copy.deepcopy(method), lr)
    return lambda m: run_plain(m, task, steps, bs, private, lr)

def job_mem(spec) -> dict:
    "Peak RSS of `steps` steps of one runner, in its own process: VmHWM at the end minus VmRSS once the data and model are loaded."
    task, base, bs, lr, method = step_setup(spec['model'], spec['steps'])
    gc.collect(); loaded = rss_mib('VmRSS')
    t, sizes = runner(spec['runner'], task, spec['steps'], bs, lr, method)(base)
    return dict(rss_loaded_mib=loaded, peak_mib=rss_mib('VmHWM'), growth_mib=rss_mib('VmHWM') - loaded, examples=int(sum(sizes)),
                largest_batch=int(max(sizes)))  # Poisson batches vary: the peak follows the largest one

JOBS = {'mem': job_mem}

# ---------------------------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------------------------
def section_a(cfg, R) -> list:
    "Step time and peak memory: DP-SGD vs non-private, tunebook and Opacus's own path."
    res, summary = {}, []
    for name, steps, warm, names in cfg.a_models:
        task, base, bs, lr, method = step_setup(name, steps)
        what = {'cnn': f"MNIST CNN (dp_ready, pretrained), batch {bs} (DP: Poisson, expected {bs}), 28x28",
                'minilm': f"MiniLM + LoRA(r={LORA['r']}, every linear layer), batch {bs} (DP: Poisson, expected {bs}) x {SEQ} tokens",
                'minilm-full': f"MiniLM, full fine-tuning, batch {bs} (DP: Poisson, expected {bs}) x {SEQ} tokens"}[name]
        print(f"\n  [a] {what}: {steps} steps ({warm} warm-up, not timed) x {cfg.repeats} interleaved repeats, fp32, "
              f"SGD momentum 0.9, DP sigma 1.0, C 1.0, {torch.get_num_threads()} torch thread(s)", flush=True)
        times = interleave({n: runner(n, task, steps, bs, lr, method) for n in names}, base, cfg.repeats, warm)
        rows = [{'runner': n, 'ms/step (median)': med([x[0] for x in v]) * 1e3, 'ms/example (median)': med([x[1] for x in v]) * 1e3,
                 'min ms/step': min(x[0] for x in v) * 1e3, 'max ms/step': max(x[0] for x in v) * 1e3} for n, v in times.items()]
        ratios = {f'{n} / tunebook': (paired(times, n, 'tunebook'), paired(times, n, 'tunebook', 1)) for n in ('tunebook DP', 'tunebook DP ghost')}
        if 'Opacus make_private' in times:
            ratios |= {'Opacus make_private / plain loop': (paired(times, 'Opacus make_private', 'plain loop'), paired(times, 'Opacus make_private', 'plain loop', 1)),
                       'tunebook / plain loop': (paired(times, 'tunebook', 'plain loop'), paired(times, 'tunebook', 'plain loop', 1)),
                       'tunebook DP / Opacus make_private': (paired(times, 'tunebook DP', 'Opacus make_private'), paired(times, 'tunebook DP', 'Opacus make_private', 1))}
        table(rows, f"(a) {name}: step time ({cfg.repeats} interleaved repeats; Poisson batches vary in size, so ms/example too)")
        table([{'ratio': k, 'per step (paired median)': v[0], 'per example (paired median)': v[1]} for k, v in ratios.items()], f"(a) {name}: paired ratios")
        mem = {}
        if cfg.memory:
            print(f"  [a] {name}: peak RSS, one subprocess per runner ({cfg.mem_steps} steps)", flush=True)
            for n in names:
                mem[n] = worker(dict(job='mem', model=name, runner=n, steps=cfg.mem_steps))
                print(f"    {n:<24s} RSS after loading {mem[n]['rss_loaded_mib']:.0f} MiB, peak {mem[n]['peak_mib']:.0f} MiB, "
                      f"growth while training {mem[n]['growth_mib']:.0f} MiB (largest batch {mem[n]['largest_batch']})", flush=True)
            table([{'runner': n, 'RSS loaded MiB': m['rss_loaded_mib'], 'peak RSS MiB': m['peak_mib'], 'training growth MiB': m['growth_mib'], 'largest batch': m['largest_batch']}
                   for n, m in mem.items()], f"(a) {name}: memory (VmHWM - VmRSS after loading, each runner in its own process)")
        r, targeted = ratios['tunebook DP / tunebook'][0], name in ('cnn', 'minilm')  # the targets: the CNN and MiniLM + LoRA
        summary.append(dict(section='a', metric=f'{name}: DP step / non-private step (tunebook)', value=r, target='<= 2.0' if targeted else 'info',
                            status=status(r <= 2.0) if targeted else 'info'))
        if 'Opacus make_private / plain loop' in ratios:
            summary.append(dict(section='a', metric=f'{name}: Opacus make_private / plain loop', value=ratios['Opacus make_private / plain loop'][0],
                                target='info (issue: 2.34 on a tiny CNN)', status='info'))
        r = ratios['tunebook DP ghost / tunebook'][0]
        summary.append(dict(section='a', metric=f'{name}: DP step with ghost clipping / non-private step', value=r, target='info', status='info'))
        for n in ('tunebook DP', 'tunebook DP ghost') if mem else ():
            g = mem[n]['growth_mib'] / max(mem['tunebook']['growth_mib'], 1e-9)
            summary.append(dict(section='a', metric=f'{name}: {n} / non-private training RSS growth', value=g, target='info', status='info'))
        res[name] = dict(steps=steps, warm=warm, batch_size=bs, times={k: [list(x) for x in v] for k, v in times.items()}, rows=rows,
                         ratios={k: list(v) for k, v in ratios.items()}, memory=mem)
        del base, task; gc.collect()
    R['a'] = res
    return summary

def b_mnist(cfg, res:dict) -> list:
    "MNIST, the CNN from fresh weights: non-private vs DP at eps 3."
    summary = []
    sizes = {k: min(v, cfg.limit or v) for k, v in cfg.mnist_sizes.items()}
    task = sized(mnist_task(), sizes)
    rn, rd = RECIPES['mnist_np'] | cfg.mnist_epochs, RECIPES['mnist_dp'] | cfg.mnist_epochs
    print(f"\n  [b] MNIST, CNN from fresh weights (dp_ready), {cfg.seeds} seed(s); examples {({s: len(v) for s, v in task.splits.items()})}; "
          f"non-private {rn}; DP eps 3, delta {DELTA:g}, C 1, {rd}", flush=True)
    runs = {'non-private': [], 'DP eps=3': []}
    for seed in range(cfg.seeds):
        for n in (['non-private', 'DP eps=3'] if seed % 2 == 0 else ['DP eps=3', 'non-private']):
            priv = dict(target_epsilon=3, delta=DELTA) if n != 'non-private' else None
            runs[n].append(strip(train_eval(cnn(task, False, seed), task, f"MNIST seed {seed} {n}", rd if priv else rn, priv, seed=seed)))
    gap = 100 * (np.mean([r['test'] for r in runs['non-private']]) - np.mean([r['test'] for r in runs['DP eps=3']]))
    table([{'run': n, 'mean test': np.mean([r['test'] for r in v]), 'per seed': ' '.join(f"{r['test']:.4f}" for r in v),
            'mean valid': np.mean([r['valid'] for r in v]), 'median fit s': med([r['fit_s'] for r in v]),
            'eps': np.mean([r.get('epsilon', np.nan) for r in v])} for n, v in runs.items()], f"(b) MNIST, CNN from fresh weights: test accuracy")
    summary.append(dict(section='b', metric='MNIST fresh CNN: non-private - DP eps 3 (points)', value=gap, target='<= 2.5', status=status(gap <= 2.5)))
    res['mnist'] = dict(sizes={s: len(v) for s, v in task.splits.items()}, recipes=dict(non_private=rn, dp=rd), runs=runs, gap_points=gap)
    return summary

def b_digits(cfg, res:dict) -> list:
    "Digits, public pretraining (MNIST) then private fine-tuning at eps 3, against non-private fine-tuning."
    from tunebook.models import load_model
    summary = []
    rn, rd, rf = (RECIPES[k] | cfg.digits_epochs for k in ('digits_np', 'digits_dp', 'digits_dp_frozen'))
    print(f"\n  [b] digits (framed 28x28, 70/10/20 per seed), pretrained CNN, {cfg.seeds} seed(s); non-private {rn}; DP eps 3, delta {DELTA:g}, C 1, "
          f"{rd} (BatchNorm frozen: {rf})", flush=True)
    arms = {'non-private, original (BatchNorm)': (lambda t: load_model('mnist-cnn', t), rn),
            'non-private, dp_ready': (lambda t: cnn(t, True), rn),
            'DP eps=3, dp_ready': (lambda t: cnn(t, True), rd),
            'DP eps=3, BatchNorm frozen': (lambda t: cnn(t, True, batchnorm='frozen'), rf)}
    runs = {n: [] for n in arms}
    for seed in range(cfg.seeds):
        t = digits_task(seed)
        if cfg.limit: t = sized(t, {s: cfg.limit for s in t.splits})
        order = list(runs) if seed % 2 == 0 else list(runs)[::-1]
        for n in order:
            make, recipe = arms[n]
            priv = dict(target_epsilon=3, delta=DELTA) if n.startswith('DP') else None
            runs[n].append(strip(train_eval(make(t), t, f"digits seed {seed} {n}", recipe, priv, seed=seed)))
    m = {n: np.mean([r['test'] for r in v]) for n, v in runs.items()}
    table([{'run': n, 'mean test': m[n], 'per seed': ' '.join(f"{r['test']:.4f}" for r in v), 'mean valid': np.mean([r['valid'] for r in v]),
            'median fit s': med([r['fit_s'] for r in v]), 'eps': np.mean([r.get('epsilon', np.nan) for r in v])} for n, v in runs.items()],
          f"(b) digits, MNIST-pretrained CNN fine-tuned: test accuracy (sizes per seed {runs['DP eps=3, dp_ready'][0]['sizes']})")
    g_same = 100 * (m['non-private, dp_ready'] - m['DP eps=3, dp_ready'])
    g_orig = 100 * (m['non-private, original (BatchNorm)'] - m['DP eps=3, dp_ready'])
    g_frozen = 100 * (m['non-private, original (BatchNorm)'] - m['DP eps=3, BatchNorm frozen'])
    summary += [dict(section='b', metric='digits pretrained CNN: non-private (dp_ready) - DP eps 3 (points)', value=g_same, target='<= 5', status=status(g_same <= 5)),
                dict(section='b', metric='digits pretrained CNN: non-private (original BN) - DP eps 3 (points)', value=g_orig, target='<= 5', status=status(g_orig <= 5)),
                dict(section='b', metric='digits pretrained CNN: non-private (original BN) - DP eps 3, BN frozen (points)', value=g_frozen,
                     target='<= 5', status=status(g_frozen <= 5))]
    res['digits'] = dict(recipes=dict(non_private=rn, dp=rd, dp_frozen=rf), runs=runs, gap_same_model=g_same, gap_original=g_orig, gap_frozen=g_frozen)
    return summary

def b_reviews(cfg, res:dict) -> list:
    "Reviews, MiniLM + LoRA at eps 8, against the frozen-feature baseline."
    from tunebook.models import load_model
    from tunebook.methods import LoRA
    summary = []
    rd = RECIPES['reviews_dp'] | cfg.reviews_epochs
    task = reviews_task(cfg.reviews_max_length)
    sizes = {s: min(len(v), cfg.limit or len(v), cfg.reviews_sizes.get(s) or len(v)) for s, v in task.splits.items()}
    task = sized(task, sizes)
    print(f"\n  [b] reviews, MiniLM + LoRA({LORA}), DP eps 8, delta {DELTA:g}, C 1, {rd}, max_length {cfg.reviews_max_length}, "
          f"{cfg.seeds} seed(s); examples {sizes}", flush=True)
    runs = []
    for seed in range(cfg.seeds):
        runs.append(strip(train_eval(load_model('minilm', task, seed=seed), task, f"reviews seed {seed} DP eps=8 LoRA", rd,
                                     dict(target_epsilon=8, delta=DELTA), LoRA(**LORA), seed=seed)))
    mv, mt = np.mean([r['valid'] for r in runs]), np.mean([r['test'] for r in runs])
    table([{'run': 'DP eps=8, LoRA', 'mean valid': mv, 'mean test': mt, 'per seed (test)': ' '.join(f"{r['test']:.4f}" for r in runs),
            'median fit s': med([r['fit_s'] for r in runs]), 'eps': np.mean([r['epsilon'] for r in runs])},
           {'run': 'frozen-feature baseline (all reviews, 128 tokens)', 'mean valid': BASELINE['valid'], 'mean test': BASELINE['test']}],
          "(b) reviews: private LoRA against the frozen-feature baseline")
    summary += [dict(section='b', metric=f"reviews LoRA DP eps 8: valid accuracy", value=mv, target=f"> {BASELINE['valid']}", status=status(mv > BASELINE['valid'])),
                dict(section='b', metric=f"reviews LoRA DP eps 8: test accuracy", value=mt, target=f"> {BASELINE['test']}", status=status(mt > BASELINE['test']))]
    res['reviews'] = dict(sizes=sizes, max_length=cfg.reviews_max_length, recipe=rd, lora=LORA, runs=runs, baseline=BASELINE)
    return summary

B_PARTS = dict(mnist=b_mnist, digits=b_digits, reviews=b_reviews)

def section_b(cfg, R) -> list:
    "Accuracy: non-private vs DP on MNIST (fresh CNN) and digits (pretrained CNN); private LoRA on the reviews."
    res, summary = {}, []
    for part in cfg.b_parts: summary += B_PARTS[part](cfg, res)
    R['b'] = res
    return summary

def section_c(cfg, R) -> list:
    "Membership inference: an overfit CNN and the same CNN trained with DP-SGD at eps 3."
    from tunebook.audit.membership import membership_audit, reference_models
    sizes = {k: min(v, cfg.limit or v) for k, v in cfg.member_sizes.items()}
    task = sized(mnist_task(), sizes)
    rn, rd = RECIPES['member_np'] | cfg.member_epochs, RECIPES['member_dp'] | cfg.member_epochs
    print(f"\n  [c] membership: MNIST, CNN from fresh weights (dp_ready), members = the {sizes['train']} training images, non-members = "
          f"{sizes['test']} test images, RMIA population and reference pool = {sizes['valid']} valid images; {cfg.seeds} seed(s); "
          f"overfit {rn}; DP eps 3, delta {DELTA:g}, {rd}; 2 reference models trained like the overfit model", flush=True)
    rows, runs = [], []
    for seed in range(cfg.seeds):
        over = train_eval(cnn(task, False, seed), task, f"membership seed {seed} overfit", rn, seed=seed, splits=('train', 'test'))
        priv = train_eval(cnn(task, False, seed), task, f"membership seed {seed} DP eps=3", rd, dict(target_epsilon=3, delta=DELTA), seed=seed, splits=('train', 'test'))
        t0 = time.perf_counter()
        refs = reference_models(lambda t: cnn(t, False, seed), task, pool='valid', n=2, seed=seed, mixed_precision='no', **rn)
        audit = membership_audit({'overfit': over['model'].eval(), 'DP eps=3': priv['model'].eval()}, task, references=refs, seed=seed)
        tab = audit.table.reset_index()
        print(f"    seed {seed}: references and audit {time.perf_counter() - t0:.0f} s\n" +
              tab[['model', 'attack', 'auc', 'auc_low', 'auc_high', 'tpr@0.01', 'members']].to_string(index=False, float_format=lambda v: f'{v:.3f}'), flush=True)
        runs.append(dict(seed=seed, overfit=strip(over), private=strip(priv), audit=tab.to_dict('records')))
        rows += [dict(seed=seed, **r) for r in tab.to_dict('records')]
    df = pd.DataFrame(rows)
    mean = df.groupby(['model', 'attack'], sort=False)[['auc', 'tpr@0.01']].mean()
    table([{'model': m, 'attack': a, 'mean AUC': v['auc'], 'mean TPR@1% FPR': v['tpr@0.01'],
            'AUC per seed': ' '.join(f'{x:.3f}' for x in df[(df.model == m) & (df.attack == a)].auc)} for (m, a), v in mean.iterrows()],
          f"(c) membership inference, means over {cfg.seeds} seed(s)")
    acc = pd.DataFrame([{'model': k, 'train acc': np.mean([r[k]['train'] for r in runs]), 'test acc': np.mean([r[k]['test'] for r in runs]),
                         'eps': np.mean([r[k].get('epsilon', np.nan) for r in runs])} for k in ('overfit', 'private')])
    print(acc.to_string(index=False, float_format=lambda v: f'{v:.4f}'))
    o = mean.loc['overfit']
    leak = bool((o.auc >= 0.6).any() or (o['tpr@0.01'] >= 0.05).any())
    worst_dp = float(mean.loc['DP eps=3'].auc.max())
    R['c'] = dict(sizes=sizes, recipes=dict(overfit=rn, dp=rd), runs=runs, mean=mean.reset_index().to_dict('records'))
    return [dict(section='c', metric='overfit CNN: loss-attack AUC', value=float(o.loc['loss', 'auc']), target='>= 0.6 (or TPR >= 5%)', status=status(leak)),
            dict(section='c', metric='overfit CNN: TPR at 1% FPR (loss attack)', value=float(o.loc['loss', 'tpr@0.01']), target='>= 0.05 (or AUC >= 0.6)', status=status(leak)),
            dict(section='c', metric='DP eps 3 CNN: highest AUC of the attacks', value=worst_dp, target='<= 0.55', status=status(worst_dp <= 0.55))]

def section_d(cfg, R) -> list:
    "The eps of every DP run against Opacus's RDPAccountant computed directly from (sigma, q, steps)."
    from opacus.accountants import RDPAccountant
    from opacus.accountants.utils import get_noise_multiplier
    print(f"\n  [d] eps of the DP callback vs Opacus's RDPAccountant for the same sigma, sample rate and steps "
          f"({len(DP_RUNS)} private runs of this process, plus a grid on digits)", flush=True)
    t = digits_task(0)
    grid = [dict(target_epsilon=1.0, batch_size=32, max_steps=40), dict(target_epsilon=3.0, batch_size=64, max_steps=30),
            dict(target_epsilon=8.0, batch_size=128, max_steps=20), dict(noise_multiplier=0.7, batch_size=16, max_steps=25),
            dict(noise_multiplier=2.0, batch_size=256, max_steps=10)]
    for g in grid:
        priv = {k: g[k] for k in ('target_epsilon', 'noise_multiplier') if k in g} | dict(delta=DELTA)
        hp = dict(optimizer='sgd', lr=0.5, batch_size=g['batch_size'], max_steps=g['max_steps'])
        train_eval(cnn(t, True), t, f"grid {priv} batch {g['batch_size']} steps {g['max_steps']}", hp, priv, splits=())
    rows = []
    for label, r in DP_RUNS:
        acct = RDPAccountant()
        acct.history = [(r['sigma'], r['sample_rate'], r['steps'])]
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='Optimal order is the largest alpha')
            ref = float(acct.get_epsilon(r['delta']))
            sig = (get_noise_multiplier(target_epsilon=r['target_epsilon'], target_delta=r['delta'], sample_rate=r['sample_rate'], steps=r['steps'])
                   if r['target_epsilon'] else r['sigma'])
        same_hist = [tuple(h) for h in r['accountant_history']] == [(r['sigma'], r['sample_rate'], float(r['steps']))]
        rows.append({'run': label, 'sigma': r['sigma'], 'q': r['sample_rate'], 'steps': r['steps'], 'eps (DP callback)': r['epsilon'],
                     'eps (RDPAccountant)': ref, '|diff|': abs(r['epsilon'] - ref), 'target': r['target_epsilon'] or float('nan'),
                     'sigma as Opacus calibrates': sig, 'accountant saw exactly these steps': same_hist})
    table(rows, "(d) eps: the DP callback against RDPAccountant(history=[(sigma, q, steps)]).get_epsilon(delta)")
    diff = max(r['|diff|'] for r in rows)
    hist = all(r['accountant saw exactly these steps'] for r in rows)
    within = [r for r in rows if not math.isnan(r['target'])]
    over = max(r['eps (DP callback)'] - r['target'] for r in within)
    under = max(r['target'] - r['eps (DP callback)'] for r in within)
    R['d'] = dict(rows=rows)
    return [dict(section='d', metric='max |eps - RDPAccountant eps| over the DP runs', value=diff, target='<= 1e-9', status=status(diff <= 1e-9)),
            dict(section='d', metric="every run's accountant history == [(sigma, q, steps)]", value=float(hist), target='1', status=status(hist)),
            dict(section='d', metric='calibrated runs: max eps above target', value=over, target='<= 0', status=status(over <= 1e-12)),
            dict(section='d', metric='calibrated runs: max eps below target', value=under, target='info (Opacus search tolerance 0.01)', status='info')]

SECTIONS = {'a': section_a, 'b': section_b, 'c': section_c, 'd': section_d}  # d last: it checks the DP runs of the others

# ---------------------------------------------------------------------------------------------------------------
def subset(p, value:str, allowed, what:str) -> list:
    "The comma-separated names of `value`, each one of `allowed` (else an argparse error naming `what`)."
    names = [s.strip() for s in value.split(',') if s.strip()]
    if bad := [s for s in names if s not in allowed]: p.error(f"unknown {what} {bad}; use a subset of {','.join(allowed)}")
    return names

def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--quick', action='store_true', help='few steps, small subsamples, 1 seed: a few minutes')
    p.add_argument('--sections', default='a,b,c,d', help='comma-separated subset of a,b,c,d (default: all)')
    p.add_argument('--seeds', type=int, default=None, help='seeds of the accuracy and membership runs (default 3; --quick 1)')
    p.add_argument('--a-models', default='cnn,minilm,minilm-full', help='(a): comma-separated subset of cnn,minilm,minilm-full')
    p.add_argument('--b-parts', default='mnist,digits,reviews', help='(b): comma-separated subset of mnist,digits,reviews')
    p.add_argument('--limit', type=int, default=None, help='at most N examples in every split of the accuracy and membership tasks')
    p.add_argument('--repeats', type=int, default=None, help='interleaved repeats of the step-time runs (default 5; --quick 2)')
    p.add_argument('--threads', type=int, default=None, help="torch threads (default: torch's own default)")
    p.add_argument('--no-memory', dest='memory', action='store_false', help='(a): skip the peak-RSS subprocesses')
    p.add_argument('--out', default=str(HERE / 'results'), help='folder for the JSON results')
    p.add_argument('--_worker', default=None, help=argparse.SUPPRESS)
    cfg = p.parse_args(argv)
    q = cfg.quick
    cfg.seeds = cfg.seeds or (1 if q else 3)
    cfg.repeats = cfg.repeats or (2 if q else 5)
    every = ['tunebook', 'tunebook DP', 'tunebook DP ghost', 'plain loop', 'Opacus make_private']
    a_models = [('cnn', 6 if q else 12, 2, every), ('minilm', 3 if q else 6, 1, every[:3]), ('minilm-full', 3 if q else 6, 1, every[:3])]
    names = subset(p, cfg.a_models, [m[0] for m in a_models], 'model(s) of a')
    cfg.a_models = [m for m in a_models if m[0] in names]  # (model, steps, warm-up, runners)
    cfg.mem_steps = 3 if q else 5
    cfg.mnist_sizes = dict(train=2000, valid=1000, test=2000) if q else dict(train=10000, valid=2000, test=10000)
    cfg.mnist_epochs = dict(epochs=1) if q else {}
    cfg.digits_epochs = dict(epochs=3) if q else {}
    cfg.reviews_max_length = 64
    cfg.reviews_sizes = dict(train=300, valid=200, test=300) if q else {}
    cfg.reviews_epochs = {}
    cfg.member_sizes = dict(train=200, valid=200, test=200) if q else dict(train=500, valid=1000, test=500)
    cfg.member_epochs = dict(epochs=20) if q else {}
    cfg.sections = subset(p, cfg.sections, list(SECTIONS), 'section(s)')
    cfg.b_parts = subset(p, cfg.b_parts, list(B_PARTS), 'part(s) of b')
    return cfg

def git_state() -> dict:
    "The commit of the library measured, and whether its files differ from it."
    def git(*a):
        try: return subprocess.run(['git', *a], cwd=HERE.parent, capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception: return ''
    import tunebook
    return dict(commit=git('rev-parse', 'HEAD'), library_dirty=bool(git('status', '--porcelain', '--', 'tunebook')), tunebook_path=str(Path(tunebook.__file__).parent))

def environment() -> dict:
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor())
    import transformers, peft, opacus
    return dict(cpu=cpu, cores=os.cpu_count(), torch_threads=torch.get_num_threads(), torch=torch.__version__, opacus=opacus.__version__,
                transformers=transformers.__version__, peft=peft.__version__, python=platform.python_version(), loadavg_start=os.getloadavg(), **git_state())

def write_json(R:dict, out:str) -> Path:
    from tunebook.core import atomic_write
    path = Path(out) / f"bench_privacy-{datetime.datetime.now():%Y-%m-%d-%H%M%S}.json"
    with atomic_write(path, 'w') as f: json.dump(R, f, indent=1, default=lambda o: o.tolist() if hasattr(o, 'tolist') else str(o))
    return path

def main(argv=None):
    global THREADS
    cfg = parse(argv)
    if cfg.threads: THREADS = cfg.threads; torch.set_num_threads(cfg.threads)
    if cfg._worker:
        spec = json.loads(cfg._worker)
        print('RESULT ' + json.dumps(JOBS[spec['job']](spec)), flush=True)
        return 0
    torch.manual_seed(0)
    import tunebook.train, tunebook.methods, tunebook.models, tunebook.assets, tunebook.cnn, tunebook.audit.privacy, tunebook.audit.membership  # noqa: F401 (loaded once, at the start)
    env, t0 = environment(), time.perf_counter()
    print(f"bench_privacy: {env['cpu']}, {env['cores']} cores, torch {env['torch']} ({env['torch_threads']} threads), opacus {env['opacus']}, "
          f"transformers {env['transformers']}, peft {env['peft']}, commit {env['commit'][:7]}{' + local changes' if env['library_dirty'] else ''}, "
          f"load average {env['loadavg_start'][0]:.2f}\nmode: {'quick' if cfg.quick else 'full'}, sections {cfg.sections}, repeats {cfg.repeats}, "
          f"seeds {cfg.seeds}, limit {cfg.limit}, memory {cfg.memory}", flush=True)
    R, summary = {'env': env, 'args': {k: v for k, v in vars(cfg).items() if not k.startswith('_')}, 'recipes': RECIPES}, []
    for s in [s for s in SECTIONS if s in cfg.sections]:
        t = time.perf_counter()
        summary += SECTIONS[s](cfg, R)
        R.setdefault('seconds', {})[s] = time.perf_counter() - t
        print(f"  ({s} took {time.perf_counter() - t:.0f} s, load average {os.getloadavg()[0]:.2f})", flush=True)
    R['summary'], R['env']['loadavg_end'], R['env']['seconds'] = summary, os.getloadavg(), time.perf_counter() - t0
    table(summary, "SUMMARY (ratios are medians of interleaved paired repeats; absolute times are noisy on this shared machine)")
    print(f"\nload average at start {env['loadavg_start'][0]:.2f}, at end {os.getloadavg()[0]:.2f}; total {time.perf_counter() - t0:.0f} s")
    print(f"results: {write_json(R, cfg.out)}")
    return 0

if __name__ == '__main__': sys.exit(main())
