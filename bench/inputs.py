"""Deterministic inputs, the twin of inputs.mjs (see there)."""
import math

import torch

GOLDEN = 0.6180339887498949


def det(shape, seed, scale=1.0, requires_grad=False):
    n = math.prod(shape)
    i = torch.arange(1, n + 1, dtype=torch.float64)
    x = (scale * torch.sin(i * GOLDEN + seed)).to(torch.float32).reshape(shape)
    return x.requires_grad_(requires_grad)


def targets_list(B, K):
    return [(37 * b + 11) % K for b in range(B)]


def targets(B, K):
    return torch.tensor(targets_list(B, K), dtype=torch.int64)


def scale_logits_pair(B, K, N):
    i = torch.arange(1, B * K * N + 1, dtype=torch.float64)
    s = (2 * torch.sin(i * GOLDEN + 0.1)).to(torch.float32).reshape(B, K, N)
    t = (3 * torch.sin(i * GOLDEN + 0.7)).to(torch.float32).reshape(B, K, N)
    y = targets_list(B, K)
    for b in range(B):
        for r in range(N):
            if (b + r) % 3 != 0:
                t[b, y[b], r] += 4
    return s, t, torch.tensor(y, dtype=torch.int64)
