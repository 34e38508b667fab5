"""Sphinx configuration for tunebook's offline docs site (used by `python tools/build_docs.py`, not by Quarto/nbdev_docs).
The notebooks arrive here already processed by nbdev (show_doc, hide, echo, exports) and with their stored outputs:
MyST-NB only renders them. Nothing may load from the network: no execution, no widget JS, math as MathML."""
from configparser import ConfigParser
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))

_cfg = ConfigParser(); _cfg.read(Path(__file__).resolve().parents[2]/'settings.ini')
_s = _cfg['DEFAULT']

project, author, release = _s['lib_name'], _s['author'], _s['version']
copyright = _s['copyright']
html_title = f"{project} {release}"
extensions = ['myst_nb', 'mathml']
exclude_patterns = ['_build', '**.ipynb_checkpoints']
root_doc = 'index'

# MyST-NB: render what the notebooks stored, never execute them.
nb_execution_mode = 'off'
nb_render_markdown_format = 'myst'          # show_doc output is Markdown with pipe tables
nb_merge_streams = True
nb_ipywidgets_js = {}                       # its default loads require.js and the widget manager from a CDN
nb_mime_priority_overrides = [('html', 'application/vnd.jupyter.widget-view+json', None),  # live widgets need a kernel:
                              ('html', 'application/javascript', None)]                  # show their snapshot instead
myst_enable_extensions = ['dollarmath', 'amsmath', 'colon_fence', 'deflist', 'attrs_inline']
myst_update_mathjax = False
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type']

# Math: MathML made at build time (tools/sphinx/mathml.py), rendered natively by browsers: no MathJax, no CDN.
html_math_renderer = 'mathml'

html_theme = 'furo'                         # system fonts, no CDN assets
html_static_path = ['static']
html_css_files = ['tunebook-docs.css']
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None                # no timestamps: the build is deterministic
smartquotes = False                         # docstrings and outputs quote code: keep their quotes as written
pygments_style, pygments_dark_style = 'default', 'monokai'
