/**
 * Go duration strings (`30s`, `1m30s`, `1.5h`, `250ms`), the format Kubernetes APIs use for times.
 * The pattern is shared by the zod schemas and the CRDs so both refuse the same strings.
 */
export const GO_DURATION_PATTERN = '^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const GO_DURATION = new RegExp(GO_DURATION_PATTERN);
const GO_DURATION_PART = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g;

/** Milliseconds in a Go duration string; throws on anything `GO_DURATION_PATTERN` refuses. */
export function parseDuration(text: string): number {
  if (!GO_DURATION.test(text)) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(GO_DURATION_PART)) total += Number(amount) * UNIT_MS[unit!]!;
  return total;
}

/** Formats milliseconds the way Go's `time.Duration.String()` would, for messages (`1m30s`, `250ms`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  return `${hours ? `${hours}h` : ''}${hours || minutes ? `${minutes}m` : ''}${seconds}s`;
}
