"""bench_panel.py: what does the live training panel cost, next to the same training without it?

Trains the same tiny BERT with LoRA on the same synthetic task, the same steps and seed, two ways, interleaved
(the order alternates every repeat):

- plain: `Tuner(model_fn(), task, LoRA(), progress=False).fit()`
- panel: `TrainingPanel(task, model_fn, 'LoRA').start(); panel.wait()`: the same Tuner plus the `PanelCallback`
  (progress row every step, live chart redrawn at most 4 times a second within a 3% time budget), training in the
  background thread, then the metrics table and the confusion matrix. Headless: no frontend is attached.

Both times include building the model and the Tuner. It prints every repeat, the medians, the median of the
paired ratios panel / plain, and PASS when that ratio is at most 1.05. Runs on one torch thread (the tiny model is
fastest there, and it keeps OpenMP stalls on the shared cores out of the measurement).

    python benchmarks/bench_panel.py                   # 5 repeats of 960 steps each (~2 min on an idle machine)
    python benchmarks/bench_panel.py --repeats 3 --epochs 8

The panel also has a fixed cost per run, whatever its length: the final chart and the confusion matrix are drawn
once (about 0.1-0.3 s on a busy 2-core machine). On the default run (~10 s) that is 1-3%; on runs of a second or
two it dominates the ratio, which is why the default run is not shorter.
"""
import os, sys, json, time, argparse, platform, statistics as st
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('MPLBACKEND', 'Agg')
import numpy as np, torch
from tunebook.core import atomic_write
from tunebook.data import Task
from tunebook.models import tiny_text_model
from tunebook.train import Tuner
from tunebook.methods import LoRA
from tunebook.widgets import TrainingPanel

def make_task(n=640, seed=0):
    "Synthetic sentiment texts: the label is whether the words are positive."
    rng = np.random.default_rng(seed)
    pos, neg = ['great', 'lovely', 'tasty', 'fresh', 'superb'], ['awful', 'bland', 'stale', 'soggy', 'bad']
    y = rng.integers(0, 2, n)
    texts = [' '.join(['the', 'food', 'was', *rng.choice(pos if t else neg, 4)]) for t in y]
    return Task.from_arrays(texts, np.array(['other', 'great'])[y], seed=0)

def run_plain(task, model_fn, hp):
    t0 = time.perf_counter()
    tuner = Tuner(model_fn(), task, LoRA(), progress=False, **hp); tuner.fit()
    return time.perf_counter() - t0, tuner.step, None

def run_panel(task, model_fn, hp):
    panel = TrainingPanel(task, model_fn, 'LoRA', **hp)  # building the widgets is display setup, not training
    t0 = time.perf_counter()
    panel.start(); panel.wait()
    return time.perf_counter() - t0, panel.tuner.step, panel.chart.n_draws

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=5); ap.add_argument('--epochs', type=int, default=30)
    ap.add_argument('--batch-size', type=int, default=16); ap.add_argument('--out', default='benchmarks/results')
    a = ap.parse_args()
    torch.set_num_threads(1)
    task = make_task()
    def model_fn(): torch.manual_seed(0); return tiny_text_model(task)
    hp = dict(epochs=a.epochs, batch_size=a.batch_size, seed=0)
    runners = {'plain': run_plain, 'panel': run_panel}
    print(f"load average at start: {os.getloadavg()}; torch threads {torch.get_num_threads()}; {a.repeats} repeats, {a.epochs} epochs")
    for f in runners.values(): f(task, model_fn, dict(hp, epochs=1))  # warm-up: imports, tokenizer caches
    rows = []
    for i in range(a.repeats):
        order = list(runners) if i % 2 == 0 else list(reversed(runners))
        res = {name: runners[name](task, model_fn, hp) for name in order}
        steps = {k: v[1] for k, v in res.items()}
        assert steps['plain'] == steps['panel'], steps
        rows.append(dict(repeat=i, order=order, plain_s=res['plain'][0], panel_s=res['panel'][0], steps=steps['plain'],
                         redraws=res['panel'][2], ratio=res['panel'][0] / res['plain'][0]))
        r = rows[-1]
        print(f"repeat {i} ({' then '.join(order)}): plain {r['plain_s']:.2f} s, panel {r['panel_s']:.2f} s, ratio {r['ratio']:.3f}, "
              f"{r['steps']} steps, {r['redraws']} chart redraws")
    med = {k: st.median(r[k] for r in rows) for k in ('plain_s', 'panel_s', 'ratio')}
    verdict = 'PASS' if med['ratio'] <= 1.05 else 'FAIL'
    print(f"\nmedian plain {med['plain_s']:.2f} s, median panel {med['panel_s']:.2f} s, ratio of medians {med['panel_s'] / med['plain_s']:.3f}")
    print(f"median paired ratio panel / plain: {med['ratio']:.3f}  (target <= 1.05): {verdict}")
    print(f"load average at end: {os.getloadavg()}")
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"bench_panel-{time.strftime('%Y-%m-%d-%H%M%S')}.json")
    with atomic_write(path, 'w') as f:
        json.dump(dict(args=vars(a), rows=rows, medians=med, verdict=verdict, python=platform.python_version(), torch=torch.__version__), f, indent=1)
    print(f"wrote {path}")
    return 0 if verdict == 'PASS' else 1

if __name__ == '__main__': sys.exit(main())
