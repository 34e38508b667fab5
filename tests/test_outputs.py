"""Stored notebook outputs read like a finished document: what the docs site, the README and a reader of the
notebooks see. No progress bar stuck at its first state, no terminal colour codes, no path of the machine that ran
the notebook, no transformers load report, no widget shown as its Python repr. `tools/run_nbs.py` stores outputs
this way; this test fails on any notebook whose outputs were stored otherwise."""
import json, re, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
from run_nbs import tidy_text, tidy_outputs, final_lines, _joined, PROGRESS_BAR

NOTEBOOKS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)
WIDGET = 'application/vnd.jupyter.widget-view+json'

def problems(nb:dict) -> list[str]:
    "What in `nb`'s stored outputs a reader should not see, one line each."
    out = []
    for i, cell in enumerate(nb['cells']):
        for o in cell.get('outputs', []):
            if o.get('output_type') == 'error': out.append(f"cell {i}: a stored error ({o.get('ename')}): the site would show its traceback")
            data = o.get('data', {})
            texts = [_joined(o['text'])] if 'text' in o else [_joined(data.get('text/plain', ''))] + o.get('traceback', [])
            for t in texts:
                if tidy_text(t) != t: out.append(f"cell {i}: untidy output (progress bar, colour code or machine path): {t[:120]!r}")
                if 'LOAD REPORT' in t: out.append(f"cell {i}: transformers' load report")
            if WIDGET in data and 'text/html' not in data:
                out.append(f"cell {i}: a widget with no static rendering (pages show its repr): {_joined(data.get('text/plain', ''))[:80]!r}")
    return out

@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT/'nbs')))
def test_stored_outputs_are_tidy(path):
    bad = problems(json.loads(path.read_text(encoding='utf-8')))
    assert not bad, f"{path.relative_to(ROOT)}: rerun it with `python tools/run_nbs.py {path.relative_to(ROOT)}`:\n" + '\n'.join(bad)

def test_tidy_text():
    bar = '\rfit:   0%|          | 0/11 [00:00<?, ?it/s]\rfit: 100%|##########| 11/11 [00:09<00:00,  1.07it/s]\n'
    assert final_lines(bar) == 'fit: 100%|##########| 11/11 [00:09<00:00,  1.07it/s]\n'
    assert tidy_text('\x1b[1mbold\x1b[0m') == 'bold'
    assert tidy_text(f'saved to {ROOT}/nbs/x.csv') == 'saved to nbs/x.csv'
    assert tidy_text('Model saved to /tmp/tmp431kalo6/model (load it') == 'Model saved to <tmp>/model (load it'
    assert tidy_text(f'{sys.prefix}/lib/python3.11/site-packages/IPython/x.py:3: W') == '<python>/lib/python3.11/site-packages/IPython/x.py:3: W'
    assert tidy_text('/home/ana/work/data.csv, then') == '<tmp>/data.csv, then'
    assert tidy_text('accuracy 0.85 in 1/2 epochs') == 'accuracy 0.85 in 1/2 epochs'

def test_tidy_text_in_a_checkout_anywhere(monkeypatch):
    "A checkout or Python under a folder such as /tmp is still made relative (CI checks out under such paths)."
    import run_nbs
    monkeypatch.setattr(run_nbs, 'KNOWN_ROOTS', (('/check.x1/tmp/abc/', ''), ('/check.x1/tmp/abc/.venv/', '<python>/')))
    assert tidy_text('saved to /check.x1/tmp/abc/nbs/x.csv') == 'saved to nbs/x.csv'
    assert tidy_text('/check.x1/tmp/abc/.venv/lib/a.py:3') == '<python>/lib/a.py:3'
    assert tidy_text('see docs/tmp/x.md') == 'see docs/tmp/x.md'  # a relative path is not a machine path

def test_problems_are_found():
    "The check above catches each kind of noise (so a tidy notebook set means something)."
    widget = {'output_type': 'display_data', 'data': {WIDGET: {'model_id': 'x'}, 'text/plain': "VBox(children=(HBox(...)))"}}
    bar = {'output_type': 'display_data', 'data': {WIDGET: {'model_id': 'y'}, 'text/plain': 'epoch 1:   0%|          | 0/391 [00:00<?, ?it/s]'}}
    nb = {'cells': [{'cell_type': 'code', 'outputs': [
        {'output_type': 'stream', 'name': 'stderr', 'text': '\rLoading weights:   0%|   | 0/103\rLoading weights: 100%|###| 103/103\n'},
        {'output_type': 'stream', 'name': 'stderr', 'text': 'BertForSequenceClassification LOAD REPORT from: model\n'},
        widget, bar]}]}
    found = problems(nb)
    assert problems({'cells': [{'cell_type': 'code', 'outputs': [{'output_type': 'error', 'ename': 'TypeError', 'traceback': []}]}]})
    assert len(found) == 4 and 'progress bar' in found[0] and 'load report' in found[1] and 'no static rendering' in found[2], found
    tidy_outputs(type('NB', (), {'cells': nb['cells']})())
    assert len(problems(nb)) == 2 and bar not in nb['cells'][0]['outputs']  # bars fixed or dropped; the rest needs the source fixed

def test_readme_holds_no_machine_path():
    "The README (made from nbs/index.ipynb) names no path of the machine that wrote it."
    from run_nbs import MACHINE_PATH
    text = (ROOT/'README.md').read_text(encoding='utf-8')
    assert not MACHINE_PATH.findall(text), MACHINE_PATH.findall(text)[:5]
