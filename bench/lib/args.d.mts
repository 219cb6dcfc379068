export const USAGE: string;
export class UsageError extends Error {}
export function parseArgs(argv: string[]): {
  suites: string[];
  quick: boolean;
  threads: number;
  out: string | null;
  help: boolean;
  backend: 'cpu' | 'cuda';
};
