"""Audit benchmark: where the time of `tunebook.report.audit` goes, on the reviews MiniLM and three compressed variants.

The task: the bundled reviews with one group, `length` (a review of more than 60 words is long), so that the
groups check runs. The base model: MiniLM fine-tuned on them (full fine-tuning, lr 5e-5, --steps optimizer steps of 16
reviews). Its variants, built in the same run:
  - int8: `quantize(base)` (dynamic int8 linear layers, int8 embedding rows; no training);
  - pruned 50%: `magnitude_prune(base, 0.5)` (global), --recovery steps of fine-tuning with the mask kept, made permanent;
  - distilled: a 3-layer student (`student_from`), --recovery x 2 steps with `Distillation(base, T=2, alpha=0.5)`.
Then ONE call of `audit` with every check (`CHECKS`) and the default `AuditSettings` (n_attack=100, n_explain=20,
n_membership=500, n_boot=200, n_latency=20, repeats=2), timed step by step through its `on_step` callback (wall and
CPU seconds of this process between consecutive calls: the predictions, each check, and the per-variant steps of
the word attack and the explanations). With --per-check, `audit` is also called once per check (`checks=[c]`),
each call paying its own predictions, for comparison.

Targets (issue "What did compression forget?"):
  - the full audit of the four variants with the default settings takes <= 300 s on 2 cores;
  - no check is skipped by any variant (the word attack and occlusion need no gradients, so int8 takes them too);
  - `on_step` is called once per step, with shares that increase to exactly 1.0;
  - the steps account for the whole call (time outside them, building the table and the forgotten examples, <= 5%).

Usage: python benchmarks/bench_audit.py [--quick] [--limit N] [--steps S] [--recovery R] [--per-check]
  --quick: 200 reviews per split, 64 tokens, 60 + 10 training steps; the audit settings stay the defaults, so every
           check runs on as many examples as the small splits hold (the word attack still attacks 100 reviews).
  --limit N: at most N reviews per split (train, valid and test; the default: all 4,000 train and 1,000 test).
Writes benchmarks/results/bench_audit-<date>-<HHMMSS>.json (atomically). Prints the load average at its start and end.
"""
import os, sys, json, time, argparse, platform, datetime, subprocess, resource
for _k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(_k, '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
from pathlib import Path
import numpy as np, torch

HERE = Path(__file__).resolve().parent
TARGET_S, OUTSIDE_SHARE = 300.0, 0.05

def status(ok) -> str: return 'n/a' if ok is None else ('PASS' if ok else 'FAIL')

def cpu_s() -> float:
    "User + system CPU seconds of this process and its finished children."
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime

def git_state() -> dict:
    "The commit of the library measured, and whether its files differ from it."
    def git(*a):
        try: return subprocess.run(['git', *a], cwd=HERE.parent, capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception: return ''
    return dict(commit=git('rev-parse', 'HEAD'), library_dirty=bool(git('status', '--porcelain', '--', 'tunebook')))

def environment() -> dict:
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor())
    import transformers
    return dict(cpu=cpu, cores=os.cpu_count(), torch_threads=torch.get_num_threads(), torch=torch.__version__,
                transformers=transformers.__version__, python=platform.python_version(), loadavg_start=os.getloadavg(), **git_state())

def reviews_with_length(limit, max_length):
    "The bundled reviews as a text task with one protected attribute, `length` (more than 60 words: long), so the groups check runs."
    from tunebook.assets import load_reviews
    from tunebook.data import Task
    df = load_reviews()
    df['length'] = np.where(df.review.str.split().str.len() > 60, 'long', 'short')
    task = Task.from_df(df, text='review', label='score', split='split', groups='length', seed=0, max_length=max_length)
    return task if limit is None else task.subset(limit, seed=0)

def trained(model, task, steps, **kw):
    "`model` after `steps` optimizer steps of full fine-tuning (batch 16, the default lr), in eval mode."
    from tunebook.train import Tuner
    t = Tuner(model, task, max_steps=steps, batch_size=16, seed=0, progress=False, **kw)
    t.fit()
    return t.model.eval()

def build_variants(task, steps:int, recovery:int, log) -> tuple[dict, dict]:
    "The base and its three variants, with the seconds each took to make."
    from tunebook.models import load_model
    from tunebook.objectives import Distillation
    from tunebook.compress.quantize import quantize
    from tunebook.compress.prune import magnitude_prune, make_permanent
    from tunebook.compress.distill import student_from
    out, secs = {}, {}
    def step(name, make):
        t0 = time.perf_counter(); out[name] = make(); secs[name] = time.perf_counter() - t0
        log(f'  {name} built in {secs[name]:.0f} s')
    step('fp32', lambda: trained(load_model('minilm', task, seed=0), task, steps))
    base = out['fp32']
    step('int8', lambda: quantize(base))
    step('pruned 50%', lambda: make_permanent(trained(magnitude_prune(base, 0.5), task, recovery)))
    step('distilled 3 layers', lambda: trained(student_from(base, 3), task, 2 * recovery, objective=Distillation(base, temperature=2.0, alpha=0.5)))
    return out, secs

def step_labels(checks, models) -> list[str]:
    "What each `on_step` call of `audit` closes, in order (as `tunebook.report._run_audit` counts its steps)."
    labels = ['predictions']
    for c in checks: labels += [f'{c}: {n}' for n in models] if c in ('robustness', 'explanations') else [c]
    return labels

def timed_audit(variants, task, checks, **settings) -> dict:
    "One `audit` call: the result, its wall and CPU seconds, and the seconds of each step from its `on_step` calls."
    from tunebook.report import audit
    marks = []
    def on_step(share): marks.append((share, time.perf_counter(), cpu_s()))
    t0, c0 = time.perf_counter(), cpu_s()
    r = audit(variants, task, checks=checks, progress=False, on_step=on_step, **settings)
    t1, c1 = time.perf_counter(), cpu_s()
    labels = step_labels(checks, variants)
    walls = np.diff([t0] + [m[1] for m in marks]); cpus = np.diff([c0] + [m[2] for m in marks])
    steps = [dict(step=l, wall_s=float(w), cpu_s=float(c)) for l, w, c in zip(labels, walls, cpus)]
    shares = [m[0] for m in marks]
    return dict(result=r, wall_s=t1 - t0, cpu_s=c1 - c0, steps=steps, shares=shares, n_expected=len(labels),
                outside_s=(t1 - t0) - float(walls.sum()) if len(marks) else t1 - t0)

def per_check_table(steps:list) -> list[dict]:
    "The steps summed per check (the per-variant steps of a check added up)."
    out = {}
    for s in steps:
        k = s['step'].split(':')[0]
        o = out.setdefault(k, dict(check=k, wall_s=0.0, cpu_s=0.0))
        o['wall_s'] += s['wall_s']; o['cpu_s'] += s['cpu_s']
    return list(out.values())

def print_table(rows, cols, title):
    print(f'\n{title}')
    w = [max(len(c), *(len(f"{r[c]:.1f}" if isinstance(r[c], float) else str(r[c])) for r in rows)) for c in cols]
    print('  '.join(c.ljust(x) for c, x in zip(cols, w)))
    for r in rows: print('  '.join((f"{r[c]:.1f}" if isinstance(r[c], float) else str(r[c])).ljust(x) for c, x in zip(cols, w)))

def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--quick', action='store_true', help='200 reviews per split, 64 tokens, 60 + 10 training steps')
    p.add_argument('--limit', type=int, default=None, help='at most N reviews per split (default: all; --quick: 200)')
    p.add_argument('--max-length', type=int, default=None, help='tokens per review (default 128; --quick: 64)')
    p.add_argument('--steps', type=int, default=None, help='fine-tuning steps of the base (default 150; --quick: 60)')
    p.add_argument('--recovery', type=int, default=None, help='recovery steps of the pruned model; the student gets twice as many (default 30; --quick: 10)')
    p.add_argument('--per-check', action='store_true', help='also call audit once per check (checks=[c])')
    p.add_argument('--threads', type=int, default=int(os.environ.get('TUNEBOOK_THREADS', '2')))
    p.add_argument('--out', default=str(HERE/'results'))
    a = p.parse_args(argv)
    q = a.quick
    for k, full, quick in (('limit', None, 200), ('max_length', 128, 64), ('steps', 150, 60), ('recovery', 30, 10)):
        if getattr(a, k) is None: setattr(a, k, quick if q else full)
    return a

def main(argv=None):
    a = parse(argv)
    torch.set_num_threads(a.threads)
    from tunebook.core import set_verbosity, atomic_write
    from tunebook.report import CHECKS, AuditSettings
    set_verbosity('warning')
    env, t_start = environment(), time.perf_counter()
    print(f"bench_audit: {env['cpu']}, {env['cores']} cores, torch {env['torch']} ({env['torch_threads']} threads), commit {env['commit'][:7]}"
          f"{' + local changes' if env['library_dirty'] else ''}\nload average at start: {tuple(round(v, 2) for v in env['loadavg_start'])}\n"
          f"mode: {'quick' if a.quick else 'full'}, limit {a.limit}, max_length {a.max_length}, steps {a.steps}, recovery {a.recovery}", flush=True)
    task = reviews_with_length(a.limit, a.max_length)
    print(f'task: ' + ', '.join(f'{k} {len(s)}' for k, s in task.splits.items()), flush=True)
    log = lambda m: print(m, flush=True)
    t0 = time.perf_counter()
    variants, build_s = build_variants(task, a.steps, a.recovery, log)
    build_total = time.perf_counter() - t0
    settings = {k: f.default for k, f in AuditSettings.__dataclass_fields__.items()}
    print(f'audit settings (the defaults): ' + ', '.join(f'{k}={v}' for k, v in settings.items() if k not in ('privileged', 'favourable')), flush=True)

    full = timed_audit(variants, task, list(CHECKS))
    r = full['result']
    print_table(full['steps'], ['step', 'wall_s', 'cpu_s'], f"full audit, step by step (on_step): {full['wall_s']:.1f} s wall, {full['cpu_s']:.1f} s CPU")
    by_check = per_check_table(full['steps'])
    for row in by_check: row['share'] = f"{row['wall_s'] / full['wall_s']:.0%}"
    print_table(by_check, ['check', 'wall_s', 'cpu_s', 'share'], 'full audit, per check')
    print(f"outside the steps (table, forgotten examples): {full['outside_s']:.2f} s")
    rob = next((x for x in by_check if x['check'] == 'robustness'), None)
    n_att = min(settings['n_attack'], len(task.splits['test']))
    fit_n = None
    if rob and rob['wall_s'] > 0:
        per_example = rob['wall_s'] / (len(variants) * n_att)
        fit_n = int((TARGET_S - (full['wall_s'] - rob['wall_s'])) // (len(variants) * per_example))
        print(f"the word attack: {per_example:.2f} s per review and variant ({n_att} reviews); the rest of the audit {full['wall_s'] - rob['wall_s']:.1f} s; "
              f"n_attack <= {max(fit_n, 0)} would fit {TARGET_S:.0f} s (estimate, information only)")

    alone = []
    if a.per_check:
        for c in CHECKS:
            one = timed_audit(variants, task, [c])
            pred = one['steps'][0]
            alone.append(dict(check=c, wall_s=one['wall_s'], cpu_s=one['cpu_s'], predictions_s=pred['wall_s'], check_s=one['wall_s'] - pred['wall_s']))
            print(f"  audit(checks=['{c}']): {one['wall_s']:.1f} s wall ({pred['wall_s']:.1f} s of predictions), {one['cpu_s']:.1f} s CPU", flush=True)
        print_table(alone, ['check', 'wall_s', 'cpu_s', 'predictions_s', 'check_s'], 'one call per check (each pays its own predictions)')
        print(f"sum of the single-check calls {sum(x['wall_s'] for x in alone):.1f} s against {full['wall_s']:.1f} s for one call")

    print('\nthe audit (test split):')
    with __import__('pandas').option_context('display.width', 200, 'display.max_columns', 30):
        print(r.table.round(3).T.to_string())
    print('\n' + '\n'.join(r.summary()))
    forgot = r.forgotten(by='label') if len(r.forgotten_examples) else None
    if forgot is not None: print('\nforgotten by label:\n' + forgot.to_string())

    shares = full['shares']
    targets = {
        f'full audit of 4 variants, default settings, <= {TARGET_S:.0f} s': (full['wall_s'] <= TARGET_S, f"{full['wall_s']:.1f} s wall, {full['cpu_s']:.1f} s CPU"),
        'no check skipped by any variant': (len(r.skipped) == 0, f'{len(r.skipped)} skipped' + (': ' + '; '.join(f'{x.variant}/{x.check}' for x in r.skipped.itertuples()) if len(r.skipped) else '')),
        'on_step once per step, increasing to 1.0': (len(shares) == full['n_expected'] and all(np.diff(shares) > 0) and abs(shares[-1] - 1) < 1e-12,
                                                     f"{len(shares)} calls of {full['n_expected']}, last {shares[-1] if shares else None}"),
        f'time outside the steps <= {OUTSIDE_SHARE:.0%}': (full['outside_s'] <= OUTSIDE_SHARE * full['wall_s'], f"{full['outside_s']:.2f} s ({full['outside_s'] / full['wall_s']:.1%})"),
    }
    print(f"\n{'target':<52s} {'status':<6s} measured")
    for k, (ok, said) in targets.items(): print(f'{k:<52s} {status(ok):<6s} {said}')
    load_end = os.getloadavg()
    print(f"\nbuilding the variants took {build_total:.0f} s; the whole run {time.perf_counter() - t_start:.0f} s")
    print(f"load average at start {env['loadavg_start'][0]:.2f}, at end {load_end[0]:.2f} (1-minute); {tuple(round(v, 2) for v in load_end)}")

    R = dict(env=env | dict(loadavg_end=load_end), args=vars(a), settings=settings, splits={k: len(s) for k, s in task.splits.items()},
             build_seconds=build_s, audit=dict(wall_s=full['wall_s'], cpu_s=full['cpu_s'], outside_s=full['outside_s'], steps=full['steps'],
                                               per_check=by_check, on_step_shares=shares),
             per_check_calls=alone, n_attack_that_fits=fit_n, table=json.loads(r.table.to_json(orient='index')), summary=r.summary(),
             forgotten_by_label=json.loads(forgot.to_json(orient='index')) if forgot is not None else {},
             skipped=r.skipped.to_dict('records'), targets={k: dict(status=status(ok), measured=said) for k, (ok, said) in targets.items()},
             seconds=time.perf_counter() - t_start)
    path = Path(a.out)/f"bench_audit-{datetime.datetime.now():%Y-%m-%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, 'w') as f: json.dump(R, f, indent=1, default=lambda o: o.tolist() if hasattr(o, 'tolist') else str(o))
    print(f'results: {path.relative_to(HERE.parent) if path.is_relative_to(HERE.parent) else path}')
    return 0

if __name__ == '__main__': sys.exit(main())
