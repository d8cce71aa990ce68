"""PyTorch copy of the demo's model for speed ratios (bench/report.ts runs it when Debian's
python3-torch is installed): the small_resnet backbone (frozen), RD's OCBE bottleneck and
decoder, RD's loss and inference maps, and an RD + CCL step (projector on both views, pixel
matching on the frozen features, local InfoNCE over each scale's B x HW x HW similarities,
SupCon on the pooled embeddings). Same layer shapes and the same work per step as
lib/methods/rd and lib/ccl at batch 16; random weights (speed only, numbers not compared).

python3 bench/torch_rd.py --threads 1 --size 64 --batch 16 --reps 5  -> one JSON line
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, k=3, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout))


class Basic(nn.Module):
    """ResNet basic block; `up` uses 2x2 transposed convolutions as RD's decoder."""

    def __init__(self, cin, cout, stride=1, up=False):
        super().__init__()
        if up:
            self.conv1 = nn.Sequential(nn.ConvTranspose2d(cin, cout, 2, 2, bias=False), nn.BatchNorm2d(cout))
            self.short = nn.Sequential(nn.ConvTranspose2d(cin, cout, 2, 2, bias=False), nn.BatchNorm2d(cout))
        else:
            self.conv1 = conv_bn(cin, cout, 3, stride)
            self.short = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()
        self.conv2 = conv_bn(cout, cout, 3, 1)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.conv1(x))) + self.short(x))


class SmallResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 32, 7, 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        self.layers = nn.ModuleList([
            nn.Sequential(Basic(32, 32), Basic(32, 32)),
            nn.Sequential(Basic(32, 64, 2), Basic(64, 64)),
            nn.Sequential(Basic(64, 128, 2), Basic(128, 128)),
        ])

    def forward(self, x):
        x = self.stem(x)
        out = []
        for layer in self.layers:
            x = layer(x)
            out.append(x)
        return out


class RD(nn.Module):
    def __init__(self, c=(32, 64, 128)):
        super().__init__()
        c1, c2, c3 = c
        self.s1 = nn.Sequential(conv_bn(c1, c2, 3, 2), nn.ReLU(), conv_bn(c2, c3, 3, 2), nn.ReLU())
        self.s2 = nn.Sequential(conv_bn(c2, c3, 3, 2), nn.ReLU())
        self.bottleneck = Basic(3 * c3, 2 * c3, 2)
        self.decoder = nn.ModuleList([Basic(2 * c3, c3, up=True), Basic(c3, c2, up=True), Basic(c2, c1, up=True)])

    def embed(self, feats):
        f1, f2, f3 = feats
        return self.bottleneck(torch.cat([self.s1(f1), self.s2(f2), f3], 1))

    def decode(self, e):
        outs = []
        for stage in self.decoder:
            e = stage(e)
            outs.append(e)
        return outs[::-1]


class Projector(nn.Module):
    """Per scale: four 3x3 convs (c/2, c/4, c/2, c) with instance norm and leaky ReLU."""

    def __init__(self, channels=(32, 64, 128)):
        super().__init__()
        def one(c):
            widths = [c, c // 2, c // 4, c // 2, c]
            layers = []
            for a, b in zip(widths, widths[1:]):
                layers += [nn.Conv2d(a, b, 3, 1, 1, bias=False), nn.InstanceNorm2d(b), nn.LeakyReLU(0.01)]
            return nn.Sequential(*layers)
        self.scales = nn.ModuleList([one(c) for c in channels])

    def forward(self, feats):
        return [p(f) for p, f in zip(self.scales, feats)]


def rd_loss(enc, dec):
    return sum((1 - F.cosine_similarity(a, b, dim=1)).mean() for a, b in zip(enc, dec))


def gaussian_kernel(sigma=4.0):
    radius = int(4 * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-x * x / (2 * sigma * sigma))
    return (k / k.sum()).view(1, 1, 1, -1)


def anomaly_maps(enc, dec, size, kernel):
    maps = sum(F.interpolate((1 - F.cosine_similarity(a, b, dim=1)).unsqueeze(1), size=(size, size),
                             mode="bilinear", align_corners=False) for a, b in zip(enc, dec)) / len(enc)
    pad = kernel.shape[-1] // 2
    maps = F.conv2d(F.pad(maps, (pad, pad, 0, 0), mode="reflect"), kernel)
    maps = F.conv2d(F.pad(maps, (0, 0, pad, pad), mode="reflect"), kernel.transpose(2, 3))
    return maps[:, 0], maps.flatten(1).amax(1)


def local_loss(dense_a, dense_b, match_a, match_b, tau=0.05):
    loss = 0.0
    for da, db, ma, mb in zip(dense_a, dense_b, match_a, match_b):
        with torch.no_grad():
            sim = torch.bmm(F.normalize(ma.flatten(2), dim=1).transpose(1, 2), F.normalize(mb.flatten(2), dim=1))
            target = sim.argmax(2)
        logits = torch.bmm(F.normalize(da.flatten(2), dim=1).transpose(1, 2), F.normalize(db.flatten(2), dim=1)) / tau
        loss = loss + F.cross_entropy(logits.flatten(0, 1), target.flatten())
    return loss / len(dense_a)


def supcon(z, labels, tau=0.05):
    z = F.normalize(z, dim=1)
    logits = z @ z.t() / tau
    eye = torch.eye(len(z), dtype=torch.bool)
    logits = logits.masked_fill(eye, -1e9)
    positives = (labels[:, None] == labels[None, :]) & ~eye
    log_prob = logits - torch.logsumexp(logits, 1, keepdim=True)
    return -(log_prob * positives).sum(1).div(positives.sum(1).clamp(min=1)).mean()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    encoder = SmallResNet().eval()
    for p in encoder.parameters():
        p.requires_grad_(False)
    rd, rd_ccl, projector = RD(), RD(), Projector()
    opt = torch.optim.Adam(rd.parameters(), lr=5e-3, betas=(0.5, 0.999))
    opt_ccl = torch.optim.Adam([{"params": rd_ccl.parameters(), "lr": 5e-3},
                                {"params": projector.parameters(), "lr": 1e-3}], betas=(0.5, 0.999))
    images = torch.randn(args.batch, 3, args.size, args.size)
    augmented = torch.randn(args.batch, 3, args.size, args.size)
    labels = torch.arange(args.batch) % 4
    kernel = gaussian_kernel()

    def rd_step():
        with torch.no_grad():
            feats = encoder(images)
        loss = rd_loss(feats, rd.decode(rd.embed(feats)))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(rd.parameters(), 5)
        opt.step()

    def ccl_step():
        with torch.no_grad():
            fa, fb = encoder(images), encoder(augmented)
        pa, pb = projector(fa), projector(fb)
        ea, eb = rd_ccl.embed(pa), rd_ccl.embed(pb)
        loss = rd_loss(pa, rd_ccl.decode(ea))
        loss = loss + local_loss(pa, pb, fa, fb)
        z = torch.cat([ea.mean((2, 3)), eb.mean((2, 3))])
        loss = loss + supcon(z, torch.cat([labels, labels]))
        opt_ccl.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(rd_ccl.parameters()) + list(projector.parameters()), 5)
        opt_ccl.step()

    def infer():
        rd.eval()
        with torch.no_grad():
            feats = encoder(images)
            maps, scores = anomaly_maps(feats, rd.decode(rd.embed(feats)), args.size, kernel)
            maps.sum().item()
        rd.train()

    result = {"threads": args.threads, "size": args.size, "batch": args.batch,
              "torch": torch.__version__}
    for name, fn in [("rdStepMs", rd_step), ("cclStepMs", ccl_step), ("inferMs", infer)]:
        for _ in range(args.warmup):
            fn()
        times = []
        for _ in range(args.reps):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        result[name] = times[len(times) // 2]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
