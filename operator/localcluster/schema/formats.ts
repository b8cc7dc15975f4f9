/**
 * String formats the API server checks on custom resources (kube-openapi's strfmt registry, restricted to
 * the formats apiextensions keeps). Any other format (int32, int64, double, ...) is ignored for strings.
 */
import { isCidr, isIPv4, isIPv6 } from './net.js';

type FormatCheck = (value: string) => boolean;

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID3 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID4 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const UUID5 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const HOSTNAME =
  /^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z0-9\p{S}\p{L}])(-?[a-zA-Z0-9\p{S}\p{L}]){1,62})$/u;
const MAC = /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$/;
const HEX_COLOR = /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
const RGB_COLOR =
  /^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$/;
const SSN = /^\d{3}[- ]?\d{2}[- ]?\d{4}$/;
const BSON_OBJECT_ID = /^[0-9a-fA-F]{24}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$/;

const FORMATS: Record<string, FormatCheck> = {
  bsonobjectid: (v) => BSON_OBJECT_ID.test(v),
  uri: isRequestUri,
  email: isEmail,
  hostname: isHostname,
  ipv4: isIPv4,
  ipv6: isIPv6,
  cidr: isCidr,
  mac: (v) => MAC.test(v),
  uuid: (v) => UUID.test(v),
  uuid3: (v) => UUID3.test(v),
  uuid4: (v) => UUID4.test(v),
  uuid5: (v) => UUID5.test(v),
  isbn: (v) => isIsbn10(v) || isIsbn13(v),
  isbn10: isIsbn10,
  isbn13: isIsbn13,
  creditcard: isCreditCard,
  ssn: (v) => SSN.test(v),
  hexcolor: (v) => HEX_COLOR.test(v),
  rgbcolor: (v) => RGB_COLOR.test(v),
  byte: (v) => BASE64.test(v),
  password: () => true,
  date: (v) => parseDate(v) !== undefined,
  duration: (v) => parseGoDuration(v) !== undefined,
  datetime: (v) => parseDateTime(v) !== undefined,
  'date-time': (v) => parseDateTime(v) !== undefined,
};

/** Formats apiextensions keeps in CRD schemas; others are stripped before validation. */
export function isCheckedFormat(format: string): boolean {
  return Object.hasOwn(FORMATS, format);
}

export function matchesFormat(format: string, value: string): boolean {
  const check = FORMATS[format];
  return check === undefined || check(value);
}

export function parseDate(value: string): Date | undefined {
  const m = DATE.exec(value);
  if (m === null) return undefined;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return date.getUTCDate() === Number(m[3]) && date.getUTCMonth() === Number(m[2]) - 1 ? date : undefined;
}

/** strfmt.ParseDateTime: RFC 3339 with optional fraction and a `Z` or numeric zone. */
export function parseDateTime(value: string): Date | undefined {
  const m = DATE_TIME.exec(value);
  if (m === null) return undefined;
  if (parseDate(`${m[1]}-${m[2]}-${m[3]}`) === undefined) return undefined;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) return undefined;
  const zone = (m[8] ?? 'Z').toUpperCase() === 'Z' ? 'Z' : `${m[8]?.slice(0, 3)}:${m[8]?.slice(-2)}`;
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${(m[7] ?? '').slice(0, 4)}${zone}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1e3,
  m: 6e4,
  h: 3.6e6,
};
const LONG_DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1e3,
  second: 1e3,
  sec: 1e3,
  m: 6e4,
  minute: 6e4,
  min: 6e4,
  h: 3.6e6,
  hour: 3.6e6,
  hr: 3.6e6,
  d: 8.64e7,
  day: 8.64e7,
  w: 6.048e8,
  wk: 6.048e8,
  week: 6.048e8,
};

/**
 * strfmt.ParseDuration, in milliseconds: Go's time.ParseDuration syntax (`1h30m`, `-1.5s`), or a single
 * `<n> <unit>` with the longer unit names strfmt accepts (`3 days`, `1w`).
 */
export function parseGoDuration(value: string): number | undefined {
  return parseTimeDuration(value) ?? parseLongDuration(value);
}

function parseTimeDuration(value: string): number | undefined {
  if (value === '0' || value === '+0' || value === '-0') return 0;
  const m = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(value);
  if (m === null) return undefined;
  let total = 0;
  for (const part of (m[2] ?? '').matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (DURATION_UNITS_MS[part[2] ?? ''] ?? 0);
  }
  return m[1] === '-' ? -total : total;
}

function parseLongDuration(value: string): number | undefined {
  const m = /^(\d+)\s*([A-Za-zµ]+?)s?$/.exec(value.trim());
  if (m === null) return undefined;
  const unit = LONG_DURATION_UNITS_MS[m[2] ?? ''];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

/** govalidator.IsRequestURI: parseable by Go's url.ParseRequestURI (absolute URL or absolute path). */
function isRequestUri(value: string): boolean {
  if (value.startsWith('/')) return !/\s/.test(value);
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value) && URL.canParse(value);
}

/** net/mail.ParseAddress, simplified to the common `local@domain` and `Name <local@domain>` forms. */
function isEmail(value: string): boolean {
  const address = /<([^<>]+)>\s*$/.exec(value)?.[1] ?? value;
  return /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/.test(address.trim());
}

function isHostname(value: string): boolean {
  return HOSTNAME.test(value) && value.length <= 255 && value.split('.').every((label) => label.length <= 63);
}

function isIsbn10(value: string): boolean {
  const digits = value.replace(/[\s-]/g, '');
  if (!/^\d{9}[\dX]$/.test(digits)) return false;
  const sum = [...digits].reduce((acc, c, i) => acc + (c === 'X' ? 10 : Number(c)) * (i + 1), 0);
  return sum % 11 === 0;
}

function isIsbn13(value: string): boolean {
  const digits = value.replace(/[\s-]/g, '');
  if (!/^\d{13}$/.test(digits)) return false;
  const sum = [...digits].reduce((acc, c, i) => acc + Number(c) * (i % 2 === 0 ? 1 : 3), 0);
  return sum % 10 === 0;
}

function isCreditCard(value: string): boolean {
  const digits = value.replace(/[\s-]/g, '');
  if (!/^\d{13,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}
