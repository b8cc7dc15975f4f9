/**
 * IP address and CIDR parsing with Go's net/netip strictness (no IPv4 leading zeros, no zones), shared by the
 * `ipv4`/`ipv6`/`cidr` formats and the Kubernetes CEL `ip()`/`cidr()` library.
 */

export interface IPAddress {
  family: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6 (an IPv4-mapped IPv6 address stays family 6). */
  bytes: Uint8Array;
}

export interface CIDR {
  address: IPAddress;
  prefixLength: number;
}

export function parseIP(text: string): IPAddress | undefined {
  if (text.includes(':')) return parseIPv6(text);
  const bytes = parseIPv4Bytes(text);
  return bytes === undefined ? undefined : { family: 4, bytes };
}

export function parseCIDR(text: string): CIDR | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIP(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === undefined || !/^(0|[1-9]\d*)$/.test(prefixText)) return undefined;
  const prefixLength = Number(prefixText);
  return prefixLength > address.bytes.length * 8 ? undefined : { address, prefixLength };
}

export function isIPv4(text: string): boolean {
  return !text.includes(':') && parseIP(text) !== undefined;
}

export function isIPv6(text: string): boolean {
  return text.includes(':') && parseIP(text) !== undefined;
}

export function isCidr(text: string): boolean {
  return parseCIDR(text) !== undefined;
}

function parseIPv4Bytes(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (const [i, part] of parts.entries()) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes[i] = Number(part);
  }
  return bytes;
}

function parseIPv6(text: string): IPAddress | undefined {
  if (text.includes('%')) return undefined; // zones are not accepted by Kubernetes
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '', true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return { family: 6, bytes };
}

/** 16-bit groups of one side of `::`; an embedded IPv4 address may only end the last side. */
function parseGroups(text: string, mayEndWithIPv4: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (i === parts.length - 1 && mayEndWithIPv4 && part.includes('.')) {
      const v4 = parseIPv4Bytes(part);
      if (v4 === undefined) return undefined;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
      groups.push(parseInt(part, 16));
    }
  }
  return groups;
}

/** netip.Addr.String(): dotted quad, or RFC 5952 IPv6 (IPv4-mapped addresses as `::ffff:a.b.c.d`). */
export function formatIP(ip: IPAddress): string {
  if (ip.family === 4) return [...ip.bytes].join('.');
  if (isIPv4Mapped(ip)) return `::ffff:${[...ip.bytes.slice(12)].join('.')}`;
  const groups = Array.from(
    { length: 8 },
    (_, i) => ((ip.bytes[i * 2] ?? 0) << 8) | (ip.bytes[i * 2 + 1] ?? 0),
  );
  const [start, length] = longestZeroRun(groups);
  if (length < 2) return groups.map((g) => g.toString(16)).join(':');
  const left = groups
    .slice(0, start)
    .map((g) => g.toString(16))
    .join(':');
  const right = groups
    .slice(start + length)
    .map((g) => g.toString(16))
    .join(':');
  return `${left}::${right}`;
}

function longestZeroRun(groups: number[]): [number, number] {
  let best: [number, number] = [-1, 0];
  let runStart = -1;
  groups.forEach((g, i) => {
    if (g !== 0) {
      runStart = -1;
      return;
    }
    if (runStart < 0) runStart = i;
    const length = i - runStart + 1;
    if (length > best[1]) best = [runStart, length];
  });
  return best;
}

export function isIPv4Mapped(ip: IPAddress): boolean {
  return (
    ip.family === 6 &&
    ip.bytes.slice(0, 10).every((b) => b === 0) &&
    ip.bytes[10] === 0xff &&
    ip.bytes[11] === 0xff
  );
}

/** The address with every bit after the prefix cleared. */
export function maskAddress(ip: IPAddress, prefixLength: number): IPAddress {
  const bytes = ip.bytes.map((b, i) => {
    const bitsInByte = Math.max(0, Math.min(8, prefixLength - i * 8));
    return b & ((0xff << (8 - bitsInByte)) & 0xff);
  });
  return { family: ip.family, bytes };
}

function sameAddress(a: IPAddress, b: IPAddress): boolean {
  return a.family === b.family && a.bytes.every((v, i) => v === b.bytes[i]);
}

export function cidrContains(cidr: CIDR, ip: IPAddress): boolean {
  if (ip.family !== cidr.address.family) return false;
  return sameAddress(maskAddress(ip, cidr.prefixLength), maskAddress(cidr.address, cidr.prefixLength));
}
