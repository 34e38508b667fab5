"""Generate README.md from nbs/index.ipynb offline (`nbdev_readme` needs Quarto). `--check` fails if they disagree."""
import sys, os
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from nbdocs import nb_markdown

ROOT = Path(__file__).resolve().parent.parent
NOTE = "<!-- Generated from nbs/index.ipynb by `python tools/make_readme.py`: edit the notebook, not this file. -->\n\n"

def readme_text() -> str:
    "The README that nbs/index.ipynb should produce."
    return NOTE + nb_markdown(ROOT/'nbs'/'index.ipynb')

def main(argv):
    os.chdir(ROOT)
    want, path = readme_text(), ROOT/'README.md'
    if '--check' in argv:
        ok = path.exists() and path.read_text(encoding='utf-8') == want
        print('README.md matches nbs/index.ipynb' if ok else 'README.md is stale: run `python tools/make_readme.py`')
        return 0 if ok else 1
    tmp = path.with_suffix('.md.tmp')
    tmp.write_text(want, encoding='utf-8'); os.replace(tmp, path)
    print(f'wrote {path.relative_to(ROOT)}')
    return 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
