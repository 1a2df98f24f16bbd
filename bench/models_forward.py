"""Twin of models_forward.mjs: resnet32x4 (the reference's CIFAR ResNet, SDD head included) forward at
B = 64, 32x32, in PyTorch on the same libtorch (Debian python3-torch 1.13, /usr/bin/python3).

Run by models_forward.mjs as a worker (one JSON request per stdin line, replies prefixed @@bench), or
alone: /usr/bin/python3 bench/models_forward.py --threads 2 [--iters 10].

Cases (the same as the Node side):
  fp32         eval, torch.no_grad()
  channelsLast eval, weights and input in torch.channels_last
  frozen       eval, every BatchNorm folded into its conv (torch.nn.utils.fusion.fuse_conv_bn_eval)
  frozenCl     frozen + channels_last
  bf16         frozen, weights and input in bfloat16 (outputs back to float32)
  trainStep    train mode forward + backward of sum(logits) + mean(scale logits) (a training step's model part)
  studentStep  the same for the student resnet8x4
The weights are test/fixtures/reference/model_resnet32x4_sdd.safetensors / model_resnet8x4_sdd.safetensors
(read with numpy), the input is the deterministic pattern of models_forward.mjs.
"""
import argparse
import copy
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, 'test', 'fixtures', 'reference')  # vendored reference checkpoints
B, HW, K = 64, 32, 100
REPLY = '@@bench '


# ------------------------------------------------------------------ the model (reference architecture)
class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x if self.downsample is None else self.downsample(x)
        return F.relu(out)


class ResNet32x4(nn.Module):
    def __init__(self, depth=32, filters=(32, 64, 128, 256), num_classes=K):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, filters[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters[0])
        cin = filters[0]
        for i, (f, s) in enumerate(zip(filters[1:], (1, 2, 2))):
            blocks = []
            for j in range(n):
                blocks.append(Block(cin, f, s if j == 0 else 1))
                cin = f
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        self.fc = nn.Linear(filters[3], num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        # the authors' SPP head: 4x4 grid, 2x2 and 1x1 pooled from it, shared fc on all 21 regions
        x4 = F.adaptive_avg_pool2d(x, 4)
        x2 = F.adaptive_avg_pool2d(x4, 2)
        x1 = F.adaptive_avg_pool2d(x4, 1)
        feat = torch.cat((x1.flatten(2), x2.flatten(2), x4.flatten(2)), 2)  # B x C x 21
        m, b, c = feat.shape[2], feat.shape[0], feat.shape[1]
        patch = self.fc(feat.permute(2, 0, 1).reshape(m * b, c)).reshape(m, b, -1).permute(1, 2, 0)
        logits = self.fc(F.avg_pool2d(x, 8).flatten(1))
        return logits, patch


def read_safetensors(path):
    with open(path, 'rb') as f:
        buf = f.read()
    n = struct.unpack('<Q', buf[:8])[0]
    header = json.loads(buf[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        b, en = e['data_offsets']
        dt = {'F32': np.float32, 'I64': np.int64}[e['dtype']]
        out[name] = torch.from_numpy(np.frombuffer(buf, dtype=dt, count=(en - b) // np.dtype(dt).itemsize, offset=8 + n + b).copy()).reshape(e['shape'])
    return out


def fold(module):
    """Folds every conv -> BN pair (the model's convN/bnN and downsample.0/1) and makes the BN an identity."""
    for name, child in list(module.named_children()):
        fold(child)
    pairs = [('conv1', 'bn1'), ('conv2', 'bn2')]
    for c, b in pairs:
        if isinstance(getattr(module, c, None), nn.Conv2d) and isinstance(getattr(module, b, None), nn.BatchNorm2d):
            setattr(module, c, fuse_conv_bn_eval(getattr(module, c), getattr(module, b)))
            setattr(module, b, nn.Identity())
    if isinstance(module, nn.Sequential) and len(module) == 2 and isinstance(module[0], nn.Conv2d) and isinstance(module[1], nn.BatchNorm2d):
        module[0] = fuse_conv_bn_eval(module[0], module[1])
        module[1] = nn.Identity()
    return module


def make_input():
    i = np.arange(B * 3 * HW * HW, dtype=np.float64)
    return torch.from_numpy((((i * 7919) % 1000) / 500.0 - 1.0).astype(np.float32)).reshape(B, 3, HW, HW)


class Case:
    def __init__(self, kind):
        torch.manual_seed(0)
        student = kind == 'studentStep'
        base = ResNet32x4(depth=8) if student else ResNet32x4()
        base.load_state_dict(read_safetensors(os.path.join(FIXTURES, f"model_{'resnet8x4' if student else 'resnet32x4'}_sdd.safetensors")))
        self.kind = kind
        self.x = make_input()
        if kind in ('trainStep', 'studentStep'):
            self.model = base.train()
            return
        m = base.eval()
        if kind in ('frozen', 'frozenCl', 'bf16'):
            m = fold(copy.deepcopy(m)).eval()
            for p in m.parameters():
                p.requires_grad_(False)
        if kind in ('channelsLast', 'frozenCl'):
            m = m.to(memory_format=torch.channels_last)
            self.x = self.x.contiguous(memory_format=torch.channels_last)
        if kind == 'bf16':
            m = m.to(torch.bfloat16)
            self.x = self.x.to(torch.bfloat16)
        self.model = m

    def once(self):
        if self.kind in ('trainStep', 'studentStep'):
            self.model.zero_grad(set_to_none=True)
            logits, patch = self.model(self.x)
            (logits.sum() + patch.mean()).backward()
            return logits
        with torch.no_grad():
            logits, patch = self.model(self.x)
            return logits.float()

    def run(self, iters):
        t0 = time.perf_counter()
        for _ in range(iters):
            self.once()
        return time.perf_counter() - t0

    def check(self):
        return self.once().detach().float().flatten()[:8].tolist()


def worker():
    cases = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            op = req['op']
            if op == 'hello':
                rep = {'runtime': f'Python {sys.version.split()[0]}', 'torch': torch.__version__, 'threads': torch.get_num_threads()}
            elif op == 'setup':
                torch.set_num_threads(req['threads'])
                c = Case(req['id'])
                for _ in range(req.get('warmup', 2)):
                    c.once()
                cases[req['id']] = c
                rep = {'check': c.check(), 'threads': torch.get_num_threads()}
            elif op == 'run':
                rep = {'seconds': cases[req['id']].run(req['iters'])}
            elif op == 'teardown':
                cases.pop(req['id'], None)
                rep = {}
            elif op == 'exit':
                return
            else:
                raise ValueError(f'unknown op {op}')
            rep = {'ok': True, **rep}
        except Exception as e:  # reported to the orchestrator
            rep = {'ok': False, 'error': repr(e)}
        sys.stdout.write(REPLY + json.dumps(rep) + '\n')
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--worker', action='store_true')
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--iters', type=int, default=10)
    a = ap.parse_args()
    if a.worker:
        worker()
        return
    torch.set_num_threads(a.threads)
    for kind in ('fp32', 'channelsLast', 'frozen', 'frozenCl', 'bf16', 'trainStep', 'studentStep'):
        c = Case(kind)
        c.once()
        c.once()
        t = min(c.run(a.iters) / a.iters for _ in range(3))
        print(f'{kind:13s} {t * 1000:8.1f} ms')


if __name__ == '__main__':
    main()
