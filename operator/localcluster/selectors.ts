/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return -- Kubernetes objects are untyped JSON here (Obj) */
/** Label selectors (k8s.io/apimachinery/pkg/labels) and field selectors, as the query string carries them. */
import { badRequest } from './errors.js';

type Op = 'exists' | '!' | '=' | '!=' | 'in' | 'notin';
interface Requirement {
  key: string;
  op: Op;
  values: string[];
}

export type Matcher = (labels: Record<string, string> | undefined) => boolean;

/** Splits at commas that are not inside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function parseRequirement(text: string): Requirement {
  let m = /^!\s*(\S+)$/.exec(text);
  if (m) return { key: m[1]!, op: '!', values: [] };
  m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(text);
  if (m) {
    const values = m[3]!.split(',').map((v) => v.trim());
    return { key: m[1]!, op: m[2] as Op, values };
  }
  m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
  if (m) return { key: m[1]!, op: m[2] === '!=' ? '!=' : '=', values: [m[3]!] };
  if (/^\S+$/.test(text)) return { key: text, op: 'exists', values: [] };
  throw badRequest(`unable to parse requirement: found '${text}', expected: !, =, ==, in, notin`);
}

export function parseLabelSelector(text: string | null | undefined): Matcher | undefined {
  if (!text || !text.trim()) return undefined;
  const reqs = splitTop(text).map(parseRequirement);
  for (const r of reqs) {
    if (!KEY.test(r.key)) throw badRequest(`unable to parse requirement: invalid label key "${r.key}"`);
  }
  return (labels) => reqs.every((r) => matches(r, labels?.[r.key]));
}

function matches(r: Requirement, value: string | undefined): boolean {
  switch (r.op) {
    case 'exists':
      return value !== undefined;
    case '!':
      return value === undefined;
    case '=':
      return value === r.values[0];
    case '!=':
      return value !== r.values[0];
    case 'in':
      return value !== undefined && r.values.includes(value);
    case 'notin':
      return value === undefined || !r.values.includes(value);
  }
}

/** A label selector object (`matchLabels`/`matchExpressions`), as webhooks and policies carry it. */
export function matchesLabelSelector(
  selector:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key: string; operator: string; values?: string[] }[];
      }
    | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels?.[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const value = labels?.[e.key];
    const values = e.values ?? [];
    const ok =
      e.operator === 'In'
        ? value !== undefined && values.includes(value)
        : e.operator === 'NotIn'
          ? value === undefined || !values.includes(value)
          : e.operator === 'Exists'
            ? value !== undefined
            : e.operator === 'DoesNotExist'
              ? value === undefined
              : false;
    if (!ok) return false;
  }
  return true;
}

/** Field selectors each resource supports beyond metadata.name and metadata.namespace. */
const FIELDS: Record<string, Record<string, (o: Obj) => unknown>> = {
  '/pods': {
    'spec.nodeName': (o) => o.spec?.nodeName ?? '',
    'spec.restartPolicy': (o) => o.spec?.restartPolicy,
    'spec.schedulerName': (o) => o.spec?.schedulerName,
    'spec.serviceAccountName': (o) => o.spec?.serviceAccountName,
    'status.phase': (o) => o.status?.phase,
    'status.podIP': (o) => o.status?.podIP ?? '',
    'status.nominatedNodeName': (o) => o.status?.nominatedNodeName ?? '',
  },
  '/events': {
    'involvedObject.kind': (o) => o.involvedObject?.kind ?? '',
    'involvedObject.namespace': (o) => o.involvedObject?.namespace ?? '',
    'involvedObject.name': (o) => o.involvedObject?.name ?? '',
    'involvedObject.uid': (o) => o.involvedObject?.uid ?? '',
    'involvedObject.apiVersion': (o) => o.involvedObject?.apiVersion ?? '',
    'involvedObject.resourceVersion': (o) => o.involvedObject?.resourceVersion ?? '',
    'involvedObject.fieldPath': (o) => o.involvedObject?.fieldPath ?? '',
    reason: (o) => o.reason ?? '',
    reportingComponent: (o) => o.reportingComponent ?? '',
    source: (o) => o.source?.component ?? '',
    type: (o) => o.type ?? '',
  },
  '/secrets': { type: (o) => o.type },
  '/namespaces': { 'status.phase': (o) => o.status?.phase },
  '/services': { 'spec.clusterIP': (o) => o.spec?.clusterIP, 'spec.type': (o) => o.spec?.type },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;
export type ObjectMatcher = (obj: Obj) => boolean;

/** Parses `fieldSelector` for the resource stored under `storageKey`; 400 for fields it does not support. */
export function parseFieldSelector(
  text: string | null | undefined,
  storageKey: string,
): ObjectMatcher | undefined {
  if (!text || !text.trim()) return undefined;
  const extra = FIELDS[storageKey] ?? {};
  const reqs = splitTop(text).map((part) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = m[1]!.trim();
    const get =
      field === 'metadata.name'
        ? (o: Obj) => o.metadata?.name
        : field === 'metadata.namespace'
          ? (o: Obj) => o.metadata?.namespace ?? ''
          : extra[field];
    if (!get) throw badRequest(`field label not supported: ${field}`);
    return { get, neg: m[2] === '!=', value: m[3]!.trim() };
  });
  return (o) => reqs.every((r) => (String(r.get(o) ?? '') === r.value) !== r.neg);
}
