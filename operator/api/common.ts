import { z } from 'zod';
import { GO_DURATION_PATTERN } from './duration.js';

export const GROUP = 'mesh.meshwright.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/**
 * A CEL rule (`x-kubernetes-validations`) and its TypeScript twin. The rule goes into the CRD so the
 * API server refuses the object; `holds` runs in zod so the operator refuses the same objects with
 * the same message. Keeping both in one value is what keeps them from drifting apart.
 */
export interface CelRule<T> {
  rule: string;
  message: string;
  /** Relative JSONPath (`.backends.canary`) of the field the message is about, when it is a child. */
  fieldPath?: string;
  holds: (self: T) => boolean;
}

interface CelRuleSpec {
  rule: string;
  message: string;
  fieldPath?: string;
}

const META_CEL = 'x-kubernetes-validations';

/** Attaches CEL rules to a schema: the CRD gets the rules, zod gets the twins. */
export function withRules<S extends z.ZodType>(schema: S, rules: CelRule<z.output<S>>[]): S {
  const checked = schema.check((ctx) => {
    for (const { holds, message, fieldPath } of rules) {
      if (holdsOrUnjudgeable(holds, ctx.value)) continue;
      ctx.issues.push({ code: 'custom', message, input: ctx.value, path: fieldPathSegments(fieldPath) });
    }
  });
  const specs: CelRuleSpec[] = rules.map(({ rule, message, fieldPath }) =>
    fieldPath ? { rule, message, fieldPath } : { rule, message },
  );
  return checked.meta({ ...schema.meta(), [META_CEL]: specs });
}

/** A transition rule: the field may be set on create but never changed afterwards. */
export function immutable<S extends z.ZodType>(schema: S, message: string): S {
  return schema.meta({ ...schema.meta(), [META_CEL]: [{ rule: 'self == oldSelf', message }] });
}

/**
 * A twin that throws met a value its field's own schema already refuses (an unparsable duration,
 * say); that field reports it, so the rule does not report it a second time.
 */
function holdsOrUnjudgeable<T>(holds: (self: T) => boolean, value: T): boolean {
  try {
    return holds(value);
  } catch {
    return true;
  }
}

function fieldPathSegments(fieldPath: string | undefined): string[] {
  return fieldPath ? fieldPath.split('.').filter(Boolean) : [];
}

/** Marks a list as keyed, so server-side apply merges its entries by key and the API server refuses duplicates. */
export function listMap<S extends z.ZodArray>(schema: S, keys: string[]): S {
  const keyed = schema.check((ctx) => {
    const seen = new Set<string>();
    ctx.value.forEach((item, index) => {
      const key = JSON.stringify(keys.map((k) => (item as Record<string, unknown>)[k]));
      if (seen.has(key)) {
        ctx.issues.push({ code: 'custom', message: 'Duplicate value', input: item, path: [index] });
      }
      seen.add(key);
    });
  });
  return keyed.meta({
    ...schema.meta(),
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': keys,
  });
}

/** Marks a list of scalars as a set: entries are unique and merged as a set by server-side apply. */
export function listSet<S extends z.ZodArray>(schema: S): S {
  const unique = schema.check((ctx) => {
    ctx.value.forEach((item, index) => {
      if (ctx.value.indexOf(item) !== index) {
        ctx.issues.push({ code: 'custom', message: 'Duplicate value', input: item, path: [index] });
      }
    });
  });
  return unique.meta({ ...schema.meta(), 'x-kubernetes-list-type': 'set' });
}

/** A list replaced whole by server-side apply (order matters, entries have no key). */
export function listAtomic<S extends z.ZodArray>(schema: S): S {
  return schema.meta({ ...schema.meta(), 'x-kubernetes-list-type': 'atomic' });
}

// ---------------------------------------------------------------------------------------------
// Shared field types

export const DNS1123_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** A DNS-1123 label: what Kubernetes allows as a Service or Namespace name. */
export const dnsLabel = (what: string) =>
  z
    .string()
    .min(1)
    .max(63)
    .regex(new RegExp(DNS1123_LABEL_PATTERN))
    .describe(`${what}: a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters).`);

export const duration = (what: string) =>
  z
    .string()
    .max(64)
    .regex(new RegExp(GO_DURATION_PATTERN))
    .describe(`${what}, as a Go duration (for example \`30s\`, \`1m30s\`, \`250ms\`).`);

export const percentage = (what: string) =>
  z.number().min(0).max(100).describe(`${what}, a percentage from 0 to 100.`);

/** A resource quantity (`100m`, `128Mi`, `2`), integer or string as in Kubernetes' ResourceRequirements. */
const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
export const quantity = z
  .union([z.int().min(0), z.string().regex(new RegExp(QUANTITY_PATTERN))])
  .describe('A resource quantity such as `100m` CPU or `128Mi` memory.');

export const resourceRequirements = (what: string) =>
  z
    .object({
      requests: z
        .record(z.string(), quantity)
        .optional()
        .describe('Minimum resources the scheduler reserves (`cpu`, `memory`).'),
      limits: z
        .record(z.string(), quantity)
        .optional()
        .describe('Maximum resources the container may use (`cpu`, `memory`).'),
    })
    .describe(`Compute resources of ${what}, as in a container's \`resources\`.`);

export const logLevel = z
  .enum(['debug', 'info', 'warn', 'error'])
  .describe('Log verbosity: `debug`, `info`, `warn` or `error`.');

/** A container image reference: `registry/repository[:tag][@sha256:digest]`. */
export const imageReference = (what: string) =>
  z
    .string()
    .min(1)
    .max(512)
    .regex(
      /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    )
    .describe(`${what}: a container image reference such as \`registry.example/meshwright/proxy:v1.2.3\`.`);

const labelSelectorRequirement = withRules(
  z
    .object({
      key: z.string().min(1).max(317).describe('The label key the requirement applies to.'),
      operator: z
        .enum(['In', 'NotIn', 'Exists', 'DoesNotExist'])
        .describe('How the key relates to the values: `In`, `NotIn`, `Exists` or `DoesNotExist`.'),
      values: listAtomic(
        z
          .array(z.string().max(63).describe('A label value.'))
          .max(64)
          .describe('Values for `In` and `NotIn` (at least one); empty for `Exists` and `DoesNotExist`.'),
      ).optional(),
    })
    .describe('A label selector requirement: a key, an operator and values.'),
  [
    {
      rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
      message: 'values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist',
      holds: (r) => (r.operator === 'In' || r.operator === 'NotIn') === (r.values?.length ?? 0) > 0,
    },
  ],
);

export const labelSelector = (what: string) =>
  z
    .object({
      matchLabels: z
        .record(z.string(), z.string())
        .optional()
        .describe('Labels that must all be present with these values.'),
      matchExpressions: listAtomic(
        z.array(labelSelectorRequirement).max(32).describe('Requirements that must all hold.'),
      ).optional(),
    })
    .describe(`${what}: a Kubernetes label selector (matchLabels and matchExpressions, all ANDed).`);

export type LabelSelector = z.infer<ReturnType<typeof labelSelector>>;

/** metav1.Condition, as every Kubernetes API uses it. */
export const condition = z
  .object({
    type: z
      .string()
      .max(316)
      .regex(
        /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
      )
      .describe('The aspect of the resource this condition describes, in CamelCase (`Ready`, `Promoted`).'),
    status: z
      .enum(['True', 'False', 'Unknown'])
      .describe('Whether the condition holds: `True`, `False` or `Unknown`.'),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('The `.metadata.generation` the condition was computed from.'),
    lastTransitionTime: z.iso
      .datetime()
      .describe('When the condition last changed from one status to another.'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe('A CamelCase, machine-readable reason for the last transition.'),
    message: z.string().max(32768).describe('A human-readable explanation of the condition.'),
  })
  .describe('A condition in metav1.Condition form.');

export type Condition = z.infer<typeof condition>;

export const conditions = listMap(
  z.array(condition).max(16).describe('The latest observations of the resource, one per condition type.'),
  ['type'],
).optional();

export const observedGeneration = z
  .int()
  .min(0)
  .optional()
  .describe(
    'The `.metadata.generation` the operator last acted on; status is current when it equals the generation.',
  );

/** The part of ObjectMeta the API carries through zod; the API server owns the rest. */
export const objectMeta = z
  .looseObject({
    name: z.string().optional(),
    namespace: z.string().optional(),
    generation: z.int().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .describe('Standard object metadata.');
