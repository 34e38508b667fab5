"""Re-execute notebooks and store their outputs the way readers see them: a finished document.

    python tools/run_nbs.py nbs/04_eval.ipynb [more.ipynb ...] [--slow]

Cells flagged `#| slow` keep their stored outputs unless `--slow` is given (then they run too). After running, every
output is tidied (`tidy_outputs`): a progress bar keeps only its final line, terminal colour codes go, and paths of the
machine that ran the notebook become relative or generic. tests/test_docs.py fails on any stored output that is not
tidy, so run this (then `nbdev_clean`) whenever a notebook's outputs change.
"""
import os, re, sys, argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
# absolute paths of the machine: the project checkout, the Python installation, temporary folders and home folders
MACHINE_PATH = re.compile(r'(?<![\w.~/-])(?:/(?:tmp|var/folders|private/var|home|Users|root|work|opt|usr)/|[A-Za-z]:\\)[^\s\'",:)\]]*')

def final_lines(text:str) -> str:
    "What a terminal shows after `text`: of each line rewritten with carriage returns, only its last state."
    return '\n'.join(line.rsplit('\r', 1)[-1] if '\r' in line.rstrip('\r') else line.rstrip('\r') for line in text.split('\n'))

# the checkout and the Python installation first: wherever they live, even under a folder such as /tmp
KNOWN_ROOTS = ((str(ROOT) + os.sep, ''), (sys.prefix + os.sep, '<python>/'), (sys.base_prefix + os.sep, '<python>/'))

def _generic_path(m:re.Match) -> str:
    "Any other machine path made readable anywhere: `<python>/...` or `<tmp>/...`."
    p = m.group(0)
    if 'site-packages' in p: return '<python>/' + p[p.index('site-packages'):]
    return '<tmp>/' + Path(p).name

def tidy_text(text:str) -> str:
    "Final progress lines, no colour codes, no machine paths."
    text = final_lines(ANSI.sub('', text))
    for base, name in sorted(KNOWN_ROOTS, key=lambda r: -len(r[0])): text = text.replace(base, name)
    return MACHINE_PATH.sub(_generic_path, text)

PROGRESS_BAR = re.compile(r'\d+%\|.*\| *\d+/\d+')

def _joined(text) -> str: return ''.join(text) if isinstance(text, list) else text

def _is_progress_widget(out) -> bool:
    "A tqdm notebook bar: a widget whose text fallback is the bar's first state (its final state is not stored)."
    data = out.get('data', {})
    return 'application/vnd.jupyter.widget-view+json' in data and bool(PROGRESS_BAR.search(_joined(data.get('text/plain', ''))))

def tidy_outputs(nb) -> object:
    "Tidy every stream and plain-text output of `nb` in place and drop progress-bar widgets; returns `nb`."
    for cell in nb.cells:
        if 'outputs' not in cell: continue
        cell['outputs'] = [o for o in cell['outputs'] if not _is_progress_widget(o)]
        for out in cell['outputs']:
            if out.get('output_type') == 'stream': out['text'] = tidy_text(_joined(out['text']))
            elif out.get('output_type') == 'error': out['traceback'] = [tidy_text(t) for t in out['traceback']]
            elif 'text/plain' in out.get('data', {}): out['data']['text/plain'] = tidy_text(_joined(out['data']['text/plain']))
    return nb

def _is_slow(cell) -> bool: return cell.cell_type == 'code' and re.search(r'^#\|\s*slow\b', cell.source, re.M) is not None

def run_notebook(path:Path, slow:bool=False):
    "Execute `path` in its folder (slow cells only when `slow`), tidy and write it back; stops at the first error."
    from execnb.shell import CaptureShell
    from execnb.nbio import read_nb, write_nb
    nb = read_nb(path)
    def skip(cell):  # execnb's preprocessor: a skipped cell keeps its stored outputs
        return not slow and _is_slow(cell)
    for cell in nb.cells:  # execnb leaves the old outputs of a cell that now prints nothing (e.g. a fixed error)
        if cell.cell_type == 'code' and not skip(cell): cell.outputs = []
    cwd = os.getcwd()
    os.chdir(path.parent)
    try: CaptureShell(path).run_all(nb, exc_stop=True, preproc=skip)
    finally:
        os.chdir(cwd)
        write_nb(tidy_outputs(nb), path)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='+', type=Path)
    ap.add_argument('--slow', action='store_true', help='also run the cells flagged #| slow')
    a = ap.parse_args(argv)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    for p in a.notebooks:
        print(f'running {p}', flush=True)
        run_notebook(p.resolve(), a.slow)

if __name__ == '__main__': main()
