"""Robustness benchmark: PGD adversarial training of the digits CNN against standard training.

The bundled MNIST CNN is fine-tuned on scikit-learn's `digits` framed like MNIST (upscaled to 20x20 and padded
to 28x28, as in the transfer tutorial; a seeded 70/10/20 split), for --epochs epochs, once with the default
objective and once with `AdversarialTraining` (PGD, L-inf, eps --eps, 7 steps), for --seeds seeds. Both are then
scored on the test split: clean accuracy, and robust accuracy under PGD at the same eps with 20 steps and a
random start. The attack's cost (seconds per example) is reported beside its success.
Targets (issue "Adversarial robustness"): adversarial training raises robust accuracy at the benchmark's eps by
>= 40 points over standard training, with <= 3 points of clean accuracy lost (means over the seeds).

With --text, also the word attack on the reviews MiniLM (fine-tuned as in the explanation tutorial: 800
training reviews of 64 tokens, 2 epochs), for each seed: `word_attack` and `random_attack` with the same budget
(at most 20% of the words the model reads) on up to --text-examples test reviews the model classifies correctly.
Targets: the word attack succeeds on >= 80% of them, and at least 3x as often as the random baseline.
The same MiniLM is also fine-tuned with `EmbeddingAdversarialTraining` (FreeLB-style, radius --text-eps of each
review's embedding norm, 3 ascent steps) and attacked the same way: its clean test accuracy and the word
attack's success on it are reported beside the standard model's, whatever they are (no target).

Usage: python benchmarks/bench_robust.py [--seeds S] [--epochs E] [--eps EPS] [--text] [--text-examples N] [--text-eps E] [--no-images]
Writes benchmarks/results/bench_robust-<time>.json.
"""
import os, json, time, argparse, platform, copy
from pathlib import Path
import numpy as np, pandas as pd, torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent

def status(ok) -> str: return 'PASS' if ok else 'FAIL'

def digits_task(seed:int):
    "scikit-learn's digits framed like MNIST digits, split 70/10/20 with `seed`."
    from tunebook.assets import load_asset
    from tunebook.data import Task
    x, y = load_asset('digits')
    framed = F.pad(F.interpolate(torch.from_numpy(x)[:, None], size=20, mode='bilinear', align_corners=False), (4, 4, 4, 4))[:, 0].numpy()
    return Task.from_arrays(framed, y, valid_pct=0.1, test_pct=0.2, seed=seed)

def run(seed:int, epochs:int, eps:float) -> dict:
    "Clean and robust test accuracy of standard and adversarial fine-tuning, for one seed."
    from tunebook.models import load_model
    from tunebook.train import Tuner
    from tunebook.audit.robust import AdversarialTraining, attack
    task = digits_task(seed)
    out = {}
    for name, objective in (('standard', None), ('adversarial training', AdversarialTraining(eps=eps, steps=7))):
        model = load_model('mnist-cnn', task, seed=seed)
        t0 = time.perf_counter()
        Tuner(model, task, lr=1e-3, epochs=epochs, batch_size=32, seed=seed, progress=False,
              **({} if objective is None else dict(objective=objective))).fit()
        train_s = time.perf_counter() - t0
        r = attack(model.eval(), task, 'test', 'pgd', eps=eps, steps=20, seed=seed)
        out[name] = dict(clean=r.clean_accuracy, robust=r.robust_accuracy, success_rate=r.success_rate,
                         attack_ms_per_example=1000 * r.seconds / len(r.labels), queries_per_example=20 + 1, train_seconds=train_s)
        print(f"seed {seed} {name:<22s} clean {r.clean_accuracy:.3f} robust {r.robust_accuracy:.3f} "
              f"(attack {out[name]['attack_ms_per_example']:.1f} ms/example, training {train_s:.0f} s)", flush=True)
    return out

def reviews_task(seed:int):
    "800 training and 200 test reviews (64 tokens), sampled with `seed`."
    from tunebook.assets import load_reviews
    from tunebook.data import Task
    df = load_reviews()
    small = pd.concat([df[df.split == 'train'].sample(800, random_state=seed), df[df.split == 'test'].sample(200, random_state=seed)])
    return Task.from_df(small, text='review', label='score', split='split', seed=seed, max_length=64)

def text_run(seed:int, n:int, eps:float) -> dict:
    "Clean accuracy, and success, words changed, queries and seconds of the attacks, for standard and FreeLB training."
    from tunebook.eval import evaluate
    from tunebook.models import load_model
    from tunebook.train import Tuner
    from tunebook.audit.robust_text import word_attack, random_attack, EmbeddingAdversarialTraining
    task, out = reviews_task(seed), {}
    for training, objective in (('standard', None), ('embedding adversarial training', EmbeddingAdversarialTraining(eps=eps))):
        t0 = time.perf_counter()
        tuner = Tuner(load_model('minilm', task, seed=seed), task, epochs=2, batch_size=16, seed=seed, progress=False,
                      **({} if objective is None else dict(objective=objective)))
        tuner.fit()
        model, train_s = tuner.model.eval(), time.perf_counter() - t0
        clean = evaluate(model, task, 'test').accuracy
        attacks = (('word attack', word_attack), ('random', random_attack)) if objective is None else (('word attack', word_attack),)
        for name, fn in attacks:
            s = fn(model, task, 'test', max_share=0.2, max_examples=n, seed=seed).summary()
            key = name if objective is None else f'{name} ({training})'
            out[key] = dict(clean_accuracy=clean, train_seconds=train_s, **{k: float(v) for k, v in s.items()})
            print(f"seed {seed} {key:<45s} clean {clean:.3f}; success {s.success_rate:.3f} of {int(s.attacked)} attacked, words changed "
                  f"{s.words_changed_share:.3f}, queries {s.queries:.0f}, {s.seconds_per_example:.2f} s per example "
                  f"(training {train_s:.0f} s)", flush=True)
    return out

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', type=int, default=3)
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--eps', type=float, default=0.1)
    ap.add_argument('--text', action='store_true')
    ap.add_argument('--text-examples', type=int, default=100)
    ap.add_argument('--text-eps', type=float, default=0.02)
    ap.add_argument('--no-images', action='store_true')
    a = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get('TUNEBOOK_THREADS', '2')))
    targets, runs, mean, gain, cost = {}, [], None, None, None
    if not a.no_images:
        runs = [run(s, a.epochs, a.eps) for s in range(a.seeds)]
        mean = {m: {k: float(np.mean([r[m][k] for r in runs])) for k in runs[0][m]} for m in runs[0]}
        gain = mean['adversarial training']['robust'] - mean['standard']['robust']
        cost = mean['standard']['clean'] - mean['adversarial training']['clean']
        print(f"\nmeans over {a.seeds} seeds, PGD-20 at eps {a.eps} (L-inf):")
        print(pd.DataFrame(mean).T[['clean', 'robust', 'success_rate', 'attack_ms_per_example', 'train_seconds']].round(3).to_string())
        targets |= {f'robust accuracy +40 points at eps {a.eps}': gain >= 0.40, 'clean accuracy lost <= 3 points': cost <= 0.03}
        print(f"\nrobust accuracy gain {gain * 100:+.1f} points, clean accuracy lost {cost * 100:.1f} points")
    text_runs, text_mean = [], None
    if a.text:
        text_runs = [text_run(s, a.text_examples, a.text_eps) for s in range(a.seeds)]
        text_mean = {m: {k: float(np.mean([r[m][k] for r in text_runs])) for k in text_runs[0][m]} for m in text_runs[0]}
        print(f"\nword attack on the reviews MiniLM, means over {a.seeds} seeds:")
        print(pd.DataFrame(text_mean).T.round(3).to_string())
        w, r = text_mean['word attack'], text_mean['random']
        h = text_mean['word attack (embedding adversarial training)']
        print(f"\nembedding adversarial training (eps {a.text_eps}): clean accuracy {h['clean_accuracy'] - w['clean_accuracy']:+.3f}, "
              f"word attack success {h['success_rate'] - w['success_rate']:+.3f} against standard training")
        targets |= {'word attack succeeds on >= 80%': w['success_rate'] >= 0.8,
                    'words changed <= 20%': w['words_changed_share'] <= 0.2,
                    'word attack >= 3x the random baseline': w['success_rate'] >= 3 * r['success_rate']}
    print(f"\n{'target':<40s} status")
    for k, v in targets.items(): print(f'{k:<40s} {status(v)}')
    out = HERE/'results'/f"bench_robust-{time.strftime('%Y-%m-%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(args=vars(a), machine=platform.processor() or platform.machine(), torch=torch.__version__,
                                   runs=runs, means=mean, gain=gain, clean_cost=cost, text_runs=text_runs, text_means=text_mean,
                                   targets={k: status(v) for k, v in targets.items()}), indent=1))
    print(f'\nwritten to {out.relative_to(HERE.parent)}')

if __name__ == '__main__': main()
