"""Explanation benchmark: the cost of Integrated Gradients in tunebook against its lower bound and against Captum.

On the bundled MiniLM with a 2-class head (untrained head: the cost does not depend on the weights), for one
review of 40 tokens and 50 steps, timed interleaved (medians of --repeats):
  - lower bound: one batched forward + backward pass of the 50 interpolated inputs (what IG needs at least);
  - Captum's LayerIntegratedGradients called directly, internal batch size 1, 10 and 50;
  - tunebook's explain(..., 'integrated_gradients', n_steps=50, batch_size=50).
Targets (issue "Explanations"): explain <= 1.1x the lower bound; explain's overhead over Captum called directly
with the same settings (internal batch 50) <= 5%.

Usage: python benchmarks/bench_explain.py [--repeats K]
Writes benchmarks/results/bench_explain-<time>.json.
"""
import os, json, time, argparse, platform
for _k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(_k, '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
from pathlib import Path
import numpy as np, torch

HERE = Path(__file__).resolve().parent
STEPS = 50

def status(ok) -> str: return 'PASS' if ok else 'FAIL'

def forty_token_review(task) -> str:
    "The first test review, cut to 40 tokens (special tokens included)."
    ids = task.tokenizer(task.splits['test'].x[0], truncation=True, max_length=40)['input_ids']
    return task.tokenizer.decode(ids[1:-1])

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=5)
    a = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get('TUNEBOOK_THREADS', '2')))
    import captum.attr as ca
    from tunebook.core import set_verbosity
    from tunebook.recipes import reviews_task
    from tunebook.models import load_model
    from tunebook.eval import model_inputs, logits_of
    from tunebook.audit.explain import explain
    set_verbosity('warning')
    task = reviews_task(100, 0)
    model = load_model('minilm', task, seed=0).eval()
    text = forty_token_review(task)
    inputs = model_inputs(task.batch(task.encode([text]), [0]))
    ids, rest = inputs['input_ids'], tuple(list(inputs.values())[1:])
    assert ids.shape[1] == 40, ids.shape
    names = list(inputs)
    f = lambda *t: logits_of(model(**dict(zip(names, t)))).float().softmax(-1)
    special = torch.tensor(task.tokenizer.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True), dtype=torch.bool)
    base = torch.where(special, ids, torch.full_like(ids, task.tokenizer.pad_token_id))
    lig = ca.LayerIntegratedGradients(f, model.get_input_embeddings())

    def lower_bound():
        emb = model.get_input_embeddings()(ids).detach().repeat(STEPS, 1, 1).requires_grad_(True)
        more = {n: v.repeat(STEPS, 1) for n, v in zip(names[1:], rest)}
        logits_of(model(inputs_embeds=emb, **more)).float().softmax(-1)[:, 0].sum().backward()
    def captum(bs): return lambda: lig.attribute(ids, baselines=base, target=0, additional_forward_args=rest, n_steps=STEPS, internal_batch_size=bs)
    runs = {'lower bound (1 batched fwd+bwd)': lower_bound, 'Captum, internal batch 1': captum(1),
            'Captum, internal batch 10': captum(10), 'Captum, internal batch 50': captum(50),
            'tunebook explain (batch 50)': lambda: explain(model, task, text, target=0, n_steps=STEPS, batch_size=STEPS, tolerance=1.0)}
    for fn in runs.values(): fn()  # warm-up
    times = {n: [] for n in runs}
    for _ in range(a.repeats):
        for n, fn in runs.items():
            t0 = time.perf_counter(); fn(); times[n].append(time.perf_counter() - t0)
    med = {n: float(np.median(v)) for n, v in times.items()}
    lb, tb, cb = med['lower bound (1 batched fwd+bwd)'], med['tunebook explain (batch 50)'], med['Captum, internal batch 50']
    print(f"{'run':<34s} {'median s':>9s} {'x lower bound':>14s}")
    for n, v in med.items(): print(f"{n:<34s} {v:9.3f} {v / lb:14.2f}")
    targets = {'explain <= 1.1x the lower bound': tb <= 1.1 * lb, "explain's overhead over Captum <= 5%": tb <= 1.05 * cb}
    print(f"\nexplain / Captum (batch 50): {tb / cb:.3f}\n\ntarget                                   status")
    for k, v in targets.items(): print(f'{k:<40s} {status(v)}')
    out = HERE/'results'/f"bench_explain-{time.strftime('%Y-%m-%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(args=vars(a), machine=platform.processor() or platform.machine(), torch=torch.__version__,
                                   median_seconds=med, ratio_to_lower_bound={n: v / lb for n, v in med.items()},
                                   targets={k: status(v) for k, v in targets.items()}), indent=1))
    print(f'\nwritten to {out.relative_to(HERE.parent)}')

if __name__ == '__main__': main()
