// Types of bench/lib/toolchain.mjs, for the TypeScript smoke test.
export function runJson(
  file: string,
  args?: string[],
  options?: { env?: Record<string, string>; unset?: string[]; input?: string; timeoutMs?: number },
): { ok: true; value: any } | { ok: false; error: string };
export function firstLines(text: string, n: number): string;
