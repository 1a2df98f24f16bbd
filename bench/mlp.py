"""(b) 3-layer MLP training step, the twin of mlp.mjs (same parameters, same ops)."""
import math

import torch
import torch.nn.functional as F

from inputs import det, targets

B, D, H, K, LR = 64, 256, 256, 10, 0.01


def _params():
    return [
        det([H, D], 0.3, 1 / math.sqrt(D), True), det([H], 0.4, 0.05, True),
        det([H, H], 0.5, 1 / math.sqrt(H), True), det([H], 0.6, 0.05, True),
        det([K, H], 0.7, 1 / math.sqrt(H), True), det([K], 0.8, 0.05, True),
    ]


def matmul_add(x, w, b):
    return x.matmul(w.t()).add(b)


class _Mlp:
    linear = staticmethod(matmul_add)

    def __init__(self):
        self.x = det([B, D], 0.2)
        self.y = targets(B, K)
        self.ps = _params()

    def loss(self):
        w1, b1, w2, b2, w3, b3 = self.ps
        lin = self.linear
        h1 = lin(self.x, w1, b1).relu()
        h2 = lin(h1, w2, b2).relu()
        return F.cross_entropy(lin(h2, w3, b3), self.y)

    def run(self, iters):
        ps = self.ps
        for _ in range(iters):
            self.loss().backward()
            with torch.no_grad():
                for p in ps:
                    p.sub_(p.grad, alpha=LR)
            for p in ps:
                p.grad = None

    def check(self):
        with torch.no_grad():
            return self.loss().item()


class Mlp(_Mlp):
    pass


class MlpLinear(_Mlp):
    linear = staticmethod(F.linear)


CASES = {'mlp': Mlp, 'mlpLinear': MlpLinear}

if __name__ == '__main__':
    from worker import standalone
    standalone(CASES)
