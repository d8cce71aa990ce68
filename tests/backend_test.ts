import { assert, assertEquals, assertRejects } from "@std/assert";
import * as tf from "@tensorflow/tfjs-core";
import {
  BACKEND_ENV_VAR,
  currentBackend,
  describeBackend,
  selectBackend,
} from "../lib/backend/select_backend.ts";

Deno.test("backend: a requested backend is used and recorded", async () => {
  const info = await selectBackend({ requested: "cpu", log: false });
  assertEquals(info.name, "cpu");
  assertEquals(info.how, "requested");
  assertEquals(tf.getBackend(), "cpu");
  assertEquals(currentBackend(), info);
  assert(describeBackend(info).startsWith("backend: cpu (requested"));
});

Deno.test("backend: the environment variable overrides the automatic choice", async () => {
  const previous = Deno.env.get(BACKEND_ENV_VAR);
  Deno.env.set(BACKEND_ENV_VAR, "cpu");
  try {
    const info = await selectBackend({ log: false });
    assertEquals(info.name, "cpu");
    assertEquals(info.how, "requested");
  } finally {
    if (previous === undefined) Deno.env.delete(BACKEND_ENV_VAR);
    else Deno.env.set(BACKEND_ENV_VAR, previous);
  }
});

Deno.test("backend: automatic choice skips what is not installed, with reasons", async () => {
  const previous = Deno.env.get(BACKEND_ENV_VAR);
  Deno.env.delete(BACKEND_ENV_VAR);
  try {
    const info = await selectBackend({ log: false });
    assertEquals(info.how, "auto");
    // tfjs-node(-gpu) cannot be installed on the test machines; a GPU machine would pick them.
    const skipped = info.skipped.join("\n");
    if (info.name !== "tensorflow-gpu") assert(skipped.includes("tensorflow-gpu: not installed"));
    assertEquals(tf.getBackend(), info.tfjsName);
  } finally {
    if (previous !== undefined) Deno.env.set(BACKEND_ENV_VAR, previous);
  }
});

Deno.test("backend: an unknown name is an error listing the known ones", async () => {
  await assertRejects(
    () => selectBackend({ requested: "cuda9", log: false }),
    Error,
    "expected one of tensorflow-gpu, tensorflow, webgpu, wasm, cpu",
  );
});

Deno.test("backend: a requested backend that cannot start is an error, not a fallback", async () => {
  await assertRejects(
    () => selectBackend({ requested: "tensorflow", log: false }),
    Error,
    'backend "tensorflow" was requested but cannot start',
  );
});

Deno.test("backend: wasm gets the convolution gradient kernels", async () => {
  await selectBackend({ requested: "wasm", log: false });
  assert(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
});
