"""Real-browser tests of the widgets: the training panel, the compression and explanation explorers, the fairness dashboard,
the attack viewer, the privacy panel.

One JupyterLab server on 127.0.0.1 (free port, token, throw-away config/data/runtime/settings dirs) serves the demo
notebooks in tests/notebooks/; Debian's Chromium, driven through Playwright for Python, runs them.
- Training panel: press Start, wait until the chart image and the progress bar change, run a cell while the model
  trains, press Stop, check that the step count stops growing and that the kernel still answers a new cell.
- Compression explorer: choose magnitude pruning, press Add, wait for the new row, the plot and the progress bar;
  then stack int8 on the pruned variant from the 'start from' list; the kernel still answers.
- Explanation explorer: type a sentence (with markup, which must stay text), choose occlusion, press Explain, and
  wait for every word shaded in the view; the kernel still answers.
- Fairness dashboard: move the threshold slider with the keyboard and wait for the view (threshold text, gap,
  confusion matrices) to follow; switch on one threshold per group and see its sliders; the kernel still answers.
- Attack viewer: move the ε slider with the keyboard and wait for the view (ε, both predictions, the images) to
  follow; type a text (with markup, which must stay text), press Attack, and check that the marked words are the
  ones the attack changed; the kernel still answers.
- Privacy panel: type a value that is not a number and press Run: the status line says so and nothing runs; type
  two target ε values, press Run, and wait for the table (one row per run, the non-private one included), both
  plots and a full progress bar; the kernel still answers, and agrees.
- Audit panel: untick a check, press Run, and wait for one tab per check that ran (the unticked one absent), the
  summary's heat map and a full progress bar; open the groups tab and see every group; type a folder, a name and an
  intended use, press Write model card, and see the path in the status line; the kernel finds the files there.
- Model card: a card written by `model_card(...).save(...)` (a tiny model, a tiny audit, markup in its name and
  intended use) opened from file://: every image loads, nothing is requested but the file itself (and data: URIs),
  no console error, and the markup shows as text.
Screenshots go to artifacts/browser/. Skipped (with the reason) only when /usr/bin/chromium or playwright is
missing. Never runs `playwright install`.
"""
import os, re, sys, json, time, shutil, signal, socket, subprocess, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT/'tests'/'notebooks'
SHOTS = ROOT/'artifacts'/'browser'
CHROMIUM = '/usr/bin/chromium'
ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run']
TOKEN = 'tunebook-browser-test'

if not os.path.exists(CHROMIUM): pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium: apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip('playwright.sync_api', reason="playwright for Python is not installed (pip install playwright; never `playwright install`)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def get_json(url, method='GET'):
    req = urllib.request.Request(url, method=method, headers={'Authorization': f'token {TOKEN}'})
    with urllib.request.urlopen(req, timeout=10) as r: return json.loads(r.read() or b'null')

def wait_ready(base, proc, timeout=120):
    "Poll the server's status API until it answers."
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None: raise RuntimeError(f"jupyter lab exited with code {proc.returncode}")
        try: return get_json(f'{base}/api/status')
        except OSError: time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer within {timeout} s")

def stop_server(proc, base):
    "Shut the kernels down through the API, then end the server's process group and anything left under it."
    import psutil
    try:
        for k in get_json(f'{base}/api/kernels'): get_json(f"{base}/api/kernels/{k['id']}", 'DELETE')
    except Exception: pass
    try: kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error: kids = []
    try: os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError: pass
    try: proc.wait(20)
    except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait(10)
    for k in kids:
        try: k.kill()
        except psutil.Error: pass


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "One JupyterLab server on a free port for every test here, writing only under a temporary folder; yields its base url."
    tmp_path = tmp_path_factory.mktemp('lab')
    root = tmp_path/'root'; root.mkdir()
    for nb in DEMOS.glob('*.ipynb'): shutil.copy(nb, root/nb.name)
    dirs = {k: tmp_path/v for k, v in dict(JUPYTER_CONFIG_DIR='config', JUPYTER_DATA_DIR='data', JUPYTER_RUNTIME_DIR='runtime',
                                           IPYTHONDIR='ipython', JUPYTERLAB_SETTINGS_DIR='settings', JUPYTERLAB_WORKSPACES_DIR='workspaces').items()}
    env = os.environ | {k: str(v) for k, v in dirs.items()} | dict(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', MPLBACKEND='Agg')
    port = free_port()
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ServerApp.open_browser=False', '--ServerApp.ip=127.0.0.1',
           f'--ServerApp.port={port}', '--ServerApp.port_retries=0', f'--IdentityProvider.token={TOKEN}', f'--ServerApp.root_dir={root}',
           '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--LabApp.news_url=None']
    if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')
    log = open(tmp_path/'lab.log', 'wb')
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f'http://127.0.0.1:{port}'
    try:
        wait_ready(base, proc)
        yield base
    finally:
        stop_server(proc, base)
        log.close()
        shutil.copy(tmp_path/'lab.log', SHOTS/'lab.log') if SHOTS.exists() else None


@pytest.fixture
def page():
    "A Chromium page (Debian's chromium, headless)."
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            pg = browser.new_page(viewport={'width': 1280, 'height': 1400})
            pg.set_default_timeout(60_000)
            yield pg
        finally: browser.close()


CELLS = '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'  # the cells of the notebook on show

def js(page, expr): return page.evaluate(f"() => {{ {expr} }}")
def chart_src(page): return js(page, "const e = document.querySelector('img.tb-chart'); return e ? e.src : null;")
def progress_width(page): return js(page, "const e = document.querySelector('.tb-progress .progress-bar'); return e ? e.style.width : null;")
def steps_shown(page) -> int:
    txt = page.locator('.tb-progress-text').inner_text()
    return int(re.match(r'\s*(\d+)/', txt).group(1))
def status(page) -> str: return page.locator('.tb-status').inner_text()

def accept_kernel_dialog(page, wait_s=15):
    "JupyterLab may ask which kernel to start: accept the default (python3)."
    dialog = page.locator('.jp-Dialog')
    try: dialog.wait_for(state='visible', timeout=wait_s * 1000)
    except sync_api.TimeoutError: return
    dialog.locator('.jp-mod-accept').click()
    dialog.wait_for(state='hidden')

def run_in_last_cell(page, code, expect, timeout=60_000):
    "Type `code` into the notebook's last cell, run it, and wait until that cell's output is `expect`."
    cell = page.locator(CELLS).last
    cell.locator('.jp-InputArea-editor').click()
    page.keyboard.type(code)
    page.keyboard.press('Shift+Enter')
    out = page.locator(CELLS).nth(page.locator(CELLS).count() - 2)  # a new empty cell follows
    sync_api.expect(out.locator('.jp-OutputArea-output')).to_have_text(expect, timeout=timeout)


def open_and_run_all(page, base, nb):
    "Open notebook `nb` in JupyterLab and run all its cells."
    # a workspace of its own, reset: the server is shared, and JupyterLab would reopen the notebooks of earlier tests
    page.goto(f'{base}/lab/workspaces/{Path(nb).stem}/tree/{nb}?token={TOKEN}&reset', timeout=120_000)
    page.locator(CELLS).first.wait_for(timeout=120_000)
    accept_kernel_dialog(page)
    page.locator('.lm-MenuBar-itemLabel', has_text=re.compile(r'^Run$')).click()
    page.locator('.lm-Menu-itemLabel', has_text=re.compile(r'^Run All Cells$')).click()
    accept_kernel_dialog(page, 5)

def screenshot_on_failure(page, name, check, *args):
    "Run `check(page, *args)`; if it fails, keep a screenshot of what the browser showed."
    try: check(page, *args)
    except BaseException:
        page.screenshot(path=SHOTS/f'{name}-failure.png', full_page=True)
        raise


def test_panel_in_jupyterlab(lab, page): screenshot_on_failure(page, 'panel', check_panel, lab)

def check_panel(page, base):
    open_and_run_all(page, base, 'panel_demo.ipynb')
    page.locator('button.tb-start').wait_for(state='visible', timeout=int(os.environ.get("TB_WAIT", 180_000)))  # kernel start + imports on a busy machine
    page.wait_for_function("() => { const e = document.querySelector('img.tb-chart'); return e && e.src && e.src.startsWith('blob:'); }", timeout=60_000)
    page.screenshot(path=SHOTS/'panel_01_ready.png', full_page=True)
    src0, width0 = chart_src(page), progress_width(page)
    assert width0 in ('0%', '', None), width0

    page.locator('button.tb-start').click()
    page.wait_for_function(f"""() => {{
        const img = document.querySelector('img.tb-chart'), bar = document.querySelector('.tb-progress .progress-bar');
        return img && img.src !== {json.dumps(src0)} && bar && bar.style.width && bar.style.width !== '0%'; }}""", timeout=180_000)
    page.wait_for_function("() => parseInt(document.querySelector('.tb-progress-text').innerText) >= 5", timeout=120_000)
    s1 = steps_shown(page)
    page.screenshot(path=SHOTS/'panel_02_training.png', full_page=True)

    run_in_last_cell(page, 'print(sum(range(10)))', '45')  # a cell runs while the model trains
    s2 = steps_shown(page)
    assert s2 > s1, (s1, s2)
    assert 'training' in status(page), status(page)

    page.locator('button.tb-stop').click()
    sync_api.expect(page.locator('.tb-status')).to_contain_text('stopped at step', timeout=120_000)
    n1 = steps_shown(page)
    stopped_at = int(re.search(r'stopped at step (\d+)/(\d+)', status(page)).group(1))
    time.sleep(3)
    n2 = steps_shown(page)
    assert n1 == n2 == stopped_at, (n1, n2, stopped_at)
    assert stopped_at < int(re.search(r'/(\d+)', status(page)).group(1))  # stopped before the end of the run
    sync_api.expect(page.locator('.tb-results table')).to_be_visible()
    page.screenshot(path=SHOTS/'panel_03_stopped.png', full_page=True)

    run_in_last_cell(page, 'print(6*7)', '42')  # the kernel still answers
    page.screenshot(path=SHOTS/'panel_04_kernel_answers.png', full_page=True)


def table_rows(page) -> int: return page.locator('.tb-table table tbody tr').count()
def plot_src(page): return js(page, "const e = document.querySelector('img.tb-plot'); return e ? e.src : null;")

def add_variant(page, technique, name, source=None):
    "Choose `technique` (and the variant to start from), press Add and wait until the status says `name` was added."
    page.locator('.tb-technique select').select_option(technique)
    if source: page.locator('.tb-source select').select_option(source)
    page.locator('button.tb-add').click()
    sync_api.expect(page.locator('.tb-status')).to_contain_text(f'added {name}:', timeout=180_000)


def test_explorer_in_jupyterlab(lab, page): screenshot_on_failure(page, 'explorer', check_explorer, lab)

def check_explorer(page, base):
    open_and_run_all(page, base, 'explorer_demo.ipynb')
    page.locator('button.tb-add').wait_for(state='visible', timeout=int(os.environ.get("TB_WAIT", 180_000)))
    page.wait_for_function("() => { const e = document.querySelector('img.tb-plot'); return e && e.src && e.src.startsWith('blob:'); }", timeout=60_000)
    assert table_rows(page) == 1 and 'ready' in status(page), (table_rows(page), status(page))
    page.screenshot(path=SHOTS/'explorer_01_ready.png', full_page=True)
    src0 = plot_src(page)

    add_variant(page, 'magnitude', 'pruned 50%')
    assert table_rows(page) == 2 and plot_src(page) != src0
    assert page.locator('.tb-progress-text').inner_text().startswith('20/20'), page.locator('.tb-progress-text').inner_text()
    page.screenshot(path=SHOTS/'explorer_02_pruned.png', full_page=True)

    add_variant(page, 'int8', 'int8 of pruned 50%', source='pruned 50%')  # stacked: int8 on top of the pruned variant
    assert table_rows(page) == 3
    sync_api.expect(page.locator('.tb-table')).to_contain_text('int8 of pruned 50%')
    page.screenshot(path=SHOTS/'explorer_03_stacked.png', full_page=True)

    run_in_last_cell(page, 'print(6*7)', '42')  # the kernel still answers


def test_explanation_explorer_in_jupyterlab(lab, page): screenshot_on_failure(page, 'explain', check_explanations, lab)

def check_explanations(page, base):
    open_and_run_all(page, base, 'explain_demo.ipynb')
    page.locator('button.tb-explain').wait_for(state='visible', timeout=int(os.environ.get("TB_WAIT", 180_000)))
    assert 'ready' in status(page), status(page)
    page.locator('.tb-text textarea').fill('the soup was stale and the bread <b>soggy</b>')
    page.locator('.tb-method select').select_option('occlusion')
    page.locator('button.tb-explain').click()
    sync_api.expect(page.locator('.tb-status')).to_contain_text('explained with occlusion', timeout=120_000)
    words = page.locator('.tb-view .tb-heatmap span')
    assert words.count() == 15, words.count()  # every word of the typed text, shaded ('<', 'b', '>' count as words)
    sync_api.expect(page.locator('.tb-view')).to_contain_text('stale')
    assert page.locator('.tb-view b', has_text='soggy').count() == 0  # the typed markup is shown as text, not rendered
    page.screenshot(path=SHOTS/'explain_01_occlusion.png', full_page=True)
    run_in_last_cell(page, 'print(6*7)', '42')  # the kernel still answers


def test_fairness_dashboard_in_jupyterlab(lab, page): screenshot_on_failure(page, 'fairness', check_fairness, lab)

def check_fairness(page, base):
    open_and_run_all(page, base, 'fairness_demo.ipynb')
    view = page.locator('.tb-fairness-view')
    view.wait_for(state='visible', timeout=int(os.environ.get("TB_WAIT", 180_000)))
    sync_api.expect(view).to_contain_text('threshold 0.50')
    assert page.locator('.tb-fairness-view table.tb-confusion').count() == 2  # one per group
    before = view.inner_text()
    page.screenshot(path=SHOTS/'fairness_01_ready.png', full_page=True)
    handle = page.locator('.tb-threshold .noUi-handle')
    handle.focus()
    for _ in range(20): page.keyboard.press('ArrowRight')  # 20 steps of 0.01
    sync_api.expect(view).to_contain_text('threshold 0.70', timeout=30_000)
    assert view.inner_text() != before  # the gap and the confusion matrices changed with the threshold
    page.locator('.tb-per-group input[type=checkbox]').check()
    sync_api.expect(view).to_contain_text('per group: a 0.70, b 0.70', timeout=30_000)
    page.screenshot(path=SHOTS/'fairness_02_threshold.png', full_page=True)
    run_in_last_cell(page, 'print(6*7)', '42')  # the kernel still answers


def test_attack_viewer_in_jupyterlab(lab, page): screenshot_on_failure(page, 'attack', check_attack, lab)

def check_attack(page, base):
    open_and_run_all(page, base, 'attack_demo.ipynb')
    images, texts = page.locator('.tb-attack-image'), page.locator('.tb-attack-text')
    summary = images.locator('.tb-attack-summary')
    summary.wait_for(state='visible', timeout=int(os.environ.get("TB_WAIT", 180_000)))
    sync_api.expect(summary).to_contain_text('ε=0.1:')
    src0 = images.locator('.tb-view img').get_attribute('src')
    page.screenshot(path=SHOTS/'attack_01_ready.png', full_page=True)
    images.locator('.tb-eps .noUi-handle').focus()
    for _ in range(5): page.keyboard.press('ArrowRight')  # 5 steps of 0.01
    sync_api.expect(summary).to_contain_text('ε=0.15:', timeout=30_000)
    assert images.locator('.tb-view img').get_attribute('src') != src0  # the images follow ε
    assert re.fullmatch(r'\d \(\d\.\d{3}\)', images.locator('.tb-adversarial').inner_text()), images.locator('.tb-adversarial').inner_text()
    page.screenshot(path=SHOTS/'attack_02_eps.png', full_page=True)

    texts.locator('.tb-text textarea').fill('waiter waiter dessert service the soup lovely <b>waiter</b> bread bread')
    texts.locator('button.tb-attack').click()
    sync_api.expect(texts.locator('.tb-status')).to_contain_text('attacked in', timeout=120_000)
    n = texts.locator('.tb-view mark.tb-changed').count()
    assert n >= 2, n  # each changed word, marked in the original and in the adversarial text
    assert texts.locator('.tb-view b', has_text='waiter').count() == 0  # the typed markup is shown as text, not rendered
    sync_api.expect(texts.locator('.tb-view')).to_contain_text('<b>waiter</b>')
    page.screenshot(path=SHOTS/'attack_03_text.png', full_page=True)
    run_in_last_cell(page, 'print(2 * len(text_viewer.result.examples.changed[0]))', str(n))  # the kernel answers, and agrees


def test_privacy_panel_in_jupyterlab(lab, page): screenshot_on_failure(page, 'privacy', check_privacy, lab)

def check_privacy(page, base):
    open_and_run_all(page, base, 'privacy_demo.ipynb')
    run, values, view = page.locator('button.tb-run'), page.locator('.tb-values input'), page.locator('.tb-view')
    run.wait_for(state='visible', timeout=int(os.environ.get("TB_WAIT", 180_000)))
    sync_api.expect(page.locator('.tb-status')).to_contain_text('ready')
    assert values.input_value() == '8, 3', values.input_value()
    page.screenshot(path=SHOTS/'privacy_01_ready.png', full_page=True)

    values.fill('8, eight')
    run.click()
    sync_api.expect(page.locator('.tb-status')).to_contain_text('Each value must be a number', timeout=30_000)
    assert view.locator('table').count() == 0  # nothing ran

    values.fill('4, 1')
    run.click()
    sync_api.expect(page.locator('.tb-status')).to_contain_text('done: 3 runs trained and audited', timeout=180_000)
    rows = view.locator('table.tb-sweep-table tbody tr')
    assert rows.count() == 3, rows.count()
    assert [rows.nth(i).locator('th').inner_text() for i in range(3)] == ['non-private', 'ε=4', 'ε=1']
    for part in ('.tb-accuracy-plot img', '.tb-roc-plot img'):  # both plots, loaded
        page.wait_for_function(f"() => {{ const e = document.querySelector('.tb-view {part}'); return e && e.complete && e.naturalWidth > 0; }}")
    assert progress_width(page) == '100%', progress_width(page)
    page.screenshot(path=SHOTS/'privacy_02_done.png', full_page=True)
    run_in_last_cell(page, "print(list(panel.result.to_frame().index))", "['non-private', 'ε=4', 'ε=1']")  # the kernel answers, and agrees


def test_audit_panel_in_jupyterlab(lab, page): screenshot_on_failure(page, 'audit', check_audit, lab)

def check_audit(page, base):
    open_and_run_all(page, base, 'audit_demo.ipynb')
    run, tabs = page.locator('button.tb-run'), page.locator('.tb-tabs .lm-TabBar-tab')
    run.wait_for(state='visible', timeout=int(os.environ.get("TB_WAIT", 180_000)))
    sync_api.expect(page.locator('.tb-status')).to_contain_text('ready')
    assert page.locator('.tb-variant-0 input').is_disabled() and page.locator('button.tb-card').is_disabled()  # the base is always in; no card yet
    page.locator('.tb-check-membership input').uncheck()
    page.screenshot(path=SHOTS/'audit_01_ready.png', full_page=True)

    run.click()
    sync_api.expect(page.locator('.tb-status')).to_contain_text('done: 2 variant(s) of base audited on 6 check(s)', timeout=180_000)
    sync_api.expect(tabs).to_have_text(['summary', 'accuracy', 'loyalty', 'groups', 'robustness', 'explanations', 'efficiency', 'forgotten'])
    page.wait_for_function("() => { const e = document.querySelector('.tb-tab-summary img'); return e && e.complete && e.naturalWidth > 0; }")
    assert progress_width(page) == '100%', progress_width(page)
    page.screenshot(path=SHOTS/'audit_02_done.png', full_page=True)

    tabs.filter(has_text=re.compile(r'^groups$')).click()
    groups = page.locator('.tb-tab-groups table.tb-groups')
    sync_api.expect(groups).to_be_visible()
    assert groups.locator('tbody tr').count() == 6, groups.locator('tbody tr').count()  # 3 variants x 2 groups
    sync_api.expect(page.locator('.tb-tab-groups table.tb-metrics')).to_contain_text('pruned 95%')
    page.screenshot(path=SHOTS/'audit_03_groups.png', full_page=True)

    page.locator('.tb-card-folder input').fill('card')
    page.locator('.tb-card-name input').fill('tiny <reviews> model')
    page.locator('.tb-card-use textarea').fill('Teaching: sorting short restaurant reviews.')
    page.locator('button.tb-card').click()
    sync_api.expect(page.locator('.tb-status')).to_contain_text('model card written to card: model_card.html and model_card.md', timeout=60_000)
    page.screenshot(path=SHOTS/'audit_04_card.png', full_page=True)
    run_in_last_cell(page, "import os; print(sorted(os.listdir('card')), panel.result.table.index.tolist())",
                     "['model_card.html', 'model_card.md', 'tunebook.json'] ['base', 'int8', 'pruned 95%']")  # the kernel answers, and agrees


def write_small_card(folder:Path, name:str, intended_use:str) -> Path:
    "A model card of a tiny text model and its int8 copy, from a tiny audit, saved into `folder`; its HTML page."
    import numpy as np, torch
    from tunebook.data import Task
    from tunebook.models import tiny_text_model
    from tunebook.train import Tuner
    from tunebook.compress.quantize import quantize
    from tunebook.report import audit
    from tunebook.card import model_card
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    texts = [f"the soup was {rng.choice(['great', 'lovely'] if t else ['awful', 'bland'])} {i}" for i, t in enumerate(y)]
    task = Task.from_arrays(texts, np.array(['other', 'great'])[y], groups={'group': rng.choice(['a', 'b'], 200)}, seed=0)
    torch.manual_seed(0)
    tuner = Tuner(tiny_text_model(task), task, lr=3e-3, max_steps=20, progress=False, seed=0)
    tuner.fit()
    model = tuner.model.eval()
    result = audit({'base': model, 'int8': quantize(model)}, task, checks=['accuracy', 'loyalty', 'groups', 'efficiency'],
                   n_latency=3, repeats=1, progress=False)
    return model_card(result, task, name=name, intended_use=intended_use).save(folder)/'model_card.html'


def test_model_card_html_in_chromium(tmp_path, page): screenshot_on_failure(page, 'card', check_card, tmp_path)

def check_card(page, tmp_path):
    name = '<img src="x" onerror="console.error(1)"> reviews'
    use = "Teaching. <script>fetch('http://127.0.0.1:9/')</script>"
    card = write_small_card(tmp_path/'card', name, use)
    requests, errors = [], []
    page.on('request', lambda r: requests.append(r.url))
    page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.goto(card.as_uri(), wait_until='load')
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
    widths = js(page, "return Array.from(document.images).map(i => i.naturalWidth);")
    assert len(widths) == card.read_text(encoding='utf-8').count('<img') >= 1 and all(w > 0 for w in widths), widths  # every figure loaded
    assert requests and requests[0] == card.as_uri(), requests
    assert all(u.startswith(('file:', 'data:')) for u in requests), requests  # nothing from another host
    assert errors == [], errors
    assert page.locator('h1').inner_text() == name and page.locator('script').count() == 0  # the markup is text
    sync_api.expect(page.locator('body')).to_contain_text(use)
    page.screenshot(path=SHOTS/'card_01_page.png', full_page=True)
