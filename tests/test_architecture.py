"""tunebook's architecture: the layers in .importlinter, a light core, no reaching into private names across modules."""
import ast, json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent/'lint-imports'

def test_core_does_not_import_torch_at_module_level():
    "import-linter sees imports inside functions too (core imports torch inside set_seed), so this one is checked by importing."
    r = subprocess.run([sys.executable, '-c', "import sys, tunebook.core; print('torch' in sys.modules)"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.split() == ['False'], "importing tunebook.core imported torch"

@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason=f"import-linter is not installed ({LINT_IMPORTS} is missing): pip install -e '.[dev]'")
def test_import_linter_contracts_are_kept():
    "The layers and forbidden-import contracts in .importlinter."
    r = subprocess.run([str(LINT_IMPORTS)], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0: print(r.stdout, r.stderr, sep='\n')
    assert r.returncode == 0, f"lint-imports exited {r.returncode}:\n{r.stdout[-6000:]}\n{r.stderr[-3000:]}"

def _private(name): return name.startswith('_') and not (name.startswith('__') and name.endswith('__'))

def _code(path) -> str:
    "A file's Python source; for a notebook, its code cells (IPython magics and shell lines blanked)."
    if path.suffix != '.ipynb': return path.read_text(encoding='utf-8')
    cells = json.loads(path.read_text(encoding='utf-8'))['cells']
    src = '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'code')
    return '\n'.join('' if l.lstrip().startswith(('%', '!')) else l for l in src.splitlines())

def private_imports(path):
    "`(line, statement)` for each import of a private (single-underscore) tunebook name in the file at `path`."
    in_pkg = path.parent == ROOT/'tunebook'
    for n in ast.walk(ast.parse(_code(path), filename=str(path))):
        if isinstance(n, ast.ImportFrom):
            mod = n.module or ''
            if n.level == 0 and mod != 'tunebook' and not mod.startswith('tunebook.'): continue
            if n.level > 0 and not in_pkg: continue
            src = '.'*n.level + mod
            parts = [p for p in mod.split('.') if p]
            for a in n.names:
                if _private(a.name) or any(_private(p) for p in parts): yield n.lineno, f"from {src} import {a.name}"
        elif isinstance(n, ast.Import):
            for a in n.names:
                parts = a.name.split('.')
                if parts[0] == 'tunebook' and any(_private(p) for p in parts[1:]): yield n.lineno, f"import {a.name}"

def test_no_private_names_imported_across_modules():
    "A name with a leading underscore is its module's own; promote it (drop the underscore) before another module imports it."
    files = sorted(p for d in ('tunebook', 'benchmarks', 'tests') for p in (ROOT/d).glob('*.py'))
    files += sorted((ROOT/'nbs'/'tutorials').glob('*.ipynb')) + sorted((ROOT/'nbs'/'guide').glob('*.ipynb'))
    bad = [f"{p.relative_to(ROOT)}:{line}: {stmt}" for p in files for line, stmt in private_imports(p)]
    assert not bad, "private names imported from tunebook:\n" + '\n'.join(bad)

STALE = 'DESIGN' + '.md'  # split, so that this file does not match itself

def test_no_file_refers_to_a_document_outside_the_repository():
    "The project stands alone: no tracked file cites the design document it was started from."
    r = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True)
    if r.returncode != 0: pytest.skip(f"not a git checkout: {r.stderr.decode(errors='replace').strip()}")
    hits = []
    for name in filter(None, r.stdout.decode().split('\0')):
        p = ROOT/name
        if not p.is_file(): continue  # deleted in the working tree
        for i, line in enumerate(p.read_bytes().splitlines(), 1):
            if STALE.encode() in line: hits.append(f"{name}:{i}")
    assert not hits, f"{STALE} is mentioned in:\n" + '\n'.join(hits)

def test_slow_cells_hold_no_import():
    "nbdev's docs processing runs every cell that imports something, so an import in a `#| slow` cell would run it on every docs build."
    bad = []
    for p in sorted((ROOT/'nbs').rglob('*.ipynb')):
        for i, c in enumerate(json.loads(p.read_text(encoding='utf-8'))['cells']):
            src = ''.join(c['source'])
            if c['cell_type'] == 'code' and '#| slow' in src:
                tree = ast.parse('\n'.join('' if l.lstrip().startswith(('%', '!')) else l for l in src.splitlines()))
                if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree)): bad.append(f"{p.relative_to(ROOT)} cell {i}")
    assert not bad, "slow cells with imports:\n" + '\n'.join(bad)
