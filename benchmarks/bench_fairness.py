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

Then the mitigation table (skip with --no-mitigation): on `hmda` (favourable: not denied; attribute afam) and
`resume` (favourable: a callback; attribute race), for --seeds seeds (each seed its own split and
initialisation), a logistic regression with balanced class weights ("plain"; on resume it sees race and gender,
as a screener that reads the names would) and every mitigation: reweighed and resampled training data, the
FairnessPenalty objective (parity, strength 20), and per-group thresholds, reject-option classification and
equalised-odds post-processing fitted on the valid split. Test accuracy, balanced accuracy and the statistical
parity and equal opportunity differences (unprivileged minus privileged), as means over the seeds with 95%
t-intervals, and which methods at least halve the plain model's mean absolute parity gap, at what cost.

Usage: python benchmarks/bench_fairness.py [--rows N] [--repeats K] [--seeds S] [--no-mitigation]
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

HMDA_FEATURES = ['pirat', 'hirat', 'lvrat', 'chist', 'mhist', 'phist', 'unemp', 'selfemp', 'insurance', 'condomin', 'single', 'hschool']
RESUME_FEATURES = ['race', 'gender', 'years_college', 'college_degree', 'honors', 'worked_during_school', 'years_experience',
                   'computer_skills', 'special_skills', 'volunteer', 'military', 'employment_holes', 'has_email_address',
                   'resume_quality', 'job_city', 'job_industry', 'job_type', 'job_equal_opp_employer', 'job_req_any',
                   'job_req_communication', 'job_req_education', 'job_req_computer', 'job_req_organization']
DATASETS = {'hmda': dict(label='deny', attribute='afam', privileged='no', favourable='no', features=HMDA_FEATURES),
            'resume': dict(label='received_callback', attribute='race', privileged='white', favourable='1', features=RESUME_FEATURES)}

def mitigation_runs(name:str, seed:int) -> dict:
    "Test accuracy, balanced accuracy and both gaps of the plain model and of every mitigation, on one seed's split."
    import torch
    from tunebook.assets import load_asset
    from tunebook.data import Task
    from tunebook.train import Tuner
    from tunebook.objectives import CrossEntropy
    from tunebook.tabular import tabular_model
    from tunebook.audit import mitigate as M
    d = DATASETS[name]
    df = load_asset(name)
    groups = [d['attribute']] + (['gender'] if name == 'resume' else [])
    task = Task.from_df(df, features=d['features'], label=d['label'], groups=groups, seed=seed, valid_pct=0.2, test_pct=0.2)
    def fit(t, objective=None):
        torch.manual_seed(seed)
        model = tabular_model(t, 'logistic')
        Tuner(model, t, lr=0.05, epochs=10, batch_size=64, seed=seed, progress=False,
              objective=objective or CrossEntropy(class_weights='balanced')).fit()
        return model.eval()
    a, fav = d['attribute'], d['favourable']
    plain = fit(task)
    post = {'group thresholds': M.GroupThresholds(a, favourable=fav), 'reject option': M.RejectOption(a, d['privileged'], favourable=fav),
            'equalized odds': M.EqualizedOdds(a, d['privileged'], favourable=fav, seed=seed)}
    candidates = {'plain': plain, 'reweighed': fit(M.reweighed(task, a, fav)), 'resampled': fit(M.resampled(task, a, fav, seed)),
                  'penalty (parity, 20)': fit(task, M.FairnessPenalty(a, 20.0, favourable=fav, class_weights='balanced')),
                  **{k: pp.fit(plain, task, 'valid').predict(plain, task, 'test') for k, pp in post.items()}}
    t = M.fairness_tradeoff(candidates, task, a, d['privileged'], favourable=fav, n_boot=0).table
    return t[['accuracy', 'balanced_accuracy', 'statistical_parity_difference', 'equal_opportunity_difference']].to_dict('index')

def mitigation_table(seeds:int) -> tuple[pd.DataFrame, dict]:
    "Means and 95% t-intervals over the seeds of every method on both data sets, and which halve the parity gap."
    from scipy import stats
    rows, halving = [], {}
    for name in DATASETS:
        runs = [mitigation_runs(name, s) for s in range(seeds)]
        for method in runs[0]:
            for metric in runs[0][method]:
                v = np.array([r[method][metric] for r in runs])
                h = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan
                rows.append(dict(data=name, method=method, metric=metric, mean=v.mean(), ci=h, mean_abs=np.abs(v).mean()))
        t = pd.DataFrame(rows).query('data == @name')
        gap = t[t.metric == 'statistical_parity_difference'].set_index('method').mean_abs
        acc = t[t.metric == 'accuracy'].set_index('method')['mean']
        bal = t[t.metric == 'balanced_accuracy'].set_index('method')['mean']
        halving[name] = {m: dict(mean_abs_parity_gap=float(gap[m]), accuracy_cost=float(acc['plain'] - acc[m]),
                                 balanced_accuracy_cost=float(bal['plain'] - bal[m]))
                         for m in gap.index if m != 'plain' and gap[m] <= gap['plain'] / 2}
    return pd.DataFrame(rows), halving

def print_mitigation(table:pd.DataFrame, halving:dict):
    "The table as 'mean ± half-width' per method and metric, and the methods that halve the parity gap."
    cell = table.assign(text=[f"{m:+.3f} ± {h:.3f}" if 'difference' in k else f"{m:.3f} ± {h:.3f}"
                              for m, h, k in zip(table['mean'], table.ci, table.metric)])
    for name, t in cell.groupby('data', sort=False):
        print(f"\n{name} (test split, mean ± 95% t-interval over the seeds)")
        print(t.pivot(index='method', columns='metric', values='text').reindex(t.method.unique()).to_string())
        if halving[name]:
            for m, v in halving[name].items():
                print(f"  halves the parity gap: {m}: mean |gap| {v['mean_abs_parity_gap']:.3f}, accuracy cost {v['accuracy_cost']:+.3f}, "
                      f"balanced accuracy cost {v['balanced_accuracy_cost']:+.3f}")
        else: print("  no method halves the mean absolute parity gap")

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, default=1_000_000)
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--seeds', type=int, default=5)
    ap.add_argument('--no-mitigation', action='store_true')
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
    table, halving = (None, None) if a.no_mitigation else mitigation_table(a.seeds)
    if table is not None: print_mitigation(table, halving)
    out = HERE/'results'/f"bench_fairness-{time.strftime('%Y-%m-%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(args=vars(a), machine=platform.processor() or platform.machine(),
                                   seconds=dict(aif360=aif, tunebook=tb, bootstrap_100k_1000=t_boot), speedup=aif / tb,
                                   largest_difference=diff, values=dict(aif360=ref, tunebook=ours),
                                   targets={k: status(v) for k, v in targets.items()},
                                   mitigation=None if table is None else table.to_dict('records'), halving=halving), indent=1))
    print(f'\nwritten to {out.relative_to(HERE.parent)}')

if __name__ == '__main__': main()
