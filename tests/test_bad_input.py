"""Bad input, table-driven: every public entry point refuses a mistaken call with a `TunebookError` before any work.

Each row is one mistaken call, the error class it must raise and a phrase of its message. Every message must have
its three parts: what was wrong, the value seen and a fix. A second part checks that nothing tunebook writes ever
destroys a user's file, and a third (Hypothesis) that `Task.from_df` either builds a task whose splits partition
the rows, with labels and groups aligned, or raises a `TunebookError`, never another exception."""
import io, os, contextlib, warnings
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from hypothesis import given, settings, HealthCheck, strategies as st
from tunebook.core import TunebookError, DataError, ConfigError, AssetNotFoundError, CheckpointError, TunebookWarning
from tunebook.data import Task
from tunebook.models import load_model, tiny_text_model
from tunebook.methods import LoRA, Method
from tunebook.objectives import CrossEntropy
from tunebook.train import Tuner, TrainConfig
from tunebook.eval import evaluate, predict
from tunebook.cli import main
from tunebook.audit.fairness import fairness_report, fairness_metrics
from tunebook.audit.mitigate import reweighed, FairnessPenalty, GroupThresholds
from tunebook.audit.explain import explain
from tunebook.audit.robust import attack, corruption_accuracy
from tunebook.audit.robust_text import word_attack, noise_accuracy, EmbeddingAdversarialTraining
from tunebook.audit.pii import scan_pii, redact_pii
from tunebook.audit.membership import membership_audit
from tunebook.audit.privacy import DP, dp_ready
from tunebook.attack_widget import AttackViewer
from tunebook.secure import Key
from tunebook.audit.sweep import privacy_sweep
from tunebook.privacy_widget import PrivacyPanel
from tunebook.report import audit
from tunebook.audit_widget import AuditPanel
from tunebook.pipeline import run_recipe

os.environ.setdefault('HF_HUB_OFFLINE', '1')
torch.set_num_threads(1)

# --- fixtures built once: a small text task with the MiniLM tokenizer, a tiny model, files on disk -----------------
RNG = np.random.default_rng(0)
Y = RNG.integers(0, 2, 120)
DF = pd.DataFrame({'text': [f"the food was {'great' if t else 'awful'} {i}" for i, t in enumerate(Y)],
                   'label': np.array(['pos', 'neg'])[Y], 'group': RNG.choice(['a', 'b'], 120), 'w': RNG.uniform(0.5, 2, 120)})
TASK = Task.from_df(DF, text='text', label='label', groups='group', seed=0)
MODEL = tiny_text_model(TASK)
TMP = Path(__import__('tempfile').mkdtemp(prefix='tb-bad-input-'))

def csv(name, text='', data=None, encoding='utf-8'):
    "A file in TMP holding `text` (or `data` bytes)."
    p = TMP/name
    p.write_bytes(data if data is not None else text.encode(encoding))
    return p

GOOD_CSV = csv('good.csv', DF[['text', 'label']].to_csv(index=False))
SEMI_CSV = csv('semi.csv', DF[['text', 'label']].to_csv(index=False, sep=';'))
USER_DIR = TMP/'my-project'; USER_DIR.mkdir(); (USER_DIR/'notes.txt').write_text('mine')
USER_FILE = csv('report.txt', 'my report')
SAVED = TMP/'saved-model'; MODEL.save_pretrained(SAVED); TASK.tokenizer.save_pretrained(SAVED)

def saved_copy(name, damage):
    "A copy of SAVED with `damage(folder)` applied."
    import shutil
    p = Path(shutil.copytree(SAVED, TMP/name))
    damage(p)
    return p

TRUNCATED = saved_copy('truncated', lambda p: (p/'model.safetensors').write_bytes((p/'model.safetensors').read_bytes()[:1000]))
PICKLED = saved_copy('pickled', lambda p: (torch.save(MODEL.state_dict(), p/'pytorch_model.bin'), (p/'model.safetensors').unlink()))
KEY, OTHER_KEY = Key.generate(TMP/'keys'/'key'), Key.generate(TMP/'keys'/'other-key')
SEALED = Tuner(MODEL, TASK, max_steps=1, progress=False).export(TMP/'sealed-model', key=KEY)
OTHER_LABELS = tiny_text_model(Task.from_df(DF.assign(label=np.where(DF.label == 'pos', 'good', 'bad')), text='text', label='label', seed=0))
BAD_CONFIG = saved_copy('bad-config', lambda p: (p/'config.json').write_text('{"model_type": '))
EMPTY_DIR = TMP/'empty'; EMPTY_DIR.mkdir()
IMAGES = np.random.default_rng(1).uniform(size=(40, 8, 8)).astype(np.float32)
IMG_TASK = Task.from_arrays(IMAGES, np.arange(40) % 2, seed=0)

def tuner(**kw): return Tuner(tiny_text_model(TASK), TASK, **{'progress': False, **kw})

def tuner_on_images(objective):
    from tunebook.cnn import SmallCNN
    return Tuner(SmallCNN(2), IMG_TASK, objective=objective, progress=False)
def from_df(df=DF, **kw): return Task.from_df(df, **{'text': 'text', 'label': 'label', **kw})

def cli(*argv):
    "Run the CLI; raise a TunebookError-like failure when it exits with status 2 (parsing errors included)."
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try: rc = main([str(a) for a in argv])
        except SystemExit as e: rc = e.code
    if rc == 2: raise CLIError(err.getvalue())
    return rc

class CLIError(Exception):
    "The CLI exited with status 2 and this message on stderr."

# --- the table: (id, call, error class, phrase of the message) -----------------------------------------------------
CASES = [
    # Task.from_df
    ('from_df: not a DataFrame', lambda: Task.from_df(DF.to_dict(), text='text'), DataError, "needs a pandas DataFrame"),
    ('from_df: empty', lambda: from_df(DF[:0]), DataError, "The data frame is empty"),
    ('from_df: label column typo', lambda: from_df(label='lable'), DataError, "Did you mean 'label'"),
    ('from_df: text column missing', lambda: from_df(text='review'), DataError, "The text column 'review' is not in the data"),
    ('from_df: two inputs', lambda: from_df(features=['w']), ConfigError, "Pass exactly one of text=, image= or features="),
    ('from_df: no input', lambda: Task.from_df(DF, label='label'), ConfigError, "Pass exactly one of"),
    ('from_df: NaN text', lambda: from_df(DF.assign(text=DF.text.where(DF.index != 3))), DataError, "texts contain missing values"),
    ('from_df: numbers as text', lambda: from_df(DF.assign(text=range(120))), DataError, "Texts must be strings"),
    ('from_df: NaN label', lambda: from_df(DF.assign(label=DF.label.where(DF.index != 5))), DataError, "labels contain missing values"),
    ('from_df: one class', lambda: from_df(DF.assign(label='pos')), DataError, "only one class"),
    ('from_df: label outside classes', lambda: from_df(classes=['pos']), DataError, "not among the given classes"),
    ('from_df: classes as a string', lambda: from_df(classes='pos'), ConfigError, "classes must be a list"),
    ('from_df: classes repeated', lambda: from_df(classes=['pos', 'pos', 'neg']), ConfigError, "more than once"),
    ('from_df: duplicated columns', lambda: from_df(pd.concat([DF, DF[['text']]], axis=1)), DataError, "duplicated column names"),
    ('from_df: groups column typo', lambda: from_df(groups='gruop'), DataError, "The groups column 'gruop' is not in the data"),
    ('from_df: NaN group', lambda: from_df(DF.assign(group=DF.group.where(DF.index != 2)), groups='group'), DataError, "groups contain missing values"),
    ('from_df: negative weights', lambda: from_df(DF.assign(w=-DF.w), weights='w'), DataError, "weights must be non-negative"),
    ('from_df: text weights', lambda: from_df(weights='group'), DataError, "weights must be numbers"),
    ('from_df: NaN weights', lambda: from_df(DF.assign(w=DF.w.where(DF.index != 1)), weights='w'), DataError, "weights contain missing values"),
    ('from_df: negative valid_pct', lambda: from_df(valid_pct=-0.1), ConfigError, "valid_pct must be a fraction in [0, 1)"),
    ('from_df: valid_pct as a string', lambda: from_df(valid_pct='0.1'), ConfigError, "valid_pct must be a fraction"),
    ('from_df: test_pct of 1', lambda: from_df(test_pct=1.0), ConfigError, "test_pct must be a fraction"),
    ('from_df: nothing left to train', lambda: from_df(valid_pct=0.5, test_pct=0.5), ConfigError, "must be below 1"),
    ('from_df: split too small', lambda: from_df(DF[:12], test_pct=0.05), DataError, "too few to hold each of the 2 classes"),
    ('from_df: a class of one', lambda: from_df(DF.assign(label=['x'] + ['y'] * 119)), DataError, "at least 2 examples of every class"),
    ('from_df: unknown split names', lambda: from_df(DF.assign(s='training'), split='s'), DataError, "not split names"),
    ('from_df: max_length 0', lambda: from_df(max_length=0), ConfigError, "max_length must be a positive int"),
    ('from_df: negative seed', lambda: from_df(seed=-1), ConfigError, "seed must be a non-negative integer"),
    ('from_df: seed as a string', lambda: from_df(seed='42'), ConfigError, "not a string"),
    ('from_df: a date feature', lambda: Task.from_df(DF.assign(day=pd.Timestamp('2020-01-01')), features=['w', 'day'], label='label'),
     DataError, "Feature columns must hold numbers or categories"),
    ('from_df: NaN features', lambda: Task.from_df(DF.assign(w=DF.w.where(DF.index != 0)), features=['w'], label='label'), DataError, "features contain missing values"),
    # Task.from_arrays
    ('from_arrays: empty', lambda: Task.from_arrays([], []), DataError, "There are no examples"),
    ('from_arrays: lengths differ', lambda: Task.from_arrays(list(DF.text), DF.label[:10]), DataError, "inputs but 10 labels"),
    ('from_arrays: unknown kind', lambda: Task.from_arrays([{'a': 1}] * 10, [0, 1] * 5), DataError, "Cannot tell whether x holds"),
    ('from_arrays: images of two shapes', lambda: Task.from_arrays([np.zeros((8, 8))] * 5 + [np.zeros((9, 9))] * 5, [0, 1] * 5), DataError, "different shapes"),
    ('from_arrays: integer pixels', lambda: Task.from_arrays(np.zeros((10, 8, 8), np.int64), [0, 1] * 5), DataError, "uint8 pixels"),
    ('from_arrays: NaN pixels', lambda: Task.from_arrays(np.full((10, 8, 8), np.nan, np.float32), [0, 1] * 5), DataError, "NaN pixels"),
    ('from_arrays: bad image_size', lambda: Task.from_arrays(IMAGES, np.arange(40) % 2, image_size=0), ConfigError, "image_size must be a positive int"),
    # Task.from_csv
    ('from_csv: no such file', lambda: Task.from_csv(TMP/'nope.csv', text='text'), AssetNotFoundError, "The CSV file does not exist"),
    ('from_csv: a folder', lambda: Task.from_csv(TMP, text='text'), AssetNotFoundError, "is not a file"),
    ('from_csv: empty file', lambda: Task.from_csv(csv('empty.csv'), text='text'), DataError, "The CSV file is empty"),
    ('from_csv: header only', lambda: Task.from_csv(csv('header.csv', 'text,label\n'), text='text'), DataError, "header but no rows"),
    ('from_csv: not UTF-8', lambda: Task.from_csv(csv('latin.csv', 'text,label\ncafé,pos\n', encoding='latin-1'), text='text'), DataError, "encoding='latin-1'"),
    ('from_csv: wrong separator', lambda: Task.from_csv(SEMI_CSV, sep=',', text='text'), DataError, "Pass sep=';'"),
    ('from_csv: unknown encoding', lambda: Task.from_csv(GOOD_CSV, encoding='utf-99', text='text'), ConfigError, "Unknown text encoding"),
    # Task methods
    ('dataloader: batch_size 0', lambda: TASK.dataloader('train', batch_size=0), ConfigError, "batch_size must be a positive int"),
    ('dataloader: split typo', lambda: TASK.dataloader('tarin'), ConfigError, "Did you mean 'train'"),
    ('dataloader: no tokenizer', lambda: Task.from_df(DF, text='text', label='label').dataloader(), ConfigError, "no tokenizer yet"),
    ('subset: n of 0', lambda: TASK.subset(0), ConfigError, "n must be a positive integer"),
    ('encode: frame without the column', lambda: TASK.encode(DF[['label']]), DataError, "The text column 'text' is not in the data"),
    ('encode: labels of the wrong length', lambda: TASK.encode(['a', 'b'], y=['pos']), DataError, "2 inputs but 1 labels"),
    ('encode: unknown label', lambda: TASK.encode(['a'], y=['meh']), DataError, "not among the given classes"),
    # load_model
    ('load_model: alias typo', lambda: load_model('minlm', TASK), AssetNotFoundError, "Did you mean 'minilm'"),
    ('load_model: a number', lambda: load_model(3, TASK), ConfigError, "must be named by a string or a path"),
    ('load_model: a file', lambda: load_model(SAVED/'config.json', TASK), AssetNotFoundError, "is a file; a model is a folder"),
    ('load_model: empty folder', lambda: load_model(EMPTY_DIR, TASK), AssetNotFoundError, "holds no model"),
    ('load_model: corrupt config', lambda: load_model(BAD_CONFIG, TASK), AssetNotFoundError, "config.json of"),
    ('load_model: truncated weights', lambda: load_model(TRUNCATED, TASK), AssetNotFoundError, "cannot be loaded"),
    ('load_model: image model, text task', lambda: load_model('mnist-cnn', TASK), ConfigError, "cannot read the inputs of a text task"),
    ('load_model: negative seed', lambda: load_model('tiny-bert', TASK, seed=-3), ConfigError, "seed must be a non-negative integer"),
    # Tuner
    ('Tuner: arguments swapped', lambda: Tuner(TASK, MODEL), ConfigError, "wrong order"),
    ('Tuner: not a model', lambda: Tuner('minilm', TASK), ConfigError, "must be a torch.nn.Module"),
    ('Tuner: not a task', lambda: Tuner(MODEL, DF), ConfigError, "must be a tunebook Task"),
    ('Tuner: lr 0', lambda: tuner(lr=0), ConfigError, "lr must be a positive number"),
    ('Tuner: lr as a string', lambda: tuner(lr='3e-4'), ConfigError, "not a string ('3e-4')"),
    ('Tuner: lr infinite', lambda: tuner(lr=float('inf')), ConfigError, "not inf"),
    ('Tuner: negative grad_clip', lambda: tuner(grad_clip=-1), ConfigError, "grad_clip must be a positive number"),
    ('Tuner: epochs 0', lambda: tuner(epochs=0), ConfigError, "epochs must be an integer >= 1"),
    ('Tuner: epochs 1.5', lambda: tuner(epochs=1.5), ConfigError, "not 1.5"),
    ('Tuner: patience 0', lambda: tuner(patience=0), ConfigError, "patience must be an integer >= 1"),
    ('Tuner: batch_size 0', lambda: tuner(batch_size=0), ConfigError, "batch_size must be an integer >= 1"),
    ('Tuner: warmup_pct 1', lambda: tuner(warmup_pct=1), ConfigError, "warmup_pct must be a number in [0, 1)"),
    ('Tuner: weight_decay negative', lambda: tuner(weight_decay=-0.1), ConfigError, "weight_decay must be a non-negative number"),
    ('Tuner: eval_every 0', lambda: tuner(eval_every=0), ConfigError, "positive integer or 'epoch'"),
    ('Tuner: unknown metric', lambda: tuner(metric='acuracy'), ConfigError, "Did you mean 'accuracy'"),
    ('Tuner: roc_auc with one class in valid', lambda: Tuner(tiny_text_model(TASK), from_df(DF.assign(s=np.where((DF.label == 'pos') & (DF.index < 40), 'valid', 'train')), split='s', test_pct=0, tokenizer=TASK.tokenizer), metric='roc_auc'), ConfigError, "needs both classes in the valid split"),
    ('Tuner: roc_auc, 3 classes', lambda: Tuner(tiny_text_model(n_classes=3), from_df(DF.assign(label=np.resize(['a', 'b', 'c'], 120)), tokenizer=TASK.tokenizer), metric='roc_auc'), ConfigError, "needs a binary task"),
    ('Tuner: unknown hyper-parameter', lambda: tuner(learning_rate=1e-3), ConfigError, "Unknown hyper-parameter"),
    ('Tuner: optimizer typo', lambda: tuner(optimizer='adam'), ConfigError, "Did you mean 'adamw'"),
    ('Tuner: unknown method name', lambda: Tuner(MODEL, TASK, 'lroa'), ConfigError, "Did you mean 'lora'"),
    ('LoRA: rank 0', lambda: LoRA(r=0), ConfigError, "rank r must be a positive integer"),
    ('Tuner: LoRA target typo', lambda: Tuner(tiny_text_model(TASK), TASK, LoRA(target_modules=['querry'])), ConfigError, "Did you mean 'query'"),
    ('Tuner: class weights of the wrong length', lambda: tuner(class_weights=[1, 2, 3]), ConfigError, "one weight per class"),
    ('Tuner: class weights by an unknown name', lambda: tuner(class_weights='even'), ConfigError, "Unknown class_weights"),
    ('Tuner: objective not callable', lambda: tuner(objective=42), ConfigError, "objective must be callable"),
    ('CrossEntropy: label smoothing 1', lambda: CrossEntropy(label_smoothing=1), ConfigError, "label_smoothing must be in [0, 1)"),
    ('Tuner: progress as a string', lambda: tuner(progress='no'), ConfigError, "progress must be True or False"),
    ('Tuner: unknown device', lambda: tuner(device='tpu'), ConfigError, "Unknown device"),
    ('Tuner: fp16 on a CPU', lambda: tuner(mixed_precision='fp16'), ConfigError, "fp16 mixed precision needs a CUDA GPU"),
    ('Tuner: 3-class model, 2-class task', lambda: Tuner(tiny_text_model(n_classes=3), TASK), ConfigError, "predicts 3 classes, but the task has 2"),
    ('Tuner: image model on text', lambda: Tuner(load_model('mnist-cnn'), TASK), ConfigError, "cannot read the inputs of a text task"),
    # fit, save, export
    ('fit: epochs 0', lambda: tuner().fit(epochs=0), ConfigError, "epochs must be an integer >= 1"),
    ('fit: epochs as a string', lambda: tuner().fit(epochs='2'), ConfigError, "not a string"),
    ('fit: resume from nothing', lambda: tuner().fit(resume_from=TMP/'no-checkpoint'), CheckpointError, "not a tunebook checkpoint"),
    ('fit: resume from a user folder', lambda: tuner().fit(resume_from=USER_DIR), CheckpointError, "not a tunebook checkpoint"),
    ('export: over a user folder', lambda: tuner().export(USER_DIR), ConfigError, "is not a tunebook export"),
    ('export: over a file', lambda: tuner().export(USER_FILE), ConfigError, "is an existing file"),
    ('export: to the current folder', lambda: tuner().export('.'), ConfigError, "must be a new folder's path"),
    ('export: to an empty path', lambda: tuner().export(''), ConfigError, "must be a new folder's path"),
    ('save: over a user folder', lambda: tuner().save(USER_DIR), ConfigError, "is not a tunebook checkpoint"),
    ('save: over a file', lambda: tuner().save(USER_FILE), ConfigError, "is an existing file"),
    # evaluate, predict
    ('evaluate: split typo', lambda: evaluate(MODEL, TASK, 'tset'), ConfigError, "Did you mean 'test'"),
    ('evaluate: empty split', lambda: evaluate(MODEL, TASK, TASK.test.take([])), DataError, "no examples to predict"),
    ('evaluate: not a model', lambda: evaluate('minilm', TASK), ConfigError, "must be a torch module or a callable"),
    ('evaluate: wrong number of outputs', lambda: evaluate(tiny_text_model(n_classes=3), TASK), ConfigError, "not one score per class"),
    ('predict: batch_size 0', lambda: predict(MODEL, TASK, 'valid', batch_size=0), ConfigError, "batch_size must be a positive int"),
    ('predict: no labels for metrics', lambda: predict(MODEL, TASK, ['tasty']).metrics(), DataError, "need the true label"),
    ('evaluate: by an unknown group', lambda: evaluate(MODEL, TASK).by_group('sex'), ConfigError, "Unknown group column"),
    ('Method.named: a typo', lambda: Method.named('ful'), ConfigError, "Did you mean 'full'"),
    # the audits
    ('explain: method typo', lambda: explain(MODEL, TASK, 'tasty', 'saliancy'), ConfigError, "Did you mean 'saliency'"),
    ('explain: no such class', lambda: explain(MODEL, TASK, 'tasty', target='meh'), ConfigError, "no such class"),
    ('fairness_report: unknown group column', lambda: fairness_report(MODEL, TASK, groups='sex', privileged={'sex': 'f'}), ConfigError, "Unknown group column"),
    ('fairness_report: no privileged group', lambda: fairness_report(MODEL, TASK), ConfigError, "Say which group of each attribute"),
    ('fairness_report: privileged value absent', lambda: fairness_report(MODEL, TASK, privileged={'group': 'c'}), ConfigError, "is not in the test split"),
    ('fairness_report: misaligned predictions', lambda: fairness_report(np.zeros(3, int), TASK, privileged={'group': 'a'}), DataError, "one prediction per example"),
    ('fairness_report: unknown favourable class', lambda: fairness_report(MODEL, TASK, privileged={'group': 'a'}, favourable='good'), ConfigError, "Unknown favourable class"),
    ('fairness_metrics: outcomes not 0/1', lambda: fairness_metrics([2, 0], [1, 0], pd.DataFrame({'g': ['a', 'b']}), {'g': 'a'}), DataError, "must be 0 or 1"),
    ('reweighed: unknown attribute', lambda: reweighed(TASK, 'sex'), ConfigError, "Unknown group column"),
    ('FairnessPenalty: negative strength', lambda: FairnessPenalty('group', strength=-1), ConfigError, "strength must be"),
    ('attack: a text task', lambda: attack(MODEL, TASK), ConfigError, "need an image task"),
    ('word_attack: an empty text', lambda: word_attack(MODEL, TASK, TASK.encode(['  '], y=['pos'])), DataError, "must have words"),
    ('word_attack: an image task', lambda: word_attack(MODEL, IMG_TASK), ConfigError, "need a text task"),
    ('noise_accuracy: kind typo', lambda: noise_accuracy(MODEL, TASK, kinds=['typos']), ConfigError, "Did you mean 'typo'"),
    ('corruption_accuracy: a text task', lambda: corruption_accuracy(MODEL, TASK), ConfigError, "need an image task"),
    ('EmbeddingAdversarialTraining: eps 0', lambda: EmbeddingAdversarialTraining(eps=0), ConfigError, "eps must be"),
    ('EmbeddingAdversarialTraining: an image task', lambda: tuner_on_images(EmbeddingAdversarialTraining()), ConfigError, "needs a text task"),
    ('AttackViewer: split typo', lambda: AttackViewer(MODEL, TASK, split='tset'), ConfigError, "no tset split"),
    ('scan_pii: kind typo', lambda: scan_pii(TASK, kinds=['emails']), ConfigError, "Did you mean 'email'"),
    ('scan_pii: one string', lambda: scan_pii('call me'), ConfigError, "a list of texts"),
    ('DP: neither ε nor σ', lambda: DP(), ConfigError, "either a target ε or a noise multiplier"),
    ('DP: δ of 1/n or more', lambda: tuner(max_steps=2, callbacks=[DP(target_epsilon=3, delta=0.1)]).fit(), ConfigError, "δ must be below"),
    ('dp_ready: a BatchNorm treatment misspelt', lambda: dp_ready(MODEL, batchnorm='freeze'), ConfigError, "Did you mean 'frozen'"),
    ('DP: ghost is not a bool', lambda: DP(target_epsilon=3, ghost='yes'), ConfigError, "ghost must be True or False"),
    ('DP: ghost clipping with an objective of the batch only', lambda: tuner(max_steps=2, objective=lambda m, b: CrossEntropy()(m, b),
        callbacks=[DP(noise_multiplier=1.0, delta=1e-3, ghost=True)]).fit(), ConfigError, "needs each example's loss"),
    ('DP: an ε that cannot be reached', lambda: tuner(max_steps=50, callbacks=[DP(target_epsilon=1e-5, delta=1e-3)]).fit(), ConfigError, "cannot be reached"),
    ('membership_audit: members are non-members', lambda: membership_audit(MODEL, TASK, 'train', 'train'), ConfigError, "must be different splits"),
    ('membership_audit: split typo', lambda: membership_audit(MODEL, TASK, non_members='tset'), ConfigError, "not in the task"),
    ('redact_pii: an image task', lambda: redact_pii(IMG_TASK), ConfigError, "scanned in texts"),
    ('GroupThresholds: labels, not probabilities', lambda: GroupThresholds('group').fit(np.zeros(len(TASK.valid), int), TASK), DataError, "needs probabilities"),
    ('privacy_sweep: no private run', lambda: privacy_sweep(lambda t: tiny_text_model(t), TASK, epsilons=[None]), ConfigError, "no private run"),
    ('privacy_sweep: ε of 0', lambda: privacy_sweep(lambda t: tiny_text_model(t), TASK, epsilons=[None, 0]), ConfigError, "must be"),
    ('PrivacyPanel: epochs 0', lambda: PrivacyPanel(lambda t: tiny_text_model(t), TASK, epochs=0), ConfigError, "epochs"),
    # the compression audit
    ('audit: one model alone', lambda: audit({'base': MODEL}, TASK), ConfigError, "at least one variant"),
    ('audit: check typo', lambda: audit({'base': MODEL, 'copy': MODEL}, TASK, checks=['acuracy']), ConfigError, "Did you mean 'accuracy'"),
    ('audit: unknown setting', lambda: audit({'base': MODEL, 'copy': MODEL}, TASK, n_atack=5), ConfigError, "Unknown audit setting"),
    ('audit: a variant of another label set', lambda: audit({'base': MODEL, 'other': OTHER_LABELS}, TASK), ConfigError, "classes differ"),
    ('AuditPanel: check typo', lambda: AuditPanel({'base': MODEL, 'copy': MODEL}, TASK, checks=['loyality']), ConfigError, "Did you mean 'loyalty'"),
    ('run_recipe: mistyped table', lambda: run_recipe({'model': {'name': 'tiny-bert'}, 'data': {}, 'report': {'name': 'm', 'intended_use': 'x'}, 'trian': {}}), ConfigError, "Did you mean 'train'"),
    ('run_recipe: no report', lambda: run_recipe({'model': {'name': 'tiny-bert'}, 'data': {}}), ConfigError, "has no [report] table"),
    ('run_recipe: missing file', lambda: run_recipe(TMP/'nothing.toml'), ConfigError, "recipe file does not exist"),
    # trusted artifacts
    ('load_model: pickled weights', lambda: load_model(PICKLED, TASK), ConfigError, "stored with pickle"),
    ('load_model: a sealed export without its key', lambda: load_model(SEALED, TASK), ConfigError, "opens only with the key"),
    ('load_model: a sealed export with another key', lambda: load_model(SEALED, TASK, key=OTHER_KEY), CheckpointError, "sealed with another key"),
    ('load_model: the key as text', lambda: load_model(SEALED, TASK, key='hunter2'), ConfigError, "must be a tunebook Key"),
    ('Key.from_env: not set', lambda: Key.from_env('TB_NO_SUCH_KEY_VARIABLE'), ConfigError, "is not set"),
    ('Key.from_file: not a key', lambda: Key.from_file(GOOD_CSV), ConfigError, "not a tunebook key"),
    ('Key.generate: over an existing key', lambda: Key.generate(TMP/'keys'/'key'), ConfigError, "never replaces a key"),
    ('export: the key file inside the export', lambda: Tuner(MODEL, TASK, progress=False).export(TMP/'keys', key=KEY, overwrite=True), ConfigError, "must never be stored with the data"),
    ('dataloader: Poisson with shuffle', lambda: TASK.dataloader('train', poisson=True, shuffle=True), ConfigError, "do not apply"),
    # the command line (exit status 2, message on stderr)
    ('cli: missing CSV', lambda: cli('fit', '--data', TMP/'nope.csv', '--text', 'text', '--label', 'label', '--out', TMP/'o1'), CLIError, "The CSV file does not exist"),
    ('cli: label column typo', lambda: cli('fit', '--data', GOOD_CSV, '--text', 'text', '--label', 'lable', '--out', TMP/'o2'), CLIError, "Did you mean 'label'"),
    ('cli: --out is a user folder', lambda: cli('fit', '--data', GOOD_CSV, '--text', 'text', '--label', 'label', '--out', USER_DIR), CLIError, "--overwrite"),
    ('cli: --epochs 0', lambda: cli('fit', '--data', GOOD_CSV, '--text', 'text', '--label', 'label', '--epochs', 0, '--out', TMP/'o3'), CLIError, "epochs must be an integer >= 1"),
    ('cli: --lr negative', lambda: cli('fit', '--data', GOOD_CSV, '--text', 'text', '--label', 'label', '--lr', -1, '--out', TMP/'o4'), CLIError, "lr must be a positive number"),
    ('cli: --lr not a number', lambda: cli('fit', '--data', GOOD_CSV, '--text', 'text', '--label', 'label', '--lr', 'fast'), CLIError, "invalid float value: 'fast'"),
    ('cli: unknown method', lambda: cli('fit', '--data', GOOD_CSV, '--text', 'text', '--label', 'label', '--method', 'prefix'), CLIError, "invalid choice: 'prefix'"),
    ('cli: --lora-r 0', lambda: cli('fit', '--data', GOOD_CSV, '--text', 'text', '--label', 'label', '--lora-r', 0, '--out', TMP/'o5'), CLIError, "rank r must be a positive integer"),
    ('cli: wrong separator', lambda: cli('fit', '--data', SEMI_CSV, '--sep', ',', '--text', 'text', '--label', 'label', '--out', TMP/'o6'), CLIError, "--sep ';'"),
    ('cli: demo --limit 0', lambda: cli('demo', '--limit', 0, '--out', TMP/'o7'), CLIError, "n must be a positive integer"),
    ('cli: demo --out is a file', lambda: cli('demo', '--out', USER_FILE), CLIError, "is an existing file"),
]

def test_the_table_is_large_and_unique():
    assert len(CASES) >= 80, len(CASES)
    assert len({c[0] for c in CASES}) == len(CASES)

@pytest.mark.parametrize('name,call,error,phrase', CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_clearly(name, call, error, phrase):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', TunebookWarning)
        with pytest.raises(error) as info: call()
    e = info.value
    assert phrase in str(e), f"{name}: {phrase!r} not in\n{e}"
    if isinstance(e, TunebookError):  # the three parts, each non-empty
        assert e.problem and e.seen is not None and str(e.seen) != '' and e.fix, f"{name}: {e!r}"
    else:  # the CLI: a TunebookError printed in its three parts, or argparse's own usage error
        assert 'fix:' in str(e) or 'usage:' in str(e), str(e)

@pytest.mark.parametrize('argv', [('--out', USER_DIR), ('--epochs', 0), ('--lr', -1), ('--lora-r', 0), ('--method', 'full', '--batch-size', 0)])
def test_the_cli_refuses_before_loading_anything(monkeypatch, argv):
    "A bad argument is reported before any model is loaded or any data is read."
    import tunebook.recipes
    def loaded(*a, **k): raise AssertionError("a model was loaded before the arguments were checked")
    monkeypatch.setattr(tunebook.recipes, 'load_model', loaded)
    monkeypatch.setattr(Task, 'from_csv', classmethod(lambda *a, **k: loaded()))
    with pytest.raises(CLIError) as e: cli('fit', '--data', GOOD_CSV, '--text', 'text', '--label', 'label', '--out', TMP/'never', *argv)
    assert 'fix:' in str(e.value)

# --- files: what the user wrote survives ---------------------------------------------------------------------------
def _trained():
    t = tuner(max_steps=1)
    t.fit()
    return t

def test_user_files_survive_every_writer(tmp_path):
    "export, save, the Checkpoint callback and the CLI refuse a folder holding the user's files, and leave it as it was."
    from tunebook.callbacks import Checkpoint
    mine = tmp_path/'mine'; mine.mkdir(); (mine/'data.csv').write_text('keep')
    (mine/'last').mkdir(); (mine/'last'/'x.txt').write_text('keep too')
    t = _trained()
    for write in (lambda: t.export(mine), lambda: t.save(mine), lambda: t.export(mine/'data.csv'), lambda: t.save(mine/'last'),
                  lambda: tuner(max_steps=1, callbacks=[Checkpoint(mine)]).fit(),
                  lambda: cli('fit', '--data', GOOD_CSV, '--text', 'text', '--label', 'label', '--model', 'tiny-bert', '--out', mine)):
        with pytest.raises((TunebookError, CLIError)): write()
    assert (mine/'data.csv').read_text() == 'keep' and (mine/'last'/'x.txt').read_text() == 'keep too'
    assert sorted(p.name for p in mine.iterdir()) == ['data.csv', 'last']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['mine']  # and nothing stray beside it

def test_previous_outputs_are_replaced_and_overwrite_is_explicit(tmp_path):
    t = _trained()
    out = t.export(tmp_path/'model'); t.export(out)  # a previous export is replaced atomically
    ck = t.save(tmp_path/'ck'); t.save(ck)
    assert (out/'tunebook.json').is_file() and (ck/'manifest.json').is_file()
    mine = tmp_path/'mine'; mine.mkdir(); (mine/'a.txt').write_text('x')
    t.export(mine, overwrite=True)
    assert not (mine/'a.txt').exists() and (mine/'tunebook.json').is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ck', 'mine', 'model']

def test_an_interrupted_export_leaves_nothing_behind(tmp_path, monkeypatch):
    "Ctrl-C during an export: the previous export is intact and no temporary folder is left."
    t = _trained()
    out = t.export(tmp_path/'model')
    before = sorted(p.name for p in out.iterdir())
    def interrupted(*a, **k): raise KeyboardInterrupt
    monkeypatch.setattr(type(t.task.tokenizer), 'save_pretrained', interrupted)
    with pytest.raises(KeyboardInterrupt): t.export(out)
    assert sorted(p.name for p in out.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['model']

def test_tilde_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    out = _trained().export('~/tb-model')
    assert out == tmp_path/'tb-model' and (tmp_path/'tb-model'/'tunebook.json').is_file()

# --- labels and splits -------------------------------------------------------------------------------------------
def test_labels_that_print_the_same_are_one_class():
    t = from_df(DF.assign(label=pd.Series([1, '1', 2, '2'] * 30, dtype=object)), tokenizer=TASK.tokenizer)
    assert t.classes == ['1', '2']

def test_labels_differing_by_spaces_warn_with_their_names():
    with pytest.warns(TunebookWarning, match="'pos '"):
        t = from_df(DF.assign(label=np.where(DF.index % 3 == 0, 'pos ', DF.label)))
    assert t.classes == ['neg', 'pos', 'pos ']

def test_a_class_missing_from_a_given_split_warns_with_counts():
    split = np.where(DF.label == 'pos', 'test', 'train')
    with pytest.warns(TunebookWarning, match="no example in some splits"):
        from_df(DF.assign(s=split), split='s', valid_pct=0)

# --- Hypothesis: from_df either builds a consistent Task or refuses with a TunebookError -----------------------------
POOLS = [['a', 'b'], [0, 1, 2], ['x', 1], ['ü', 'A ', 'A'], [1, '1', 2.5]]  # strings, ints, mixed, unicode, spaces
BAD_CELLS = [None, float('nan'), 3, 2.5, '']

@st.composite
def frames(draw):
    "A DataFrame of object columns text, label, g, usually valid, sometimes with a bad cell, with an unusual index."
    n = draw(st.integers(0, 60))
    col = lambda s: draw(st.lists(s, min_size=n, max_size=n))
    df = pd.DataFrame({'text': pd.Series(col(st.text(max_size=12)), dtype=object),
                       'label': pd.Series(col(st.sampled_from(draw(st.sampled_from(POOLS)))), dtype=object),
                       'g': pd.Series(col(st.sampled_from(['x', 'y', 'Zoë', 0])), dtype=object)})
    for _ in range(draw(st.integers(0, 2)) if n and draw(st.booleans()) else 0):
        df.at[draw(st.integers(0, n - 1)), draw(st.sampled_from(list(df.columns)))] = draw(st.sampled_from(BAD_CELLS))
    kind = draw(st.sampled_from(['range', 'reversed', 'strings', 'duplicated']))
    df.index = {'range': range(n), 'reversed': range(n, 0, -1), 'strings': [f'r{i}' for i in range(n)],
                'duplicated': [i // 2 for i in range(n)]}[kind]
    return df

OUTCOMES = []  # 1 for each generated frame that built a Task, 0 for each refused one

@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(df=frames(), valid_pct=st.sampled_from([0, 0.1, 0.3]), test_pct=st.sampled_from([0, 0.1, 0.25]), seed=st.integers(0, 3))
def test_from_df_builds_a_consistent_task_or_refuses(df, valid_pct, test_pct, seed):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', TunebookWarning)
            task = Task.from_df(df, text='text', label='label', groups='g', valid_pct=valid_pct, test_pct=test_pct, seed=seed)
    except TunebookError:
        OUTCOMES.append(0); return
    OUTCOMES.append(1)
    positions = np.sort(np.concatenate([s.index for s in task.splits.values()]))
    assert positions.tolist() == list(range(len(df)))  # the splits partition the rows exactly
    for s in task.splits.values():
        assert [str(v) for v in df.label.iloc[s.index]] == [task.classes[i] for i in s.y]  # labels aligned
        assert df.g.iloc[s.index].tolist() == s.groups.g.tolist()  # groups aligned
        assert s.x == df.text.iloc[s.index].tolist()  # inputs aligned

def test_the_property_was_not_vacuous():
    "Both outcomes occurred often: the generated frames exercise building tasks, not only refusing them."
    if not OUTCOMES: pytest.skip("run together with the property test")
    assert len(OUTCOMES) >= 200 and 0.2 < np.mean(OUTCOMES) < 0.95, (len(OUTCOMES), np.mean(OUTCOMES))

def test_every_error_the_library_raises_has_three_parts():
    "Each `TunebookError(...)` in tunebook/ passes a problem, a value seen (not None) and a non-empty fix."
    import ast
    names = {'TunebookError', 'DataError', 'ConfigError', 'AssetNotFoundError', 'CheckpointError', 'MissingDependencyError'}
    bad = []
    for p in sorted((Path(__file__).parent.parent/'tunebook').glob('*.py')):
        for n in ast.walk(ast.parse(p.read_text(encoding='utf-8'))):
            if isinstance(n, ast.Call) and getattr(n.func, 'id', None) in names:
                args = n.args + [k.value for k in n.keywords]
                empty = lambda a: isinstance(a, ast.Constant) and a.value in (None, '')
                if len(args) < 3 or empty(args[1]) or empty(args[2]): bad.append(f"{p.name}:{n.lineno}: {ast.unparse(n)[:120]}")
    assert not bad, '\n'.join(bad)
