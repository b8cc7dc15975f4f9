/**
 * `duration(string)` with Go's `time.ParseDuration` grammar, as cel-go has it: cel-js refuses `"0"`,
 * which Go (and so the API server) accepts, so the rule rewriter routes `duration(...)` here.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { parseGoDuration } from '../../formats.js';
import { celError } from '../errors.js';
import { celDuration } from '../values.js';

export const GO_DURATION = 'k8sGoDuration';

export function registerDuration(env: Environment): void {
  env.registerFunction(`${GO_DURATION}(string): google.protobuf.Duration`, (text: string) => {
    const ms = /^[-+]?(0|((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/.test(text)
      ? parseGoDuration(text)
      : undefined;
    return ms === undefined ? celError(`time: invalid duration ${JSON.stringify(text)}`) : celDuration(ms);
  });
}
