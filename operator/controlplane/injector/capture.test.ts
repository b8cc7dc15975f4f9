import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  captureArgs,
  CaptureOptionsError,
  captureRules,
  CHAINS,
  DEFAULT_CAPTURE,
  parseCaptureArgs,
  type CaptureOptions,
} from './capture.js';

const options = (o: Partial<CaptureOptions> = {}): CaptureOptions => ({ ...DEFAULT_CAPTURE, ...o });

/** The rules (`-A …` lines) of one chain, in order. */
const chain = (rules: string, name: string): string[] =>
  rules
    .split('\n')
    .filter((line) => line.startsWith(`-A ${name} `))
    .map((line) => line.slice(`-A ${name} `.length));

describe('captureRules', () => {
  const rules = captureRules(
    options({
      excludeInboundPorts: [15021, 15090],
      excludeOutboundPorts: [5432],
      excludeOutboundCidrs: ['169.254.169.254/32', 'fd00::/8'],
    }),
  );

  it('is one nat table with the four chains, hooked into PREROUTING and OUTPUT for TCP only', () => {
    const lines = rules.split('\n');
    assert.equal(lines.filter((l) => l.startsWith('*')).join(), '*nat');
    assert.equal(lines.at(-2), 'COMMIT');
    for (const name of Object.values(CHAINS)) assert.ok(lines.includes(`:${name} - [0:0]`), name);
    assert.deepEqual(chain(rules, 'PREROUTING'), [`-p tcp -j ${CHAINS.inbound}`]);
    assert.deepEqual(chain(rules, 'OUTPUT'), [`-p tcp -j ${CHAINS.outbound}`]);
  });

  it('redirects inbound TCP to the inbound port, except the excluded ports (checked first)', () => {
    assert.deepEqual(chain(rules, CHAINS.inbound), [
      '-p tcp --dport 15021 -j RETURN',
      '-p tcp --dport 15090 -j RETURN',
      `-p tcp -j ${CHAINS.inboundRedirect}`,
    ]);
    assert.deepEqual(chain(rules, CHAINS.inboundRedirect), ['-p tcp -j REDIRECT --to-ports 15006']);
  });

  it("lets the proxy's own traffic, loopback and the excluded ports and CIDRs out; redirects the rest", () => {
    assert.deepEqual(chain(rules, CHAINS.outbound), [
      `-o lo ! -d 127.0.0.1/32 -m owner --uid-owner 1337 -j ${CHAINS.inboundRedirect}`,
      '-o lo -m owner ! --uid-owner 1337 -j RETURN',
      '-m owner --uid-owner 1337 -j RETURN',
      '-d 127.0.0.1/32 -j RETURN',
      '-p tcp --dport 5432 -j RETURN',
      '-d 169.254.169.254/32 -j RETURN', // the IPv6 CIDR is for ip6tables
      `-j ${CHAINS.redirect}`,
    ]);
    assert.deepEqual(chain(rules, CHAINS.redirect), ['-p tcp -j REDIRECT --to-ports 15001']);
  });

  it('writes the IPv6 table with the IPv6 loopback and CIDRs', () => {
    const v6 = captureRules(options({ family: 'ipv6', excludeOutboundCidrs: ['10.0.0.0/8', 'fd00::/8'] }));
    const outbound = chain(v6, CHAINS.outbound);
    assert.ok(outbound.includes('-d ::1/128 -j RETURN'));
    assert.ok(outbound.includes('-d fd00::/8 -j RETURN'));
    assert.ok(!outbound.some((r) => r.includes('10.0.0.0/8')));
  });

  it('refuses options that would break the pod, naming the option', () => {
    const refused = (o: Partial<CaptureOptions>, message: RegExp) =>
      assert.throws(
        () => captureRules(options(o)),
        (e: unknown) => e instanceof CaptureOptionsError && message.test(e.message),
      );
    refused({ proxyUid: 0 }, /--proxy-uid: the proxy must not run as root/);
    refused({ inboundPort: 70000 }, /--inbound-port: 70000 is not a port/);
    refused({ excludeInboundPorts: [0] }, /--exclude-inbound-ports: 0 is not a port/);
    refused(
      { excludeOutboundCidrs: ['10.0.0.0/33'] },
      /--exclude-outbound-cidrs: "10.0.0.0\/33" is not a CIDR/,
    );
  });

  // A real parser: iptables-restore --test parses every rule and asks the kernel whether it could
  // apply them, without applying anything. Needs iptables and CAP_NET_ADMIN; skipped without them.
  const probe = spawnSync('iptables-restore', ['--test'], { input: '*nat\nCOMMIT\n' });
  const skip = probe.error
    ? 'iptables-restore is not installed'
    : probe.status !== 0
      ? `iptables-restore cannot run here: ${probe.stderr.toString().trim()}`
      : false;
  it('is accepted by iptables-restore --test and ip6tables-restore --test', { skip }, () => {
    const result = spawnSync('iptables-restore', ['--test'], { input: rules });
    assert.equal(result.status, 0, result.stderr.toString());
    const v6 = captureRules(options({ family: 'ipv6', excludeOutboundCidrs: ['fd00::/8'] }));
    const result6 = spawnSync('ip6tables-restore', ['--test'], { input: v6 });
    assert.equal(result6.status, 0, result6.stderr.toString());
    // and it does refuse a broken rule set, so the check means something
    const broken = spawnSync('iptables-restore', ['--test'], {
      input: rules.replace('--uid-owner 1337', '--uid-owner x'),
    });
    assert.notEqual(broken.status, 0);
  });
});

describe('captureArgs / parseCaptureArgs', () => {
  it('writes the arguments the init container runs with, and reads them back', () => {
    const o = options({ excludeInboundPorts: [15021, 15090], excludeOutboundCidrs: ['10.0.0.0/8'] });
    const args = captureArgs(o);
    assert.deepEqual(args, [
      'capture',
      '--proxy-uid',
      '1337',
      '--inbound-port',
      '15006',
      '--outbound-port',
      '15001',
      '--exclude-inbound-ports',
      '15021,15090',
      '--exclude-outbound-cidrs',
      '10.0.0.0/8',
    ]);
    assert.deepEqual(parseCaptureArgs(args.slice(1)), o);
  });

  it('takes --flag=value, and the defaults for what is left out', () => {
    assert.deepEqual(
      parseCaptureArgs(['--inbound-port=16006', '--exclude-outbound-ports=']),
      options({ inboundPort: 16006 }),
    );
    assert.deepEqual(parseCaptureArgs([]), DEFAULT_CAPTURE);
  });

  it('refuses unknown flags, missing values and bad numbers, naming the flag', () => {
    const refused = (args: string[], message: RegExp) =>
      assert.throws(
        () => parseCaptureArgs(args),
        (e: unknown) => e instanceof CaptureOptionsError && message.test(e.message),
      );
    refused(['--redirect-all'], /unknown argument "--redirect-all"/);
    refused(['--proxy-uid'], /--proxy-uid needs a value/);
    refused(['--outbound-port', 'http'], /--outbound-port: "http" is not a number/);
    refused(['--exclude-inbound-ports', '15021,x'], /--exclude-inbound-ports: "x" is not a number/);
  });
});
