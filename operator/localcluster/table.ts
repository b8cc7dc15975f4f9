/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): meta.k8s.io/v1
 * Tables with a CRD's additionalPrinterColumns (simple JSONPath) or the built-in kinds' usual
 * columns, so `kubectl get` prints what it prints against a real cluster.
 */
import type { PrinterColumn, ResourceType } from './kinds.js';
import type { Obj } from './store.js';

export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

const age = (ts: unknown): string =>
  typeof ts === 'string' ? humanDuration(Date.now() - Date.parse(ts)) : '<unknown>';

// ---------------------------------------------------------------- JSONPath

type Step =
  | { field: string }
  | { index: number }
  | { all: true }
  | { filter: { path: string[]; op: string; value: unknown } };

function parsePath(text: string): Step[] {
  let s = text.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  const steps: Step[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === '.') {
      i++;
      const m = /^[^.[]+/.exec(s.slice(i));
      if (m) {
        steps.push(m[0] === '*' ? { all: true } : { field: m[0] });
        i += m[0].length;
      }
    } else if (s[i] === '[') {
      const end = matchBracket(s, i);
      const inner = s.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ all: true });
      else if (/^-?\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if (/^['"].*['"]$/.test(inner)) steps.push({ field: inner.slice(1, -1) });
      else {
        const f = /^\?\(@((?:\.[\w-]+)+)\s*(==|!=)\s*(.+)\)$/.exec(inner);
        if (f) {
          const raw = f[3]!.trim();
          const value = /^['"].*['"]$/.test(raw)
            ? raw.slice(1, -1)
            : raw === 'true'
              ? true
              : raw === 'false'
                ? false
                : Number(raw);
          steps.push({ filter: { path: f[1]!.slice(1).split('.'), op: f[2]!, value } });
        } else steps.push({ field: inner });
      }
    } else {
      const m = /^[^.[]+/.exec(s.slice(i));
      steps.push({ field: m![0] });
      i += m![0].length;
    }
  }
  return steps;
}

function matchBracket(s: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return i;
  }
  return s.length;
}

/** Every value the JSONPath selects, in order. */
export function jsonPath(obj: unknown, path: string): unknown[] {
  let cur: unknown[] = [obj];
  for (const step of parsePath(path)) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || v === undefined) continue;
      if ('field' in step) {
        if (typeof v === 'object' && !Array.isArray(v) && step.field in (v as Obj))
          next.push((v as Obj)[step.field]);
      } else if ('index' in step) {
        if (Array.isArray(v)) {
          const x = v[step.index < 0 ? v.length + step.index : step.index];
          if (x !== undefined) next.push(x);
        }
      } else if ('all' in step) {
        if (Array.isArray(v)) next.push(...v);
        else if (typeof v === 'object') next.push(...Object.values(v as Obj));
      } else if (Array.isArray(v)) {
        const { path: p, op, value } = step.filter;
        for (const item of v) {
          let x: unknown = item;
          for (const f of p) x = x && typeof x === 'object' ? (x as Obj)[f] : undefined;
          if (x !== undefined && (op === '==' ? x === value : x !== value)) next.push(item);
        }
      }
    }
    cur = next;
  }
  return cur;
}

// ---------------------------------------------------------------- columns

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
  cell: (o: Obj) => unknown;
}

const col = (
  name: string,
  cell: (o: Obj) => unknown,
  type = 'string',
  priority = 0,
  format = '',
  description = '',
): Column => ({ name, type, format, description, priority, cell });

const NAME = col(
  'Name',
  (o) => o.metadata?.name,
  'string',
  0,
  'name',
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
);
const AGE = col(
  'Age',
  (o) => age(o.metadata?.creationTimestamp),
  'string',
  0,
  '',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
);

const ports = (o: Obj): string => {
  const ps = (o.spec?.ports ?? []) as Obj[];
  if (!ps.length) return '<none>';
  return ps.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
};
const selectorText = (sel: Record<string, string> | undefined): string =>
  sel && Object.keys(sel).length
    ? Object.entries(sel)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
    : '<none>';

const BUILTIN_COLUMNS: Record<string, Column[]> = {
  '/namespaces': [NAME, col('Status', (o) => o.status?.phase), AGE],
  '/configmaps': [
    NAME,
    col('Data', (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, 'integer'),
    AGE,
  ],
  '/secrets': [
    NAME,
    col('Type', (o) => o.type),
    col('Data', (o) => Object.keys(o.data ?? {}).length, 'integer'),
    AGE,
  ],
  '/serviceaccounts': [NAME, col('Secrets', (o) => (o.secrets ?? []).length, 'integer'), AGE],
  '/services': [
    NAME,
    col('Type', (o) => o.spec?.type),
    col('Cluster-IP', (o) => o.spec?.clusterIP ?? '<none>'),
    col(
      'External-IP',
      (o) =>
        (o.spec?.externalIPs ?? []).join(',') ||
        (o.spec?.type === 'ExternalName' ? o.spec.externalName : '<none>'),
    ),
    col('Port(s)', ports),
    AGE,
    col('Selector', (o) => selectorText(o.spec?.selector), 'string', 1),
  ],
  '/pods': [
    NAME,
    col(
      'Ready',
      (o) =>
        `${((o.status?.containerStatuses ?? []) as Obj[]).filter((c) => c.ready).length}/${(o.spec?.containers ?? []).length}`,
    ),
    col('Status', (o) => (o.metadata?.deletionTimestamp ? 'Terminating' : o.status?.phase)),
    col(
      'Restarts',
      (o) => ((o.status?.containerStatuses ?? []) as Obj[]).reduce((n, c) => n + (c.restartCount ?? 0), 0),
      'integer',
    ),
    AGE,
    col('IP', (o) => o.status?.podIP ?? '<none>', 'string', 1),
    col('Node', (o) => o.spec?.nodeName ?? '<none>', 'string', 1),
  ],
  'apps/deployments': [
    NAME,
    col('Ready', (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`),
    col('Up-to-date', (o) => o.status?.updatedReplicas ?? 0, 'integer'),
    col('Available', (o) => o.status?.availableReplicas ?? 0, 'integer'),
    AGE,
    col(
      'Containers',
      (o) => ((o.spec?.template?.spec?.containers ?? []) as Obj[]).map((c) => c.name).join(','),
      'string',
      1,
    ),
    col(
      'Images',
      (o) => ((o.spec?.template?.spec?.containers ?? []) as Obj[]).map((c) => c.image).join(','),
      'string',
      1,
    ),
    col('Selector', (o) => selectorText(o.spec?.selector?.matchLabels), 'string', 1),
  ],
  '/endpoints': [
    NAME,
    col('Endpoints', (o) => {
      const out: string[] = [];
      for (const s of (o.subsets ?? []) as Obj[])
        for (const a of (s.addresses ?? []) as Obj[])
          for (const p of (s.ports ?? [{}]) as Obj[]) out.push(p.port ? `${a.ip}:${p.port}` : a.ip);
      return out.length ? out.join(',') : '<none>';
    }),
    AGE,
  ],
  '/events': [
    col('Last Seen', (o) => age(o.lastTimestamp ?? o.eventTime ?? o.metadata?.creationTimestamp)),
    col('Type', (o) => o.type),
    col('Reason', (o) => o.reason),
    col(
      'Object',
      (o) => `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`,
    ),
    col('Message', (o) => o.message),
  ],
  'coordination.k8s.io/leases': [NAME, col('Holder', (o) => o.spec?.holderIdentity ?? ''), AGE],
  'apiextensions.k8s.io/customresourcedefinitions': [
    NAME,
    col('Created At', (o) => o.metadata?.creationTimestamp, 'date'),
  ],
  'networking.k8s.io/networkpolicies': [
    NAME,
    col('Pod-Selector', (o) => selectorText(o.spec?.podSelector?.matchLabels)),
    AGE,
  ],
  'policy/poddisruptionbudgets': [
    NAME,
    col('Min Available', (o) => o.spec?.minAvailable ?? 'N/A'),
    col('Max Unavailable', (o) => o.spec?.maxUnavailable ?? 'N/A'),
    col('Allowed Disruptions', (o) => o.status?.disruptionsAllowed ?? 0, 'integer'),
    AGE,
  ],
  'discovery.k8s.io/endpointslices': [
    NAME,
    col('AddressType', (o) => o.addressType),
    col('Ports', (o) => ((o.ports ?? []) as Obj[]).map((p) => p.port).join(',') || '<unset>'),
    col(
      'Endpoints',
      (o) => ((o.endpoints ?? []) as Obj[]).flatMap((e) => e.addresses ?? []).join(',') || '<unset>',
    ),
    AGE,
  ],
  'rbac.authorization.k8s.io/rolebindings': [
    NAME,
    col('Role', (o) => `${o.roleRef?.kind}/${o.roleRef?.name}`),
    AGE,
  ],
  'rbac.authorization.k8s.io/clusterrolebindings': [
    NAME,
    col('Role', (o) => `${o.roleRef?.kind}/${o.roleRef?.name}`),
    AGE,
  ],
  'rbac.authorization.k8s.io/roles': [NAME, col('Created At', (o) => o.metadata?.creationTimestamp, 'date')],
  'rbac.authorization.k8s.io/clusterroles': [
    NAME,
    col('Created At', (o) => o.metadata?.creationTimestamp, 'date'),
  ],
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': [
    NAME,
    col('Webhooks', (o) => (o.webhooks ?? []).length, 'integer'),
    AGE,
  ],
};

function customColumns(columns: PrinterColumn[]): Column[] {
  if (!columns.length) return [NAME, AGE];
  return [
    NAME,
    ...columns.map((c) =>
      col(
        c.name,
        (o) => {
          const values = jsonPath(o, c.jsonPath);
          if (!values.length) return null;
          const v =
            values.length === 1
              ? values[0]
              : values.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(',');
          if (c.type === 'date') return typeof v === 'string' ? age(v) : null;
          if (c.type === 'integer' || c.type === 'number') return typeof v === 'number' ? v : null;
          if (c.type === 'boolean') return typeof v === 'boolean' ? v : null;
          return typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
        },
        c.type,
        c.priority ?? 0,
        c.format ?? '',
        c.description ?? '',
      ),
    ),
  ];
}

export function columnsFor(t: ResourceType): Column[] {
  if (t.custom) return customColumns(t.custom.printerColumns);
  return BUILTIN_COLUMNS[t.storageKey] ?? [NAME, AGE];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function toTable(
  t: ResourceType,
  objects: Obj[],
  listMeta: { resourceVersion?: string; continue?: string; remainingItemCount?: number },
  include: IncludeObject,
  withColumns = true,
): Obj {
  const columns = columnsFor(t);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    ...(withColumns
      ? {
          columnDefinitions: columns.map(({ name, type, format, description, priority }) => ({
            name,
            type,
            format,
            description,
            priority,
          })),
        }
      : { columnDefinitions: null }),
    rows: objects.map((o) => ({
      cells: columns.map((c) => {
        const v = c.cell(o);
        return v === undefined ? null : v;
      }),
      ...(include === 'None'
        ? {}
        : {
            object:
              include === 'Object'
                ? o
                : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
          }),
    })),
  };
}
