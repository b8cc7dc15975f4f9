/**
 * Types of the admission package: the admissionregistration.k8s.io/v1 MutatingWebhook fields the
 * dispatcher reads, the request it is asked to admit, and the metav1.Status it answers with on refusal.
 */

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/**
 * The attributes of one API request, as kube-apiserver hands them to admission. For a request on a
 * Namespace object itself, `namespace` is that namespace's name (the real request-info parser does the
 * same), so `rules[].scope` and `namespaceSelector` treat it like the real server does.
 */
export interface AdmissionRequestInput {
  uid: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  namespace?: string;
  name?: string;
  object?: object;
  oldObject?: object;
  userInfo: object;
  dryRun: boolean;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

export interface ServiceReference {
  namespace: string;
  name: string;
  path?: string;
  port?: number;
}

export interface WebhookClientConfig {
  url?: string;
  service?: ServiceReference;
  caBundle?: string;
}

export interface MatchCondition {
  name: string;
  expression: string;
}

/** admissionregistration.k8s.io/v1 MutatingWebhook, as read from a configuration object. */
export interface MutatingWebhook {
  name: string;
  clientConfig?: WebhookClientConfig;
  rules?: RuleWithOperations[];
  failurePolicy?: string;
  matchPolicy?: string;
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  sideEffects?: string;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  reinvocationPolicy?: string;
  matchConditions?: MatchCondition[];
}

/** One webhook of one configuration, in dispatch order. `uid` identifies it across reinvocation rounds. */
export interface HookEntry {
  uid: string;
  configurationName: string;
  webhook: MutatingWebhook;
}

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** metav1.Status as the API server writes it for a refused request. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: object;
  status: string;
  message: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export type MutatingWebhooksResult =
  | { allowed: true; object?: object; warnings: string[]; patched: string[] }
  | { allowed: false; status: object };
