# The Python twin of scripts/bench-dist.mjs's worker: the same SD-KD step (resnet20 teacher, eval,
# no grad -> resnet8 student with the authors' SPP head and sdd_kd_loss, global batch 64, synthetic
# 3x32x32), alone or as one rank of torch.nn.parallel.DistributedDataParallel on Gloo (started by
# `sdd-torch launch`, which sets RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT like torchrun).
# Args: <steps>. Prints one JSON line (rank 0).
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from step import ResNetSDD  # noqa: E402  (mdistiller's CIFAR ResNet with the authors' SPP head)
from sdd_loss import sdd_kd_loss  # noqa: E402

GLOBAL_BATCH = 64
WARMUP = 5


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    world = int(os.environ.get('WORLD_SIZE', '1'))
    torch.set_num_threads(int(os.environ.get('SDD_TORCH_THREADS', '1')))
    if world > 1:
        dist.init_process_group('gloo', init_method='env://')
    rank = dist.get_rank() if world > 1 else 0
    torch.manual_seed(0)
    teacher = ResNetSDD(20, [16, 16, 32, 64], num_classes=10).eval()
    student = ResNetSDD(8, [16, 16, 32, 64], num_classes=10).train()
    model = student
    if world > 1:
        # broadcast_buffers=False: our DDP does not re-broadcast BatchNorm buffers every forward either
        model = torch.nn.parallel.DistributedDataParallel(student, broadcast_buffers=False)
    opt = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    per = GLOBAL_BATCH // world
    torch.manual_seed(1 + rank)
    x = torch.randn(per, 3, 32, 32)
    y = torch.randint(0, 10, (per,))

    def step():
        opt.zero_grad()
        with torch.no_grad():
            _, patch_t = teacher(x)
        logits_s, patch_s = model(x)
        loss = 0.1 * F.cross_entropy(logits_s, y) + 0.9 * sdd_kd_loss(patch_s, patch_t, 4.0, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 40)
        opt.step()

    for _ in range(WARMUP):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    ms = (time.perf_counter() - t0) * 1000 / steps
    if world > 1:
        dist.barrier()
    if rank == 0:
        print(json.dumps({'world': world, 'threads': torch.get_num_threads(), 'msPerStep': ms, 'imagesPerSecond': GLOBAL_BATCH / (ms / 1000)}), flush=True)
    if world > 1:
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
