// Atomic file writes: write a temp file beside the target, fsync it, rename it
// over the target, fsync the directory. A crash leaves either the old file or
// the new one, never half of one.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Writes `chunks` to `file` atomically. */
export function writeFileAtomic(file: string, chunks: Uint8Array[]): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  let fd = openSync(tmp, 'w', 0o644);
  try {
    for (const chunk of chunks) {
      let written = 0;
      while (written < chunk.length) written += writeSync(fd, chunk, written, chunk.length - written);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
  // Persist the rename itself.
  fd = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
