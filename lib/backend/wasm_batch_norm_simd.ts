/**
 * The SIMD loops of the fused batch-norm kernels: five WebAssembly functions of our own
 * (written by `wasm_module_builder.ts`) that import the `wasm` backend's memory and sweep an
 * NHWC tensor four float32 values per instruction.
 *
 * Every loop sees its data as a flat array made of whole *periods* of `P` floats, where `P`
 * is the least common multiple of the channel count and 4: lane `j` of a period always
 * belongs to channel `j mod C`, so per-channel parameters and accumulators are simply arrays
 * of `P` floats (the channel values tiled), and any channel count vectorises. Each function
 * has a scalar twin in JavaScript that rounds every operation to float32 in the same order,
 * so the two give bit-identical results (every f32x4 operation is correctly rounded); the
 * kernels use the twins for the part of a tensor shorter than a period.
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { boundHeapModule } from "./wasm_heap_module.ts";
import { buildModule, type FunctionSpec, I32, op, V128 } from "./wasm_module_builder.ts";

/**
 * The five loops. Pointers are byte offsets into the heap; `data` pointers advance over the
 * whole range, `period` pointers (P floats) repeat every period.
 * - `sum`:    acc += x
 * - `dev`:    d = x - mean; acc1 += d; acc2 += d·d
 * - `affine`: y = (x - mean)·scale + shift
 * - `dyStats`: acc1 += dy; acc2 += dy·(x - mean)
 * - `dx`:     out = (dy·a - (x - mean)·b) - c
 */
export type BatchNormLoop = "sum" | "dev" | "affine" | "dyStats" | "dx";

/** Each loop's pointer arguments, in call order (data pointers first). */
export const LOOP_POINTERS: Readonly<Record<BatchNormLoop, readonly string[]>> = {
  sum: ["x", "acc"],
  dev: ["x", "mean", "acc1", "acc2"],
  affine: ["x", "y", "mean", "scale", "shift"],
  dyStats: ["dy", "x", "mean", "acc1", "acc2"],
  dx: ["dy", "x", "out", "mean", "a", "b", "c"],
};

/** How many of each loop's pointers are data pointers (the rest are period pointers). */
export const DATA_POINTERS: Readonly<Record<BatchNormLoop, number>> = {
  sum: 1,
  dev: 1,
  affine: 2,
  dyStats: 2,
  dx: 3,
};

/** A compiled loop: (bytes, periodBytes, ...pointers). */
type LoopFunction = (...args: number[]) => void;

// Opcodes the shared builder does not name.
const localTee = (i: number) => [0x22, i];
const i32LtU = [0x49];

/** Byte-code helpers for one function: parameters are (bytes, periodBytes, ...pointers). */
class LoopWriter {
  readonly #names: readonly string[];
  readonly #dataCount: number;
  // Locals after the parameters: byte offset of the period (I), offset inside it (J),
  // their sum (K) and one vector temporary (T).
  readonly I: number;
  readonly J: number;
  readonly K: number;
  readonly T: number;

  constructor(loop: BatchNormLoop) {
    this.#names = LOOP_POINTERS[loop];
    this.#dataCount = DATA_POINTERS[loop];
    const params = 2 + this.#names.length;
    [this.I, this.J, this.K, this.T] = [params, params + 1, params + 2, params + 3];
  }

  get paramCount(): number {
    return 2 + this.#names.length;
  }

  /** The address of the current vector of pointer `name`. */
  at(name: string): number[] {
    const index = this.#names.indexOf(name);
    if (index < 0) throw new Error(`lib/backend/wasm_batch_norm_simd.ts: no pointer ${name}`);
    const offset = index < this.#dataCount ? this.K : this.J;
    return [...op.localGet(2 + index), ...op.localGet(offset), ...op.i32Add];
  }

  load(name: string): number[] {
    return [...this.at(name), ...op.v128Load];
  }

  /** acc[name] += (value left on the stack by `value`). */
  accumulate(name: string, value: number[]): number[] {
    return [...this.at(name), ...this.load(name), ...value, ...op.f32x4Add, ...op.v128Store];
  }

  /** Wraps `body` in the two loops: over periods, and over the vectors of one period. */
  loops(body: number[]): number[] {
    const BYTES = 0, PERIOD = 1;
    return [
      ...op.i32Const(0),
      ...op.localSet(this.I),
      ...op.block,
      ...op.loop,
      ...op.localGet(this.I),
      ...op.localGet(BYTES),
      ...op.i32GeU,
      ...op.brIf(1),
      ...op.i32Const(0),
      ...op.localSet(this.J),
      ...op.loop,
      ...op.localGet(this.I),
      ...op.localGet(this.J),
      ...op.i32Add,
      ...op.localSet(this.K),
      ...body,
      ...op.localGet(this.J),
      ...op.i32Const(16),
      ...op.i32Add,
      ...localTee(this.J),
      ...op.localGet(PERIOD),
      ...i32LtU,
      ...op.brIf(0),
      ...op.end,
      ...op.localGet(this.I),
      ...op.localGet(PERIOD),
      ...op.i32Add,
      ...op.localSet(this.I),
      ...op.br(0),
      ...op.end,
      ...op.end,
    ];
  }
}

function loopBody(loop: BatchNormLoop, w: LoopWriter): number[] {
  const sub = op.f32x4Sub, mul = op.f32x4Mul, add = op.f32x4Add;
  const centred = () => [...w.load("x"), ...w.load("mean"), ...sub];
  switch (loop) {
    case "sum":
      return w.accumulate("acc", w.load("x"));
    case "dev":
      return [
        ...centred(),
        ...op.localSet(w.T),
        ...w.accumulate("acc1", op.localGet(w.T)),
        ...w.accumulate("acc2", [...op.localGet(w.T), ...op.localGet(w.T), ...mul]),
      ];
    case "affine":
      return [
        ...w.at("y"),
        ...centred(),
        ...w.load("scale"),
        ...mul,
        ...w.load("shift"),
        ...add,
        ...op.v128Store,
      ];
    case "dyStats":
      return [
        ...w.load("dy"),
        ...op.localSet(w.T),
        ...w.accumulate("acc1", op.localGet(w.T)),
        ...w.accumulate("acc2", [...op.localGet(w.T), ...centred(), ...mul]),
      ];
    case "dx":
      return [
        ...w.at("out"),
        ...w.load("dy"),
        ...w.load("a"),
        ...mul,
        ...centred(),
        ...w.load("b"),
        ...mul,
        ...sub,
        ...w.load("c"),
        ...sub,
        ...op.v128Store,
      ];
  }
}

function loopSpec(loop: BatchNormLoop): FunctionSpec {
  const w = new LoopWriter(loop);
  return {
    name: loop,
    params: Array(w.paramCount).fill(I32),
    locals: [I32, I32, I32, V128],
    body: w.loops(loopBody(loop, w)),
  };
}

const LOOPS: readonly BatchNormLoop[] = ["sum", "dev", "affine", "dyStats", "dx"];

/** The module's bytes (exported for the tests' validation). */
export function batchNormModuleBytes(shared: boolean): Uint8Array<ArrayBuffer> {
  return buildModule(LOOPS.map(loopSpec), { shared });
}

/** The compiled loops bound to one memory. */
export type SimdLoops = Readonly<Record<BatchNormLoop, LoopFunction>>;

const instances = new WeakMap<WebAssembly.Memory, SimdLoops | null>();

/**
 * The SIMD loops bound to `backend`'s memory, or undefined when the memory is not reachable
 * or the engine lacks SIMD (the kernels then run the scalar twins everywhere).
 */
export function simdBatchNormFor(backend: BackendWasm): SimdLoops | undefined {
  return boundHeapModule(
    backend,
    instances,
    batchNormModuleBytes,
    (exports) =>
      Object.fromEntries(
        LOOPS.map((name) => [name, exports[name] as LoopFunction]),
      ) as SimdLoops,
  );
}

const f = Math.fround;

/**
 * The scalar twin of `loop` on `count` floats (any count; lane `j` cycles through the
 * period). `p` holds the pointers as float indices into `heap`, in {@link LOOP_POINTERS}
 * order.
 */
export function scalarLoop(
  loop: BatchNormLoop,
  heap: Float32Array,
  count: number,
  period: number,
  p: readonly number[],
): void {
  for (let i = 0, j = 0; i < count; i++, j = j + 1 === period ? 0 : j + 1) {
    switch (loop) {
      case "sum":
        heap[p[1] + j] = f(heap[p[1] + j] + heap[p[0] + i]);
        break;
      case "dev": {
        const d = f(heap[p[0] + i] - heap[p[1] + j]);
        heap[p[2] + j] = f(heap[p[2] + j] + d);
        heap[p[3] + j] = f(heap[p[3] + j] + f(d * d));
        break;
      }
      case "affine":
        heap[p[1] + i] = f(f(f(heap[p[0] + i] - heap[p[2] + j]) * heap[p[3] + j]) + heap[p[4] + j]);
        break;
      case "dyStats": {
        const g = heap[p[0] + i];
        heap[p[3] + j] = f(heap[p[3] + j] + g);
        heap[p[4] + j] = f(heap[p[4] + j] + f(g * f(heap[p[1] + i] - heap[p[2] + j])));
        break;
      }
      case "dx": {
        const scaled = f(heap[p[0] + i] * heap[p[4] + j]);
        const slope = f(f(heap[p[1] + i] - heap[p[3] + j]) * heap[p[5] + j]);
        heap[p[2] + i] = f(f(scaled - slope) - heap[p[6] + j]);
        break;
      }
    }
  }
}
