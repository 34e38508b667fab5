"""Build tunebook's documentation site into `_docs/`, offline and without Quarto: `python tools/build_docs.py`.

1. nbdev processes each notebook (`tools/nbdocs.py`: show_doc, `#| hide`, `#| echo: false`, exports), each one in a
   fresh process, several at once;
2. each processed notebook becomes a MyST-NB notebook: directives become cell tags, stored outputs are kept;
3. Sphinx + MyST-NB renders them with the furo theme (`tools/sphinx/conf.py`), never executing anything;
4. links to the published site become relative, and any asset that would load from the network fails the build
   (math is MathML, made at build time: no MathJax);
5. the new site replaces `_docs/` only when all of that succeeded (it is built beside it, then swapped in).

Pages: `index.ipynb` is the home page, each `NN_*.ipynb` an API page (named as nbdev names it: `00_core` -> core.html),
each `guide/*.ipynb` a guide page, each `tutorials/*.ipynb` a tutorial page (in those two folders, notebooks named
`_*` are left out). The navigation shows Home, Tutorials, Guide, then API. `--serve` serves the built site on
http://127.0.0.1:PORT/."""
from __future__ import annotations
import argparse, ast, hashlib, html, io, json, multiprocessing, os, re, shutil, sys, tempfile, time
from concurrent.futures import ProcessPoolExecutor
from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT/'tools'/'sphinx'
CACHE_DIR = ROOT/'_proc'/'docs-cache'
CACHE_FORMAT = 1     # bump when what nbdev_process returns changes
OFFLINE_ENV = {'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1', 'HF_DATASETS_OFFLINE': '1', 'MPLBACKEND': 'Agg'}
sys.path.insert(0, str(ROOT/'tools'))
from nbdocs import process_nb, cell_directives, strip_directives

class DocsBuildError(Exception): "The docs site could not be built; the message says which notebook or page, and why."

def settings() -> dict:
    "The `[DEFAULT]` section of settings.ini."
    cfg = ConfigParser(); cfg.read(ROOT/'settings.ini')
    return dict(cfg['DEFAULT'])

def site_url() -> str:
    "The published site's address (doc_host + doc_baseurl), which nbdev writes into its cross-reference links."
    s = settings()
    return s['doc_host'].rstrip('/') + '/' + s['doc_baseurl'].strip('/') + '/'

# ---- 1. which notebooks ------------------------------------------------------------------------------------------

SUBFOLDERS = ('guide', 'tutorials')   # sections whose pages live in a folder of their own, named as the section
NAV = (('tutorials', 'Tutorials'), ('guide', 'Guide'), ('api', 'API'))   # the navigation's sections, in order, after Home

def doc_notebooks(nbs:Path) -> dict:
    "The notebooks the site is made of, by section: `home` (index), `guide`, `api` (NN_*.ipynb) and `tutorials`."
    if not (nbs/'index.ipynb').exists(): raise DocsBuildError(f"No home page: {nbs/'index.ipynb'} is missing.")
    sub = lambda d: sorted(p for p in (nbs/d).glob('*.ipynb') if not p.name.startswith('_'))
    return {'home': [nbs/'index.ipynb'], 'guide': sub('guide'), 'api': sorted(nbs.glob('[0-9][0-9]*_*.ipynb')),
            'tutorials': sub('tutorials')}

# ---- 2. one notebook: nbdev's processing, then MyST-NB cells (runs in a worker process) --------------------------

_re_callout = re.compile(r'^(\s*:::+)\s*\{\.callout-(\w+)[^}]*\}', re.MULTILINE)

def myst_markdown(src:str) -> str:
    "Markdown cell source for MyST: Quarto callouts (`::: {.callout-note}`) become MyST admonitions (`:::{note}`)."
    return _re_callout.sub(r'\1{\2}', src)

_re_pandoc_attrs = re.compile(r'(\]\([^)\s]+\))\{target="_blank"[^}]*\}')

def showdoc_markdown(md:str) -> str:
    "show_doc's Markdown for MyST: no leading rule (invalid inside an output; CSS draws it), Pandoc link attributes as a class."
    return _re_pandoc_attrs.sub(r'\1{.showdoc-source}', re.sub(r'^\s*---\s*\n', '', md))

def _text(v): return ''.join(v) if isinstance(v, list) else v

def clean_output(o) -> dict:
    "A stored output as plain nbformat 4 (execnb's AttrDicts carry extra keys and list-valued text)."
    o = {k: v for k, v in dict(o).items() if not k.endswith('_')}
    if 'text' in o: o['text'] = _text(o['text'])
    md = o.get('data', {}).get('text/markdown')
    if md: o['data']['text/markdown'] = showdoc_markdown(_text(md))
    if 'data' in o: o['data'] = {k: (v if k.endswith('json') else _text(v)) for k, v in dict(o['data']).items()}
    if o.get('output_type') in ('display_data', 'execute_result'): o.setdefault('metadata', {})
    if o.get('output_type') == 'execute_result': o.setdefault('execution_count', None)
    return o

def myst_cell(cell:dict) -> dict|None:
    "A cell processed by nbdev as a MyST-NB cell; `None` for cells nbdev removed or that show nothing."
    if cell['cell_type'] == 'markdown': return dict(cell_type='markdown', metadata={}, source=myst_markdown(cell['source']))
    if cell['cell_type'] != 'code': return None
    d = cell_directives(cell.get('source', ''))
    if d.get('include') == 'false': return None
    src = strip_directives(cell.get('source', ''))
    outs = [] if d.get('output') == 'false' else [clean_output(o) for o in cell.get('outputs', [])]
    show_src = bool(src) and d.get('echo') != 'false'
    if not show_src and not outs: return None
    return dict(cell_type='code', source=src, outputs=outs, execution_count=None,
                metadata={'tags': [] if show_src else ['remove-input']})

def title_cell(fm:dict, fallback:str) -> dict:
    "The page heading: the notebook's title, then its description."
    md = f"# {fm.get('title') or fallback}" + (f"\n\n{fm['description']}" if fm.get('description') else '')
    return dict(cell_type='markdown', metadata={}, source=md)

def exported_module(path) -> Path|None:
    "The .py file the notebook at `path` exports to (its `#| default_exp`), or None."
    m = re.search(r'#\|\s*default_exp\s+([\w.]+)', Path(path).read_text(encoding='utf-8'))
    if not m: return None
    s = settings()
    py = ROOT/s['lib_path']/(m.group(1).replace('.', '/') + '.py')
    return py if py.exists() else None

def definitions(py:Path) -> tuple:
    "The module's `__all__` and the source of each top-level assignment (and def/class line with docstring), by name."
    src = py.read_text(encoding='utf-8'); tree = ast.parse(src); lines = src.splitlines()
    defs, names = {}, []
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            b = n.body[0]
            doc = isinstance(b, ast.Expr) and isinstance(getattr(b, 'value', None), ast.Constant)
            end = b.end_lineno if doc else max(n.lineno, b.lineno - 1)
            defs[n.name] = '\n'.join(lines[(n.decorator_list[0].lineno if n.decorator_list else n.lineno) - 1:end])
        targets = n.targets if isinstance(n, ast.Assign) else [n.target] if isinstance(n, ast.AnnAssign) else []
        for t in targets:
            if isinstance(t, ast.Name): defs[t.id] = ast.get_source_segment(src, n)
            if getattr(t, 'id', '') == '__all__': names = ast.literal_eval(n.value)
    return names, defs

def other_exports(path, cells:list) -> dict|None:
    "A section for the exported names the page does not show (show_doc skips constants), with their definitions."
    py = exported_module(path)
    if py is None: return None
    names, defs = definitions(py)
    shown = '\n'.join(c.get('source', '') + ''.join(_text(o.get('data', {}).get('text/markdown', ''))
                                                   for o in c.get('outputs', [])) for c in cells)
    missing = [n for n in names if not re.search(rf'(?<![\w.]){re.escape(n)}(?!\w)', shown)]
    if not missing: return None
    def block(n):
        code = defs.get(n) or f'{n}  # defined by an import or a loop in the notebook'
        lines = code.splitlines()
        return f"### {n}\n\n```python\n" + '\n'.join(lines[:25] + (['...'] if len(lines) > 25 else [])) + "\n```"
    return dict(cell_type='markdown', metadata={}, source='## Other exports\n\n' + '\n\n'.join(map(block, missing)))

def nbdev_process(path:str, threads:int=0) -> tuple:
    "nbdev's processing of the notebook at `path`, as plain JSON: (True, {frontmatter, cells}) or (False, error)."
    os.chdir(ROOT); os.environ.update(OFFLINE_ENV)
    if threads: os.environ['OMP_NUM_THREADS'] = str(threads)  # several notebooks at once: don't oversubscribe the CPUs
    import warnings; warnings.filterwarnings('ignore', message='Found cells containing imports')
    try: nb = process_nb(path)
    except Exception as e:
        cause = f"\n  caused by {type(e.__cause__).__name__}: {e.__cause__}" if e.__cause__ else ''
        return False, f"{e}{cause}"
    cells = [{k: v for k, v in c.items() if k in ('cell_type', 'source', 'outputs')} for c in nb.cells]
    return True, json.loads(json.dumps({'frontmatter': dict(getattr(nb, 'frontmatter_', {}) or {}), 'cells': cells}))

def myst_notebook(processed:dict, path:Path) -> tuple:
    "A notebook processed by nbdev as (page name, MyST-NB notebook)."
    fm = processed['frontmatter']
    cells = [title_cell(fm, path.stem)] + [c for c in map(myst_cell, processed['cells']) if c]
    cells += [c for c in [other_exports(path, processed['cells'])] if c]
    meta = {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'},
            'language_info': {'name': 'python'}}
    return Path(fm.get('output-file') or path.stem).stem, dict(cells=cells, metadata=meta, nbformat=4, nbformat_minor=5)

def _versions() -> str:
    from importlib.metadata import version
    return ' '.join(f'{p}={version(p)}' for p in ('nbdev', 'fastcore', 'execnb', 'ipython', 'torch', 'transformers', 'pandas'))

def cache_key(path:Path, salt:str) -> str:
    "What nbdev's processing of `path` depends on: the notebook, the package, the settings, nbdocs.py, versions."
    h = hashlib.sha256(f'{CACHE_FORMAT} {salt}'.encode())
    for p in [path, ROOT/'settings.ini', ROOT/'tools'/'nbdocs.py'] + sorted((ROOT/'tunebook').rglob('*.py')):
        h.update(p.name.encode()); h.update(p.read_bytes())
    return f'{path.stem}-{h.hexdigest()[:20]}'

def process_all(nbs:dict, jobs:int, cache:bool=True) -> dict:
    "Every notebook processed (each in a fresh process, `jobs` at once), by section, as [(page, notebook)]."
    flat = [(sec, p) for sec, ps in nbs.items() for p in ps]
    salt = _versions() if cache else ''
    keys = [CACHE_DIR/f'{cache_key(p, salt)}.json' for _, p in flat] if cache else [None]*len(flat)
    results = [tuple(json.loads(k.read_text())) if k and k.exists() else None for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    if todo:
        n = max(1, min(jobs, len(todo)))
        ctx = multiprocessing.get_context('spawn')
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx, max_tasks_per_child=1) as ex:
            threads = max(1, (os.cpu_count() or 1) // n)
            for i, r in zip(todo, ex.map(nbdev_process, [str(flat[i][1]) for i in todo], [threads]*len(todo))):
                results[i] = r
                if cache and r[0]:
                    CACHE_DIR.mkdir(parents=True, exist_ok=True)
                    for old in CACHE_DIR.glob(f'{flat[i][1].stem}-*.json'): old.unlink()   # stale versions
                    tmp = keys[i].with_suffix('.tmp'); tmp.write_text(json.dumps(r)); os.replace(tmp, keys[i])
    errors = [f"{p.relative_to(p.parents[1]) if sec in SUBFOLDERS else p.name}: {nb}"
              for (sec, p), (ok, nb) in zip(flat, results) if not ok]
    if errors: raise DocsBuildError("nbdev could not process these notebooks (a cell it runs for the docs failed; "
                                    "nbdev runs show_doc cells, exported cells and any cell with an import, so keep "
                                    "imports in cells of their own):\n" + '\n'.join(errors))
    out = {sec: [] for sec in nbs}
    for (sec, p), (_, nb) in zip(flat, results): out[sec].append(myst_notebook(nb, p))
    return out

# ---- 3. Sphinx ---------------------------------------------------------------------------------------------------

def toctree(caption:str, docs:list) -> str:
    return f"```{{toctree}}\n:caption: {caption}\n:hidden:\n:maxdepth: 1\n\n" + '\n'.join(docs) + "\n```"

def write_sources(pages:dict, src:Path):
    "Write the MyST-NB notebooks into `src`, with the site's navigation (hidden toctrees) on the home page."
    import nbformat
    docs = {sec: [f'{sec}/{n}' if sec in SUBFOLDERS else n for n, _ in pages.get(sec, [])] for sec, _ in NAV}
    (_, home), = pages['home']
    home['cells'] += [dict(cell_type='markdown', metadata={}, source=toctree(cap, docs[sec])) for sec, cap in NAV if docs[sec]]
    names = [('index', home)] + [(name, nb) for sec, _ in NAV for name, (_, nb) in zip(docs[sec], pages.get(sec, []))]
    for name, nb in names:
        for i, c in enumerate(nb['cells']): c['id'] = f'cell-{i}'
        path = src/f'{name}.ipynb'; path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.from_dict(nb), str(path))

def run_sphinx(src:Path, out:Path, doctrees:Path, verbose:bool=False) -> list:
    "Render `src` to HTML in `out` with tools/sphinx/conf.py; returns Sphinx's warnings."
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils
    warn = io.StringIO()
    with patch_docutils(CONF_DIR), docutils_namespace():
        app = Sphinx(str(src), str(CONF_DIR), str(out), str(doctrees), 'html', freshenv=True,
                     status=sys.stdout if verbose else None, warning=warn)
        app.build(force_all=True)
        if app.statuscode: raise DocsBuildError(f"Sphinx failed:\n{warn.getvalue()}")
    return [w for w in warn.getvalue().splitlines() if w.strip()]

# ---- 4. the built HTML -------------------------------------------------------------------------------------------

_re_href = re.compile(r'''(href=)(["'])([^"']*)\2''')
# Attributes that make a browser fetch something (a plain <a href> does not: links to GitHub etc. are fine).
_re_fetch = re.compile(r'''<(?:script|img|iframe|source|video|audio|embed|input)\b[^>]*?\ssrc=["']((?:https?:)?//[^"']+)'''
                       r'''|<link\b[^>]*?\shref=["']((?:https?:)?//[^"']+)|url\(\s*["']?((?:https?:)?//[^)"']+)'''
                       r'''|@import\s+["']((?:https?:)?//[^"']+)''', re.IGNORECASE)

def make_id(s:str) -> str:
    from docutils.nodes import make_id
    return make_id(s)

def relative_links(page:str, rel:str, base:str, ids:dict) -> str:
    "`page` (at `rel` in the site) with links into the published site at `base` made relative, so they work offline."
    up = '../' * rel.count('/')
    def fix(m):
        url = html.unescape(m.group(3))
        if not url.startswith(base): return m.group(0)
        path, _, frag = url[len(base):].partition('#')
        path = path or 'index.html'
        frag = make_id(frag)      # nbdev's anchors (`#list_assets`) as docutils writes ids (`list-assets`)
        if frag not in ids.get(path, ()): frag = ''   # a symbol without its own docs (private, or on no page)
        return f'{m.group(1)}{m.group(2)}{html.escape(up + path + ("#" + frag if frag else ""))}{m.group(2)}'
    return _re_href.sub(fix, page)

def external_fetches(text:str) -> list:
    "URLs a browser would fetch from the network to show this page (scripts, styles, images, fonts, frames)."
    return sorted({next(g for g in m.groups() if g) for m in _re_fetch.finditer(text)})

_re_id = re.compile(r'''\sid=["']([^"']+)["']''')

def postprocess(site:Path):
    "Links to the published site made relative (anchors nbdev links to but no page has dropped); nothing from the network."
    base, bad = site_url(), []
    files = sorted(site.rglob('*.html'))
    ids = {p.relative_to(site).as_posix(): set(_re_id.findall(p.read_text(encoding='utf-8'))) for p in files}
    for p in files:
        rel = p.relative_to(site).as_posix()
        text = relative_links(p.read_text(encoding='utf-8'), rel, base, ids)
        p.write_text(text, encoding='utf-8')
        bad += [f'{rel}: {u}' for u in external_fetches(text)]
    for p in sorted(site.rglob('*.css')):
        bad += [f'{p.relative_to(site).as_posix()}: {u}' for u in external_fetches(p.read_text(encoding='utf-8'))]
    if bad: raise DocsBuildError("These pages would load assets from the network (the site must work offline; "
                                 "vendor them or drop them):\n" + '\n'.join(bad))
    shutil.rmtree(site/'_sources', ignore_errors=True)      # empty: the sources are not copied

# ---- 5. build and swap in ----------------------------------------------------------------------------------------

def swap_in(new:Path, out:Path, trash:Path):
    "Replace `out` by `new` (two renames on one file system: never a half-written site at `out`)."
    if out.exists(): os.rename(out, trash)
    os.rename(new, out)

def build(nbs:Path=ROOT/'nbs', out:Path=ROOT/'_docs', jobs:int|None=None, verbose:bool=False, cache:bool=True) -> dict:
    "Build the site from the notebooks in `nbs` into `out`; returns the page names by section."
    nbs, out = Path(nbs).resolve(), Path(out).resolve()
    os.environ.update(OFFLINE_ENV)
    work_root = out.parent/'_proc'; work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix='docs-build-', dir=work_root))
    try:
        pages = process_all(doc_notebooks(nbs), jobs or os.cpu_count() or 1, cache)
        write_sources(pages, work/'src')
        warnings = run_sphinx(work/'src', work/'html', work/'doctrees', verbose)
        for w in warnings: print('sphinx:', w.replace(str(work/'src') + os.sep, ''), file=sys.stderr)
        postprocess(work/'html')
        swap_in(work/'html', out, work/'old')
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not any(work_root.iterdir()): work_root.rmdir()
    return {sec: [n for n, _ in ps] for sec, ps in pages.items()}

def serve(site:Path, port:int):
    "Serve `site` on http://127.0.0.1:`port`/ until interrupted."
    from functools import partial
    from http.server import ThreadingHTTPServer, SimpleHTTPRequestHandler
    srv = ThreadingHTTPServer(('127.0.0.1', port), partial(SimpleHTTPRequestHandler, directory=str(site)))
    print(f'serving {site} on http://127.0.0.1:{srv.server_address[1]}/ (Ctrl-C stops)')
    try: srv.serve_forever()
    except KeyboardInterrupt: pass

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--nbs', type=Path, default=ROOT/'nbs', help='folder of notebooks (default: nbs/)')
    ap.add_argument('--out', type=Path, default=ROOT/'_docs', help='where the site goes (default: _docs/)')
    ap.add_argument('-j', '--jobs', type=int, default=None, help='notebooks processed at once (default: CPU count)')
    ap.add_argument('--no-cache', dest='cache', action='store_false',
                    help=f'process every notebook again (default: reuse {CACHE_DIR.relative_to(ROOT)} for unchanged inputs)')
    ap.add_argument('-v', '--verbose', action='store_true', help="show Sphinx's progress")
    ap.add_argument('--serve', type=int, nargs='?', const=8000, metavar='PORT', help='then serve the site (port 8000)')
    a = ap.parse_args(argv)
    t0 = time.time()
    try: pages = build(a.nbs, a.out, a.jobs, a.verbose, a.cache)
    except DocsBuildError as e:
        print(f'docs build failed ({a.out} left as it was):\n{e}', file=sys.stderr); return 1
    n = sum(map(len, pages.values()))
    print(f"built {n} pages ({len(pages['guide'])} guide, {len(pages['api'])} API, {len(pages['tutorials'])} tutorials) "
          f"into {a.out} in {time.time()-t0:.1f} s; open {a.out/'index.html'}")
    if a.serve is not None: serve(a.out, a.serve)
    return 0

if __name__ == '__main__': sys.exit(main())
