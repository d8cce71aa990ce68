import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "../lib/backend/register_gradients.ts";
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  adamUpdate,
  adamUpdateComposite,
  createOptimizer,
  hasFusedAdam,
  type OptimizerSpec,
} from "../lib/optim/mod.ts";
import { ADAM_UPDATE_KERNEL } from "../lib/backend/wasm_adam.ts";
import { simdAdamFor } from "../lib/backend/wasm_adam_simd.ts";
import { sleb, uleb } from "../lib/backend/wasm_module_builder.ts";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

function seeded(n: number, seed: number, scale = 1): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => scale * randomNormal(rng));
}

async function use(backend: string): Promise<void> {
  await tf.setBackend(backend);
  await tf.ready();
}

const SHAPES = [[3, 3, 4, 5], [17], [1]];

/**
 * Trains fresh variables (same names every time, so that saved states fit) with `steps` seeded gradients through `update` and returns the final
 * values. `update` gets the variables and one gradient map per step.
 */
function runSteps(
  steps: number,
  make: (vars: tf.Variable[]) => { apply: (g: tf.NamedTensorMap) => void; dispose(): void },
): Float32Array[] {
  const vars = SHAPES.map((shape, i) =>
    tf.tidy(() =>
      tf.variable(
        tf.tensor(seeded(shape.reduce((a, b) => a * b), 10 + i), shape),
        true,
        `optim_test/v${i}`,
      )
    )
  );
  const driver = make(vars);
  for (let s = 0; s < steps; s++) {
    const grads: tf.NamedTensorMap = {};
    vars.forEach((v, i) => {
      grads[v.name] = tf.tensor(seeded(v.size, 100 * s + i, 0.1 + s), v.shape);
    });
    driver.apply(grads);
    tf.dispose(grads);
  }
  const out = vars.map((v) => v.dataSync() as Float32Array);
  driver.dispose();
  tf.dispose(vars);
  return out;
}

function ours(spec: OptimizerSpec, fused = true) {
  return (vars: tf.Variable[]) => {
    const o = createOptimizer(spec, vars, { fused });
    return { apply: (g: tf.NamedTensorMap) => o.applyGradients(g), dispose: () => o.dispose() };
  };
}

function assertBitEqual(a: Float32Array[], b: Float32Array[], what: string): void {
  assertEquals(a.length, b.length);
  a.forEach((x, i) => {
    for (let j = 0; j < x.length; j++) {
      if (!Object.is(x[j], b[i][j])) {
        throw new Error(`${what}: variable ${i} element ${j}: ${x[j]} vs ${b[i][j]}`);
      }
    }
  });
}

Deno.test("adam: ours equals tf.train.adam bit for bit on cpu and wasm (fused)", async () => {
  for (const backend of ["cpu", "wasm"]) {
    await use(backend);
    assertEquals(hasFusedAdam(), backend === "wasm");
    if (backend === "wasm") {
      // The SIMD body (not only the scalar fallback) is what these numbers come from.
      assert(simdAdamFor(tf.backend() as BackendWasm) !== undefined, "SIMD Adam available");
    }
    const reference = runSteps(5, () => {
      const o = tf.train.adam(0.01, 0.5, 0.999, 1e-8);
      return {
        apply: (g) => o.applyGradients(g as Record<string, tf.Variable>),
        dispose: () => o.dispose(),
      };
    });
    const before = tf.memory().numTensors;
    const mine = runSteps(5, ours({ kind: "adam", learningRate: 0.01, beta1: 0.5 }));
    assertEquals(tf.memory().numTensors, before, `${backend}: no tensors leaked`);
    assertBitEqual(mine, reference, `adam on ${backend}`);
  }
});

Deno.test("adam/adamw: the fused wasm kernel equals the composite on cpu bit for bit", async () => {
  const specs: OptimizerSpec[] = [
    { kind: "adam", learningRate: 3e-3, weightDecay: 0.05 },
    { kind: "adamw", learningRate: 1e-2, weightDecay: 0.1, beta1: 0.8, beta2: 0.99 },
    { kind: "adamw", learningRate: 1e-3, epsilon: 1e-6 },
  ];
  for (const spec of specs) {
    await use("cpu");
    const composite = runSteps(4, ours(spec, false));
    await use("wasm");
    const fused = runSteps(4, ours(spec, true));
    assertBitEqual(fused, composite, JSON.stringify(spec));
  }
});

Deno.test("adamw: matches PyTorch's AdamW formula (float64 reference)", async () => {
  await use("wasm");
  const lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const x0 = seeded(50, 1);
  const x = Float64Array.from(x0), m = new Float64Array(50), v = new Float64Array(50);
  const w = tf.variable(tf.tensor1d(x0), true, "optim_test_adamw/w");
  const o = createOptimizer({ kind: "adamw", learningRate: lr, weightDecay: wd }, [w]);
  for (let t = 1; t <= 6; t++) {
    const g = seeded(50, 7 * t);
    for (let i = 0; i < 50; i++) {
      x[i] *= 1 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps;
      x[i] -= (lr / (1 - b1 ** t)) * m[i] / denom;
    }
    const grad = tf.tensor1d(g);
    o.applyGradients(new Map([[w, grad]]));
    grad.dispose();
  }
  const got = w.dataSync();
  for (let i = 0; i < 50; i++) assert(Math.abs(got[i] - x[i]) < 1e-5, `element ${i}`);
  o.dispose();
  w.dispose();
});

Deno.test("sgd: momentum and nesterov match PyTorch's SGD (float64 reference)", async () => {
  await use("wasm");
  for (const nesterov of [false, true]) {
    const lr = 0.05, mu = 0.9, wd = 0.01;
    const x0 = seeded(20, 3);
    const x = Float64Array.from(x0), buf = new Float64Array(20);
    const w = tf.variable(tf.tensor1d(x0), true, `optim_test_sgd_${nesterov}/w`);
    const o = createOptimizer(
      { kind: "sgd", learningRate: lr, momentum: mu, nesterov, weightDecay: wd },
      [w],
    );
    for (let t = 1; t <= 5; t++) {
      const g = seeded(20, 11 * t);
      for (let i = 0; i < 20; i++) {
        const gi = g[i] + wd * x[i];
        buf[i] = t === 1 ? gi : mu * buf[i] + gi;
        x[i] -= lr * (nesterov ? gi + mu * buf[i] : buf[i]);
      }
      const grad = tf.tensor1d(g);
      o.applyGradients([{ name: w.name, tensor: grad }]);
      grad.dispose();
    }
    const got = w.dataSync();
    for (let i = 0; i < 20; i++) assert(Math.abs(got[i] - x[i]) < 1e-5, `element ${i}`);
    o.dispose();
    w.dispose();
  }
});

Deno.test("getState/setState: a resumed optimiser continues bit-identically", async () => {
  for (
    const spec of [
      { kind: "adam", learningRate: 0.01, beta1: 0.5 },
      { kind: "sgd", learningRate: 0.01, momentum: 0.9 },
    ] as OptimizerSpec[]
  ) {
    await use("wasm");
    const straight = runSteps(6, ours(spec));
    // 3 steps, checkpoint through plain arrays (as a safetensors file would), 3 more.
    let saved: Record<string, { values: Float32Array; shape: number[] }> = {};
    runSteps(3, (vars) => {
      const o = createOptimizer(spec, vars);
      return {
        apply: (g) => o.applyGradients(g),
        dispose: () => {
          const state = o.getState();
          saved = Object.fromEntries(
            Object.entries(state).map(([k, t]) => [k, {
              values: t.dataSync() as Float32Array,
              shape: t.shape,
            }]),
          );
          tf.dispose(state);
          o.dispose();
        },
      };
    });
    assertEquals(saved.__step.values[0], 3);
    let step = 0;
    const resumed = runSteps(6, (vars) => {
      const first = createOptimizer(spec, vars);
      let current = first;
      return {
        apply: (g) => {
          if (step === 3) {
            // The variables' values at step 3 equal the interrupted run's by construction
            // (same seeds); only the optimiser is replaced by a restored one.
            const restored = createOptimizer(spec, vars);
            const state = Object.fromEntries(
              Object.entries(saved).map(([k, { values, shape }]) => [k, tf.tensor(values, shape)]),
            );
            restored.setState(state);
            tf.dispose(state);
            first.dispose();
            current = restored;
          }
          step++;
          current.applyGradients(g);
        },
        dispose: () => current.dispose(),
      };
    });
    assertBitEqual(resumed, straight, `resume ${spec.kind}`);
  }
});

Deno.test("optimiser: clear errors for bad specs, gradients and states", async () => {
  await use("cpu");
  const w = tf.variable(tf.zeros([2]), true, "optim_test_errors/w");
  assertThrows(
    () => createOptimizer({ kind: "adam", learningRate: 0 }, [w]),
    Error,
    "learningRate",
  );
  assertThrows(
    () => createOptimizer({ kind: "rmsprop" as "adam", learningRate: 1 }, [w]),
    Error,
    "kind",
  );
  assertThrows(
    () => createOptimizer({ kind: "adam", learningRate: 1, nesterov: true }, [w]),
    Error,
    "nesterov",
  );
  const o = createOptimizer({ kind: "adam", learningRate: 1 }, [w]);
  const g = tf.zeros([3]);
  assertThrows(() => o.applyGradients({ other: g }), Error, "does not own");
  assertThrows(() => o.applyGradients({ [w.name]: g }), Error, "[3]");
  const bad = { __step: tf.scalar(1), __beta1_power: tf.scalar(0.9) };
  assertThrows(() => o.setState(bad), Error, "__beta2_power");
  tf.dispose([g, ...Object.values(bad)]);
  o.dispose();
  w.dispose();
});

Deno.test("fused kernel: falls back to the composite for mismatched gradient shapes", async () => {
  await use("wasm");
  assert(tf.getKernel(ADAM_UPDATE_KERNEL, "wasm") !== undefined);
  const attrs = {
    learningRate: 0.1,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    oneMinusBeta1Power: 0.1,
    oneMinusBeta2Power: 0.001,
    weightDecay: 0,
    decoupled: false,
  };
  const x = tf.ones([2, 2]), m = tf.zerosLike(x), v = tf.zerosLike(x), g = tf.ones([2]);
  const a = adamUpdate(x, m, v, g, attrs);
  const b = adamUpdateComposite(x, m, v, g, attrs);
  assertEquals(a.x.dataSync(), b.x.dataSync());
  tf.dispose([x, m, v, g, a.x, a.m, a.v, b.x, b.m, b.v]);
});

Deno.test("wasm module builder: LEB128 encodings", () => {
  assertEquals(uleb(0), [0]);
  assertEquals(uleb(624485), [0xe5, 0x8e, 0x26]);
  assertEquals(sleb(-1), [0x7f]);
  assertEquals(sleb(16), [0x10]);
  assertEquals(sleb(64), [0xc0, 0x00]);
  assertEquals(sleb(-123456), [0xc0, 0xbb, 0x78]);
});
