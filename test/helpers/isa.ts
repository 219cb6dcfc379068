// Runs a test body once per CPU instruction set this machine supports, so the
// scalar, AVX2 and AVX-512 paths are all checked in one run.
import type { Test } from 'tap';
import { backendInfo, setCpuIsa, type CpuIsa } from '../../lib/runtime.js';

export function availableIsas(): CpuIsa[] {
  return backendInfo().cpu.isaAvailable as CpuIsa[];
}

export async function forEachIsa(t: Test, body: (t: Test, isa: CpuIsa) => void | Promise<void>): Promise<void> {
  const initial = backendInfo().cpu.isa as CpuIsa;
  try {
    for (const isa of availableIsas()) {
      setCpuIsa(isa);
      await t.test(`isa ${isa}`, async (tt) => {
        await body(tt, isa);
      });
    }
  } finally {
    setCpuIsa(initial);
  }
}
