"""The package, its settings and its generated files stay consistent with the notebooks."""
import ast, configparser, subprocess, sys, shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def settings():
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini'); return cfg['DEFAULT']

def test_settings_is_nbdev2_with_pinned_toolchain():
    cfg = settings()
    assert cfg['lib_name'] == 'tunebook' and cfg['lib_path'] == 'tunebook' and cfg['nbs_path'] == 'nbs'
    dev = set(shlex.split(cfg['dev_requirements']))
    assert {'nbdev==2.4.14', 'fastcore==1.14.5', 'execnb==0.1.18', 'ghapi==1.1.1', 'fastgit==0.0.6'} <= dev

def test_runtime_requirements_are_ranges_with_lower_bounds():
    for req in shlex.split(settings()['requirements']):
        assert '>=' in req, f"{req} has no tested lower bound"

def test_setup_py_does_not_use_pkg_resources():
    tree = ast.parse((ROOT/'setup.py').read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert 'pkg_resources' not in names | mods

def test_constraints_pin_every_requirement():
    pins = {l.split('==')[0].lower().replace('_', '-') for l in (ROOT/'constraints.txt').read_text().splitlines()
            if '==' in l and not l.startswith('#')}
    cfg = settings()
    for req in shlex.split(cfg['requirements']) + shlex.split(cfg['dev_requirements']):
        name = req.split('[')[0].split('>')[0].split('<')[0].split('=')[0].lower().replace('_', '-')
        assert name in pins, f"{name} is not pinned in constraints.txt"

def test_readme_is_generated_from_index():
    r = subprocess.run([sys.executable, 'tools/make_readme.py', '--check'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

def test_import_is_light():
    "Importing the package, its core and its CLI must not import torch (so `tunebook --help` stays fast)."
    code = "import sys, tunebook, tunebook.core, tunebook.cli; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ['False', 'False']

def test_the_wheel_ships_the_weights_and_builds_without_warnings(tmp_path):
    "The CNN's weights are package data of the wheel, and setuptools prints no warning while building it."
    import zipfile
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-w', str(tmp_path), str(ROOT)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    names = zipfile.ZipFile(next(tmp_path.glob('tunebook-*.whl'))).namelist()
    assert {'tunebook/weights/mnist-cnn.safetensors', 'tunebook/weights/mnist-cnn.json'} <= set(names), names
    assert not any('__pycache__' in n for n in names)
    assert 'Warning' not in r.stdout + r.stderr, (r.stdout + r.stderr)[-3000:]
