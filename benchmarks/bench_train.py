"""Training benchmarks for tunebook: the `Tuner` next to a hand-written PyTorch loop and `transformers.Trainer`.

Competitors run side by side in one process run, interleaved (the order rotates every repeat), and we report
medians and paired ratios, because this 2-core machine is shared and noisy.
Sections (see benchmarks/README.md):
  a  loop overhead: Tuner vs hand loop vs Trainer (all fused AdamW), fixed 16x128 batches, fp32, same steps (tiny BERT and MiniLM)
  b  LoRA (r=4 on every linear layer) vs full fine-tuning of MiniLM: trainable share, step time, peak RSS (one subprocess
     per run), test accuracy over seeds (--accuracy)
  c  training FLOP/s (FlopCounterMode) as a share of the fp32 / bf16 matmul peak measured in the same run
  d  one epoch on the reviews: Tuner defaults (by_length + dynamic padding) vs Trainer defaults (DataCollatorWithPadding) (--epoch)
  e  bf16 autocast vs fp32 on this CPU: step time, and test accuracy (--accuracy)

Usage: python benchmarks/bench_train.py [--quick] [--sections a,b,c,d,e] [--accuracy] [--epoch] [--limit N] [--repeats K]
"""
from __future__ import annotations
import os
for _k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(_k, '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
os.environ.setdefault('TRANSFORMERS_VERBOSITY', 'error')
import argparse, copy, datetime, gc, json, math, platform, statistics, subprocess, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np, pandas as pd, torch, torch.nn.functional as F

warnings.filterwarnings('ignore')
import transformers; transformers.utils.logging.disable_progress_bar()
HERE = Path(__file__).resolve().parent
BS, SEQ = 16, 128  # batch size and sequence length of every throughput measurement

# ---------------------------------------------------------------------------------------------------------------
# Data: fixed-length batches that all three loops see identically
# ---------------------------------------------------------------------------------------------------------------
def tokenizer():
    from tunebook.models import load_tokenizer
    return load_tokenizer('minilm')  # tiny-bert uses the MiniLM vocabulary too

def reviews_df() -> pd.DataFrame:
    "The bundled reviews."
    from tunebook.assets import load_reviews
    return load_reviews()

def reviews_task(limit:int|None=None):
    """Reviews as a Task on their own train/test split, no valid split (so no evaluation runs inside fit); at most
    `limit` per split (`Task.subset`, seed 0, whatever the training seed, as `tunebook demo --limit` draws)."""
    from tunebook.data import Task
    task = Task.from_df(reviews_df(), text='review', label='score', split='split', valid_pct=0, test_pct=0)
    return task.subset(limit, seed=0) if limit else task

class Fixed:
    "n texts of >= SEQ tokens (several reviews joined), as a Task and as pre-tokenized [n, SEQ] tensors."
    def __init__(self, n:int):
        from tunebook.data import Task
        df, self.tok = reviews_df(), tokenizer()
        texts, labels = _joined(df.review.tolist(), df.score.tolist(), [len(i) - 2 for i in self.tok(df.review.tolist())['input_ids']], n)
        self.task = Task.from_df(pd.DataFrame({'text': texts, 'label': labels}),
                                 text='text', label='label', valid_pct=0, test_pct=0, max_length=SEQ, tokenizer=self.tok)
        enc = self.tok(self.task.train.x, truncation=True, max_length=SEQ, padding='max_length', return_tensors='pt')
        assert bool(enc['attention_mask'].all()), "every text must fill the SEQ tokens so that dynamic padding gives SEQ too"
        self.enc = dict(enc)
        self.labels = torch.from_numpy(self.task.train.y)
    def __len__(self): return len(self.labels)
    def batch(self, i:int) -> dict:
        j = (i * BS) % (len(self) - BS + 1)
        return {k: v[j:j+BS] for k, v in self.enc.items()}, self.labels[j:j+BS]

def _joined(rev, lab, ntok, n):
    "n texts, each successive reviews joined until just past SEQ tokens (so tokenizing costs what a long review costs)."
    texts, labels, i = [], [], 0
    while len(texts) < n:
        parts, k = [], 0
        while k < SEQ + 4: parts.append(rev[i % len(rev)]); k += ntok[i % len(rev)]; i += 1
        texts.append(' '.join(parts)); labels.append(lab[(i - 1) % len(lab)])
    return texts, labels

# ---------------------------------------------------------------------------------------------------------------
# The competitors. Each trains `steps` optimizer steps and returns the time at the end of each step.
# ---------------------------------------------------------------------------------------------------------------
def _linear(warm:int, total:int):
    "Linear warm-up then linear decay to 0 (the schedule of Tuner and Trainer)."
    return lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm))

def run_hand(model, fx:Fixed, steps:int, lr:float, precision:str='no', fused:bool=True) -> list[float]:
    "A hand-written PyTorch loop: AdamW (decay on matrices only; fused like the Tuner's and Trainer's), linear schedule, clip 1.0."
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{'params': [p for p in params if p.ndim >= 2], 'weight_decay': 0.01},
                             {'params': [p for p in params if p.ndim < 2], 'weight_decay': 0.0}], lr=lr, fused=fused)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _linear(round(0.1 * steps), steps))
    model.train(); times, losses = [], []
    for i in range(steps):
        x, y = fx.batch(i)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=precision == 'bf16'):
            loss = F.cross_entropy(model(**x).logits.float(), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step(); sched.step(); opt.zero_grad(set_to_none=True)
        losses.append(loss.item()); times.append(time.perf_counter())
    return times

def _timer_callback():
    from tunebook.callbacks import Callback
    class StepTimes(Callback):
        def __init__(self): self.t = []
        def on_step_end(self): self.t.append(time.perf_counter())
    return StepTimes()

def run_tuner(model, fx:Fixed, steps:int, lr:float, precision:str='no', method=None) -> list[float]:
    "tunebook's Tuner (it tokenizes each split once, before the first step; the collate function only pads)."
    from tunebook.train import Tuner
    from tunebook.methods import Full
    cb = _timer_callback()
    Tuner(model, fx.task, method or Full(), lr=lr, max_steps=steps, batch_size=BS, mixed_precision=precision,
          by_length=False, progress=False, seed=0, callbacks=[cb]).fit()
    return cb.t

class _Rows(torch.utils.data.Dataset):
    "The pre-tokenized fixed-length tensors as a map-style dataset (Trainer stacks them with default_data_collator)."
    def __init__(self, fx:Fixed): self.fx = fx
    def __len__(self): return len(self.fx)
    def __getitem__(self, i): return {**{k: v[i] for k, v in self.fx.enc.items()}, 'labels': self.fx.labels[i]}

def _trainer_args(out, steps=None, lr=5e-5, warm=0, **kw):
    from transformers import TrainingArguments
    steps_kw = dict(max_steps=steps) if steps else dict(num_train_epochs=1)
    return TrainingArguments(output_dir=out, per_device_train_batch_size=BS, learning_rate=lr, weight_decay=0.01,
                             warmup_steps=warm, lr_scheduler_type='linear', optim='adamw_torch_fused', max_grad_norm=1.0,
                             logging_strategy='no', save_strategy='no', eval_strategy='no', report_to='none',
                             disable_tqdm=True, use_cpu=True, dataloader_pin_memory=False, **steps_kw, **kw)

def _trainer_timer():
    from transformers import TrainerCallback
    class StepTimes(TrainerCallback):
        def __init__(self): self.t = []
        def on_step_end(self, args, state, control, **kw): self.t.append(time.perf_counter())
    return StepTimes()

def _reset_accelerate():
    from accelerate.state import AcceleratorState
    AcceleratorState._reset_state(reset_partial_state=True)

def run_trainer(model, fx:Fixed, steps:int, lr:float) -> list[float]:
    "transformers.Trainer on the same tensors, in order (sequential sampler), no eval/save/logging, same AdamW and schedule."
    from transformers import Trainer, default_data_collator
    _reset_accelerate()
    cb = _trainer_timer()
    with tempfile.TemporaryDirectory() as out:
        args = _trainer_args(out, steps, lr, round(0.1 * steps), train_sampling_strategy='sequential', seed=0)
        quiet(Trainer(model=model, args=args, train_dataset=_Rows(fx), data_collator=default_data_collator, callbacks=[cb])).train()
    return cb.t

def quiet(trainer):
    "Drop the callback that prints the final metrics dict (logging overhead that can be turned off)."
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    for c in (PrinterCallback, ProgressCallback): trainer.remove_callback(c)
    return trainer

# ---------------------------------------------------------------------------------------------------------------
# Measuring helpers
# ---------------------------------------------------------------------------------------------------------------
def steady_step(t:list[float], warm:int) -> float:
    "Median seconds per step after the first `warm` steps (the median resists the pauses a shared machine inflicts)."
    return med(np.diff(t[warm - 1:]))

def med(xs): return float(statistics.median(xs)) if len(xs) else float("nan")

def fresh_model(name:str, fx:Fixed):
    "A model for fx.task with the same initial weights every time (tiny-bert is random: seeded)."
    from tunebook.models import load_model
    torch.manual_seed(0)
    return load_model(name, fx.task)

def interleave(runners:dict, base, repeats:int, warm:int, log=print) -> dict:
    "Run every runner `repeats` times, rotating the order each repeat; step times per runner."
    names, out = list(runners), {n: [] for n in runners}
    for r in range(repeats):
        for n in names[r % len(names):] + names[:r % len(names)]:
            gc.collect()
            model = copy.deepcopy(base)
            t0 = time.perf_counter(); t = runners[n](model); wall = time.perf_counter() - t0
            out[n].append(steady_step(t, warm))
            log(f"    repeat {r+1}/{repeats} {n:<28s} {out[n][-1]*1e3:9.1f} ms/step  ({wall:.1f} s incl. setup)")
            del model
    return out

def paired_ratios(times:dict, ref:str) -> dict:
    "Per repeat, each runner's step time divided by `ref`'s in the same repeat; the median of those."
    return {n: med([a / b for a, b in zip(ts, times[ref])]) for n, ts in times.items()}

def status(ok) -> str: return 'n/a' if ok is None else ('PASS' if ok else 'FAIL')

def table(rows:list[dict], title:str):
    print(f"\n{title}\n" + pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"), flush=True)

def rss_mib(field:str='VmHWM') -> float:
    "Peak (VmHWM) or current (VmRSS) memory of this process in MiB (not ru_maxrss: Linux keeps it across exec from the parent)."
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(field + ':')) / 1024

def worker(spec:dict, log=print) -> dict:
    "Run one job in a fresh Python process (so peak RSS and allocator state do not mix); its RESULT line as a dict."
    cmd = [sys.executable, str(Path(__file__).resolve()), '--_worker', json.dumps(spec)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    res = [l for l in p.stdout.splitlines() if l.startswith('RESULT ')]
    if p.returncode or not res: raise RuntimeError(f"worker {spec} failed (rc={p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(res[-1][7:])

# ---------------------------------------------------------------------------------------------------------------
# Worker jobs (run in subprocesses)
# ---------------------------------------------------------------------------------------------------------------
LORA = dict(r=4, alpha=8, target_modules=['query', 'key', 'value', 'dense'])  # every linear layer; chosen on a valid split by select_lora.py
LORA_LR = 1e-3  # likewise (full fine-tuning keeps the Tuner's default, 5e-5)

def _method(name:str):
    "The method and learning rate (None: the Tuner's default) of a benchmark run."
    from tunebook.methods import Full, LoRA
    return (LoRA(**LORA), LORA_LR) if name == 'lora' else (Full(), None)

def job_steps(spec) -> dict:
    "Time `steps` Tuner steps of MiniLM with one method on fixed 16x128 batches; peak RSS of this process."
    fx = Fixed(spec['steps'] * BS)
    model = fresh_model('minilm', fx)
    gc.collect(); rss_loaded = rss_mib('VmRSS')
    from tunebook.train import Tuner
    cb, (method, _) = _timer_callback(), _method(spec['method'])
    tuner = Tuner(model, fx.task, method, max_steps=spec['steps'], batch_size=BS, mixed_precision=spec['precision'],
                  by_length=False, progress=False, seed=0, callbacks=[cb])
    pc = tuner.trainable_params()
    tuner.fit()
    return dict(step_s=steady_step(cb.t, spec['warm']), peak_rss_mib=rss_mib(), rss_after_load_mib=rss_loaded,
                trainable=pc.trainable, total=pc.total, pct=pc.pct)

def job_fit_eval(spec) -> dict:
    "One epoch of MiniLM with the Tuner's defaults (by_length, dynamic padding) and a given method/precision; test accuracy."
    from tunebook.core import set_seed
    from tunebook.models import load_model
    from tunebook.train import Tuner
    task = reviews_task(spec.get('limit'))
    set_seed(spec['seed']); model = load_model('minilm', task)  # the new head's initial weights follow the seed too
    t0 = time.perf_counter()  # from constructing the loop, as for the Trainer
    method, lr = _method(spec['method'])
    tuner = Tuner(model, task, method, lr=lr, epochs=1, mixed_precision=spec['precision'], progress=False, seed=spec['seed'])
    tuner.fit(); fit_s = time.perf_counter() - t0
    return dict(fit_s=fit_s, steps=tuner.step, accuracy=tuner.evaluate('test').accuracy, padded_tokens=_tuner_padded(task, spec['seed']),
                n_train=len(task.train), n_test=len(task.test))

def _tuner_padded(task, seed) -> int:
    "Tokens (padding included) the Tuner's first epoch feeds: its length-grouped batches padded to their longest."
    lengths = np.minimum(np.array([len(i) for i in task.tokenizer(task.train.x)['input_ids']]), task.max_length)
    dl = task.dataloader('train', batch_size=BS, shuffle=True, seed=seed, by_length=True)
    return int(sum(len(b) * lengths[b].max() for b in dl.batch_sampler))

def job_trainer_fit_eval(spec) -> dict:
    "One epoch of MiniLM with transformers.Trainer's default batching (random order, DataCollatorWithPadding); test accuracy."
    from transformers import Trainer, DataCollatorWithPadding
    import datasets
    from tunebook.core import set_seed
    from tunebook.models import load_model
    from tunebook.train import Tuner
    task = reviews_task(spec.get('limit'))
    set_seed(spec['seed']); model, tok = load_model('minilm', task), tokenizer()
    class Counting(DataCollatorWithPadding):
        n = 0
        def __call__(self, feats):
            b = super().__call__(feats); Counting.n += b['input_ids'].numel(); return b
    t0 = time.perf_counter()
    enc = tok(task.train.x, truncation=True, max_length=task.max_length)
    ds = datasets.Dataset.from_dict({**enc, 'labels': task.train.y.tolist()})
    steps = math.ceil(len(ds) / BS)
    with tempfile.TemporaryDirectory() as out:
        args = _trainer_args(out, None, 5e-5, round(0.1 * steps), seed=spec['seed'], bf16=spec['precision'] == 'bf16')
        quiet(Trainer(model=model, args=args, train_dataset=ds, data_collator=Counting(tok))).train()
    fit_s = time.perf_counter() - t0
    # the same evaluation path for both competitors: tunebook's evaluate
    acc = Tuner(model, task, mixed_precision=spec['precision'], progress=False).evaluate('test').accuracy
    return dict(fit_s=fit_s, steps=steps, accuracy=acc, padded_tokens=Counting.n, n_train=len(task.train), n_test=len(task.test))

JOBS = {'steps': job_steps, 'fit_eval': job_fit_eval, 'trainer_fit_eval': job_trainer_fit_eval}

# ---------------------------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------------------------
def section_a(cfg, R) -> dict:
    "Loop overhead: Tuner vs hand loop vs Trainer (all fused AdamW) on identical fixed 16x128 fp32 batches."
    res, summary = {}, []
    for name, steps, warm, lr, extra, threads in cfg.a_models:
        old_threads = torch.get_num_threads(); torch.set_num_threads(threads or old_threads)
        print(f"\n  [a] {name}: {steps} steps ({warm} warm-up, not timed) x {cfg.repeats} interleaved repeats, batch {BS}x{SEQ}, fp32, "
              f"{torch.get_num_threads()} torch thread(s)", flush=True)
        fx = Fixed(steps * BS)
        base = fresh_model(name, fx)
        runners = {'hand loop': lambda m: run_hand(m, fx, steps, lr),
                   'Tuner': lambda m: run_tuner(m, fx, steps, lr),
                   'Trainer': lambda m: run_trainer(m, fx, steps, lr)}
        if extra:
            runners['hand loop, for-loop AdamW'] = lambda m: run_hand(m, fx, steps, lr, fused=False)
        times = interleave(runners, base, cfg.repeats, warm)
        vs_hand, vs_trainer = paired_ratios(times, 'hand loop'), paired_ratios(times, 'Trainer')
        rows = [{'loop': n, 'ms/step (median)': med(ts) * 1e3, 'samples/s': BS / med(ts), 'time / hand loop': vs_hand[n],
                 'time / Trainer': vs_trainer[n], 'min ms': min(ts) * 1e3, 'max ms': max(ts) * 1e3} for n, ts in times.items()]
        table(rows, f"(a) {name}: training throughput, fp32, batch {BS}x{SEQ} (ratios: median of per-repeat paired ratios)")
        ok_hand, ok_tr = vs_hand['Tuner'] <= 1.03, vs_trainer['Tuner'] <= 1.0
        summary += [dict(section='a', metric=f'{name}: Tuner time / hand loop', value=vs_hand['Tuner'], target='<= 1.03', status=status(ok_hand)),
                    dict(section='a', metric=f'{name}: Tuner time / Trainer', value=vs_trainer['Tuner'], target='<= 1.00', status=status(ok_tr))]
        res[name] = dict(steps=steps, warm=warm, step_s=times, rows=rows)
        print(f"  -> {name}: Tuner/hand {vs_hand['Tuner']:.3f} [{status(ok_hand)}], Tuner/Trainer {vs_trainer['Tuner']:.3f} [{status(ok_tr)}]", flush=True)
        del base, fx; gc.collect(); torch.set_num_threads(old_threads)
    R['a'] = res
    return summary

_EPOCHS = {}  # (method, resolved precision, seed, limit) -> result: sections b, d and e share identical Tuner epochs

def tuner_epoch(method:str, precision:str, seed:int, cfg) -> dict:
    "One epoch of the Tuner and its test accuracy, in a worker process; run once per configuration and reused."
    from tunebook.train import resolve_precision
    key = (method, resolve_precision(precision, 'cpu'), seed, cfg.limit)
    if key not in _EPOCHS: _EPOCHS[key] = worker(dict(job='fit_eval', method=method, precision=key[1], seed=seed, limit=cfg.limit))
    return _EPOCHS[key]

def _accuracy_runs(methods:list[tuple[str, str]], cfg) -> dict:
    "Test accuracy of one epoch per (method, precision) and seed; seeds interleaved across configurations."
    out = {m: [] for m in methods}
    for seed in range(cfg.seeds):
        for m, prec in (methods if seed % 2 == 0 else methods[::-1]):
            r = tuner_epoch(m, prec, seed, cfg)
            out[(m, prec)].append(r)
            print(f"    seed {seed} {m:<5s} {prec:<4s}: accuracy {r['accuracy']:.4f}, fit {r['fit_s']:.0f} s ({r['steps']} steps, {r['n_train']} train / {r['n_test']} test)", flush=True)
    return out

def section_b(cfg, R) -> dict:
    "LoRA vs full fine-tuning of MiniLM: trainable share, step time, peak RSS, accuracy."
    steps, warm = cfg.b_steps
    print(f"\n  [b] MiniLM full vs LoRA({LORA}): {steps} steps ({warm} warm-up) x {cfg.b_repeats} repeats, one subprocess per run, fp32", flush=True)
    runs = {'full': [], 'lora': []}
    for r in range(cfg.b_repeats):
        for m in (['full', 'lora'] if r % 2 == 0 else ['lora', 'full']):
            runs[m].append(worker(dict(job='steps', method=m, precision='no', steps=steps, warm=warm)))
            x = runs[m][-1]
            print(f"    repeat {r+1} {m:<5s}: {x['step_s']*1e3:8.1f} ms/step, peak RSS {x['peak_rss_mib']:.0f} MiB (after load {x['rss_after_load_mib']:.0f})", flush=True)
    agg = {m: dict(trainable=rs[0]['trainable'], total=rs[0]['total'], pct=rs[0]['pct'], step_s=med([x['step_s'] for x in rs]),
                   peak_rss_mib=med([x['peak_rss_mib'] for x in rs]), rss_after_load_mib=med([x['rss_after_load_mib'] for x in rs])) for m, rs in runs.items()}
    speed = med([f['step_s'] / l['step_s'] for f, l in zip(runs['full'], runs['lora'])])
    rows = [{'method': m, 'trainable': a['trainable'], 'total': a['total'], 'trainable %': a['pct'], 'ms/step (median)': a['step_s'] * 1e3,
             'samples/s': BS / a['step_s'], 'peak RSS MiB': a['peak_rss_mib'], 'RSS after load MiB': a['rss_after_load_mib'],
             'training RSS growth MiB': a['peak_rss_mib'] - a['rss_after_load_mib']} for m, a in agg.items()]
    table(rows, "(b) MiniLM: full fine-tuning vs LoRA (peak RSS = VmHWM of the run's own process)")
    print(f"  LoRA speed-up (full step time / LoRA step time, paired median): {speed:.3f}x")
    summary = [dict(section='b', metric='LoRA trainable share %', value=agg['lora']['pct'], target='<= 1 %', status=status(agg['lora']['pct'] <= 1)),
               dict(section='b', metric='LoRA speed-up vs full (step time)', value=speed, target='info', status='info'),
               dict(section='b', metric='LoRA / full peak RSS', value=agg['lora']['peak_rss_mib'] / agg['full']['peak_rss_mib'], target='info', status='info')]
    res = dict(steps=steps, warm=warm, runs=runs, summary=agg, speedup=speed)
    if cfg.accuracy:
        print(f"\n  [b] accuracy: one epoch each, {cfg.seeds} seed(s), Tuner defaults (by_length, mixed_precision='auto'), limit={cfg.limit}", flush=True)
        acc = _accuracy_runs([('full', 'auto'), ('lora', 'auto')], cfg)
        a = {m: [r['accuracy'] for r in rs] for (m, _), rs in acc.items()}
        rows = [{'method': m, 'mean accuracy': np.mean(v), 'std': np.std(v, ddof=1) if len(v) > 1 else float('nan'), 'per seed': ' '.join(f'{x:.4f}' for x in v),
                 'median fit s': med([r['fit_s'] for r in acc[(m, 'auto')]])} for m, v in a.items()]
        table(rows, "(b) test accuracy after one epoch")
        gap = 100 * (np.mean(a['full']) - np.mean(a['lora']))
        summary.append(dict(section='b', metric='accuracy gap full - LoRA (points)', value=gap, target='<= 1.0', status=status(gap <= 1.0)))
        res['accuracy'] = {m: acc[(m, 'auto')] for m in ('full', 'lora')}
    else: summary.append(dict(section='b', metric='accuracy gap full - LoRA (points)', value=float('nan'), target='<= 1.0', status='skipped (--accuracy)'))
    R['b'] = res
    return summary

def matmul_peak(dtype, n:int=2048, reps:int=10, rounds:int=5) -> float:
    "GFLOP/s of an n x n matmul in `dtype`: the best round of `reps` products (2 n^3 FLOPs each)."
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(2): a @ b
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps): a @ b
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    return best

def train_step_flops(model, x, y) -> int:
    "FLOPs of one training step (forward + backward) counted by FlopCounterMode (matmuls and attention)."
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc:
        F.cross_entropy(model(**x).logits, y).backward()
    model.zero_grad(set_to_none=True)
    return fc.get_total_flops()

def section_c(cfg, R) -> dict:
    "Training FLOP/s as a share of the matmul peak measured in this run."
    fx = Fixed(cfg.c_steps * BS)
    model = fresh_model('minilm', fx).train()
    flops = train_step_flops(model, *fx.batch(0))
    n_all = sum(p.numel() for p in model.parameters())
    n_emb = sum(p.numel() for n, p in model.named_parameters() if '.embeddings.' in n)
    tokens = BS * SEQ
    print("\n  [c] matmul peak (2048x2048, best of 5 rounds of 10) and MiniLM training FLOP/s", flush=True)
    peak32, peak16 = matmul_peak(torch.float32), matmul_peak(torch.bfloat16)
    # step times: reuse (a)/(e) medians from this run when they ran, else measure here (interleaved)
    st = {}
    if 'a' in R and 'minilm' in R['a']: st |= {k: med(R['a']['minilm']['step_s'][k]) for k in ('hand loop', 'Tuner')}
    else:
        t = interleave({'hand loop': lambda m: run_hand(m, fx, cfg.c_steps, 5e-5), 'Tuner': lambda m: run_tuner(m, fx, cfg.c_steps, 5e-5)},
                       model, max(1, cfg.repeats // 2), 1)
        st |= {k: med(v) for k, v in t.items()}
    if 'e' in R: st['Tuner bf16'] = med(R['e']['step_s']['Tuner bf16'])
    peak32b = matmul_peak(torch.float32)  # again after training: the machine is shared, so show the spread
    rows = [{'loop': k, 'ms/step': v * 1e3, 'GFLOP/s': flops / v / 1e9,
             'vs peak': 'bf16' if 'bf16' in k else 'fp32', '% of peak': 100 * flops / v / 1e9 / (peak16 if 'bf16' in k else max(peak32, peak32b))} for k, v in st.items()]
    table([{'matmul': 'fp32 (before)', 'GFLOP/s': peak32}, {'matmul': 'fp32 (after)', 'GFLOP/s': peak32b}, {'matmul': 'bf16', 'GFLOP/s': peak16}],
          "(c) torch matmul peak on this machine, this run")
    table(rows, f"(c) MiniLM training FLOP/s: {flops/1e9:.1f} GFLOP per step (fwd+bwd, FlopCounterMode), batch {BS}x{SEQ}")
    six = 6 * n_all * tokens; six_ne = 6 * (n_all - n_emb) * tokens
    table([{'estimate': 'FlopCounterMode (fwd+bwd)', 'GFLOP/step': flops / 1e9, 'ratio to counted': 1.0},
           {'estimate': f'6*N*T, N={n_all/1e6:.1f}M all params', 'GFLOP/step': six / 1e9, 'ratio to counted': six / flops},
           {'estimate': f'6*N*T, N={(n_all-n_emb)/1e6:.1f}M non-embedding', 'GFLOP/step': six_ne / 1e9, 'ratio to counted': six_ne / flops}],
          f"(c) FLOP estimates, T={tokens} tokens/step")
    print(f"  note: 6*N*T overestimates MiniLM by {six/flops:.2f}x: {100*n_emb/n_all:.0f}% of its parameters are embeddings (a lookup, no matmul);\n"
          f"        6*N*T over the non-embedding parameters is {six_ne/flops:.2f}x the count (the rest is attention's T^2 matmuls and the head).")
    R['c'] = dict(flops_per_step=flops, params=n_all, embedding_params=n_emb, peak_fp32=[peak32, peak32b], peak_bf16=peak16, step_s=st, rows=rows,
                  six_nt=six, six_nt_nonembedding=six_ne)
    return [dict(section='c', metric=f'{k}: % of {r["vs peak"]} matmul peak', value=r['% of peak'], target='info', status='info') for k, r in zip(st, rows)] + \
           [dict(section='c', metric='6NT / counted FLOPs', value=six / flops, target='~2 (info)', status='info')]

def section_d(cfg, R) -> dict:
    "One epoch: Tuner defaults vs Trainer defaults, full fine-tuning, fp32 for both; test accuracy of each."
    if not cfg.epoch:
        print("\n  [d] skipped: pass --epoch (one epoch per competitor and seed; ~5+ min each on the full reviews)")
        R['d'] = 'skipped'
        return [dict(section='d', metric='Tuner epoch time / Trainer', value=float('nan'), target='<= 0.8', status='skipped (--epoch)')]
    print(f"\n  [d] one epoch, MiniLM Full, fp32, lr 5e-5, 10% warm-up, {cfg.seeds} seed(s), limit={cfg.limit}; Tuner: by_length + dynamic padding; "
          f"Trainer: random order + DataCollatorWithPadding (its tokenizing is timed too)", flush=True)
    runs = {'Tuner': [], 'Trainer': []}
    for seed in range(cfg.seeds):
        for n in (['Tuner', 'Trainer'] if seed % 2 == 0 else ['Trainer', 'Tuner']):
            runs[n].append(tuner_epoch('full', 'no', seed, cfg) if n == 'Tuner' else worker(dict(job='trainer_fit_eval', precision='no', seed=seed, limit=cfg.limit)))
            r = runs[n][-1]
            print(f"    seed {seed} {n:<7s}: {r['fit_s']:.0f} s, accuracy {r['accuracy']:.4f}, padded tokens {r['padded_tokens']:,}", flush=True)
    rows = [{'loop': n, 'median epoch s': med([r['fit_s'] for r in rs]), 'mean accuracy': np.mean([r['accuracy'] for r in rs]),
             'padded tokens/epoch': med([r['padded_tokens'] for r in rs]), 'steps': rs[0]['steps']} for n, rs in runs.items()]
    ratio = med([a['fit_s'] / b['fit_s'] for a, b in zip(runs['Tuner'], runs['Trainer'])])
    gap = 100 * (rows[1]['mean accuracy'] - rows[0]['mean accuracy'])
    table(rows, "(d) one epoch, defaults of each loop")
    R['d'] = dict(runs=runs, time_ratio=ratio, accuracy_gap=gap)
    return [dict(section='d', metric='Tuner epoch time / Trainer', value=ratio, target='<= 0.8', status=status(ratio <= 0.8)),
            dict(section='d', metric='accuracy gap Trainer - Tuner (points)', value=gap, target='<= 1.0', status=status(gap <= 1.0))]

def section_e(cfg, R) -> dict:
    "bf16 autocast vs fp32 on this CPU."
    from tunebook.train import cpu_has_bf16
    native = torch.cpu._is_avx512_bf16_supported()
    print(f"\n  [e] bf16 vs fp32: torch.cpu._is_avx512_bf16_supported() = {native}, AMX tiles = {torch.cpu._is_amx_tile_supported()}, "
          f"tunebook cpu_has_bf16() = {cpu_has_bf16()}", flush=True)
    steps, warm = cfg.e_steps
    fx = Fixed(steps * BS)
    base = fresh_model('minilm', fx)
    times = interleave({'Tuner fp32': lambda m: run_tuner(m, fx, steps, 5e-5, 'no'),
                        'Tuner bf16': lambda m: run_tuner(m, fx, steps, 5e-5, 'bf16')}, base, cfg.e_repeats, warm)
    speed = med([a / b for a, b in zip(times['Tuner fp32'], times['Tuner bf16'])])
    table([{'precision': k, 'ms/step (median)': med(v) * 1e3, 'samples/s': BS / med(v)} for k, v in times.items()],
          f"(e) MiniLM Full, batch {BS}x{SEQ}, {cfg.e_repeats} interleaved repeats")
    print(f"  bf16 speed-up (fp32 step time / bf16 step time, paired median): {speed:.3f}x")
    summary = [dict(section='e', metric='CPU has native bf16 (avx512_bf16)', value=float(native), target='info', status='info'),
               dict(section='e', metric='bf16 speed-up vs fp32', value=speed, target='>= 1.4', status=status(speed >= 1.4))]
    R['e'] = dict(native_bf16=native, step_s=times, speedup=speed)
    del base, fx; gc.collect()
    if cfg.accuracy:
        print(f"\n  [e] accuracy: one epoch of Full each, {cfg.seeds} seed(s), limit={cfg.limit}", flush=True)
        acc = _accuracy_runs([('full', 'no'), ('full', 'bf16')], cfg)
        a = {p: [r['accuracy'] for r in rs] for (_, p), rs in acc.items()}
        table([{'precision': p, 'mean accuracy': np.mean(v), 'per seed': ' '.join(f'{x:.4f}' for x in v),
                'median fit s': med([r['fit_s'] for r in acc[('full', p)]])} for p, v in a.items()], "(e) test accuracy after one epoch")
        gap = 100 * abs(np.mean(a['no']) - np.mean(a['bf16']))
        summary.append(dict(section='e', metric='|accuracy fp32 - bf16| (points)', value=gap, target='<= 1.0', status=status(gap <= 1.0)))
        R['e']['accuracy'] = {p: acc[('full', p)] for p in ('no', 'bf16')}
    else: summary.append(dict(section='e', metric='|accuracy fp32 - bf16| (points)', value=float('nan'), target='<= 1.0', status='skipped (--accuracy)'))
    return summary

SECTIONS = {'a': section_a, 'b': section_b, 'e': section_e, 'c': section_c, 'd': section_d}  # c after a and e: it reuses their step times

# ---------------------------------------------------------------------------------------------------------------
# Profiling (only when asked): where does the Tuner spend time the hand loop does not?
# ---------------------------------------------------------------------------------------------------------------
def profile(cfg):
    "cProfile the hand loop and the Tuner on tiny BERT (where loop overhead is most visible); top functions by own time."
    import cProfile, pstats, io
    steps = 200
    torch.set_num_threads(1)
    fx = Fixed(steps * BS)
    base = fresh_model('tiny-bert', fx)
    for name, fn in (('hand loop', lambda m: run_hand(m, fx, steps, 1e-3)), ('Tuner', lambda m: run_tuner(m, fx, steps, 1e-3))):
        pr, m = cProfile.Profile(), copy.deepcopy(base)
        pr.enable(); t = fn(m); pr.disable()
        s = io.StringIO(); pstats.Stats(pr, stream=s).sort_stats('tottime').print_stats(18)
        print(f"\n===== {name}: {steady_step(t, 10)*1e3:.2f} ms/step =====\n" + '\n'.join(s.getvalue().splitlines()[6:32]))

# ---------------------------------------------------------------------------------------------------------------
def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--quick', action='store_true', help='few steps and repeats (tiny BERT + a few MiniLM steps), no accuracy runs: ~5 min')
    p.add_argument('--sections', default='a,b,c,d,e', help='comma-separated subset of a,b,c,d,e (default: all)')
    p.add_argument('--accuracy', action='store_true', help='(b), (e): train one epoch per configuration and seed and report test accuracy (long)')
    p.add_argument('--epoch', action='store_true', help='(d): one full epoch per loop and seed (long)')
    p.add_argument('--limit', type=int, default=None, help='use at most N reviews per split (train, test) in the accuracy/epoch runs')
    p.add_argument('--repeats', type=int, default=None, help='interleaved repeats per measurement (default 5; --quick 2)')
    p.add_argument('--seeds', type=int, default=3, help='seeds for the accuracy and epoch runs (default 3)')
    p.add_argument('--profile', action='store_true', help='cProfile the Tuner vs the hand loop on tiny BERT and exit')
    p.add_argument('--out', default=str(HERE / 'results'), help='folder for the JSON results')
    p.add_argument('--_worker', default=None, help=argparse.SUPPRESS)
    cfg = p.parse_args(argv)
    q = cfg.quick
    cfg.repeats = cfg.repeats or (2 if q else 5)
    # (model, steps, warm-up steps, lr, extra runners, torch threads). Tiny BERT steps take milliseconds, so they measure
    # pure loop overhead: one thread keeps OpenMP barriers on a shared machine out of it; it always has the extra runners.
    cfg.a_models = [('tiny-bert', 60 if q else 150, 10, 1e-3, True, 1), ('minilm', 3 if q else 12, 1 if q else 2, 5e-5, not q, None)]
    cfg.b_steps, cfg.b_repeats = ((3, 1) if q else (8, 2)), (1 if q else max(2, cfg.repeats // 2))
    cfg.c_steps = 3 if q else 8
    cfg.e_steps, cfg.e_repeats = ((3, 1) if q else (8, 2)), cfg.repeats
    if q and (cfg.accuracy or cfg.epoch): p.error('--quick runs no accuracy or epoch runs; drop --quick')
    cfg.sections = [s.strip() for s in cfg.sections.split(',') if s.strip()]
    if bad := [s for s in cfg.sections if s not in SECTIONS]: p.error(f"unknown section(s) {bad}; use a subset of a,b,c,d,e")
    return cfg

def environment() -> dict:
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor())
    import transformers, accelerate, peft
    return dict(cpu=cpu, cores=os.cpu_count(), torch_threads=torch.get_num_threads(), torch=torch.__version__, transformers=transformers.__version__,
                accelerate=accelerate.__version__, peft=peft.__version__, python=platform.python_version(), loadavg_start=os.getloadavg())

def write_json(R:dict, out:str) -> Path:
    from tunebook.core import atomic_write
    path = Path(out) / f"bench_train-{datetime.datetime.now():%Y-%m-%d-%H%M%S}.json"  # the time too: runs of one day do not overwrite each other
    with atomic_write(path, 'w') as f: json.dump(R, f, indent=1, default=lambda o: o.tolist() if hasattr(o, 'tolist') else str(o))
    return path

def main(argv=None):
    cfg = parse(argv)
    if cfg._worker:
        spec = json.loads(cfg._worker)
        print('RESULT ' + json.dumps(JOBS[spec['job']](spec)), flush=True)
        return 0
    torch.manual_seed(0)
    if cfg.profile: profile(cfg); return 0
    env, t0 = environment(), time.perf_counter()
    print(f"bench_train: {env['cpu']}, {env['cores']} cores, torch {env['torch']} ({env['torch_threads']} threads), transformers {env['transformers']}, "
          f"accelerate {env['accelerate']}, load average {env['loadavg_start'][0]:.2f}\nmode: {'quick' if cfg.quick else 'full'}, sections {cfg.sections}, "
          f"repeats {cfg.repeats}, accuracy={cfg.accuracy}, epoch={cfg.epoch}, limit={cfg.limit}, seeds={cfg.seeds}", flush=True)
    R, summary = {'env': env, 'args': {k: v for k, v in vars(cfg).items() if not k.startswith('_')}}, []
    for s in [s for s in SECTIONS if s in cfg.sections]:
        t = time.perf_counter()
        summary += SECTIONS[s](cfg, R)
        print(f"  ({s} took {time.perf_counter() - t:.0f} s)", flush=True)
    summary.sort(key=lambda r: r['section'])
    R['summary'], R['env']['loadavg_end'], R['env']['seconds'] = summary, os.getloadavg(), time.perf_counter() - t0
    table(summary, "SUMMARY (ratios are medians of interleaved paired repeats; absolute times are noisy on this shared machine)")
    print(f"\nload average at start {env['loadavg_start'][0]:.2f}, at end {os.getloadavg()[0]:.2f}; total {time.perf_counter() - t0:.0f} s")
    print(f"results: {write_json(R, cfg.out)}")
    return 0

if __name__ == '__main__': sys.exit(main())
