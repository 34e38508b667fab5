"""The `tunebook` console script, run as a user would: a subprocess, offline."""
import os, subprocess, sys
from pathlib import Path
import pandas as pd

BIN = Path(sys.executable).parent/'tunebook'

def tunebook(*args, cwd=None, timeout=900):
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'TOKENIZERS_PARALLELISM': 'false'}
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)

def test_help_lists_commands():
    r = tunebook('--help')
    assert r.returncode == 0
    for cmd in ('assets', 'demo', 'fit', 'run'): assert cmd in r.stdout

def test_assets_lists_every_bundled_asset():
    r = tunebook('assets')
    assert r.returncode == 0, r.stderr
    for name in ('minilm', 'reviews', 'resume', 'hmda', 'mnist', 'digits'): assert name in r.stdout

def test_demo_quick_run_audits_and_writes_the_card(tmp_path):
    "A small demo (12 reviews per split, 1 epoch) runs the whole recipe: stages, audit table, card, baseline, a loadable model."
    r = tunebook('demo', '--limit', '12', '--epochs', '1', '--out', str(tmp_path/'demo'))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert '[1/4] train: running' in r.stdout and '[4/4] report: done' in r.stdout
    for metric in ('label_loyalty', 'attack_success', 'explanation_rank_correlation', 'membership_auc', 'size_mb'):
        assert metric in r.stdout, metric
    assert 'Model card: ' in r.stdout and (tmp_path/'demo'/'card'/'model_card.html').is_file()
    assert 'Frozen-feature baseline' in r.stdout and 'frozen-feature baseline (' in r.stdout  # the table and the verdict
    from transformers import AutoModelForSequenceClassification
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path/'demo'/'model')
    assert model.config.id2label == {0: 'great', 1: 'other'}
    assert (tmp_path/'demo'/'model'/'README.md').read_text().startswith('---')  # the card, with its metadata

def test_fit_reports_bad_input_without_traceback(tmp_path):
    pd.DataFrame({'text': ['good', 'bad'] * 10, 'label': ['pos', 'neg'] * 10}).to_csv(tmp_path/'d.csv', index=False)
    r = tunebook('fit', '--model', 'tiny-bert', '--data', str(tmp_path/'d.csv'), '--text', 'review', '--label', 'label')
    assert r.returncode == 2
    assert 'Traceback' not in r.stderr and "'review'" in r.stderr and 'fix:' in r.stderr
    r = tunebook('fit', '--model', 'tiny-bert', '--data', str(tmp_path/'missing.csv'), '--text', 'text', '--label', 'label')
    assert r.returncode == 2 and 'Traceback' not in r.stderr and 'missing.csv' in r.stderr

def test_fit_with_lr_zero_is_refused_with_its_value(tmp_path):
    pd.DataFrame({'text': ['good', 'bad'] * 10, 'label': ['pos', 'neg'] * 10}).to_csv(tmp_path/'d.csv', index=False)
    r = tunebook('fit', '--model', 'tiny-bert', '--data', str(tmp_path/'d.csv'), '--text', 'text', '--label', 'label', '--lr', '0')
    assert r.returncode == 2 and 'lr must be a positive number' in r.stderr and 'seen: 0.0' in r.stderr

def test_fit_says_plainly_when_it_does_not_beat_the_baseline(tmp_path):
    "One optimizer step cannot beat logistic regression on the frozen features: `tunebook fit` says so, with what to try."
    pd.DataFrame({'text': ['good food', 'bad food'] * 30, 'label': ['pos', 'neg'] * 30}).to_csv(tmp_path/'d.csv', index=False)
    r = tunebook('fit', '--model', 'tiny-bert', '--data', str(tmp_path/'d.csv'), '--text', 'text', '--label', 'label',
                 '--max-steps', '1', '--out', str(tmp_path/'m'))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert 'Frozen-feature baseline' in r.stdout
    assert 'The fine-tuned model does not beat the frozen-feature baseline' in r.stdout and 'Try more epochs' in r.stdout
    assert 'TunebookWarning' not in r.stderr  # said once, in the report
    r = tunebook('fit', '--model', 'tiny-bert', '--data', str(tmp_path/'d.csv'), '--text', 'text', '--label', 'label',
                 '--max-steps', '1', '--no-baseline', '--out', str(tmp_path/'m2'))
    assert r.returncode == 0 and 'baseline' not in r.stdout

RECIPE = """
[model]
name = "tiny-bert"
[data]
source = "{csv}"
text = "review"
label = "stars"
[train]
lr = 3e-3
batch_size = 16
max_steps = 10
progress = false
[compress]
int8 = {{quantize = "int8"}}
[audit]
checks = ["accuracy", "loyalty"]
progress = false
[report]
name = "tiny <cli> model"
intended_use = "A test of tunebook run."
"""

def test_run_a_recipe_then_resume_it(tmp_path):
    "tunebook run: one line per stage, the audit table and the card's path; a second run loads the cached stages."
    pd.DataFrame({'review': [f'good food {i}' if i % 2 else f'bad food {i}' for i in range(80)],
                  'stars': ['pos', 'neg'] * 40}).to_csv(tmp_path/'tiny.csv', index=False)
    (tmp_path/'recipe.toml').write_text(RECIPE.format(csv=tmp_path/'tiny.csv'))
    r = tunebook('run', str(tmp_path/'recipe.toml'), '--out', str(tmp_path/'job'))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert '[1/4] train: running' in r.stdout and '[4/4] report: done' in r.stdout and 'label_loyalty' in r.stdout
    assert 'Model card: ' in r.stdout and (tmp_path/'job'/'card'/'model_card.html').is_file()
    assert '&lt;cli&gt;' in (tmp_path/'job'/'card'/'model_card.html').read_text()
    again = tunebook('run', str(tmp_path/'recipe.toml'), '--out', str(tmp_path/'job'))
    assert again.returncode == 0 and '[1/4] train: cached, loading' in again.stdout and '[3/4] audit: cached, loading' in again.stdout

def test_run_refuses_a_mistyped_key_before_any_work(tmp_path):
    (tmp_path/'recipe.toml').write_text(RECIPE.format(csv=tmp_path/'none.csv').replace('max_steps', 'max_step'))
    r = tunebook('run', str(tmp_path/'recipe.toml'), '--out', str(tmp_path/'job'))
    assert r.returncode == 2 and "Did you mean 'max_steps'" in r.stderr and not (tmp_path/'job').exists()

def test_the_example_recipe_reads():
    "examples/reviews.toml, which the README shows, is a valid recipe, and the demo's on 1,000 reviews per split."
    from tunebook.pipeline import read_recipe
    from tunebook.pipeline import demo_recipe
    r = read_recipe(Path(__file__).resolve().parent.parent/'examples'/'reviews.toml')
    assert r == demo_recipe(limit=1000) | {'out': 'reviews-job'}  # the demo's recipe on 1,000 reviews per split
