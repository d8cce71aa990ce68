/**
 * Registers the gradient functions of every TF.js op. tfjs-core alone registers none, and its
 * `register_all_gradients` module does not load under Deno (extension-less ESM imports); the
 * union package's node bundle does, and registers them as a side effect.
 * @module
 */
import "@tensorflow/tfjs";
