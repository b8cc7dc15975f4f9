/**
 * `meshwright capture`: what the sidecar's init container runs. Writes the capture rules with
 * `iptables-restore` (and `ip6tables-restore` where the pod has IPv6), then exits. The rules come
 * from the pure `captureRules`; this file is only the I/O.
 */
import { spawn } from 'node:child_process';
import { captureRules, parseCaptureArgs, type CaptureOptions } from './capture.js';

/** Feeds `input` to `command` on stdin; resolves with its exit code and stderr. */
function run(command: string, args: string[], input: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (e) => resolve({ code: 127, stderr: e.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
    child.stdin.end(input);
  });
}

/**
 * Applies the rules for both families. IPv4 must succeed; IPv6 is skipped with a note when the
 * kernel or the pod has no IPv6 (ip6tables-restore then fails to open the nat table).
 * `--dry-run` prints the rules instead.
 */
export async function runCapture(args: readonly string[], out: (line: string) => void): Promise<number> {
  const dryRun = args.includes('--dry-run');
  const options: CaptureOptions = parseCaptureArgs(args.filter((a) => a !== '--dry-run'));
  const v4 = captureRules({ ...options, family: 'ipv4' });
  const v6 = captureRules({ ...options, family: 'ipv6' });
  if (dryRun) {
    out(v4);
    out(v6);
    return 0;
  }
  const ipv4 = await run('iptables-restore', ['--noflush'], v4);
  if (ipv4.code !== 0) {
    out(`capture: iptables-restore failed (exit ${ipv4.code}): ${ipv4.stderr.trim()}`);
    return 1;
  }
  const ipv6 = await run('ip6tables-restore', ['--noflush'], v6);
  if (ipv6.code !== 0) out(`capture: IPv6 rules not applied (${ipv6.stderr.trim() || `exit ${ipv6.code}`})`);
  out('capture: traffic redirected to the proxy');
  return 0;
}
