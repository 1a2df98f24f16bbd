"""(a) Per-op overhead, the twin of ops.mjs. Plain loops: `c = a + b` frees the previous result
when c is rebound, like dispose() on the Node side."""
import torch

from inputs import det


def _pair():
    return det([8], 0.1), det([8], 0.2)


class Add:
    def __init__(self):
        self.a, self.b = _pair()

    def run(self, iters):
        a, b = self.a, self.b
        for _ in range(iters):
            c = a + b  # noqa: F841

    def check(self):
        return (self.a + self.b).sum().item()


# Python has no tidy(): the same loop stands in for the Node 'addTidy' and 'addBatchTidy' cases.
AddTidy = Add
AddBatchTidy = Add


class MulScalar:
    def __init__(self):
        self.a, _ = _pair()

    def run(self, iters):
        a = self.a
        for _ in range(iters):
            c = a * 2.5  # noqa: F841

    def check(self):
        return (self.a * 2.5).sum().item()


class Sum:
    def __init__(self):
        self.a, _ = _pair()

    def run(self, iters):
        a = self.a
        for _ in range(iters):
            c = a.sum()  # noqa: F841

    def check(self):
        return self.a.sum().item()


CASES = {'add': Add, 'addTidy': AddTidy, 'addBatchTidy': AddBatchTidy, 'mulScalar': MulScalar, 'sum': Sum}

if __name__ == '__main__':
    from worker import standalone
    standalone(CASES)
