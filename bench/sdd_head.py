"""(d) SDD head forward + backward, the twin of sdd_head.mjs.

sddHead is the authors' approach: their SPP module (x4 = AdaptiveAvgPool2d(4)(x); x2 and x1 pooled
from x4; flattened and concatenated to B x C x 21; it also computes x_strength, the per-region
mean, as the module does) followed by the model's shared fc applied to every region
(permute(2, 0, 1) -> fc -> permute back to B x K x N). plainHead is the model's own global head:
avg_pool2d over the whole map, flatten, fc.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from inputs import det

B, C, HW, K = 64, 256, 8, 100


class SPP(nn.Module):
    def __init__(self, M='[1,2,4]'):
        super().__init__()
        self.pooling_4x4 = nn.AdaptiveAvgPool2d((4, 4))
        self.pooling_2x2 = nn.AdaptiveAvgPool2d((2, 2))
        self.pooling_1x1 = nn.AdaptiveAvgPool2d((1, 1))
        self.M = M

    def forward(self, x):
        x_4x4 = self.pooling_4x4(x)
        x_2x2 = self.pooling_2x2(x_4x4)
        x_1x1 = self.pooling_1x1(x_4x4)
        x_4x4_flatten = torch.flatten(x_4x4, start_dim=2, end_dim=3)  # B x C x 16
        x_2x2_flatten = torch.flatten(x_2x2, start_dim=2, end_dim=3)
        x_1x1_flatten = torch.flatten(x_1x1, start_dim=2, end_dim=3)
        x_feature = torch.cat((x_1x1_flatten, x_2x2_flatten, x_4x4_flatten), dim=2)  # B x C x 21
        x_strength = x_feature.permute((2, 0, 1))
        x_strength = torch.mean(x_strength, dim=2)
        return x_feature, x_strength


class _Head:
    def __init__(self):
        self.x = det([B, C, HW, HW], 0.1, 1.0, True)
        self.fc = nn.Linear(C, K)
        with torch.no_grad():
            self.fc.weight.copy_(det([K, C], 0.2, 1 / math.sqrt(C)))
            self.fc.bias.copy_(det([K], 0.3, 0.05))
        self.leaves = [self.x, self.fc.weight, self.fc.bias]

    def run(self, iters):
        for _ in range(iters):
            self.head(self.x).sum().backward()
            for p in self.leaves:
                p.grad = None

    def check(self):
        with torch.no_grad():
            return self.head(self.x).sum().item()


class SddHead(_Head):
    def __init__(self):
        super().__init__()
        self.spp = SPP()

    def head(self, x):
        x_spp, x_strength = self.spp(x)
        x_spp = x_spp.permute((2, 0, 1))  # N x B x C
        patch_score = self.fc(x_spp)  # the shared classifier on every region: N x B x K
        return patch_score.permute((1, 2, 0))  # B x K x N


class PlainHead(_Head):
    def head(self, x):
        x = F.avg_pool2d(x, x.shape[-1])
        out = x.reshape(x.size(0), -1)
        return self.fc(out)


CASES = {'sddHead': SddHead, 'plainHead': PlainHead}

if __name__ == '__main__':
    from worker import standalone
    standalone(CASES)
