/**
 * Checkpoints: every variable of an objective (the method's and CCL's) plus the optimisers'
 * state, in one safetensors file written atomically, with the progress of the run as metadata.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  type FloatTensorData,
  readSafetensorsFile,
  tensorToFloat32,
  writeSafetensorsFile,
} from "../backbones/safetensors.ts";
import { pathExists } from "../data/listing.ts";

/** Where training stands when a checkpoint is written. */
export interface CheckpointState<Extra = unknown> {
  /** Epochs completed. */
  epoch: number;
  /** Optimiser steps taken. */
  step: number;
  /** Fingerprint of the config that made it, so a resume with another config is refused. */
  configKey: string;
  /** Anything else the runner must restore (e.g. the per-epoch log). */
  extra: Extra;
}

/** Variables and optimiser weights to save or restore. */
export interface CheckpointTensors {
  variables: Map<string, tf.Variable>;
  /**
   * One list per optimiser, in the optimiser's own order (TF.js `getWeights`). Tensors that are
   * not `tf.Variable`s are fresh copies (`getWeights` makes the iteration count, the trainer
   * clones Adam's powers): {@linkcode saveCheckpoint} takes ownership of those and frees them.
   */
  optimizers: NamedTensor[][];
}

/** A named tensor as TF.js optimisers' `getWeights` returns them. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

const VARIABLE_PREFIX = "var/";
const OPTIMIZER_PREFIX = "opt/";

/**
 * Writes a checkpoint to `path` atomically, then frees the optimiser tensors that are not
 * variables (see {@linkcode CheckpointTensors.optimizers}); variables stay with their owners.
 */
export async function saveCheckpoint<Extra>(
  path: string,
  tensors: CheckpointTensors,
  state: CheckpointState<Extra>,
): Promise<void> {
  try {
    await writeCheckpoint(path, tensors, state);
  } finally {
    tf.dispose(
      tensors.optimizers.flat().map(({ tensor }) => tensor)
        .filter((tensor) => !(tensor instanceof tf.Variable)),
    );
  }
}

async function writeCheckpoint<Extra>(
  path: string,
  tensors: CheckpointTensors,
  state: CheckpointState<Extra>,
): Promise<void> {
  const entries = new Map<string, FloatTensorData>();
  for (const [name, variable] of tensors.variables) {
    entries.set(VARIABLE_PREFIX + name, await toData(variable));
  }
  for (const [group, weights] of tensors.optimizers.entries()) {
    for (const [index, { name, tensor }] of weights.entries()) {
      entries.set(`${OPTIMIZER_PREFIX}${group}/${index}/${name}`, await toData(tensor));
    }
  }
  await writeSafetensorsFile(path, entries, {
    metadata: { state: JSON.stringify(state), format: "ccl-ad-checkpoint-1" },
  });
}

/** A checkpoint read back: its state and optimiser weights (to hand to `setWeights`). */
export interface LoadedCheckpoint<Extra> {
  state: CheckpointState<Extra>;
  optimizers: NamedTensor[][];
}

/**
 * Restores the variables in `variables` from the checkpoint at `path` (every one must be there
 * with its shape) and returns the state and optimiser weights; `undefined` if no file exists.
 */
export async function loadCheckpoint<Extra>(
  path: string,
  variables: Map<string, tf.Variable>,
): Promise<LoadedCheckpoint<Extra> | undefined> {
  if (!(await pathExists(path))) return undefined;
  const file = await readSafetensorsFile(path);
  if (file.metadata.format !== "ccl-ad-checkpoint-1" || !file.metadata.state) {
    throw new Error(`${path}: not a ccl-ad checkpoint`);
  }
  const problems: string[] = [];
  for (const [name, variable] of variables) {
    const entry = file.tensors.get(VARIABLE_PREFIX + name);
    if (!entry) {
      problems.push(`missing ${name}`);
    } else if (entry.shape.join(",") !== variable.shape.join(",")) {
      problems.push(`${name}: shape [${entry.shape}] in file, [${variable.shape}] in model`);
    } else {
      const values = tensorToFloat32(entry, path);
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape, variable.dtype)));
    }
  }
  if (problems.length) {
    throw new Error(`${path}: checkpoint does not fit the model:\n  ${problems.join("\n  ")}`);
  }
  const optimizers: NamedTensor[][] = [];
  for (const [key, entry] of file.tensors) {
    if (!key.startsWith(OPTIMIZER_PREFIX)) continue;
    const [group, index, ...name] = key.slice(OPTIMIZER_PREFIX.length).split("/");
    (optimizers[Number(group)] ??= [])[Number(index)] = {
      name: name.join("/"),
      tensor: tf.tensor(tensorToFloat32(entry, path), entry.shape),
    };
  }
  return { state: JSON.parse(file.metadata.state), optimizers };
}

async function toData(tensor: tf.Tensor): Promise<FloatTensorData> {
  const data = await tensor.data();
  return {
    shape: tensor.shape,
    data: data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>),
  };
}
