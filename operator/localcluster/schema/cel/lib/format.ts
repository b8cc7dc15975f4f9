/**
 * Kubernetes' CEL format library: `format.dns1123Label().validate(s)` returns `optional.none()` for a valid
 * string or the validation messages of k8s.io/apimachinery's validators.
 */
import { Optional, type Environment } from '@marcbachmann/cel-js';
import { parseDate, parseDateTime } from '../../formats.js';
import { parseRequestUri } from './urls.js';

type Validator = (value: string) => string[];

class NamedFormat {
  constructor(
    readonly name: string,
    readonly validate: Validator,
  ) {}
}

class FormatNamespace {}

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?';
const QUALIFIED_NAME_MESSAGE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/** apimachinery's validation.RegexError (including its double space before "or"). */
function regexError(message: string, pattern: string, ...examples: string[]): string {
  if (examples.length === 0) return `${message} (regex used for validation is '${pattern}')`;
  const shown = examples.map((e, i) => `${i > 0 ? ' or ' : ''}'${e}', `).join('');
  return `${message} (e.g. ${shown}regex used for validation is '${pattern}')`;
}

function matchesWhole(pattern: string, value: string): boolean {
  return new RegExp(`^${pattern}$`).test(value);
}

function maxLength(value: string, max: number): string[] {
  return value.length > max ? [`must be no more than ${max} characters`] : [];
}

function dns1123Label(value: string): string[] {
  const message =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
  const regex = matchesWhole(DNS1123_LABEL, value)
    ? []
    : [regexError(message, DNS1123_LABEL, 'my-name', '123-abc')];
  return [...maxLength(value, 63), ...regex];
}

function dns1123Subdomain(value: string): string[] {
  const message =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  const regex = matchesWhole(DNS1123_SUBDOMAIN, value)
    ? []
    : [regexError(message, DNS1123_SUBDOMAIN, 'example.com')];
  return [...maxLength(value, 253), ...regex];
}

function dns1035Label(value: string): string[] {
  const message =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
  const regex = matchesWhole(DNS1035_LABEL, value)
    ? []
    : [regexError(message, DNS1035_LABEL, 'my-name', 'abc-123')];
  return [...maxLength(value, 63), ...regex];
}

function qualifiedName(value: string): string[] {
  const parts = value.split('/');
  if (parts.length > 2) {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_MESSAGE, QUALIFIED_NAME, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  const errs: string[] = [];
  const name = parts.length === 2 ? (parts[1] ?? '') : value;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '') errs.push('prefix part must be non-empty');
    else errs.push(...dns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  }
  if (name === '') errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  if (!matchesWhole(QUALIFIED_NAME, name)) {
    errs.push(
      `name part ${regexError(QUALIFIED_NAME_MESSAGE, QUALIFIED_NAME, 'MyName', 'my.name', '123-abc')}`,
    );
  }
  return errs;
}

function labelValue(value: string): string[] {
  const message =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  const regex = matchesWhole(LABEL_VALUE, value)
    ? []
    : [regexError(message, LABEL_VALUE, 'MyValue', 'my_value', '12345')];
  return [...maxLength(value, 63), ...regex];
}

/** Prefix formats accept a trailing dash (generateName prefixes). */
function asPrefix(validate: Validator): Validator {
  return (value) => validate(value.length > 1 && value.endsWith('-') ? `${value.slice(0, -1)}a` : value);
}

const check =
  (ok: (value: string) => boolean, message: string): Validator =>
  (value) =>
    ok(value) ? [] : [message];

const FORMATS: Record<string, Validator> = {
  dns1123Label,
  dns1123Subdomain,
  dns1035Label,
  qualifiedName,
  dns1123LabelPrefix: asPrefix(dns1123Label),
  dns1123SubdomainPrefix: asPrefix(dns1123Subdomain),
  dns1035LabelPrefix: asPrefix(dns1035Label),
  labelValue,
  uri: check((v) => parseRequestUri(v) !== undefined, 'invalid URI'),
  uuid: check(
    (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
    'invalid UUID',
  ),
  byte: check(
    (v) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v),
    'invalid base64',
  ),
  date: check((v) => parseDate(v) !== undefined, 'invalid date'),
  datetime: check((v) => parseDateTime(v) !== undefined, 'invalid datetime'),
};

export function registerFormat(env: Environment): void {
  env
    .registerType('kubernetes.NamedFormat', NamedFormat)
    .registerType('k8s.FormatNamespace', FormatNamespace)
    .registerConstant('format', 'k8s.FormatNamespace', new FormatNamespace())
    .registerFunction(
      'k8s.FormatNamespace.named(string): optional<kubernetes.NamedFormat>',
      (_ns: FormatNamespace, name: string) => {
        const validate = FORMATS[name];
        return validate === undefined ? Optional.none() : Optional.of(new NamedFormat(name, validate));
      },
    )
    .registerFunction(
      'kubernetes.NamedFormat.validate(string): optional<list<string>>',
      (f: NamedFormat, value: string) => {
        const errs = f.validate(value);
        return errs.length === 0 ? Optional.none() : Optional.of(errs);
      },
    );
  for (const [name, validate] of Object.entries(FORMATS)) {
    env.registerFunction(
      `k8s.FormatNamespace.${name}(): kubernetes.NamedFormat`,
      () => new NamedFormat(name, validate),
    );
  }
}
