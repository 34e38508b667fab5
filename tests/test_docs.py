"""The offline documentation site, built by `python tools/build_docs.py` (nbdev's processing + Sphinx/MyST-NB, no Quarto).

- the real site builds from nbs/; every relative link and anchor resolves; nothing loads from the network;
  each tunebook module has a page naming everything in its `__all__`; each nbs/guide notebook has a guide page;
- a small synthetic notebook set checks what nbs/ may not have yet: tutorials, math (MathML), images, widget
  snapshots, hidden cells; and that a failed build leaves the previous site in place;
- a real browser (Debian's chromium through Playwright) opens the home, an API, a tutorial and the search pages over
  http: key content shows, every image loads, math renders, no console error, no request leaves 127.0.0.1.
  Screenshots go to artifacts/docs/.
Each site is built once per test session."""
import ast, json, re, subprocess, sys, threading
from functools import partial
from html.parser import HTMLParser
from http.server import ThreadingHTTPServer, SimpleHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit, unquote
import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = [sys.executable, str(ROOT/'tools'/'build_docs.py')]
CHROMIUM = Path('/usr/bin/chromium')
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--no-first-run']
ARTIFACTS = ROOT/'artifacts'/'docs'

def build(out, *args):
    "Run the project's docs command into `out`; the completed process."
    return subprocess.run(BUILD + ['--out', str(out), *args], capture_output=True, text=True, cwd=ROOT, timeout=900)

def built(out, *args):
    r = build(out, *args)
    assert r.returncode == 0, f"docs build failed:\n{r.stdout}\n{r.stderr}"
    return out

@pytest.fixture(scope='session')
def site(tmp_path_factory):
    "The site built from nbs/."
    return built(tmp_path_factory.mktemp('site')/'_docs')

# ---- a synthetic notebook set: tutorials, math, images, widgets, hidden cells --------------------------------------

PNG = 'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFklEQVR4nGM4EaBBEmIY1TCqYfhqAAC/xkAQB0UFtwAAAABJRU5ErkJggg=='  # 16x16

def md(src): return {'cell_type': 'markdown', 'metadata': {}, 'source': src}
def code(src, outputs=()): return {'cell_type': 'code', 'metadata': {}, 'source': src, 'outputs': list(outputs), 'execution_count': None}
def nb(*cells): return {'cells': list(cells), 'metadata': {'kernelspec': {'name': 'python3', 'language': 'python', 'display_name': 'Python 3'}},
                        'nbformat': 4, 'nbformat_minor': 5}

def write_nb(path, notebook):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook))

TUTORIAL = nb(
    md('# Hello tutorial\n\n> A tutorial made by the tests.'),
    md('The loss is $\\mathcal{L} = -\\sum_i y_i \\log p_i$.\n\n::: {.callout-note}\nA Quarto callout.\n:::'),
    code('#| hide\nsecret_setup = 1'),
    code('#| echo: false\nprint("only the output")', [{'output_type': 'stream', 'name': 'stdout', 'text': 'only the output\n'}]),
    code('plot_it()', [{'output_type': 'display_data', 'metadata': {}, 'data': {'image/png': PNG, 'text/plain': '<Figure>'}}]),
    code('panel', [{'output_type': 'display_data', 'metadata': {}, 'data': {
        'application/vnd.jupyter.widget-view+json': {'model_id': 'abc', 'version_major': 2, 'version_minor': 0},
        'image/png': PNG, 'text/plain': 'VBox()'}}]))

@pytest.fixture(scope='session')
def mini_nbs(tmp_path_factory):
    "index + one tutorial, no module notebook (tunebook's modules are not needed to process them)."
    d = tmp_path_factory.mktemp('nbs')
    write_nb(d/'index.ipynb', nb(md('# minisite\n\n> The home page of a synthetic site.'), md('Welcome to **minisite**.')))
    write_nb(d/'tutorials'/'hello.ipynb', TUTORIAL)
    return d

@pytest.fixture(scope='session')
def mini_site(mini_nbs, tmp_path_factory):
    return built(tmp_path_factory.mktemp('mini')/'_docs', '--nbs', str(mini_nbs), '--no-cache')

# ---- reading the built HTML ----------------------------------------------------------------------------------------

class _Refs(HTMLParser):
    "Collects, from one HTML page: the href/src of each tag, every id, and its text."
    def __init__(self):
        super().__init__(); self.refs, self.ids, self.text, self._skip = [], set(), [], 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'id' in a: self.ids.add(a['id'])
        for k in ('href', 'src'):
            if a.get(k) is not None: self.refs.append((tag, k, a[k], a.get('rel', '')))
        if tag in ('script', 'style'): self._skip += 1
    def handle_endtag(self, tag):
        if tag in ('script', 'style'): self._skip -= 1
    def handle_data(self, data):
        if not self._skip: self.text.append(data)

def parse(path):
    p = _Refs(); p.feed(path.read_text(encoding='utf-8')); return p

def text(path): return ' '.join(''.join(parse(path).text).split())

def pages(site): return sorted(site.rglob('*.html'))

def is_external(url): return urlsplit(url).scheme not in ('', 'data') or url.startswith('//')  # data: URIs are inline

def module_pages():
    "Each tunebook module (but _modidx) -> (the docs page nbdev names for its notebook, its `__all__`)."
    from nbdev.doclinks import _nbpath2html
    out = {}
    for py in sorted((ROOT/'tunebook').glob('*.py')):
        if py.stem in ('_modidx', '__init__'): continue
        src = py.read_text(encoding='utf-8')
        nb = re.search(r'File to edit: (\S+?\.ipynb)', src)
        assert nb, f'{py.name} does not say which notebook it comes from'
        names = next((ast.literal_eval(n.value) for n in ast.parse(src).body if isinstance(n, ast.Assign)
                      and any(getattr(t, 'id', '') == '__all__' for t in n.targets)), [])
        out[py.stem] = (_nbpath2html(Path(Path(nb.group(1)).name)).name, names)
    return out

# ---- the real site -------------------------------------------------------------------------------------------------

def test_site_has_home_and_a_page_per_module(site):
    assert (site/'index.html').exists() and (site/'search.html').exists() and (site/'searchindex.js').exists()
    home = text(site/'index.html')
    for mod, (page, _) in module_pages().items():
        assert (site/page).exists(), f'no page {page} for tunebook.{mod}'
        assert f'href="{page}"' in (site/'index.html').read_text(), f'the home page does not link to {page}'
    assert 'tunebook' in home

def test_guide_pages(site):
    "Each nbs/guide notebook has a page under guide/, linked from the home page under the Guide caption, before API."
    guides = sorted(p.stem for p in (ROOT/'nbs'/'guide').glob('*.ipynb') if not p.name.startswith('_'))
    assert 'architecture' in guides, 'nbs/guide/architecture.ipynb is missing'
    home = (site/'index.html').read_text(encoding='utf-8')
    for g in guides:
        assert (site/'guide'/f'{g}.html').exists(), f'no page guide/{g}.html for nbs/guide/{g}.ipynb'
        assert f'href="guide/{g}.html"' in home, f'the home page does not link to guide/{g}.html'
    captions = re.findall(r'class="caption-text">([^<]+)<', home)
    assert 'Guide' in captions and captions.index('Guide') < captions.index('API'), captions
    assert re.search(r'<h1>Architecture\b', (site/'guide'/'architecture.html').read_text(encoding='utf-8')), 'the guide page has no title'

def test_every_exported_name_is_on_its_module_page(site):
    missing = []
    for mod, (page, names) in module_pages().items():
        words = text(site/page)
        missing += [f'tunebook.{mod}.{n} (on {page})' for n in names if n not in words]
    assert not missing, 'exported names missing from their docs page:\n' + '\n'.join(missing)

def test_show_doc_ran(site):
    "nbdev's show_doc output (signature and docstring) is on the page, the code of exported cells is not."
    from tunebook.core import close_matches
    page, words = (site/'core.html').read_text(encoding='utf-8'), text(site/'core.html')
    assert 'close_matches' in words and close_matches.__doc__.split('\n')[0].replace('`', '') in words
    assert 'def close_matches' not in page, 'an exported cell\'s source leaked into the docs'

def check_links(site):
    "Every relative href/src in the site points at a file that exists, and every #anchor at an id on that page."
    ids, broken = {}, []
    for p in pages(site):
        for tag, attr, url, rel in parse(p).refs:
            if is_external(url) or url.startswith(('mailto:', 'javascript:', 'data:')): continue
            parts = urlsplit(url)
            target = (p.parent/unquote(parts.path)).resolve() if parts.path else p
            if parts.path.endswith('/'): target = target/'index.html'
            if not target.exists(): broken.append(f'{p.relative_to(site)}: {url} (no such file)'); continue
            if parts.fragment and target.suffix == '.html':
                if target not in ids: ids[target] = parse(target).ids
                if unquote(parts.fragment) not in ids[target]: broken.append(f'{p.relative_to(site)}: {url} (no such anchor)')
    assert not broken, f'{len(broken)} broken internal links:\n' + '\n'.join(broken[:50])

def check_offline(site):
    "No page, stylesheet or script makes the browser fetch anything from another host (CDNs, web fonts, MathJax)."
    fetched = []
    for p in pages(site):
        for tag, attr, url, rel in parse(p).refs:
            loads = attr == 'src' or (tag == 'link' and not re.search(r'\b(canonical|alternate|author|license)\b', rel or ''))
            if loads and is_external(url): fetched.append(f'{p.relative_to(site)}: <{tag} {attr}={url}>')
    for p in sorted(site.rglob('*.css')) + sorted(site.rglob('*.js')):
        for u in re.findall(r'''(?:url\(\s*["']?|@import\s+["']|import\s*\(\s*["']|from\s+["'])((?:https?:)?//[^"')\s]+)''',
                            p.read_text(encoding='utf-8', errors='replace')):
            fetched.append(f'{p.relative_to(site)}: {u}')
    assert not fetched, 'the site would load these from the network:\n' + '\n'.join(fetched)

NOISE = {'a progress bar not at its end': re.compile(r'\b\d{1,2}%\|[^|]*\| *\d+/\d+'),
         "a widget's Python repr": re.compile(r'\b(?:VBox|HBox|Box|Output|Image|Button|Dropdown)\(children='),
         "transformers' load report": re.compile('LOAD REPORT'),
         'a path of the machine that built the outputs': re.compile(r'(?:/tmp/tmp|/home/|/Users/|/work/|site-packages|[A-Za-z]:\\Users)')}

def check_clean_outputs(site):
    "No page shows progress-bar fragments, widget reprs, load reports or machine paths."
    found = [f'{p.relative_to(site)}: {what}: ...{m.group(0)}...' for p in pages(site) if p.name not in ('genindex.html', 'search.html')
             for what, rx in NOISE.items() for m in [rx.search(text(p))] if m]
    assert not found, 'noise on the site:\n' + '\n'.join(found)

@pytest.mark.parametrize('noise', ['features (train):   0%|          | 0/11 [00:00<?, ?it/s]',
                                   "VBox(children=(HBox(children=(Dropdown(description='method'",
                                   'BertForSequenceClassification LOAD REPORT from: model',
                                   'Model saved to /tmp/tmp431kalo6/model', 'File "/home/ana/x.py", line 3'])
def test_clean_output_check_catches_noise(tmp_path, noise):
    (tmp_path/'page.html').write_text(f'<html><body><pre>{noise}</pre></body></html>')
    with pytest.raises(AssertionError, match='noise on the site'): check_clean_outputs(tmp_path)

def test_internal_links_resolve(site): check_links(site)
def test_outputs_are_clean(site): check_clean_outputs(site)
def test_nothing_loads_from_the_network(site): check_offline(site)

def test_build_is_deterministic(site, tmp_path):
    "A second build (from the cache) gives the same pages, byte for byte."
    again = built(tmp_path/'_docs')
    a = {p.relative_to(site): p.read_bytes() for p in site.rglob('*') if p.is_file()}
    b = {p.relative_to(again): p.read_bytes() for p in again.rglob('*') if p.is_file()}
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []

# ---- the synthetic site --------------------------------------------------------------------------------------------

def test_tutorials_math_images_widgets(mini_site):
    page = mini_site/'tutorials'/'hello.html'
    assert page.exists(), 'the tutorial has no page'
    html = page.read_text(encoding='utf-8')
    words = text(page)
    assert 'Hello tutorial' in words and 'A tutorial made by the tests.' in words
    assert 'secret_setup' not in html, '#| hide cell shown'
    assert 'only the output' in words and 'print(' not in html, '#| echo: false not honoured'
    assert 'admonition note' in html and 'A Quarto callout.' in words
    imgs = [u for t, a, u, _ in parse(page).refs if t == 'img']
    assert len(imgs) == 2 and all((page.parent/u).exists() for u in imgs), imgs   # the plot and the widget snapshot
    assert html.count('<math ') == 1 and '<mi>&#x02112;</mi>' in html, 'the formula is not MathML'   # math: no MathJax
    assert 'Tutorials' in (mini_site/'index.html').read_text(encoding='utf-8')
    check_links(mini_site); check_offline(mini_site)

def test_failed_build_keeps_the_previous_site(mini_site, mini_nbs, tmp_path):
    out = built(tmp_path/'_docs', '--nbs', str(mini_nbs), '--no-cache')
    before = {p: p.read_bytes() for p in out.rglob('*') if p.is_file()}
    bad = tmp_path/'nbs'
    for p in mini_nbs.rglob('*.ipynb'): write_nb(bad/p.relative_to(mini_nbs), json.loads(p.read_text()))
    write_nb(bad/'01_broken.ipynb', nb(md('# broken'), code('#| export\nfrom nowhere_at_all import thing')))
    r = build(out, '--nbs', str(bad), '--no-cache')
    assert r.returncode == 1 and '01_broken.ipynb' in r.stderr and 'nowhere_at_all' in r.stderr, r.stderr
    assert {p: p.read_bytes() for p in out.rglob('*') if p.is_file()} == before
    assert not (tmp_path/'_proc').exists() or not any((tmp_path/'_proc').iterdir()), 'build leftovers'

# ---- in a real browser ---------------------------------------------------------------------------------------------

class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

@pytest.fixture(scope='session')
def serve():
    "serve(site) -> base URL of an http server on 127.0.0.1 (a free port) for that folder."
    servers = []
    def _serve(site):
        srv = ThreadingHTTPServer(('127.0.0.1', 0), partial(_Quiet, directory=str(site)))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f'http://127.0.0.1:{srv.server_address[1]}/'
    yield _serve
    for s in servers: s.shutdown(); s.server_close()

@pytest.fixture(scope='session')
def browser():
    if not CHROMIUM.exists(): pytest.skip('Debian chromium not found at /usr/bin/chromium (apt-get install -y chromium)')
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()

def visit(browser, base, path, shot):
    "Open `path` on `base`, all <img> loaded; returns (page, console errors, requests off 127.0.0.1)."
    ctx = browser.new_context(viewport={'width': 1280, 'height': 900})
    page = ctx.new_page()
    errors, offsite = [], []
    page.on('console', lambda m: m.type == 'error' and errors.append(m.text))
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.on('requestfailed', lambda r: errors.append(f'request failed: {r.url}'))
    def route(r):
        if r.request.url.startswith(base) or r.request.url.startswith('data:'): return r.continue_()
        offsite.append(r.request.url); r.abort()
    page.route('**/*', route)
    resp = page.goto(base + path, wait_until='load')
    assert resp.ok, f'{path}: HTTP {resp.status}'
    page.evaluate('''async () => { for (const i of document.images) { i.loading = 'eager';
        if (!i.complete) await new Promise(r => { i.onload = i.onerror = r; }); } }''')
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS/f'{shot}.png'), full_page=True)
    return page, errors, offsite

def images(page): return page.eval_on_selector_all('img', 'els => els.map(e => [e.getAttribute("src"), e.naturalWidth])')

def check_page(page, errors, offsite, min_images=0):
    imgs = images(page)
    assert [i for i in imgs if i[1] == 0] == [], f'images that did not load: {imgs}'
    assert len(imgs) >= min_images, imgs
    assert errors == [], f'console errors: {errors}'
    assert offsite == [], f'requests off the local server: {offsite}'

def api_page_with_most_images(site):
    pages = [p for mod, (p, _) in module_pages().items()]
    return max(pages, key=lambda p: ((site/p).read_text(encoding='utf-8').count('<img'), p))

def test_browser_home_and_api_pages(site, serve, browser):
    base = serve(site)
    page, errors, offsite = visit(browser, base, 'index.html', 'home')
    assert page.locator('h1').first.inner_text().strip().startswith('tunebook')
    nav = page.locator('.sidebar-tree').inner_text()
    for mod in module_pages(): assert mod in nav, f'{mod} missing from the navigation'
    check_page(page, errors, offsite)
    page.context.close()
    api = api_page_with_most_images(site)
    page, errors, offsite = visit(browser, base, api, 'api-' + Path(api).stem)
    mod = Path(api).stem
    assert page.locator('h1').first.inner_text().strip().startswith(mod)
    names = dict(module_pages().values())[api]
    body = page.locator('article').inner_text()
    assert all(n in body for n in names), [n for n in names if n not in body]
    check_page(page, errors, offsite, min_images=1)   # the module notebooks' stored plots show on their pages
    page.context.close()

def test_browser_search_works_offline(site, serve, browser):
    base = serve(site)
    page, errors, offsite = visit(browser, base, 'search.html?q=close_matches', 'search')
    page.wait_for_selector('#search-results li a', timeout=15000)
    hrefs = page.eval_on_selector_all('#search-results li a', 'els => els.map(e => e.getAttribute("href"))')
    assert any(h.startswith('core.html') for h in hrefs), hrefs
    check_page(page, errors, offsite)
    page.context.close()

def test_browser_tutorial_page(site, mini_site, serve, browser):
    "The first tutorial of the real site if it has any; the synthetic one always (math, a plot, a widget snapshot)."
    real = sorted((site/'tutorials').glob('*.html'))
    for name, s, path, n_img in ([('tutorial', site, real[0].relative_to(site).as_posix(), 0)] if real else []) + \
                                [('tutorial-synthetic', mini_site, 'tutorials/hello.html', 2)]:
        page, errors, offsite = visit(browser, serve(s), path, name)
        assert page.locator('h1').first.inner_text().strip()
        check_page(page, errors, offsite, min_images=n_img)
        if s is mini_site:   # the browser lays out MathML itself: the formula has a size
            box = page.locator('math').first.bounding_box()
            assert box and box['width'] > 20 and box['height'] > 5, box
        page.context.close()
