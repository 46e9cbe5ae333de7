import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

/**
 * Where uploaded product images are kept, by name (`<sha256>.<ext>`, see image-format.ts: the
 * route checks names before they get here). A name always stands for the same bytes, so a put
 * of a name already stored may keep what is there.
 */
export interface ImageStore {
  put(name: string, bytes: Uint8Array): Promise<void>;
  /** The bytes stored under `name`, or undefined when there are none. */
  get(name: string): Promise<Uint8Array | undefined>;
  /** Lets go of its connections, when it has any (the edge's stop calls it). */
  close?(): void;
}

/**
 * Images as files of one folder (created when missing). A file is written under a temporary
 * name and renamed into place, so a reader never sees half of one and two uploads of the same
 * image at once both succeed with the same file.
 */
export function createDirectoryImageStore(dir: string): ImageStore {
  const root = resolve(dir);
  let made: Promise<unknown> | undefined;
  return {
    async put(name, bytes) {
      const path = join(root, name);
      if (await exists(path)) return;
      made ??= mkdir(root, { recursive: true });
      await made;
      const partial = join(root, `.${name}.${randomUUID()}.partial`);
      try {
        await writeFile(partial, bytes, { flag: "wx" });
        await rename(partial, path);
      } catch (err) {
        await rm(partial, { force: true });
        throw err;
      }
    },
    async get(name) {
      try {
        return await readFile(join(root, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
