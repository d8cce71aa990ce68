import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
// Registers the gradient functions (tfjs-core alone has none).
import "../lib/backend/register_gradients.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  encodeSafetensors,
  floatToHalf,
  halfToFloat,
  parseSafetensors,
  tensorToFloat32,
} from "../lib/backbones/safetensors.ts";
import { FrozenConvBn, oihwToHwio, torchMaxPool2d } from "../lib/backbones/layers.ts";
import {
  FrozenResNet,
  randomResNetStateDict,
  RESNET_CONFIGS,
  type ResNetConfig,
  resnetParameterShapes,
  type StateDict,
  stateDictFromSafetensors,
} from "../lib/backbones/resnet.ts";
import { loadBackbone, parseBackboneSpec } from "../lib/backbones/registry.ts";
import {
  loadSmallResnet,
  SMALL_RESNET_CONFIG,
  SMALL_RESNET_INFO_URL,
  SMALL_RESNET_WEIGHTS_URL,
} from "../lib/backbones/small_resnet.ts";
import { TrainableResNet, trainingBatchNorm } from "../lib/backbones/trainable_resnet.ts";
import { evaluateHeldOut } from "../lib/backbones/pretrain_eval.ts";
import { makeHeldOutSet, PRETRAIN_CLASSES } from "../lib/backbones/pretrain_task.ts";
import { BatchStream } from "../lib/backbones/pretrain_batches.ts";
import { registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

await tf.setBackend("wasm");
await tf.ready();
registerWasmConvGradients();

const TINY_WIDE: ResNetConfig = {
  ...RESNET_CONFIGS.wide_resnet50_2,
  name: "tiny_wide",
  layers: [1, 1, 1],
};

function randomArray(n: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => randomNormal(rng));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** What a torchvision state_dict holds beyond stages 1-3: counters, layer4 and fc. */
function withTorchExtras(stateDict: StateDict) {
  const tensors = new Map<
    string,
    { shape: number[]; data: Float32Array } | { shape: number[]; data: BigInt64Array }
  >(stateDict);
  for (const name of stateDict.keys()) {
    if (name.endsWith(".running_var")) {
      const prefix = name.slice(0, -".running_var".length);
      tensors.set(`${prefix}.num_batches_tracked`, { shape: [], data: new BigInt64Array([7n]) });
    }
  }
  tensors.set("layer4.0.conv1.weight", { shape: [4, 2, 3, 3], data: randomArray(72, 1) });
  tensors.set("fc.weight", { shape: [10, 8], data: randomArray(80, 2) });
  tensors.set("fc.bias", { shape: [10], data: randomArray(10, 3) });
  return tensors;
}

async function writeTemp(bytes: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await Deno.writeFile(path, bytes);
  return path;
}

// ---------------------------------------------------------------- safetensors

Deno.test("safetensors: F32 round trip keeps values, shapes, order and metadata", () => {
  const a = randomArray(24, 1), b = new Float32Array([1.5, -0, 3e-39, 1e30]);
  const bytes = encodeSafetensors(
    { "layer1.0.conv1.weight": { shape: [2, 3, 2, 2], data: a }, b: { shape: [4], data: b } },
    { metadata: { format: "pt" } },
  );
  const file = parseSafetensors(bytes, "mem");
  assertEquals([...file.tensors.keys()], ["layer1.0.conv1.weight", "b"]);
  assertEquals(file.metadata, { format: "pt" });
  const entry = file.tensors.get("layer1.0.conv1.weight")!;
  assertEquals(entry.dtype, "F32");
  assertEquals(entry.shape, [2, 3, 2, 2]);
  assertEquals(tensorToFloat32(entry), a);
  assertEquals(tensorToFloat32(file.tensors.get("b")!), b);
  // The data section starts 8-byte aligned, as the reference writer does it.
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals((8 + headerLength) % 8, 0);
});

Deno.test("safetensors: F16 and BF16 round trips are exact where representable, close elsewhere", () => {
  const exact = new Float32Array([0, 1, -2, 0.5, 1024, 65504, 2 ** -24, -(2 ** -14), 0.099975586]);
  const random = randomArray(1000, 5);
  for (const dtype of ["F16", "BF16"] as const) {
    const bytes = encodeSafetensors(
      { exact: { shape: [exact.length], data: exact }, random: { shape: [10, 100], data: random } },
      { dtype },
    );
    const file = parseSafetensors(bytes);
    assertEquals(file.tensors.get("random")!.dtype, dtype);
    const back = tensorToFloat32(file.tensors.get("random")!);
    const tolerance = dtype === "F16" ? 2 ** -11 : 2 ** -8;
    for (let i = 0; i < random.length; i++) {
      assert(Math.abs(back[i] - random[i]) <= Math.abs(random[i]) * tolerance + 1e-7);
    }
    if (dtype === "F16") assertEquals(tensorToFloat32(file.tensors.get("exact")!), exact);
  }
});

Deno.test("safetensors: half-precision bit patterns match IEEE 754", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [Infinity, 0x7c00],
    [1e6, 0x7c00],
    [2 ** -26, 0x0000],
  ];
  for (const [value, bits] of cases) {
    assertEquals(floatToHalf(value), bits, `floatToHalf(${value})`);
  }
  assertEquals(halfToFloat(0x3c00), 1);
  assertEquals(halfToFloat(0x0001), 2 ** -24);
  assertEquals(halfToFloat(0xfc00), -Infinity);
  assert(Number.isNaN(halfToFloat(0x7e00)));
});

Deno.test("safetensors: I64 tensors parse but are refused as floats, naming the tensor", () => {
  const bytes = encodeSafetensors({
    "bn1.num_batches_tracked": { shape: [], data: new BigInt64Array([42n]) },
  });
  const file = parseSafetensors(bytes, "counts.safetensors");
  const entry = file.tensors.get("bn1.num_batches_tracked")!;
  assertEquals(entry.dtype, "I64");
  assertEquals(entry.shape, []);
  assertEquals(new DataView(entry.bytes.buffer, entry.bytes.byteOffset).getBigInt64(0, true), 42n);
  const error = assertThrows(() => tensorToFloat32(entry, file.source));
  assert(String(error).includes("bn1.num_batches_tracked") && String(error).includes("I64"));
});

Deno.test("safetensors: malformed files give clear errors", () => {
  const good = encodeSafetensors({ w: { shape: [4], data: new Float32Array(4) } });
  const cases: [string, Uint8Array, RegExp][] = [
    ["too short", good.slice(0, 5), /8-byte header length is missing/],
    ["header cut", good.slice(0, 20), /truncated: header needs/],
    ["data cut", good.slice(0, good.length - 3), /"w" has data_offsets \[0, 16\] out of range/],
  ];
  const badJson = new Uint8Array(16);
  new DataView(badJson.buffer).setBigUint64(0, 8n, true);
  badJson.set(new TextEncoder().encode("{not jso"), 8);
  cases.push(["bad json", badJson, /bad header/]);
  const wrongCount = craft({ w: { dtype: "F32", shape: [3], data_offsets: [0, 16] } }, 16);
  cases.push(["byte count", wrongCount, /"w" \(F32 \[3\]\) needs 12 bytes but its data_offsets/]);
  const badDtype = craft({ w: { dtype: "Q4", shape: [1], data_offsets: [0, 1] } }, 1);
  cases.push(["dtype", badDtype, /unsupported dtype "Q4"/]);
  for (const [what, bytes, pattern] of cases) {
    const error = assertThrows(() => parseSafetensors(bytes, "bad.safetensors"), Error);
    assert(pattern.test(error.message), `${what}: ${error.message}`);
    assert(error.message.startsWith("bad.safetensors:"), `${what} names the file`);
  }
});

function craft(header: Record<string, unknown>, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

// ---------------------------------------------------------------- conv / BN / pool semantics

Deno.test("layers: 1x1 conv + BN by hand (OIHW order, running stats, eps 1e-5)", async () => {
  // out0 = 1*r + 2*g + 3*b, out1 = -b  (PyTorch OIHW [2, 3, 1, 1])
  const conv = {
    shape: [2, 3, 1, 1] as [number, number, number, number],
    data: new Float32Array([1, 2, 3, 0, 0, -1]),
  };
  const bn = {
    weight: new Float32Array([2, 0.5]),
    bias: new Float32Array([0.25, -1]),
    runningMean: new Float32Array([1, -3]),
    runningVar: new Float32Array([4, 0]), // var 0: the output is only finite because of eps
  };
  const layer = new FrozenConvBn(conv, bn, { stride: 1, padding: 0 });
  const pixel = [0.5, -1, 2]; // r, g, b
  const x = tf.tensor4d([...pixel, ...pixel.map((v) => -v)], [1, 1, 2, 3]);
  const y = await layer.apply(x, false).data();
  const expected = (r: number, g: number, b: number) => {
    const c0 = r + 2 * g + 3 * b, c1 = -b;
    return [
      (c0 - 1) / Math.sqrt(4 + 1e-5) * 2 + 0.25,
      (c1 + 3) / Math.sqrt(0 + 1e-5) * 0.5 - 1,
    ];
  };
  const want = [...expected(0.5, -1, 2), ...expected(-0.5, 1, -2)];
  for (let i = 0; i < 4; i++) assertAlmostEquals(y[i], want[i], Math.abs(want[i]) * 1e-5 + 1e-5);
  const relu = await layer.apply(x, true).data();
  for (let i = 0; i < 4; i++) {
    assertAlmostEquals(relu[i], Math.max(0, want[i]), Math.abs(want[i]) * 1e-5 + 1e-5);
  }
  tf.dispose(x);
  layer.dispose();
});

/** Direct PyTorch-semantics conv: NHWC input, OIHW weights, symmetric zero padding. */
function referenceConv(
  x: Float32Array,
  [n, h, w, cin]: number[],
  weight: Float32Array,
  [cout, , k]: number[],
  stride: number,
  pad: number,
): { data: Float32Array; shape: number[] } {
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1,
    ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  const out = new Float32Array(n * oh * ow * cout);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let o = 0; o < cout; o++) {
          let sum = 0;
          for (let ky = 0; ky < k; ky++) {
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              for (let c = 0; c < cin; c++) {
                sum += x[((b * h + iy) * w + ix) * cin + c] *
                  weight[((o * cin + c) * k + ky) * k + kx];
              }
            }
          }
          out[((b * oh + oy) * ow + ox) * cout + o] = sum;
        }
      }
    }
  }
  return { data: out, shape: [n, oh, ow, cout] };
}

Deno.test("layers: 7x7 stride-2 and 3x3 convs match PyTorch's symmetric padding", async () => {
  const identityBn = (c: number) => ({
    weight: new Float32Array(c).fill(1),
    bias: new Float32Array(c),
    runningMean: new Float32Array(c),
    runningVar: new Float32Array(c).fill(1 - 1e-5), // var + eps = 1
  });
  for (const [k, stride, pad, size] of [[7, 2, 3, 10], [3, 2, 1, 9], [3, 1, 1, 6], [1, 2, 0, 8]]) {
    const xShape = [2, size, size, 3], wShape = [4, 3, k, k];
    const x = randomArray(xShape.reduce((a, b) => a * b), k + size);
    const weight = randomArray(wShape.reduce((a, b) => a * b), 100 + k);
    const want = referenceConv(x, xShape, weight, wShape, stride, pad);
    const layer = new FrozenConvBn(
      { shape: wShape as [number, number, number, number], data: weight },
      identityBn(4),
      {
        stride,
        padding: pad,
      },
    );
    const input = tf.tensor4d(x, xShape as [number, number, number, number]);
    const y = layer.apply(input, false);
    assertEquals(y.shape, want.shape, `k${k} s${stride} p${pad}`);
    assert(maxAbsDiff(await y.data(), want.data) < 1e-4, `k${k} s${stride} p${pad} values`);
    tf.dispose([input, y]);
    layer.dispose();
  }
});

Deno.test("layers: OIHW -> HWIO moves each weight to [kh][kw][in][out]", () => {
  const shape: [number, number, number, number] = [2, 3, 2, 2];
  const data = Float32Array.from({ length: 24 }, (_, i) => i);
  const hwio = oihwToHwio(data, shape);
  for (let o = 0; o < 2; o++) {
    for (let i = 0; i < 3; i++) {
      for (let y = 0; y < 2; y++) {
        for (let x = 0; x < 2; x++) {
          assertEquals(hwio[((y * 2 + x) * 3 + i) * 2 + o], ((o * 3 + i) * 2 + y) * 2 + x);
        }
      }
    }
  }
});

Deno.test("layers: max-pool 3x3/2 pad 1 uses PyTorch windows and never picks the padding", async () => {
  // All negative: zero padding would show up as 0s; TF "same" would shift the windows.
  const values = Array.from({ length: 16 }, (_, i) => -1 - ((i * 7) % 16));
  const x = tf.tensor4d(values, [1, 4, 4, 1]);
  const y = torchMaxPool2d(x, 3, 2, 1);
  assertEquals(y.shape, [1, 2, 2, 1]);
  const at = (
    r: number,
    c: number,
  ) => (r < 0 || r > 3 || c < 0 || c > 3 ? -Infinity : values[r * 4 + c]);
  const want: number[] = [];
  for (const oy of [0, 1]) {
    for (const ox of [0, 1]) {
      let m = -Infinity;
      for (let dy = 0; dy < 3; dy++) {
        for (let dx = 0; dx < 3; dx++) m = Math.max(m, at(oy * 2 - 1 + dy, ox * 2 - 1 + dx));
      }
      want.push(m);
    }
  }
  assertEquals([...await y.data()], want);
  tf.dispose([x, y]);
});

// ---------------------------------------------------------------- ResNets

Deno.test("resnet: parameter counts of stages 1-3 match torchvision's architectures", () => {
  // torchvision totals minus layer4 and fc (hand-computed): resnet18 11,689,512 - 8,393,728 -
  // 513,000; resnet50 25,557,032 - 14,964,736 - 2,049,000; wide_resnet50_2 68,883,240 -
  // 41,971,712 - 2,049,000. Running statistics are buffers, not parameters.
  const count = (config: ResNetConfig) =>
    [...resnetParameterShapes(config)]
      .filter(([name]) => !name.includes("running_"))
      .reduce((sum, [, shape]) => sum + shape.reduce((a, b) => a * b, 1), 0);
  assertEquals(count(RESNET_CONFIGS.resnet18), 2_782_784);
  assertEquals(count(RESNET_CONFIGS.resnet50), 8_543_296);
  assertEquals(count(RESNET_CONFIGS.wide_resnet50_2), 24_862_528);
  const shapes = resnetParameterShapes(RESNET_CONFIGS.wide_resnet50_2);
  assertEquals(shapes.get("layer1.0.conv1.weight"), [128, 64, 1, 1]);
  assertEquals(shapes.get("layer1.0.conv3.weight"), [256, 128, 1, 1]);
  assertEquals(shapes.get("layer2.0.conv2.weight"), [256, 256, 3, 3]);
  assertEquals(shapes.get("layer3.5.bn3.running_var"), [1024]);
  assertEquals(shapes.get("layer3.0.downsample.0.weight"), [1024, 512, 1, 1]);
  assertEquals(shapes.has("layer3.6.conv1.weight"), false);
});

Deno.test("resnet18 and a 1-block wide ResNet load from torchvision-named safetensors", async () => {
  const cases: [ResNetConfig, number[]][] = [
    [RESNET_CONFIGS.resnet18, [64, 128, 256]],
    [TINY_WIDE, [256, 512, 1024]],
  ];
  for (const [config, channels] of cases) {
    const stateDict = randomResNetStateDict(config, 3);
    const path = await writeTemp(encodeSafetensors(withTorchExtras(stateDict)));
    const spec = config === TINY_WIDE ? undefined : `resnet18:${path}`;
    const backbone = spec ? await loadBackbone(spec) : (() => {
      const file = parseSafetensors(Deno.readFileSync(path), path);
      const loaded = stateDictFromSafetensors(config, file);
      return new FrozenResNet(config, loaded.stateDict, { ignoredTensors: loaded.ignored });
    })();
    assertEquals([...backbone.channels], channels);
    assertEquals([...backbone.strides], [4, 8, 16]);
    assert(backbone.ignoredTensors.includes("fc.weight"));
    assert(backbone.ignoredTensors.includes("layer4.0.conv1.weight"));
    assert(backbone.ignoredTensors.includes("layer1.0.bn1.num_batches_tracked"));
    const x = tf.tensor4d(randomArray(2 * 64 * 64 * 3, 9), [2, 64, 64, 3]);
    const features = backbone.apply(x);
    assertEquals(features.map((f) => f.shape), [
      [2, 16, 16, channels[0]],
      [2, 8, 8, channels[1]],
      [2, 4, 4, channels[2]],
    ]);
    // Same numbers as a backbone built straight from the state dict (the file changes nothing).
    const direct = new FrozenResNet(config, stateDict);
    const again = direct.apply(x);
    for (let s = 0; s < 3; s++) {
      const a = await features[s].data(), b = await again[s].data();
      assert(a.every(Number.isFinite));
      assertEquals(maxAbsDiff(a, b), 0);
    }
    tf.dispose([x, ...features, ...again]);
    direct.dispose();
    backbone.dispose();
    await Deno.remove(path);
  }
});

Deno.test("resnet: missing, mis-shaped and unexpected tensors are listed in one error", async () => {
  const config = SMALL_RESNET_CONFIG;
  const tensors = withTorchExtras(randomResNetStateDict(config, 1));
  tensors.delete("layer2.0.downsample.1.running_var");
  tensors.set("layer1.0.conv1.weight", { shape: [32, 32, 1, 1], data: randomArray(1024, 4) });
  tensors.set("head.proj.weight", { shape: [3], data: randomArray(3, 5) });
  const path = await writeTemp(encodeSafetensors(tensors));
  const error = await assertRejects(() => loadBackbone(`small_resnet:${path}`), Error);
  const message = error.message;
  assert(message.startsWith(path), message);
  assert(message.includes("3 problems"), message);
  assert(message.includes("missing layer2.0.downsample.1.running_var (expected [64])"), message);
  assert(
    message.includes("layer1.0.conv1.weight has shape [32, 32, 1, 1], expected [32, 32, 3, 3]"),
    message,
  );
  assert(message.includes("unexpected tensor head.proj.weight (F32 [3])"), message);
  assert(!message.includes("fc.weight") && !message.includes("num_batches_tracked"), message);
  await Deno.remove(path);
});

Deno.test("resnet: F16 weights and a DataParallel 'module.' prefix load", () => {
  const stateDict = randomResNetStateDict(TINY_WIDE, 2);
  const prefixed = new Map([...stateDict].map(([k, v]) => [`module.${k}`, v]));
  const file = parseSafetensors(encodeSafetensors(prefixed, { dtype: "F16" }), "f16");
  const { stateDict: loaded } = stateDictFromSafetensors(TINY_WIDE, file);
  const w = loaded.get("layer3.0.conv2.weight")!;
  assertEquals(w.shape, [512, 512, 3, 3]);
  assert(maxAbsDiff(w.data, stateDict.get("layer3.0.conv2.weight")!.data) < 1e-3);
});

Deno.test("backbones are frozen and apply() leaks nothing", async () => {
  const variablesBefore = Object.keys(tf.engine().state.registeredVariables).length;
  const backbone = await loadBackbone("small_resnet:random:5");
  assertEquals(Object.keys(tf.engine().state.registeredVariables).length, variablesBefore);
  const x = tf.zeros([2, 64, 64, 3]) as tf.Tensor4D;
  tf.dispose(backbone.apply(x));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const features = backbone.apply(x);
    assertEquals(tf.memory().numTensors, before + 3);
    tf.dispose(features);
  }
  assertEquals(tf.memory().numTensors, before);
  const weights = tf.memory().numTensors;
  backbone.dispose();
  const convs = [...resnetParameterShapes(SMALL_RESNET_CONFIG).values()].filter((s) =>
    s.length === 4
  );
  assertEquals(tf.memory().numTensors, weights - 2 * convs.length, "dispose frees filter + bias");
  assertThrows(() => backbone.apply(x), Error, "after dispose");
  assertThrows(() => backbone.apply(tf.zeros([1, 8, 8, 1]) as tf.Tensor4D), Error);
  x.dispose();
});

// ---------------------------------------------------------------- registry

Deno.test("registry: specs parse, and bad specs say what is wrong", () => {
  assertEquals(parseBackboneSpec("small_resnet"), {
    architecture: "small_resnet",
    weights: { kind: "shipped" },
  });
  assertEquals(parseBackboneSpec("small_resnet:random").weights, {
    kind: "random",
    seed: undefined,
  });
  assertEquals(parseBackboneSpec("resnet18:random:42").weights, { kind: "random", seed: 42 });
  assertEquals(parseBackboneSpec("wide_resnet50_2:C:/w/wrn:2.safetensors").weights, {
    kind: "file",
    path: "C:/w/wrn:2.safetensors",
  });
  assertThrows(() => parseBackboneSpec("resnet18"), Error, "no shipped weights");
  assertThrows(() => parseBackboneSpec("vgg16:x"), Error, 'unknown backbone "vgg16"');
  assertThrows(() => parseBackboneSpec("resnet18:"), Error, "empty path");
});

Deno.test("registry: random init is seeded", async () => {
  const x = tf.tensor4d(randomArray(64 * 64 * 3, 1), [1, 64, 64, 3]);
  const run = async (spec: string, seed?: number) => {
    const backbone = await loadBackbone(spec, { seed });
    const features = backbone.apply(x);
    const data = await features[2].data();
    tf.dispose(features);
    backbone.dispose();
    return data;
  };
  const a = await run("small_resnet:random", 3), b = await run("small_resnet:random:3");
  const c = await run("small_resnet:random:4");
  assertEquals(maxAbsDiff(a, b), 0);
  assert(maxAbsDiff(a, c) > 1e-3);
  x.dispose();
});

Deno.test("registry: a missing file is a clear error", async () => {
  await assertRejects(
    () => loadBackbone("resnet18:/nonexistent/r18.safetensors"),
    Error,
    "/nonexistent/r18.safetensors",
  );
  await assertRejects(
    () => loadSmallResnet(new URL("file:///nonexistent/small_resnet.safetensors")),
    Error,
    "scripts/pretrain_backbone.ts",
  );
});

// ---------------------------------------------------------------- shipped small_resnet

Deno.test("small_resnet: shipped weights load, give [B,16,16,32]/[B,8,8,64]/[B,4,4,128], and classify", async () => {
  const backbone = await loadBackbone("small_resnet");
  assertEquals(backbone.name, "small_resnet");
  assertEquals([...backbone.ignoredTensors].sort(), ["fc.bias", "fc.weight"]);
  const x = tf.tensor4d(randomArray(2 * 64 * 64 * 3, 2), [2, 64, 64, 3]);
  const features = backbone.apply(x);
  assertEquals(features.map((f) => f.shape), [[2, 16, 16, 32], [2, 8, 8, 64], [2, 4, 4, 128]]);
  for (const f of features) {
    const data = await f.data();
    assert(data.every(Number.isFinite));
    assert(tf.tidy(() => tf.moments(f).variance.dataSync()[0]) > 0);
  }
  tf.dispose([x, ...features]);
  backbone.dispose();
  // The pretraining head still classifies fresh images well above chance (1/32) through the
  // frozen path: the weights and their BN statistics are the trained ones.
  const info = JSON.parse(await Deno.readTextFile(SMALL_RESNET_INFO_URL));
  const file = parseSafetensors(
    await Deno.readFile(SMALL_RESNET_WEIGHTS_URL),
  );
  const stateDict: StateDict = new Map();
  for (const [name, entry] of file.tensors) {
    stateDict.set(name, { shape: entry.shape, data: tensorToFloat32(entry) });
  }
  const set = makeHeldOutSet(128, 64, 12345);
  const result = evaluateHeldOut(SMALL_RESNET_CONFIG, stateDict, set);
  assertEquals(info.task.classes, [...PRETRAIN_CLASSES]);
  assert(
    result.accuracy > 0.5,
    `accuracy ${result.accuracy} (chance ${1 / PRETRAIN_CLASSES.length})`,
  );
});

// ---------------------------------------------------------------- pretraining model

Deno.test("trainable: batch-norm gradient matches autodiff of the plain formula", () => {
  const x = tf.tensor4d(randomArray(2 * 3 * 3 * 4, 8), [2, 3, 3, 4]);
  const gamma = tf.tensor1d([1, 2, -0.5, 0.3]), beta = tf.tensor1d([0, 1, 0.5, -2]);
  const weights = tf.tensor4d(randomArray(72, 9), [2, 3, 3, 4]);
  const plain = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    return tf.sum(
      tf.mul(
        tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b),
        weights,
      ),
    );
  };
  const custom = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    tf.sum(
      tf.mul(
        trainingBatchNorm(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, () => {}),
        weights,
      ),
    );
  const want = tf.grads(plain)([x, gamma, beta]);
  const got = tf.grads(custom)([x, gamma, beta]);
  assertAlmostEquals(
    custom(x, gamma, beta).dataSync()[0],
    plain(x, gamma, beta).dataSync()[0],
    1e-4,
  );
  for (let i = 0; i < 3; i++) {
    assert(maxAbsDiff(got[i].dataSync(), want[i].dataSync()) < 1e-4, `input ${i}`);
  }
  tf.dispose([x, gamma, beta, weights, ...want, ...got]);
});

Deno.test("trainable: exports its init as OIHW and tracks running stats like PyTorch", async () => {
  const config: ResNetConfig = {
    ...SMALL_RESNET_CONFIG,
    name: "tiny",
    stemChannels: 4,
    planes: [4, 8, 8],
    layers: [1, 1, 1],
  };
  const model = new TrainableResNet(config, 5, 11);
  const init = randomResNetStateDict(config, 11);
  const exported = await model.toStateDict();
  for (const [name, { data }] of init) assertEquals(exported.get(name)!.data, data, name);
  assertEquals(exported.get("fc.weight")!.shape, [5, 8]);

  const x = tf.tensor4d(randomArray(2 * 16 * 16 * 3, 3), [2, 16, 16, 3]);
  const stats: Parameters<TrainableResNet["updateRunningStats"]>[0] = [];
  tf.tidy(() => {
    model.logits(x, stats);
  });
  const stem = stats.find((s) => s.bn === "bn1")!;
  assertEquals(stem.count, 2 * 8 * 8);
  const mean = await stem.mean.data(), variance = await stem.variance.data();
  model.updateRunningStats(stats);
  const after = await model.toStateDict();
  const runningMean = after.get("bn1.running_mean")!.data,
    runningVar = after.get("bn1.running_var")!.data;
  for (let c = 0; c < 4; c++) {
    assertAlmostEquals(runningMean[c], 0.1 * mean[c], 1e-6);
    assertAlmostEquals(runningVar[c], 0.9 + 0.1 * variance[c] * 128 / 127, 1e-5);
  }
  // A few Adam steps on one batch lower the loss (gradients flow through every layer).
  const labels = tf.oneHot(tf.tensor1d([1, 3], "int32"), 5);
  const optimizer = tf.train.adam(1e-2);
  const loss = () => tf.losses.softmaxCrossEntropy(labels, model.logits(x)) as tf.Scalar;
  const first = tf.tidy(() => loss().dataSync()[0]);
  for (let i = 0; i < 25; i++) {
    tf.dispose(optimizer.minimize(loss, true, model.trainableVariables())!);
  }
  const last = tf.tidy(() => loss().dataSync()[0]);
  assert(last < first * 0.5, `loss ${first} -> ${last}`);
  tf.dispose([x, labels]);
  optimizer.dispose();
  model.dispose();
});

Deno.test("pretraining batches are the same with and without the worker thread", async () => {
  const options = { seed: 21, batchSize: 3, sizes: [16, 24] };
  const inline = new BatchStream({ ...options, prefetch: 0 });
  const worker = new BatchStream({ ...options, prefetch: 2 });
  try {
    for (let i = 0; i < 4; i++) {
      const a = await inline.next(), b = await worker.next();
      assertEquals(b.size, a.size);
      assertEquals(b.labels, a.labels);
      assertEquals(b.images, a.images);
      assert(a.labels.every((label) => label >= 0 && label < PRETRAIN_CLASSES.length));
    }
  } finally {
    inline.close();
    worker.close();
  }
});
