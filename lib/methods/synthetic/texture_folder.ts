/**
 * A user's folder of texture images (DTD's `images/` in the originals) for the anomaly
 * synthesiser: listed recursively in path order, fingerprinted by its file list and bytes, and
 * decoded once at the run's image size into one packed byte buffer. The buffer is backed by a
 * `SharedArrayBuffer`, so the workers of a pool receive it without a copy; the synthesiser reads
 * byte `b` as the value `b / 255` in [0, 1], exactly what `loadImage` gives for the same file.
 * @module
 */
import { extname, join, resolve } from "@std/path";
import { loadImage } from "../../data/image.ts";

/** The image files a texture folder may hold (case-insensitive); others are ignored. */
export const TEXTURE_EXTENSIONS: readonly string[] = [".png", ".jpg", ".jpeg", ".bmp"];

/** Textures packed into one buffer: `count` RGB images of `height` x `width` bytes, NHWC. */
export interface PackedTextures {
  count: number;
  height: number;
  width: number;
  /** `count * height * width * 3` bytes; value `b` stands for `b / 255`. */
  pixels: Uint8Array;
}

/** One file of a texture folder as fingerprinted. */
export interface TextureFileRecord {
  /** Path relative to the folder, `/`-separated. */
  path: string;
  bytes: number;
  /** SHA-256 of the file's bytes (hex, first 16 digits). */
  sha256: string;
}

/** What identifies a texture folder's content: its files and their bytes. */
export interface TextureFolderFingerprint {
  files: number;
  bytes: number;
  /** SHA-256 (hex, first 16 digits) of the sorted lines `path, bytes, sha256`. */
  hash: string;
  entries: TextureFileRecord[];
}

/** A texture folder decoded at one size. */
export interface TextureSet extends PackedTextures {
  /** The folder as given. */
  dir: string;
  /** The image files, relative to `dir`, in the order of the textures. */
  files: string[];
  fingerprint: TextureFolderFingerprint;
}

function fail(dir: string, message: string): never {
  throw new Error(`texture folder ${dir}: ${message}`);
}

/**
 * The image files under `dir` (subfolders included, hidden entries skipped), relative to it
 * and sorted. A missing folder, a file instead of a folder and a folder without any image are
 * errors naming the folder.
 *
 * @example
 * ```ts
 * import { listTextureFiles } from "./texture_folder.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/b`);
 * await Deno.writeTextFile(`${dir}/b/x.PNG`, "");
 * await Deno.writeTextFile(`${dir}/a.jpg`, "");
 * await Deno.writeTextFile(`${dir}/notes.txt`, "");
 * const files = listTextureFiles(dir);
 * await Deno.remove(dir, { recursive: true });
 * if (files.join() !== "a.jpg,b/x.PNG") throw new Error(files.join());
 * ```
 */
export function listTextureFiles(dir: string): string[] {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) fail(dir, "no such folder");
    fail(dir, `cannot read it (${(e as Error).message})`);
  }
  if (!info.isDirectory) fail(dir, "is a file, not a folder of images");
  const files: string[] = [];
  const walk = (relative: string) => {
    for (const entry of Deno.readDirSync(join(dir, relative))) {
      if (entry.name.startsWith(".")) continue;
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory) walk(path);
      else if (TEXTURE_EXTENSIONS.includes(extname(entry.name).toLowerCase())) files.push(path);
    }
  };
  walk("");
  if (files.length === 0) {
    fail(dir, `holds no images (${TEXTURE_EXTENSIONS.join(", ")}; subfolders searched too)`);
  }
  // Code-unit order, not the locale's: the same on every machine.
  return files.sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
}

async function sha256OfBytes(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Fingerprints computed in this process, by folder, valid while no file's size or time changes. */
const fingerprintMemo = new Map<string, { stamp: string; fingerprint: TextureFolderFingerprint }>();

/**
 * The fingerprint of the folder's content: every image file's path, size and SHA-256. Renaming,
 * adding, removing or editing an image changes `hash`; moving the folder does not. Within one
 * process a folder whose files all keep their size and modification time is not read again.
 */
export async function textureFolderFingerprint(dir: string): Promise<TextureFolderFingerprint> {
  const files = listTextureFiles(dir);
  const stats = files.map((path) => {
    const info = Deno.statSync(join(dir, path));
    return `${path}\t${info.size}\t${info.mtime?.getTime() ?? ""}`;
  });
  const stamp = stats.join("\n");
  const key = resolve(dir);
  const memo = fingerprintMemo.get(key);
  if (memo && memo.stamp === stamp) return memo.fingerprint;
  const entries: TextureFileRecord[] = [];
  for (const path of files) {
    const bytes = await Deno.readFile(join(dir, path));
    entries.push({ path, bytes: bytes.length, sha256: await sha256OfBytes(bytes) });
  }
  const lines = entries.map((e) => `${e.path}\t${e.bytes}\t${e.sha256}`).join("\n");
  const fingerprint: TextureFolderFingerprint = {
    files: entries.length,
    bytes: entries.reduce((sum, e) => sum + e.bytes, 0),
    hash: await sha256OfBytes(lines),
    entries,
  };
  fingerprintMemo.set(key, { stamp, fingerprint });
  return fingerprint;
}

/**
 * What differs between a recorded fingerprint and the folder's current one, as short phrases
 * naming the first few files (empty: the same content).
 */
export function textureFolderChanges(
  before: TextureFolderFingerprint,
  after: TextureFolderFingerprint,
): string[] {
  if (before.hash === after.hash) return [];
  const a = new Map(before.entries.map((e) => [e.path, e.sha256]));
  const b = new Map(after.entries.map((e) => [e.path, e.sha256]));
  const few = (paths: string[]) => paths.slice(0, 3).join(", ") + (paths.length > 3 ? ", ..." : "");
  const gone = [...a.keys()].filter((p) => !b.has(p));
  const added = [...b.keys()].filter((p) => !a.has(p));
  const edited = [...a.keys()].filter((p) => b.has(p) && a.get(p) !== b.get(p));
  const changes: string[] = [];
  if (gone.length) changes.push(`${gone.length} image(s) gone (${few(gone)})`);
  if (added.length) changes.push(`${added.length} image(s) new (${few(added)})`);
  if (edited.length) changes.push(`${edited.length} image(s) changed (${few(edited)})`);
  return changes.length ? changes : ["file list or sizes changed"];
}

/** Sets decoded in this process, newest last; a demo's runs share one. */
const decoded: TextureSet[] = [];
const KEEP_DECODED = 1;

/** Options of {@linkcode loadTextureFolder}. */
export interface LoadTextureOptions {
  /** Called after each decoded image with the count so far (for progress lines). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Decodes every image of `dir` (see {@linkcode listTextureFiles}) resized to `size` x `size`
 * RGB, in file order. A file that does not decode is an error naming the folder and the file.
 * The same folder content at the same size is decoded once per process (the last set is
 * kept).
 *
 * @example
 * ```ts ignore
 * import { loadTextureFolder } from "./texture_folder.ts";
 * const textures = await loadTextureFolder("dtd/images", 256);
 * console.log(textures.count, textures.fingerprint.hash);
 * ```
 */
export async function loadTextureFolder(
  dir: string,
  size: number,
  options: LoadTextureOptions = {},
): Promise<TextureSet> {
  if (!(Number.isInteger(size) && size >= 1)) {
    throw new Error(`lib/methods/synthetic/texture_folder.ts: bad texture size ${size}`);
  }
  const fingerprint = await textureFolderFingerprint(dir);
  const same = decoded.find((set) =>
    set.fingerprint.hash === fingerprint.hash && set.height === size &&
    resolve(set.dir) === resolve(dir)
  );
  if (same) return same;
  const files = fingerprint.entries.map((e) => e.path);
  const texel = size * size * 3;
  const pixels = new Uint8Array(
    typeof SharedArrayBuffer === "function"
      ? new SharedArrayBuffer(files.length * texel)
      : new ArrayBuffer(files.length * texel),
  );
  let next = 0, done = 0;
  // A few decodes in flight at once: a DTD-sized folder neither serialises nor floods memory.
  const decodeNext = async (): Promise<void> => {
    while (next < files.length) {
      const index = next++;
      let values: Float32Array;
      try {
        values = await loadImage(join(dir, files[index]), { resize: size });
      } catch (e) {
        fail(dir, `cannot decode ${files[index]} (${(e as Error).message})`);
      }
      const offset = index * texel;
      for (let i = 0; i < texel; i++) pixels[offset + i] = Math.round(values[i] * 255);
      options.onProgress?.(++done, files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, files.length) }, decodeNext));
  const set: TextureSet = {
    dir,
    files,
    fingerprint,
    count: files.length,
    height: size,
    width: size,
    pixels,
  };
  decoded.push(set);
  if (decoded.length > KEEP_DECODED) decoded.shift();
  return set;
}

/** Byte value -> texture value, as `loadImage` computes it (float32 of b · (1/255)). */
const BYTE_VALUES = Float32Array.from({ length: 256 }, (_, b) => b * (1 / 255));

/**
 * Texture `index` of `packed` as `height * width * 3` values in [0, 1], written to `out`.
 *
 * @example
 * ```ts
 * import { unpackTexture } from "./texture_folder.ts";
 * const packed = { count: 2, height: 1, width: 1, pixels: Uint8Array.of(0, 0, 0, 255, 51, 0) };
 * const texture = unpackTexture(packed, 1, new Float32Array(3));
 * if (texture[0] !== 1 || Math.abs(texture[1] - 0.2) > 1e-7) throw new Error(String(texture));
 * ```
 */
export function unpackTexture(
  packed: PackedTextures,
  index: number,
  out: Float32Array,
): Float32Array {
  const texel = packed.height * packed.width * 3;
  const offset = index * texel;
  for (let i = 0; i < texel; i++) out[i] = BYTE_VALUES[packed.pixels[offset + i]];
  return out;
}
