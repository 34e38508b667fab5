"""Every fine-tuning method the docs name trains the bundled MiniLM: 20 optimizer steps at the method's default
learning rate lower the training loss and
move the method's own parameters (adapters, prefix, scaling vectors), and nothing else that should stay frozen.
Methods that cannot run on the model are refused when the Tuner is built, with the methods that work; a method
that cannot be exported as a plain transformers model is refused by `export` and `fit_csv` before any work."""
import numpy as np, pytest, torch
import peft
from tunebook.core import ConfigError
from tunebook.data import Task
from tunebook.models import tiny_text_model, load_model
from tunebook.methods import Method, PEFT, PrefixTuning, head_modules
from tunebook.train import Tuner

def toy_task(n=96):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    texts = [f"the food was {'great' if t else 'awful'} and the service {'kind' if t else 'slow'}" for t in y]
    return Task.from_arrays(texts, np.array(['great', 'other'])[1 - y], seed=0)

TASK = toy_task()
METHODS = {'full': lambda: Method.named('full'), 'head': lambda: Method.named('head'), 'lora': lambda: Method.named('lora', r=4),
           'prefix': lambda: PrefixTuning(num_virtual_tokens=4),
           'peft IA3': lambda: PEFT(peft.IA3Config(target_modules=['key', 'value', 'output.dense'], feedforward_modules=['output.dense'])),
           'peft LoHa': lambda: PEFT(peft.LoHaConfig(r=4, target_modules=['query', 'value'])),
           'peft prompt tuning': lambda: PEFT(peft.PromptTuningConfig(task_type='SEQ_CLS', num_virtual_tokens=4))}

def train_loss(tuner) -> float:
    "Mean loss over the train split, in eval mode."
    return tuner.evaluate('train').loss

@pytest.mark.parametrize('name', list(METHODS))
def test_method_trains(name):
    torch.manual_seed(0)
    method = METHODS[name]()
    tuner = Tuner(load_model('minilm', TASK, seed=0), TASK, method, max_steps=20, batch_size=16, seed=0, progress=False)
    heads = {f'{h}.' for h in head_modules(tuner.model)}
    own = {n: p.detach().clone() for n, p in tuner.model.named_parameters()
           if p.requires_grad and not any(h in n for h in heads)}  # what the method adds or frees, beyond the head
    before = train_loss(tuner)
    tuner.fit()
    after = train_loss(tuner)
    assert after < before - 0.01, (name, before, after)
    if name != 'head':
        assert own, f'{name} trains nothing but the head'
        moved = [n for n, p in tuner.model.named_parameters() if n in own and not torch.equal(p.detach(), own[n])]
        assert len(moved) >= len(own) // 2, (name, len(moved), len(own))

def test_peft_prefix_tuning_is_refused_when_the_tuner_is_built():
    cfg = peft.PrefixTuningConfig(task_type='SEQ_CLS', num_virtual_tokens=8)
    with pytest.raises(ConfigError, match="PrefixTuningConfig does not run on this model") as e:
        Tuner(tiny_text_model(TASK), TASK, PEFT(cfg), progress=False)
    assert "'prefix' (tunebook's prefix tuning)" in str(e.value)

def test_prefix_tuning_resumes_and_refuses_export(tmp_path):
    t = Tuner(tiny_text_model(TASK), TASK, PrefixTuning(4), max_steps=4, seed=0, progress=False)
    t.fit()
    with pytest.raises(ConfigError, match="cannot be written as a plain transformers model"): t.export(tmp_path/'out')
    assert not (tmp_path/'out').exists()
    t.save(tmp_path/'ckpt')
    back = Tuner.load(tmp_path/'ckpt', tiny_text_model(TASK), TASK, progress=False)
    assert isinstance(back.method, PrefixTuning)
    assert back.evaluate('valid').loss == pytest.approx(t.evaluate('valid').loss, abs=1e-6)

def test_fit_csv_refuses_a_method_it_cannot_export(tmp_path):
    from tunebook.recipes import fit_csv
    csv = tmp_path/'d.csv'
    csv.write_text('text,label\n' + '\n'.join(f'good {i},a' for i in range(20)))
    with pytest.raises(ConfigError, match="fit_csv exports a plain transformers model"):
        fit_csv(csv, text='text', label='label', method='prefix', out=tmp_path/'m')
    assert not (tmp_path/'m').exists()
