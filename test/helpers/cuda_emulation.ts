// Where the CUDA emulation build lives, for tests that run the CUDA backend
// without a GPU (npm run build:cuda-emu builds it; .ci/run does).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const emuDir = path.join(repoRoot, 'build-cuda-emu');
export const emuLibrary = path.join(emuDir, 'liblmkit_cuda_emu.so');
export const realLibrary = path.join(repoRoot, 'build-cuda', 'liblmkit_cuda.so');

/** The skip message when the emulation build is missing, or false when it is there. */
export function emulationMissing(): string | false {
  return existsSync(emuLibrary) && existsSync(path.join(emuDir, 'lmkit_cuda_check'))
    ? false
    : `the CUDA emulation build is missing (${emuLibrary}); build it with: npm run build:cuda-emu (needs cmake and a C++17 compiler)`;
}
