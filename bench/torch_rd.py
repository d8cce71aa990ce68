"""PyTorch copy of the demo's model, for the speed ratios of bench/report.ts (run when Debian's
python3-torch is installed) and checked output for output against ours by bench/torch_parity.ts.

What it is: the shipped small_resnet backbone (frozen, eval-mode batch norm; torchvision names,
loaded from weights/small_resnet.safetensors), RD's OCBE bottleneck and decoder with the official
module names (bn.conv1 ... bn.bn_layer.0, decoder.layer1.0.upsample.0 ...), RD's loss (per scale,
1 - cosine of the whole flattened C*H*W maps, batch mean, summed over scales), RD's inference maps
(per-pixel 1 - cosine, bilinear upsampling, mean over scales, Gaussian blur sigma 4 with scipy's
half-sample "reflect" border, max score), and an RD + CCL step as lib/ccl does it with the demo's
CCL settings: the per-scale projector (4 x conv3x3 + InstanceNorm + LeakyReLU 0.01) on both views,
feature noise (p 0.31, half the positions, N(0, 1)) on the original view's projected features,
RD's loss against the *raw* frozen features, local CL (match on the frozen features in a 3x3
window, positive = matched pixel of the augmented view, negative = same pixel of a random
different-class image's augmented view, softplus((neg - pos) / 0.05), mean over pixels and
scales), SupCon (0.05) on the pooled bottleneck features of both views, Adam(0.5, 0.999, eps 1e-8)
with lr 5e-3 (RD) and 1e-3 (projector), global-norm clip 5 (the benchmark's setting).

Speed mode, random weights (the work per step does not depend on the values):
    python3 bench/torch_rd.py --threads 1 --size 64 --batch 16 --reps 5  -> one JSON line
Parity mode, on the tensors bench/torch_parity.ts exported (weights, batch, noise, negatives):
    python3 bench/torch_rd.py --parity DIR   -> writes DIR/<case>/torch/*.f32 + torch.json
The parity check runs the very functions the speed mode times. At batch 16, 64 px, against
ccl-ad on wasm it found (max |diff| / max |torch value|): features, decoder outputs, maps,
scores <= 1e-5, losses <= 4e-7, CCL matches identical, RD gradients <= 8e-6, clip + Adam on the
same gradients <= 2e-7; some RD + CCL gradients of ccl-ad were up to 5e-3 (wasm) / 2e-1 (cpu)
from the float64 result (torch float32: <= 5e-6): float32 pre-activations within ~1e-6 of zero
that round to the other side of a ReLU kink than float64 does (README, Speed), not a wrong gradient.
"""
import argparse
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHTS = os.path.join(HERE, "..", "weights", "small_resnet.safetensors")


# ---------------------------------------------------------------------------------------------
# Networks (module names = the official RD code's = our checkpoint names without "rd.")


class Block(nn.Module):
    """torchvision BasicBlock; resample "down" (stride 2), "up" (2x2 transposed convs) or none."""

    def __init__(self, cin, cout, resample="none"):
        super().__init__()
        if resample == "up":
            self.conv1 = nn.ConvTranspose2d(cin, cout, 2, 2, bias=False)
        else:
            self.conv1 = nn.Conv2d(cin, cout, 3, 2 if resample == "down" else 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.upsample = self.downsample = None
        if resample == "up":
            self.upsample = nn.Sequential(nn.ConvTranspose2d(cin, cout, 2, 2, bias=False),
                                          nn.BatchNorm2d(cout))
        elif resample == "down" or cin != cout:
            stride = 2 if resample == "down" else 1
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        short = self.upsample or self.downsample
        return F.relu(y + (short(x) if short is not None else x))


class SmallResNet(nn.Module):
    """small_resnet: torchvision ResNet-18 layout, half width, stages 1-3 (32/64/128)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.layer1 = nn.Sequential(Block(32, 32), Block(32, 32))
        self.layer2 = nn.Sequential(Block(32, 64, "down"), Block(64, 64))
        self.layer3 = nn.Sequential(Block(64, 128, "down"), Block(128, 128))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        out = []
        for layer in (self.layer1, self.layer2, self.layer3):
            x = layer(x)
            out.append(x)
        return out


class OCBE(nn.Module):
    def __init__(self, c):
        super().__init__()
        c1, c2, c3 = c
        self.conv1, self.bn1 = nn.Conv2d(c1, c2, 3, 2, 1, bias=False), nn.BatchNorm2d(c2)
        self.conv2, self.bn2 = nn.Conv2d(c2, c3, 3, 2, 1, bias=False), nn.BatchNorm2d(c3)
        self.conv3, self.bn3 = nn.Conv2d(c2, c3, 3, 2, 1, bias=False), nn.BatchNorm2d(c3)
        self.bn_layer = nn.Sequential(Block(3 * c3, 2 * c3, "down"))

    def forward(self, feats):
        f1, f2, f3 = feats
        s1 = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(f1))))))
        s2 = F.relu(self.bn3(self.conv3(f2)))
        return self.bn_layer(torch.cat([s1, s2, f3], 1))


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        c1, c2, c3 = c
        self.layer1 = nn.Sequential(Block(2 * c3, c3, "up"))
        self.layer2 = nn.Sequential(Block(c3, c2, "up"))
        self.layer3 = nn.Sequential(Block(c2, c1, "up"))

    def forward(self, e):
        outs = []
        for layer in (self.layer1, self.layer2, self.layer3):
            e = layer(e)
            outs.append(e)
        return outs[::-1]


class RD(nn.Module):
    def __init__(self, c=(32, 64, 128)):
        super().__init__()
        self.bn = OCBE(c)
        self.decoder = Decoder(c)


class Projector(nn.Module):
    """Per scale: conv3x3 C -> C/2 -> C/4 -> C/2 -> C (no bias), each + InstanceNorm + LeakyReLU."""

    def __init__(self, channels=(32, 64, 128), slope=0.01):
        super().__init__()
        self.slope = slope
        self.count = len(channels)
        for s, c in enumerate(channels):
            widths = [c, c // 2, c // 4, c // 2, c]
            scale = nn.Module()
            for k in range(4):
                setattr(scale, f"conv{k}", nn.Conv2d(widths[k], widths[k + 1], 3, 1, 1, bias=False))
            setattr(self, f"scale{s}", scale)

    def forward(self, feats):
        out = []
        for s, x in enumerate(feats):
            scale = getattr(self, f"scale{s}")
            for k in range(4):
                x = F.leaky_relu(F.instance_norm(getattr(scale, f"conv{k}")(x), eps=1e-5), self.slope)
            out.append(x)
        return out


# ---------------------------------------------------------------------------------------------
# Losses and maps (lib/methods/rd, lib/ccl)


def cosine(a, b, dim):
    """As lib/methods/components/cosine.ts: each norm clamped to >= 1e-8."""
    return (a * b).sum(dim) / (a.norm(dim=dim).clamp(min=1e-8) * b.norm(dim=dim).clamp(min=1e-8))


def rd_loss(enc, dec):
    """Per scale 1 - cosine of the flattened C*H*W maps, mean over the batch, sum over scales."""
    return sum((1 - cosine(a.flatten(1), b.flatten(1), 1)).mean() for a, b in zip(enc, dec))


def gaussian_kernel(sigma=4.0, truncate=4.0):
    radius = int(round(truncate * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * x * x / (sigma * sigma))
    return torch.from_numpy((k / k.sum()).astype(np.float32))


def reflect_indices(n, radius):
    """scipy's "reflect" (d c b a | a b c d | d c b a) source index of each padded position."""
    out = []
    for i in range(-radius, n + radius):
        m = i % (2 * n)
        out.append(m if m < n else 2 * n - 1 - m)
    return torch.tensor(out)


def gaussian_blur(maps, kernel):
    """[B, H, W] -> [B, H, W], separable, scipy border."""
    radius = (len(kernel) - 1) // 2
    _, h, w = maps.shape
    x = maps[:, reflect_indices(h, radius)].unsqueeze(1)
    x = F.conv2d(x, kernel.view(1, 1, -1, 1))
    x = x[:, :, :, reflect_indices(w, radius)]
    return F.conv2d(x, kernel.view(1, 1, 1, -1))[:, 0]


def anomaly_maps(enc, dec, size, kernel):
    maps = sum(F.interpolate((1 - cosine(a, b, 1)).unsqueeze(1), size=(size, size),
                             mode="bilinear", align_corners=False) for a, b in zip(enc, dec))
    maps = gaussian_blur(maps[:, 0] / len(enc), kernel)
    return maps, maps.flatten(1).amax(1)


def window_matches(query, key, window=3):
    """Per pixel of `query` [B, C, H, W], the spatial index of its most similar pixel of `key`
    (cosine) within a window x window neighbourhood (centre first: ties stay in place), or over
    the whole map when window is 0 -> [B, H*W] int64."""
    b, c, h, w = query.shape
    q, k = F.normalize(query, dim=1), F.normalize(key, dim=1)
    if window == 0:
        return torch.bmm(q.flatten(2).transpose(1, 2), k.flatten(2)).argmax(2)
    r = window // 2
    offsets = [(0, 0)] + [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)
                          if (dy, dx) != (0, 0)]
    padded = F.pad(k, (r, r, r, r))
    ys, xs = torch.arange(h).view(h, 1), torch.arange(w).view(1, w)
    scores = []
    for dy, dx in offsets:
        sim = (q * padded[:, :, r + dy:r + dy + h, r + dx:r + dx + w]).sum(1)
        inside = (ys + dy >= 0) & (ys + dy < h) & (xs + dx >= 0) & (xs + dx < w)
        scores.append(sim.masked_fill(~inside, -3e38))
    best = torch.stack(scores, -1).argmax(-1)
    shifts = torch.tensor([dy * w + dx for dy, dx in offsets])
    return (torch.arange(h * w).view(1, h, w) + shifts[best]).flatten(1)


def local_loss_scale(query, key, matches, negatives, tau):
    """softplus((q_i.k_neg(i) - q_i.k_match(i)) / tau), mean over all B*H*W pixels; an image
    without a different-class partner (negatives[b] < 0) contributes 0."""
    b, c = query.shape[:2]
    q = F.normalize(query.flatten(2), dim=1).transpose(1, 2)
    k = F.normalize(key.flatten(2), dim=1).transpose(1, 2)
    positive = (q * torch.gather(k, 1, matches.unsqueeze(2).expand(-1, -1, c))).sum(2)
    negative = (q * k[negatives.clamp(min=0)]).sum(2)
    weight = (negatives >= 0).float().unsqueeze(1)
    return (F.softplus((negative - positive) / tau) * weight).mean()


def supcon(z, labels, tau):
    """SupCon (Khosla et al.): self out of the denominator, mean over each anchor's positives,
    then over the anchors that have one."""
    z = F.normalize(z, dim=1)
    eye = torch.eye(len(z), dtype=torch.bool)
    logits = (z @ z.t() / tau).masked_fill(eye, -1e9)
    positives = ((labels[:, None] == labels[None, :]) & ~eye).float()
    log_prob = logits - torch.logsumexp(logits, 1, keepdim=True)
    count = positives.sum(1)
    valid = count > 0
    if not valid.any():
        return z.sum() * 0
    per_anchor = (log_prob * positives).sum(1)[valid] / count[valid]
    return -per_anchor.mean()


def pick_different_class(labels, generator):
    out = torch.full((len(labels),), -1, dtype=torch.long)
    for i in range(len(labels)):
        others = (labels != labels[i]).nonzero().flatten()
        if len(others):
            out[i] = others[torch.randint(len(others), (1,), generator=generator)]
    return out


def random_noise(feats, generator, probability=0.31, fraction=0.5, std=1.0):
    """The noise to add to each scale (zeros when the step's coin says no): N(0, std^2) at
    exactly round(fraction * H * W) random positions per image, all channels."""
    if torch.rand((), generator=generator) >= probability:
        return None
    out = []
    for f in feats:
        b, c, h, w = f.shape
        count = round(fraction * h * w)
        mask = torch.zeros(b, h * w)
        for i in range(b):
            mask[i, torch.randperm(h * w, generator=generator)[:count]] = 1
        noise = torch.randn(f.shape, generator=generator) * std
        out.append(noise * mask.view(b, 1, h, w))
    return out


class Model:
    """Backbone, RD, projector (None without CCL) and the settings of one run."""

    def __init__(self, ccl=None, window=3, tau_local=0.05, tau_global=0.05, lambda_local=1.0,
                 lambda_global=1.0, lr=5e-3, lr_projector=1e-3, clip=5.0):
        self.encoder = SmallResNet().eval()
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        self.rd = RD()
        self.projector = Projector() if ccl else None
        self.ccl = ccl
        self.window, self.tau_local, self.tau_global = window, tau_local, tau_global
        self.lambda_local, self.lambda_global, self.clip = lambda_local, lambda_global, clip
        self.lr, self.lr_projector = lr, lr_projector
        self.reset_optimizer()

    def reset_optimizer(self):
        """Adam(0.5, 0.999, eps 1e-8), one group per parameter group of ours, fresh state."""
        groups = [{"params": list(self.rd.parameters()), "lr": self.lr}]
        if self.projector is not None:
            groups.append({"params": list(self.projector.parameters()), "lr": self.lr_projector})
        self.optimizer = torch.optim.Adam(groups, betas=(0.5, 0.999), eps=1e-8)

    def parameters(self):
        return [p for g in self.optimizer.param_groups for p in g["params"]]

    def losses(self, images, augmented=None, labels=None, noise=None, negatives=None):
        """The step's named losses (training-mode batch norm); `noise` and `negatives` are drawn
        here unless given (the parity check passes ours)."""
        with torch.no_grad():
            frozen = self.encoder(images)
        if self.projector is None:
            loss = rd_loss(frozen, self.rd.decoder(self.rd.bn(frozen)))
            return {"total": loss, "method": loss}
        dense = self.projector(frozen)
        if noise is None and self.ccl.get("noise", True):
            noise = random_noise(dense, self.ccl.get("generator"))
        if noise is not None:
            dense = [d + n for d, n in zip(dense, noise)]
        embedding = self.rd.bn(dense)
        method = rd_loss(frozen, self.rd.decoder(embedding))
        with torch.no_grad():
            frozen_b = self.encoder(augmented)
        dense_b = self.projector(frozen_b)
        embedding_b = self.rd.bn(dense_b)
        self.last_matches = []
        local = 0.0
        for s in range(len(dense)):
            with torch.no_grad():
                matches = window_matches(frozen[s], frozen_b[s], self.window)
            self.last_matches.append(matches)
            neg = negatives[s] if negatives is not None else \
                pick_different_class(labels, self.ccl.get("generator"))
            local = local + local_loss_scale(dense[s], dense_b[s], matches, neg, self.tau_local)
        local = local / len(dense)
        z = torch.cat([embedding.mean((2, 3)), embedding_b.mean((2, 3))])
        glob = supcon(z, torch.cat([labels, labels]), self.tau_global)
        total = method + self.lambda_global * glob + self.lambda_local * local
        return {"total": total, "method": method, "global": glob, "local": local}

    def step(self, *args, keep_grads=False, **kwargs):
        """One training step; returns (losses, gradient norm before clipping, the gradients
        before clipping when `keep_grads`)."""
        losses = self.losses(*args, **kwargs)
        self.optimizer.zero_grad()
        losses["total"].backward()
        raw = [p.grad.clone() for p in self.parameters()] if keep_grads else None
        norm = torch.nn.utils.clip_grad_norm_(self.parameters(), self.clip)
        self.optimizer.step()
        return losses, norm, raw

    def predict(self, images, size, kernel):
        """Eval-mode maps and scores; restores training mode."""
        self.rd.eval()
        with torch.no_grad():
            frozen = self.encoder(images)
            dense = self.projector(frozen) if self.projector is not None else frozen
            result = anomaly_maps(frozen, self.rd.decoder(self.rd.bn(dense)), size, kernel)
        self.rd.train()
        return result

    def reconstruct(self, images):
        """Eval-mode encoder maps, reconstructions and pooled embedding."""
        self.rd.eval()
        with torch.no_grad():
            frozen = self.encoder(images)
            dense = self.projector(frozen) if self.projector is not None else frozen
            embedding = self.rd.bn(dense)
            out = frozen, self.rd.decoder(embedding), embedding.mean((2, 3))
        self.rd.train()
        return out


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy()).view(info["shape"])
    return out


def load_backbone(encoder, path=WEIGHTS):
    tensors = read_safetensors(path)
    state = {k: v for k, v in tensors.items() if k in encoder.state_dict()}
    missing = [k for k in encoder.state_dict() if k not in state and "num_batches" not in k]
    if missing:
        raise ValueError(f"{path}: missing {missing}")
    encoder.load_state_dict(state, strict=False)


# ---------------------------------------------------------------------------------------------
# Parity mode: files written by bench/torch_parity.ts (raw little-endian float32 / int32, NHWC
# activations, HWIO conv weights, [in, 2, 2, out] transposed-conv weights)


def read_tensor(folder, entry):
    dtype = "<i4" if entry.get("dtype") == "int32" else "<f4"
    values = np.fromfile(os.path.join(folder, entry["file"]), dtype=dtype)
    return torch.from_numpy(values.copy()).view(entry["shape"])


def nchw(x):
    return x.permute(0, 3, 1, 2).contiguous()


def nhwc(x):
    return x.permute(0, 2, 3, 1).contiguous()


def to_torch_layout(x, module, layout):
    if isinstance(module, nn.ConvTranspose2d):
        if layout != "IHWO":
            raise ValueError(f"transposed conv weight with layout {layout}, expected IHWO")
        return x.permute(0, 3, 1, 2)
    if isinstance(module, nn.Conv2d):
        if layout != "HWIO":
            raise ValueError(f"conv weight with layout {layout}, expected HWIO")
        return x.permute(3, 2, 0, 1)
    return x


def to_our_layout(x, module):
    if isinstance(module, nn.ConvTranspose2d):
        return x.permute(0, 2, 3, 1)
    if isinstance(module, nn.Conv2d):
        return x.permute(2, 3, 1, 0)
    return x


def our_tensors(model):
    """(our name, torch module, attribute) for every variable of ours."""
    out = []
    for prefix, net in (("rd.", model.rd), ("ccl.projector.", model.projector)):
        if net is None:
            continue
        for mod_name, module in net.named_modules():
            for attr in ("weight", "bias", "running_mean", "running_var"):
                if isinstance(getattr(module, attr, None), torch.Tensor) and \
                        (attr in dict(module.named_parameters(recurse=False)) or
                         attr in dict(module.named_buffers(recurse=False))):
                    out.append((f"{prefix}{mod_name}.{attr}", module, attr))
    return out


class Writer:
    def __init__(self, folder):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.entries = {}

    def put(self, name, tensor):
        t = tensor.detach().contiguous()
        dtype = "int32" if t.dtype in (torch.int32, torch.int64) else "float32"
        array = t.numpy().astype("<i4" if dtype == "int32" else "<f4")
        file = name.replace("/", "_") + (".i32" if dtype == "int32" else ".f32")
        array.tofile(os.path.join(self.folder, file))
        self.entries[name] = {"file": file, "shape": list(t.shape), "dtype": dtype}

    def close(self, extra):
        with open(os.path.join(self.folder, "torch.json"), "w") as f:
            json.dump({"tensors": self.entries, **extra}, f)


def parity_case(folder):
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    tensors = manifest["tensors"]
    get = lambda name: read_tensor(folder, tensors[name])
    ccl = manifest["ccl"]

    def build(dtype):
        c = ccl or {}
        model = Model(ccl=ccl and {"noise": False}, window=c.get("window", 3),
                      tau_local=c.get("temperatureLocal", 0.05),
                      tau_global=c.get("temperatureGlobal", 0.05),
                      lambda_local=c.get("lambdaLocal", 1.0), lambda_global=c.get("lambdaGlobal", 1.0),
                      lr=manifest["learningRate"], lr_projector=c.get("projectorLearningRate", 1e-3),
                      clip=manifest["clipNorm"])
        if ccl:
            model.projector.slope = c.get("projectorLeakySlope", 0.01)
        load_backbone(model.encoder)
        names = our_tensors(model)
        ours = {f"var/{n}" for n, _, _ in names}
        exported = {n for n in tensors if n.startswith("var/")}
        if ours != exported:
            raise ValueError(f"variables differ: ours only {sorted(exported - ours)}, "
                             f"torch only {sorted(ours - exported)}")
        set_values(names, lambda name: get(f"var/{name}"), lambda name: tensors[f"var/{name}"])
        for net in (model.encoder, model.rd, model.projector):
            if net is not None:
                net.to(dtype)
        model.reset_optimizer()
        return model, names

    images, augmented = nchw(get("images")), nchw(get("augmented"))
    labels = get("classIds").long()
    kwargs = {}
    if ccl:
        kwargs = {"augmented": augmented, "labels": labels,
                  "negatives": [get(f"negatives{s}").long() for s in range(3)]}
        if "noise0" in tensors:
            kwargs["noise"] = [nchw(get(f"noise{s}")) for s in range(3)]
    size = images.shape[-1]
    kernel = gaussian_kernel()
    out = Writer(os.path.join(folder, "torch"))
    model, names = build(torch.float32)

    def eval_outputs(tag):
        enc, dec, compact = model.reconstruct(images)
        for s in range(3):
            out.put(f"{tag}/encoder{s}", nhwc(enc[s]))
            out.put(f"{tag}/decoder{s}", nhwc(dec[s]))
        out.put(f"{tag}/compact", compact)
        maps, scores = model.predict(images, size, kernel)
        out.put(f"{tag}/maps", maps)
        out.put(f"{tag}/scores", scores)

    def write_step(prefix, step_model, step_names, result):
        losses, norm, raw = result
        raw_grads = {id(p): g for p, g in zip(step_model.parameters(), raw)}
        for key, value in losses.items():
            out.put(f"{prefix}loss/{key}", value.reshape(1).float())
        out.put(f"{prefix}gradNorm", norm.reshape(1).float())
        for name, module, attr in step_names:
            param = getattr(module, attr)
            if isinstance(param, nn.Parameter):
                out.put(f"{prefix}grad/{name}", to_our_layout(raw_grads[id(param)], module).float())
            if prefix == "":
                out.put(f"var/{name}", to_our_layout(param, module))

    eval_outputs("before")
    write_step("", model, names, model.step(images, keep_grads=True, **kwargs))
    if ccl:
        for s, m in enumerate(model.last_matches):
            out.put(f"matches{s}", m.flatten())
    # Torch's clip + Adam applied to OUR gradients from the same initial weights (the running
    # statistics stay those of torch's own step): the optimiser compared without the first Adam
    # step's amplification of float32 noise in tiny gradients (lr * g / (|g| + eps)).
    ours_dir = os.path.join(folder, "ours")
    with open(os.path.join(ours_dir, "ours.json")) as f:
        our_files = json.load(f)["tensors"]
    our_grad = lambda name: torch.from_numpy(np.fromfile(
        os.path.join(ours_dir, our_files[f"grad/{name}"]["file"]), dtype="<f4").copy()
    ).view(tensors[f"var/{name}"]["shape"])
    trainable = [(n, m, a) for n, m, a in names if isinstance(getattr(m, a), nn.Parameter)]
    set_values(trainable, lambda name: get(f"var/{name}"), lambda name: tensors[f"var/{name}"])
    model.reset_optimizer()
    for name, module, attr in trainable:
        getattr(module, attr).grad = to_torch_layout(our_grad(name), module,
                                                     tensors[f"var/{name}"].get("layout")).clone()
    torch.nn.utils.clip_grad_norm_(model.parameters(), model.clip)
    model.optimizer.step()
    for name, module, attr in trainable:
        out.put(f"varFromOurGrads/{name}", to_our_layout(getattr(module, attr), module))
    eval_outputs("after")
    # The same step in float64: the reference both float32 implementations are measured against.
    model, names = build(torch.float64)
    double = {k: ([x.double() for x in v] if k == "noise" else v) for k, v in kwargs.items()}
    if ccl:
        double["augmented"] = augmented.double()
    write_step("f64/", model, names, model.step(images.double(), keep_grads=True, **double))
    out.close({"torch": torch.__version__, "threads": torch.get_num_threads()})


def set_values(names, value_of, entry_of):
    with torch.no_grad():
        for name, module, attr in names:
            value = to_torch_layout(value_of(name), module, entry_of(name).get("layout"))
            target = getattr(module, attr)
            target.copy_(value.to(target.dtype))


def parity(root):
    with open(os.path.join(root, "cases.json")) as f:
        cases = json.load(f)
    for case in cases:
        parity_case(os.path.join(root, case))
    print(json.dumps({"cases": cases, "torch": torch.__version__}))


# ---------------------------------------------------------------------------------------------
# Speed mode


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--parity", metavar="DIR", help="run the parity check on DIR instead")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.parity:
        parity(args.parity)
        return
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    rd = Model()
    ccl = Model(ccl={"noise": True, "generator": generator})
    for m in (rd, ccl):
        load_backbone(m.encoder)
    images = torch.randn(args.batch, 3, args.size, args.size)
    augmented = torch.randn(args.batch, 3, args.size, args.size)
    labels = torch.arange(args.batch) % 4
    kernel = gaussian_kernel()

    def infer():
        maps, _ = rd.predict(images, args.size, kernel)
        maps.sum().item()

    result = {"threads": args.threads, "size": args.size, "batch": args.batch,
              "torch": torch.__version__}
    steps = [("rdStepMs", lambda: rd.step(images)),
             ("cclStepMs", lambda: ccl.step(images, augmented, labels)),
             ("inferMs", infer)]
    for name, fn in steps:
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
