"""Math as MathML, converted at build time by `latex2mathml`: browsers render MathML natively, so the site needs no
MathJax, no web fonts and no network. LaTeX that latex2mathml cannot convert is shown as LaTeX source."""
from docutils import nodes
from latex2mathml.converter import convert

def mathml(latex:str, display:bool) -> str|None:
    "MathML for `latex`, or None when latex2mathml cannot convert it."
    try: return convert(latex.strip(), display='block' if display else 'inline')
    except Exception: return None

def visit_math(self, node):
    latex = node.astext()
    self.body.append(mathml(latex, False) or f'<code class="math-source">{self.encode(latex)}</code>')
    raise nodes.SkipNode

def visit_math_block(self, node):
    latex = node.astext()
    num = f'<span class="eqno">({node["number"]})</span>' if node.get('number') else ''
    ids = f' id="{node["ids"][0]}"' if node.get('ids') else ''
    body = mathml(latex, True) or f'<pre class="math-source">{self.encode(latex)}</pre>'
    self.body.append(f'<div class="math-block"{ids}>{num}{body}</div>\n')
    raise nodes.SkipNode

def setup(app):
    app.add_html_math_renderer('mathml', (visit_math, None), (visit_math_block, None))
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
