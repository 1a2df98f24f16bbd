# Writes test/fixtures/optim_reference.json: torch.optim.SGD / AdamW trajectories and
# clip_grad_norm_ on fixed float64 inputs, for test/optim.test.ts.
# Run with Debian's python3-torch: /usr/bin/python3 scripts/gen-optim-reference.py
import json
import torch

torch.set_num_threads(1)
def inputs():
    g = torch.Generator().manual_seed(0)
    p = [torch.randn(3, 4, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)]
    grads = [[torch.randn(t.shape, generator=g, dtype=torch.float64) for t in p] for _ in range(5)]
    return p, grads

def flat(ts): return [t.reshape(-1).tolist() for t in ts]

cases = []
for name, make in [
    ('sgd_plain', lambda ps: torch.optim.SGD(ps, lr=0.1)),
    ('sgd_momentum_wd', lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=5e-4)),
    ('sgd_nesterov', lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=True)),
    ('sgd_dampening', lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, dampening=0.3)),
    ('adamw', lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.05)),
]:
    p0, grads = inputs()
    ps = [t.clone().requires_grad_() for t in p0]
    opt = make(ps)
    traj = []
    for gs in grads:
        for t, g in zip(ps, gs): t.grad = g.clone()
        opt.step()
        traj.append(flat([t.detach() for t in ps]))
    cases.append({'name': name, 'init': flat(p0), 'shapes': [list(t.shape) for t in p0],
                  'grads': [flat(gs) for gs in grads], 'params': traj})

p0, grads = inputs()
ps = [t.clone().requires_grad_() for t in p0]
for t, g in zip(ps, grads[0]): t.grad = (g * 10).clone()
total = torch.nn.utils.clip_grad_norm_(ps, 4.0)
clip = {'grads': flat([g * 10 for g in grads[0]]), 'shapes': [list(t.shape) for t in p0], 'maxNorm': 4.0,
        'total': float(total), 'clipped': flat([t.grad for t in ps])}
json.dump({'torch': torch.__version__, 'cases': cases, 'clip': clip}, open('test/fixtures/optim_reference.json', 'w'))
print('wrote test/fixtures/optim_reference.json')
