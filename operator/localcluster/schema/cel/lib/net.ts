/** Kubernetes' CEL IP and CIDR libraries (`ip()`, `cidr()`, `isIP()`, `isCIDR()`, `ip.isCanonical()`). */
import type { Environment } from '@marcbachmann/cel-js';
import {
  cidrContains,
  formatIP,
  isIPv4Mapped,
  maskAddress,
  parseCIDR,
  parseIP,
  type CIDR,
  type IPAddress,
} from '../../net.js';
import { celError } from '../errors.js';

class CelIP {
  constructor(readonly address: IPAddress) {}
}

class CelCIDR {
  constructor(readonly cidr: CIDR) {}
}

class IPNamespace {}

export function registerNet(env: Environment): void {
  env
    .registerType('net.IP', CelIP)
    .registerType('net.CIDR', CelCIDR)
    .registerType('k8s.IPNamespace', IPNamespace)
    .registerConstant('ip', 'k8s.IPNamespace', new IPNamespace())
    .registerFunction('ip(string): net.IP', (s: string) => new CelIP(kubernetesIP(s)))
    .registerFunction('isIP(string): bool', (s: string) => tryParse(() => kubernetesIP(s)))
    .registerFunction(
      'k8s.IPNamespace.isCanonical(string): bool',
      (_ns: IPNamespace, s: string) => formatIP(kubernetesIP(s)) === s,
    )
    .registerFunction('string(net.IP): string', (ip: CelIP) => formatIP(ip.address))
    .registerFunction('net.IP.family(): int', (ip: CelIP) => BigInt(ip.address.family))
    .registerFunction('net.IP.isUnspecified(): bool', (ip: CelIP) => ip.address.bytes.every((b) => b === 0))
    .registerFunction('net.IP.isLoopback(): bool', (ip: CelIP) => isLoopback(ip.address))
    .registerFunction('net.IP.isLinkLocalMulticast(): bool', (ip: CelIP) => isLinkLocalMulticast(ip.address))
    .registerFunction('net.IP.isLinkLocalUnicast(): bool', (ip: CelIP) => isLinkLocalUnicast(ip.address))
    .registerFunction('net.IP.isGlobalUnicast(): bool', (ip: CelIP) => isGlobalUnicast(ip.address))
    .registerFunction('cidr(string): net.CIDR', (s: string) => new CelCIDR(kubernetesCIDR(s)))
    .registerFunction('isCIDR(string): bool', (s: string) => tryParse(() => kubernetesCIDR(s)))
    .registerFunction('string(net.CIDR): string', (c: CelCIDR) => formatCIDR(c.cidr))
    .registerFunction('net.CIDR.containsIP(net.IP): bool', (c: CelCIDR, ip: CelIP) =>
      cidrContains(c.cidr, ip.address),
    )
    .registerFunction('net.CIDR.containsIP(string): bool', (c: CelCIDR, s: string) =>
      cidrContains(c.cidr, kubernetesIP(s)),
    )
    .registerFunction('net.CIDR.containsCIDR(net.CIDR): bool', (c: CelCIDR, other: CelCIDR) =>
      containsCIDR(c.cidr, other.cidr),
    )
    .registerFunction('net.CIDR.containsCIDR(string): bool', (c: CelCIDR, s: string) =>
      containsCIDR(c.cidr, kubernetesCIDR(s)),
    )
    .registerFunction('net.CIDR.ip(): net.IP', (c: CelCIDR) => new CelIP(c.cidr.address))
    .registerFunction('net.CIDR.masked(): net.CIDR', (c: CelCIDR) => new CelCIDR(masked(c.cidr)))
    .registerFunction('net.CIDR.prefixLength(): int', (c: CelCIDR) => BigInt(c.cidr.prefixLength));
}

function tryParse(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}

function kubernetesIP(s: string): IPAddress {
  if (s.includes('%')) celError(`IP address ${JSON.stringify(s)} with zone value is not allowed`);
  const ip =
    parseIP(s) ??
    celError(
      `IP Address ${JSON.stringify(s)} parse error during conversion from string: ParseAddr(${JSON.stringify(s)}): unable to parse IP`,
    );
  if (isIPv4Mapped(ip)) celError(`IPv4-mapped IPv6 address ${JSON.stringify(s)} is not allowed`);
  return ip;
}

function kubernetesCIDR(s: string): CIDR {
  const cidr =
    parseCIDR(s) ??
    celError(
      `network address ${JSON.stringify(s)} parse error during conversion from string: netip.ParsePrefix(${JSON.stringify(s)}): bad prefix`,
    );
  if (isIPv4Mapped(cidr.address)) celError(`IPv4-mapped IPv6 address ${JSON.stringify(s)} is not allowed`);
  return cidr;
}

function formatCIDR(c: CIDR): string {
  return `${formatIP(c.address)}/${c.prefixLength}`;
}

function masked(c: CIDR): CIDR {
  return { address: maskAddress(c.address, c.prefixLength), prefixLength: c.prefixLength };
}

function containsCIDR(outer: CIDR, inner: CIDR): boolean {
  return inner.prefixLength >= outer.prefixLength && cidrContains(outer, inner.address);
}

function inCIDR(ip: IPAddress, text: string): boolean {
  const cidr = parseCIDR(text);
  return cidr !== undefined && cidrContains(cidr, ip);
}

function isLoopback(ip: IPAddress): boolean {
  return inCIDR(ip, '127.0.0.0/8') || inCIDR(ip, '::1/128');
}

function isLinkLocalMulticast(ip: IPAddress): boolean {
  return (
    inCIDR(ip, '224.0.0.0/24') ||
    (ip.family === 6 && ip.bytes[0] === 0xff && ((ip.bytes[1] ?? 0) & 0x0f) === 0x02)
  );
}

function isLinkLocalUnicast(ip: IPAddress): boolean {
  return inCIDR(ip, '169.254.0.0/16') || inCIDR(ip, 'fe80::/10');
}

function isGlobalUnicast(ip: IPAddress): boolean {
  const special = ['0.0.0.0/32', '255.255.255.255/32', '224.0.0.0/4', 'ff00::/8', '::/128'];
  return !isLoopback(ip) && !isLinkLocalUnicast(ip) && !special.some((c) => inCIDR(ip, c));
}
