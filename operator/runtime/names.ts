/**
 * Names of generated objects. Every child name goes through here, so it is always valid for the API
 * server and always the same for the same inputs (a changed name would orphan the old child).
 *
 * A name that fits is used as is. One that does not keeps a prefix and ends with `-` and 10 hex
 * digits of the SHA-256 of the whole name (cert-manager's ComputeName keeps 52 characters and adds
 * an FNV hash the same way): two long names that share their prefix still differ, and the same long
 * name always shortens to the same result.
 */
import { createHash } from 'node:crypto';

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;
export const LABEL_VALUE_MAX = 63;
const HASH_LENGTH = 10;

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const isDNS1123Label = (s: string): boolean => s.length <= DNS1123_LABEL_MAX && LABEL.test(s);
export const isDNS1123Subdomain = (s: string): boolean =>
  s.length <= DNS1123_SUBDOMAIN_MAX && SUBDOMAIN.test(s);
export const isLabelValue = (s: string): boolean => s.length <= LABEL_VALUE_MAX && LABEL_VALUE.test(s);

/** The first 10 hex digits of the SHA-256 of `s`: the suffix of a shortened name. */
export const nameHash = (s: string): string =>
  createHash('sha256').update(s, 'utf8').digest('hex').slice(0, HASH_LENGTH);

/** Cuts `name` to `max` characters, replacing the tail by `-<hash of name>`; `trim` strips the cut's trailing junk. */
function shorten(name: string, max: number, trim: RegExp): string {
  if (name.length <= max) return name;
  const prefix = name.slice(0, max - HASH_LENGTH - 1).replace(trim, '');
  return prefix ? `${prefix}-${nameHash(name)}` : nameHash(name);
}

function joined(parts: readonly string[], clean: (part: string) => string, what: string): string {
  const name = parts
    .map(clean)
    .filter((p) => p !== '')
    .join('-');
  if (name === '') throw new Error(`${what}: nothing valid in ${JSON.stringify(parts)}`);
  return name;
}

/** Lower-cases and turns every run of characters outside `[a-z0-9-]` into one `-`, trimming the ends. */
const labelPart = (part: string): string =>
  part
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');

/**
 * A DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters) made of `parts` joined
 * with `-`: the name of a Service, a Deployment's pods' prefix, a ConfigMap. Upper case is lowered,
 * other invalid characters (`.`, `_`, `/`, …) become `-`.
 */
export function childName(...parts: string[]): string {
  return shorten(joined(parts, labelPart, 'childName'), DNS1123_LABEL_MAX, /-+$/);
}

/**
 * A DNS-1123 subdomain (dot-separated labels, at most 253 characters) made of `parts` joined with
 * `-`: the name of most objects (Secrets, Certificates, NetworkPolicies, ClusterRoles).
 */
export function childSubdomain(...parts: string[]): string {
  const clean = (part: string): string =>
    part
      .toLowerCase()
      .replace(/[^a-z0-9.-]+/g, '-')
      .split('.')
      .map((segment) => segment.replace(/^-+|-+$/g, ''))
      .filter((segment) => segment !== '')
      .join('.');
  return shorten(joined(parts, clean, 'childSubdomain'), DNS1123_SUBDOMAIN_MAX, /[-.]+$/);
}

/**
 * A label value (at most 63 characters of `[A-Za-z0-9_.-]`, alphanumeric at both ends) made of
 * `parts` joined with `-`; case is kept. For labels that carry a name, such as `meshwright.io/owner`.
 */
export function labelValue(...parts: string[]): string {
  const clean = (part: string): string =>
    part.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[-_.]+|[-_.]+$/g, '');
  return shorten(joined(parts, clean, 'labelValue'), LABEL_VALUE_MAX, /[-_.]+$/);
}
