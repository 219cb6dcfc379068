// Checkpoints in a distributed run: rank 0 alone writes them (atomically,
// lib/io/checkpoint.ts) and alone reads the run folder. To resume, rank 0
// finishes any interrupted save and broadcasts the checkpoint's files; the
// other ranks write them into a private temporary folder and load from
// there, so several machines need no shared file system for --out, and
// every rank resumes from exactly the bytes rank 0 resumes from.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { recoverCheckpoint } from '../io/checkpoint.js';
import type { World } from './world.js';

interface Manifest {
  present: boolean;
  files: { path: string; size: number }[];
}

function listFiles(dir: string, prefix = ''): { path: string; size: number }[] {
  const out: { path: string; size: number }[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name), rel = prefix ? `${prefix}/${name}` : name;
    const st = statSync(full);
    if (st.isDirectory()) out.push(...listFiles(full, rel));
    else if (st.isFile()) out.push({ path: rel, size: st.size });
  }
  return out;
}

/** Root's JSON value on every rank. */
export function broadcastJson<T>(world: World, value: T | null, what: string): T {
  const bytes = world.rank === 0 ? new TextEncoder().encode(JSON.stringify(value)) : null;
  const length = new Float64Array([bytes?.length ?? 0]);
  world.broadcast(length, 0, `${what} (length)`);
  const buffer = bytes ?? new Uint8Array(length[0]!);
  world.broadcast(buffer, 0, what);
  return JSON.parse(new TextDecoder().decode(buffer)) as T;
}

/**
 * The folder this rank reads the checkpoint to resume from: rank 0's own
 * `dir` (after recoverCheckpoint), a copy of it on the other ranks. When rank
 * 0 has no checkpoint every rank gets `dir`, so all fail alike, naming it.
 */
export function shareCheckpoint(world: World, dir: string): string {
  if (world.worldSize === 1) return dir;
  let manifest: Manifest | null = null;
  if (world.rank === 0) {
    const present = recoverCheckpoint(dir);
    manifest = { present, files: present ? listFiles(dir) : [] };
  }
  const shared = broadcastJson(world, manifest, 'broadcast of the checkpoint manifest');
  if (!shared.present) return dir;
  let local = dir;
  if (world.rank !== 0) {
    const root = mkdtempSync(path.join(os.tmpdir(), `lmkit-rank${world.rank}-`));
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    local = path.join(root, path.basename(dir));
  }
  for (const file of shared.files) {
    const buffer = world.rank === 0 ? readFileSync(path.join(dir, file.path)) : new Uint8Array(file.size);
    world.broadcast(buffer, 0, `broadcast of checkpoint file ${file.path} (${file.size} bytes)`);
    if (world.rank !== 0) {
      const target = path.join(local, ...file.path.split('/'));
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, buffer);
    }
  }
  return local;
}

/**
 * The checkpoint folder a stage hands to its resume logic: the shared copy
 * when resuming; when starting fresh, rank 0's folder (it checks that no
 * other run's checkpoint is there) and null elsewhere (those ranks never
 * touch the run folder).
 */
export function resumeFolder(world: World, checkpointDir: string | null, resume: boolean): string | null {
  if (!resume) return world.rank === 0 ? checkpointDir : null;
  return checkpointDir ? shareCheckpoint(world, checkpointDir) : null;
}
