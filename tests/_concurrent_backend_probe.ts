/**
 * Run by tests/parallel_test.ts in a fresh process: three concurrent `selectBackend` calls
 * (as the demo's runs make them) before any backend has started; prints the chosen names.
 * @module
 */
import { selectBackend } from "../lib/backend/select_backend.ts";

const infos = await Promise.all([1, 2, 3].map(() => selectBackend({ log: false })));
console.log(JSON.stringify(infos.map((i) => i.name)));
