// Finding and opening Open MPI's libmpi at run time. The addon is never
// linked against it, so this is the only place a missing or foreign MPI
// shows up, and it says how to get the right one.
import { DistributedError } from '../errors.js';
import { addon } from '../native.js';

/**
 * Sonames tried in order: Open MPI 4 and 5 ship libmpi.so.40 (the runtime
 * package, libopenmpi3); libmpi.so is the development symlink.
 */
export const LIBMPI_CANDIDATES = ['libmpi.so.40', 'libmpi.so'] as const;

export const INSTALL_HINT =
  'install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) or set LMKIT_MPI_LIB to the path of its libmpi.so';

let opened: string | null = null;

/**
 * Opens libmpi once: `library` (or LMKIT_MPI_LIB) when given, else the first
 * candidate that loads. Returns what was opened.
 */
export function openMpiLibrary(library?: string): string {
  if (opened) return opened;
  const requested = library ?? process.env['LMKIT_MPI_LIB'];
  const candidates = requested ? [requested] : [...LIBMPI_CANDIDATES];
  const failures: string[] = [];
  for (const candidate of candidates) {
    const r = addon.mpiOpen(candidate);
    if (r.ok) {
      opened = candidate;
      return candidate;
    }
    failures.push(r.error);
  }
  throw new DistributedError('DIST_NO_MPI', `distributed training needs Open MPI, which could not be loaded (${failures.join('; ')}); ${INSTALL_HINT}`);
}
