/**
 * Which webhooks a request reaches: the `rules`, `namespaceSelector` and `objectSelector` predicates of
 * k8s.io/apiserver's webhook plugin (predicates/rules, predicates/namespace, predicates/object), and the
 * resources that are never sent to webhooks at all. Pure functions of the request and the current object.
 */
import { goQuote } from '../schema/go-format.js';
import { internalError, isRecord, notFound } from './status.js';
import type {
  AdmissionRequestInput,
  GroupVersionKind,
  LabelSelector,
  MutatingWebhook,
  RuleWithOperations,
  Status,
} from './types.js';

export type Labels = Readonly<Record<string, string>>;

export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

type Requirement = { key: string; operator: string; values: readonly string[] };

/**
 * metav1.LabelSelectorAsSelector: the selector as a list of requirements. Throws SelectorError for what
 * that conversion refuses: an unknown operator, In/NotIn without values, Exists/DoesNotExist with values.
 */
export function parseSelector(selector: LabelSelector | undefined): Requirement[] {
  const requirements: Requirement[] = [
    ...Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => ({
      key,
      operator: 'In',
      values: [value],
    })),
    ...(selector?.matchExpressions ?? []).map(({ key, operator, values = [] }) => ({
      key,
      operator,
      values,
    })),
  ];
  for (const { operator, values } of requirements) {
    if (operator === 'In' || operator === 'NotIn') {
      if (values.length === 0) {
        throw new SelectorError(
          `values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty`,
        );
      }
    } else if (operator === 'Exists' || operator === 'DoesNotExist') {
      if (values.length > 0) {
        throw new SelectorError(
          `values: Invalid value: ${goStrings(values)}: values set must be empty for exists and does not exist`,
        );
      }
    } else {
      throw new SelectorError(`${goQuote(operator)} is not a valid label selector operator`);
    }
  }
  return requirements;
}

/** labels.Selector.Matches: every requirement holds (NotIn holds for an absent key). */
export function requirementsMatch(requirements: readonly Requirement[], labels: Labels): boolean {
  return requirements.every(({ key, operator, values }) => {
    const has = Object.hasOwn(labels, key);
    switch (operator) {
      case 'In':
        return has && values.includes(labels[key]!);
      case 'NotIn':
        return !has || !values.includes(labels[key]!);
      case 'Exists':
        return has;
      default:
        return !has;
    }
  });
}

export const selectorMatches = (selector: LabelSelector | undefined, labels: Labels): boolean =>
  requirementsMatch(parseSelector(selector), labels);

const goStrings = (values: readonly string[]): string => `[]string{${values.map(goQuote).join(', ')}}`;

/** The labels of an object's metadata; an absent object has none (and selects nothing). */
export function labelsOf(object: unknown): Labels | undefined {
  if (!isRecord(object)) return undefined;
  const metadata = object.metadata;
  const labels = isRecord(metadata) ? metadata.labels : undefined;
  if (!isRecord(labels)) return {};
  return Object.fromEntries(
    Object.entries(labels).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

const isNamespaceResource = (r: AdmissionRequestInput['resource']): boolean =>
  r.group === '' && r.version === 'v1' && r.resource === 'namespaces';

/** predicates/rules Matcher.Matches. */
export function ruleMatches(rule: RuleWithOperations, request: AdmissionRequestInput): boolean {
  const namespace = request.namespace ?? '';
  const scope = rule.scope ?? '*';
  const inScope =
    scope === '*' ||
    (scope === 'Namespaced' && !isNamespaceResource(request.resource) && namespace !== '') ||
    (scope === 'Cluster' && (isNamespaceResource(request.resource) || namespace === ''));
  return (
    inScope &&
    exactOrWildcard(rule.operations, request.operation) &&
    exactOrWildcard(rule.apiGroups, request.resource.group) &&
    exactOrWildcard(rule.apiVersions, request.resource.version) &&
    (rule.resources ?? []).some((entry) => {
      const slash = entry.indexOf('/');
      const resource = slash < 0 ? entry : entry.slice(0, slash);
      const subresource = slash < 0 ? '' : entry.slice(slash + 1);
      return (
        (resource === '*' || resource === request.resource.resource) &&
        (subresource === '*' || subresource === (request.subResource ?? ''))
      );
    })
  );
}

const exactOrWildcard = (items: readonly string[] | undefined, requested: string): boolean =>
  (items ?? []).some((item) => item === '*' || item === requested);

/**
 * Webhooks never see requests about the objects that configure admission, so a broken webhook cannot
 * lock the cluster out of fixing it (rules.IsExemptAdmissionConfigurationResource).
 */
export function isExemptFromWebhooks(kind: GroupVersionKind): boolean {
  return (
    kind.group === 'admissionregistration.k8s.io' &&
    [
      'ValidatingWebhookConfiguration',
      'MutatingWebhookConfiguration',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'MutatingAdmissionPolicy',
      'MutatingAdmissionPolicyBinding',
    ].includes(kind.kind)
  );
}

type Predicate = { matches: true } | { matches: false; error?: Status };

const MATCH: Predicate = { matches: true };
const NO_MATCH: Predicate = { matches: false };

/** The selector parsed up front, as the plugin does: an invalid one is an internal error whatever the labels. */
function parsedOrError(selector: LabelSelector | undefined): Requirement[] | Status {
  try {
    return parseSelector(selector);
  } catch (err) {
    if (err instanceof SelectorError) return internalError(err.message);
    throw err;
  }
}

/**
 * predicates/namespace MatchNamespaceSelector. Cluster-scoped objects other than Namespaces always match;
 * a Namespace being created or updated is judged by its own (possibly already mutated) labels; otherwise
 * by the labels of the request's namespace, and when those are unknown the request gets the real 404.
 */
function matchNamespace(
  webhook: MutatingWebhook,
  request: AdmissionRequestInput,
  object: unknown,
  namespaceLabels: Labels | undefined,
): Predicate {
  const namespace = request.namespace ?? '';
  const isNamespace = request.resource.resource === 'namespaces';
  if (namespace === '' && !isNamespace) return MATCH;
  const requirements = parsedOrError(webhook.namespaceSelector);
  if (!Array.isArray(requirements)) return { matches: false, error: requirements };
  if (requirements.length === 0) return MATCH;
  const judgedByItself =
    isNamespace && !request.subResource && (request.operation === 'CREATE' || request.operation === 'UPDATE');
  const labels = judgedByItself ? (labelsOf(object) ?? {}) : namespaceLabels;
  if (labels === undefined) return { matches: false, error: notFound('namespaces', namespace) };
  return requirementsMatch(requirements, labels) ? MATCH : NO_MATCH;
}

/** predicates/object MatchObjectSelector: the new object's labels or, on updates, the old object's. */
function matchObject(webhook: MutatingWebhook, object: unknown, oldObject: unknown): Predicate {
  const requirements = parsedOrError(webhook.objectSelector);
  if (!Array.isArray(requirements)) return { matches: false, error: requirements };
  if (requirements.length === 0) return MATCH;
  const selected = [labelsOf(object), labelsOf(oldObject)].some(
    (labels) => labels !== undefined && requirementsMatch(requirements, labels),
  );
  return selected ? MATCH : NO_MATCH;
}

export type Applicability = { kind: 'call' } | { kind: 'skip' } | { kind: 'error'; status: Status };

/**
 * generic.Webhook.ShouldCallHook without matchConditions: a selector that cannot be evaluated refuses
 * the request, but only when the webhook's rules would have matched it. Exact matchPolicy only: there is
 * no registry of equivalent resources (apps/v1 vs. extensions/v1beta1 deployments) to consult.
 */
export function webhookApplies(
  webhook: MutatingWebhook,
  request: AdmissionRequestInput,
  object: unknown,
  namespaceLabels: Labels | undefined,
): Applicability {
  const namespaceVerdict = matchNamespace(webhook, request, object, namespaceLabels);
  if (!namespaceVerdict.matches && !namespaceVerdict.error) return { kind: 'skip' };
  const objectVerdict = matchObject(webhook, object, request.oldObject);
  if (!objectVerdict.matches && !objectVerdict.error) return { kind: 'skip' };
  if (!(webhook.rules ?? []).some((rule) => ruleMatches(rule, request))) return { kind: 'skip' };
  const error =
    (!namespaceVerdict.matches && namespaceVerdict.error) || (!objectVerdict.matches && objectVerdict.error);
  return error ? { kind: 'error', status: error } : { kind: 'call' };
}
