# Data loading throughput with torchvision, the twin of data_loader.mjs: CIFAR-style augmentation
# (RandomCrop(32, padding=4) + RandomHorizontalFlip + ToTensor + Normalize, batch 64) over 50,000
# in-memory 32x32x3 uint8 images held like torchvision.datasets.CIFAR100 holds them (numpy HWC,
# PIL image per sample), DataLoader(shuffle=True, num_workers=2 and 0). Prints one JSON line.
#   /usr/bin/python3 bench/data_loader.py [--images 50000] [--epochs 3]
import argparse, json, os, time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

p = argparse.ArgumentParser()
p.add_argument('--images', type=int, default=50000)
p.add_argument('--epochs', type=int, default=3)
args = p.parse_args()
N, B = args.images, 64

# Same pixels as data_loader.mjs (stored N x 3 x 32 x 32 there): the top byte of i * 2654435761 mod 2^32.
i = np.arange(N * 3072, dtype=np.uint64)
chw = (((i * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)) >> np.uint64(24)).astype(np.uint8).reshape(N, 3, 32, 32)
hwc = np.ascontiguousarray(chw.transpose(0, 2, 3, 1))
targets = [i % 100 for i in range(N)]


class Cifar(Dataset):
    def __init__(self, data, targets, transform):
        self.data, self.targets, self.transform = data, targets, transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):  # as torchvision.datasets.CIFAR10.__getitem__
        img = Image.fromarray(self.data[i])
        return self.transform(img), self.targets[i]


tf = transforms.Compose([
    transforms.RandomCrop(32, padding=4),
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
    transforms.Normalize((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
])
ds = Cifar(hwc, targets, tf)


def rate(workers):
    rates = []
    for e in range(args.epochs):
        g = torch.Generator()
        g.manual_seed(e)
        loader = DataLoader(ds, batch_size=B, shuffle=True, num_workers=workers, generator=g)
        t0 = time.perf_counter()
        n = 0
        for images, y in loader:
            n += images.shape[0]
        rates.append(n / (time.perf_counter() - t0))
    rates.sort()
    return {'median': round(rates[len(rates) // 2]), 'best': round(rates[-1])}


print(json.dumps({
    'bench': 'data_loader', 'side': 'torchvision', 'images': N, 'batch': B, 'cores': os.cpu_count(),
    'torch': torch.__version__, 'torchvision': __import__('torchvision').__version__,
    'workers2': rate(2), 'workers0': rate(0),
}))
