// Private temporary directories for the tooling, always removed afterwards.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh directory under the OS temp dir: `{ path, remove() }`. */
export async function tempDir(prefix) {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Runs `fn(path)` with a fresh temporary directory that is removed afterwards, whatever happens. */
export async function withTempDir(prefix, fn) {
  const dir = await tempDir(prefix);
  try {
    return await fn(dir.path);
  } finally {
    await dir.remove();
  }
}
