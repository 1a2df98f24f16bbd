"""The full SD-KD (or KD) training step in Python with the authors' models and loss, the twin of
bench/step.mjs. Teacher resnet32x4, student resnet8x4 (mdistiller's CIFAR ResNets with the SDD SPP
head), B=64, CIFAR shapes, SGD 0.05/0.9/5e-4, clip 40: BaseTrainer.train_iter.
Prints one JSON line per measured block: {"method", "ms", "parts": {...}}.
Usage: python3 bench/step.py <threads> <method kd|sdd_kd> <iters> <rounds>
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit('/', 1)[0])
from sdd_head import SPP  # the authors' SPP module
from sdd_loss import kd_loss, sdd_kd_loss


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return F.relu(out + residual)


class ResNetSDD(nn.Module):
    def __init__(self, depth, filters, num_classes=100):
        super().__init__()
        n = (depth - 2) // 6
        self.inplanes = filters[0]
        self.conv1 = nn.Conv2d(3, filters[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters[0])
        self.layer1 = self._make_layer(filters[1], n)
        self.layer2 = self._make_layer(filters[2], n, 2)
        self.layer3 = self._make_layer(filters[3], n, 2)
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(filters[3], num_classes)
        self.spp = SPP()
        self.class_num = num_classes

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x_spp, _ = self.spp(x)
        x_spp = x_spp.permute((2, 0, 1))
        m, b, c = x_spp.shape
        patch_score = self.fc(torch.reshape(x_spp, (m * b, c)))
        patch_score = torch.reshape(patch_score, (m, b, self.class_num)).permute((1, 2, 0))
        out = self.fc(self.avgpool(x).reshape(x.size(0), -1))
        return out, patch_score


def main():
    threads, method, iters, rounds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    teacher = ResNetSDD(32, [32, 64, 128, 256]).eval()
    student = ResNetSDD(8, [32, 64, 128, 256]).train()
    opt = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(64, 3, 32, 32)
    y = torch.randint(0, 100, (64,))

    def step(parts):
        t0 = time.perf_counter()
        opt.zero_grad()
        logits_s, patch_s = student(x)
        t1 = time.perf_counter()
        with torch.no_grad():
            logits_t, patch_t = teacher(x)
        t2 = time.perf_counter()
        loss_ce = 0.1 * F.cross_entropy(logits_s, y)
        if method == 'sdd_kd':
            loss_kd = 0.9 * sdd_kd_loss(patch_s, patch_t, 4.0, y)
        else:
            loss_kd = 0.9 * kd_loss(logits_s, logits_t, 4.0)
        loss = loss_ce + loss_kd
        t3 = time.perf_counter()
        loss.backward()
        t4 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 40)
        opt.step()
        t5 = time.perf_counter()
        for k, v in (('student_fwd', t1 - t0), ('teacher_fwd', t2 - t1), ('loss', t3 - t2), ('backward', t4 - t3), ('optimizer', t5 - t4)):
            parts[k] = parts.get(k, 0.0) + v
        return loss.item()

    step({})
    for _ in range(rounds):
        line = sys.stdin.readline()  # the driver says when to run a block
        if not line:
            return
        parts = {}
        t = time.perf_counter()
        for _ in range(iters):
            step(parts)
        ms = (time.perf_counter() - t) * 1000 / iters
        print(json.dumps({'method': method, 'ms': ms, 'parts': {k: v * 1000 / iters for k, v in parts.items()}}), flush=True)


if __name__ == '__main__':
    main()
