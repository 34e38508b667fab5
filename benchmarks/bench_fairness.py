"""Fairness benchmark: tunebook's group metrics against AIF360's on a million rows, and the cost of the bootstrap.

Synthetic decisions (one protected attribute with three groups, coded 0/1/2 as AIF360 needs; true and predicted
outcomes that depend on the group), timed interleaved (medians of --repeats):
  - AIF360: building its BinaryLabelDataset for the truth and the predictions from a numeric frame, a
    ClassificationMetric for group 1 against group 0, and its statistical parity, disparate impact, equal
    opportunity and average odds differences, Theil index and per-group selection rates, TPRs and FPRs;
  - tunebook: `fairness_metrics` (every group, both comparisons, no intervals) on the same arrays.
The values must be identical (to 1e-9). Then `fairness_metrics` with 1,000 bootstrap resamples on 100,000 rows.
Targets (issue "Fairness with AIF360"): metrics on 1,000,000 rows >= 50x faster than AIF360 with identical
values; bootstrap intervals (1,000 resamples) on 100,000 rows in <= 2 s.

Usage: python benchmarks/bench_fairness.py [--rows N] [--repeats K]
Writes benchmarks/results/bench_fairness-<time>.json.
"""
import json, time, argparse, platform
from pathlib import Path
import numpy as np, pandas as pd

HERE = Path(__file__).resolve().parent

def status(ok) -> str: return 'PASS' if ok else 'FAIL'

def decisions(n:int, seed:int=0) -> tuple:
    "Group codes, true and predicted favourable outcomes of `n` synthetic applicants."
    rng = np.random.default_rng(seed)
    group = rng.choice([0, 1, 2], n, p=[0.5, 0.3, 0.2])
    y = rng.random(n) < np.array([0.6, 0.45, 0.4])[group]
    yhat = np.where(y, rng.random(n) < np.array([0.85, 0.7, 0.75])[group], rng.random(n) < np.array([0.3, 0.2, 0.25])[group])
    return group, y.astype(int), yhat.astype(int)

def aif360_values(group, y, yhat) -> dict:
    "AIF360's metrics of group 1 against group 0, from numeric frames."
    from tunebook.audit.fairness import import_aif360
    datasets, metrics = import_aif360('aif360.datasets'), import_aif360('aif360.metrics')
    truth = datasets.BinaryLabelDataset(df=pd.DataFrame({'label': y.astype(float), 'group': group.astype(float)}), label_names=['label'],
                                        protected_attribute_names=['group'], favorable_label=1.0, unfavorable_label=0.0)
    pred = truth.copy()
    pred.labels = yhat.reshape(-1, 1).astype(float)
    m = metrics.ClassificationMetric(truth, pred, unprivileged_groups=[{'group': 1}], privileged_groups=[{'group': 0}])
    return dict(statistical_parity_difference=m.statistical_parity_difference(), disparate_impact=m.disparate_impact(),
                equal_opportunity_difference=m.equal_opportunity_difference(), average_odds_difference=m.average_odds_difference(),
                theil_index=m.theil_index(), selection_rate_1=m.selection_rate(False), selection_rate_0=m.selection_rate(True),
                tpr_1=m.true_positive_rate(False), fpr_1=m.false_positive_rate(False))

def tunebook_values(group, y, yhat, n_boot:int=0) -> dict:
    "The same numbers from `fairness_metrics` (which computes every group and both comparisons)."
    from tunebook.audit.fairness import fairness_metrics
    r = fairness_metrics(y, yhat, pd.DataFrame({'group': group}), {'group': 0}, n_boot=n_boot)
    gap, g = r.gaps.loc[('group', '1')], r.groups.loc['group']
    return dict(statistical_parity_difference=gap.statistical_parity_difference, disparate_impact=gap.disparate_impact,
                equal_opportunity_difference=gap.equal_opportunity_difference, average_odds_difference=gap.average_odds_difference,
                theil_index=r.overall.theil_index, selection_rate_1=g.selection_rate['1'], selection_rate_0=g.selection_rate['0'],
                tpr_1=g.tpr['1'], fpr_1=g.fpr['1'])

def timed(fn, repeats:int) -> tuple:
    "The median seconds of `repeats` calls, and the last result."
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); out = fn(); times.append(time.perf_counter() - t0)
    return float(np.median(times)), out

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, default=1_000_000)
    ap.add_argument('--repeats', type=int, default=5)
    a = ap.parse_args(argv)
    group, y, yhat = decisions(a.rows)
    aif360_values(group[:1000], y[:1000], yhat[:1000]); tunebook_values(group[:1000], y[:1000], yhat[:1000])  # warm-up (imports)
    t_aif, t_tb = [], []
    for _ in range(a.repeats):  # interleaved
        s, ref = timed(lambda: aif360_values(group, y, yhat), 1); t_aif.append(s)
        s, ours = timed(lambda: tunebook_values(group, y, yhat), 1); t_tb.append(s)
    aif, tb = float(np.median(t_aif)), float(np.median(t_tb))
    diff = max(abs(ours[k] - ref[k]) for k in ref)
    small = decisions(100_000, 1)
    t_boot, _ = timed(lambda: tunebook_values(*small, n_boot=1000), a.repeats)
    print(f"metrics on {a.rows:,} rows: AIF360 {aif * 1000:.0f} ms, tunebook {tb * 1000:.1f} ms: {aif / tb:.0f}x faster; "
          f"largest difference {diff:.1e}")
    print(f"bootstrap, 1,000 resamples on 100,000 rows: {t_boot * 1000:.1f} ms\n")
    targets = {f'metrics on {a.rows:,} rows >= 50x faster than AIF360': aif / tb >= 50,
               'identical values (<= 1e-9)': diff <= 1e-9, '1,000 bootstrap resamples on 100,000 rows <= 2 s': t_boot <= 2.0}
    print(f"{'target':<56s} status")
    for k, v in targets.items(): print(f'{k:<56s} {status(v)}')
    out = HERE/'results'/f"bench_fairness-{time.strftime('%Y-%m-%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(args=vars(a), machine=platform.processor() or platform.machine(),
                                   seconds=dict(aif360=aif, tunebook=tb, bootstrap_100k_1000=t_boot), speedup=aif / tb,
                                   largest_difference=diff, values=dict(aif360=ref, tunebook=ours),
                                   targets={k: status(v) for k, v in targets.items()}), indent=1))
    print(f'\nwritten to {out.relative_to(HERE.parent)}')

if __name__ == '__main__': main()
