// Durable file writes. writeFileAtomic: write a temp file beside the target,
// fsync it, rename it over the target, fsync the directory — a crash leaves
// either the old file or the new one, never half of one. The two building
// blocks are exported for multi-file protocols (checkpoint directories).
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Writes `chunks` to `file` (created or truncated) and fsyncs it. */
export function writeFileSynced(file: string, chunks: Uint8Array[]): void {
  const fd = openSync(file, 'w', 0o644);
  try {
    for (const chunk of chunks) {
      let written = 0;
      while (written < chunk.length) written += writeSync(fd, chunk, written, chunk.length - written);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a directory's entries (creations, renames) durable. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `chunks` to `file` atomically. */
export function writeFileAtomic(file: string, chunks: Uint8Array[]): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  try {
    writeFileSynced(tmp, chunks);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was created
    }
    throw err;
  }
  renameSync(tmp, file);
  fsyncDirectory(path.dirname(file));
}
