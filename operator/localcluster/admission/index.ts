/**
 * Mutating admission webhooks, called the way kube-apiserver's webhook plugin calls them
 * (k8s.io/apiserver admission/plugin/webhook/mutating): configurations in name order, each webhook
 * seeing the object as the previous ones left it, failures judged by the webhook's failurePolicy, and
 * one reinvocation round for `reinvocationPolicy: IfNeeded` webhooks when a later webhook changed the object.
 */
import { compareStrings, goQuote } from '../schema/go-format.js';
import {
  CallError,
  ClientConfigError,
  decodeReply,
  postJson,
  targetFor,
  type ResolveService,
} from './client.js';
import { applyJsonPatch, JsonPatchError, jsonEqual } from './jsonpatch.js';
import { evaluateMatchConditions } from './match-conditions.js';
import { isExemptFromWebhooks, webhookApplies, type Applicability, type Labels } from './matching.js';
import {
  admissionRequest,
  admissionReview,
  DecodeError,
  InvalidResponse,
  reviewVersionFor,
  verifyResponse,
} from './review.js';
import { badRequest, forbidden, internalError, isRecord, webhookDenied } from './status.js';
import type {
  AdmissionRequestInput,
  HookEntry,
  MutatingWebhook,
  MutatingWebhooksResult,
  Status,
} from './types.js';

export type { AdmissionRequestInput } from './types.js';

/**
 * Runs every mutating webhook the request reaches and returns the object they leave, or the Status the
 * API server would refuse the request with.
 *
 * - `namespaceLabels`: labels of the request's namespace, for `namespaceSelector`. When a selector needs
 *   them and they are not given, the request is refused with `namespaces "<ns>" not found` (404), as the
 *   real server does for a namespace it cannot find.
 * - `resolveService`: where a webhook Service is reached; `undefined` fails the call with
 *   `service "<name>" not found`. The certificate is still verified for `<name>.<namespace>.svc`.
 * - `timeoutMs`: how long a call with the given `timeoutSeconds` may take (default: that many seconds).
 *
 * `warnings` are the webhooks' warnings, deduplicated, in order; `patched` names each webhook whose
 * patch changed the object, in call order (a reinvoked webhook that changes it again appears twice).
 */
export async function runMutatingWebhooks(a: {
  configurations: object[];
  request: AdmissionRequestInput;
  namespaceLabels?: Record<string, string>;
  resolveService: ResolveService;
  timeoutMs?: (webhookTimeoutSeconds: number) => number;
}): Promise<MutatingWebhooksResult> {
  const { request } = a;
  let object: object | undefined = request.object === undefined ? undefined : structuredClone(request.object);
  const warnings: string[] = [];
  const patched: string[] = [];
  const allowed = (): MutatingWebhooksResult => ({
    allowed: true,
    ...(object ? { object } : {}),
    warnings,
    patched,
  });
  if (isExemptFromWebhooks(request.kind)) return allowed();

  const hooks = hookEntries(a.configurations);
  const reinvocation = new ReinvocationContext();
  for (const round of [0, 1]) {
    if (round === 1 && !reinvocation.roundRequested) break;
    for (const hook of hooks) {
      const applies = shouldCallHook(hook.webhook, request, object, a.namespaceLabels);
      if (applies.kind === 'error') return refused(applies.status);
      if (applies.kind === 'skip') continue;
      // A webhook skipped in the first round is never called for the first time in the second.
      if (round === 1 && !reinvocation.shouldReinvoke(hook.uid)) continue;

      const outcome = await callHook(hook.webhook, request, object, {
        resolveService: a.resolveService,
        timeoutMs: a.timeoutMs ?? ((seconds) => seconds * 1000),
      });
      for (const warning of outcome.warnings) if (!warnings.includes(warning)) warnings.push(warning);
      if (outcome.kind === 'mutated') {
        object = outcome.object;
        patched.push(hook.webhook.name);
        reinvocation.objectChanged();
      }
      if (hook.webhook.reinvocationPolicy === 'IfNeeded') reinvocation.invoked(hook.uid);
      if (outcome.kind === 'failed') {
        if (hook.webhook.failurePolicy === 'Ignore') continue;
        return refused(
          internalError(`failed calling webhook ${goQuote(hook.webhook.name)}: ${outcome.reason}`),
        );
      }
      if (outcome.kind === 'refused') return refused(outcome.status);
    }
  }
  return allowed();
}

const refused = (status: Status): MutatingWebhooksResult => ({ allowed: false, status });

/** Every webhook of every configuration, configurations sorted by name (stably, bytewise like Go). */
function hookEntries(configurations: readonly object[]): HookEntry[] {
  return configurations
    .map((configuration) => {
      const { metadata, webhooks } = configuration as { metadata?: { name?: unknown }; webhooks?: unknown };
      return {
        name: typeof metadata?.name === 'string' ? metadata.name : '',
        webhooks: Array.isArray(webhooks)
          ? webhooks.filter(isRecord).map((w) => w as unknown as MutatingWebhook)
          : [],
      };
    })
    .sort((x, y) => compareStrings(x.name, y.name))
    .flatMap(({ name, webhooks }) =>
      webhooks.map((webhook, index) => ({
        uid: `${name}/${webhook.name}/${index}`,
        configurationName: name,
        webhook,
      })),
    );
}

/**
 * The webhook reinvocation bookkeeping of the mutating plugin: webhooks with `IfNeeded` that ran before a
 * change made by a later webhook are called once more in a second round. Only webhooks take part here
 * (there are no in-tree mutating plugins to rerun), so the second round calls exactly those webhooks.
 */
class ReinvocationContext {
  private previouslyInvoked = new Set<string>();
  private readonly toReinvoke = new Set<string>();
  roundRequested = false;

  objectChanged(): void {
    for (const uid of this.previouslyInvoked) this.toReinvoke.add(uid);
    this.previouslyInvoked = new Set();
    this.roundRequested = true;
  }

  invoked(uid: string): void {
    this.previouslyInvoked.add(uid);
  }

  shouldReinvoke(uid: string): boolean {
    return this.toReinvoke.has(uid);
  }
}

/** generic.Webhook.ShouldCallHook: selectors and rules, then matchConditions on the current object. */
function shouldCallHook(
  webhook: MutatingWebhook,
  request: AdmissionRequestInput,
  object: object | undefined,
  namespaceLabels: Labels | undefined,
): Applicability {
  const applies = webhookApplies(webhook, request, object, namespaceLabels);
  if (applies.kind !== 'call' || !webhook.matchConditions?.length) return applies;
  const verdict = evaluateMatchConditions(
    webhook.matchConditions,
    { object, oldObject: request.oldObject, request: admissionRequest(request, object) },
    webhook.failurePolicy !== 'Ignore',
  );
  if ('error' in verdict) {
    const { group, resource } = request.resource;
    return { kind: 'error', status: forbidden(group, resource, request.name ?? '', verdict.error) };
  }
  return verdict.matches ? { kind: 'call' } : { kind: 'skip' };
}

/**
 * What one call did. `failed` is the plugin's ErrCallingWebhook (judged by failurePolicy; `reason` is its
 * text after `failed calling webhook "<name>": `); `refused` ends the request whatever the policy.
 */
type Outcome = { warnings: string[] } & (
  | { kind: 'unchanged' }
  | { kind: 'mutated'; object: object }
  | { kind: 'failed'; reason: string }
  | { kind: 'refused'; status: Status }
);

interface CallDeps {
  resolveService: ResolveService;
  timeoutMs: (webhookTimeoutSeconds: number) => number;
}

/** mutatingDispatcher.callAttrMutatingHook. */
async function callHook(
  webhook: MutatingWebhook,
  request: AdmissionRequestInput,
  object: object | undefined,
  deps: CallDeps,
): Promise<Outcome> {
  const name = goQuote(webhook.name);
  const failed = (reason: string, warnings: string[] = []): Outcome => ({ kind: 'failed', reason, warnings });
  const refusal = (status: Status, warnings: string[] = []): Outcome => ({
    kind: 'refused',
    status,
    warnings,
  });

  if (request.dryRun) {
    if (webhook.sideEffects === undefined) return failed('Webhook SideEffects is nil');
    if (webhook.sideEffects !== 'None' && webhook.sideEffects !== 'NoneOnDryRun') {
      return refusal(badRequest(`admission webhook ${name} does not support dry run`));
    }
  }
  const version = reviewVersionFor(webhook.admissionReviewVersions);
  if (!version) {
    return failed(
      'could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)',
    );
  }
  const timeoutSeconds = webhook.timeoutSeconds ?? 10;
  let target;
  try {
    target = targetFor(webhook.clientConfig, timeoutSeconds, deps.resolveService);
  } catch (err) {
    if (err instanceof ClientConfigError) return failed(`could not get REST client: ${err.message}`);
    throw err;
  }

  let verified;
  try {
    const body = JSON.stringify(admissionReview(version, request, object));
    const review = decodeReply(await postJson(target, body, deps.timeoutMs(timeoutSeconds)));
    verified = verifyResponse(version, request.uid, review);
  } catch (err) {
    if (err instanceof CallError || err instanceof DecodeError)
      return failed(`failed to call webhook: ${err.message}`);
    if (err instanceof InvalidResponse) return failed(`received invalid webhook response: ${err.message}`);
    throw err;
  }
  const { warnings } = verified;
  const unchanged: Outcome = { kind: 'unchanged', warnings };
  if (!verified.allowed) return refusal(webhookDenied(webhook.name, verified.result), warnings);
  if (!verified.patch) return unchanged;

  let operations: unknown;
  try {
    operations = JSON.parse(verified.patch.toString('utf8'));
  } catch (err) {
    return failed(`received undecodable patch in webhook response: ${(err as Error).message}`, warnings);
  }
  if (!Array.isArray(operations)) {
    return failed(
      'received undecodable patch in webhook response: json: cannot unmarshal into Go value of type jsonpatch.Patch',
      warnings,
    );
  }
  if (operations.length === 0) return unchanged;
  if (object === undefined) {
    return refusal(
      internalError(
        `admission webhook ${name} attempted to modify the object, which is not supported for this operation`,
      ),
      warnings,
    );
  }
  if (verified.patchType !== 'JSONPatch')
    return failed(`unsupported patch type ${goQuote(verified.patchType ?? '')}`, warnings);

  let next: unknown;
  try {
    next = applyJsonPatch(object, operations);
  } catch (err) {
    if (err instanceof JsonPatchError) return refusal(internalError(err.message), warnings);
    throw err;
  }
  if (!isRecord(next)) return refusal(internalError('the patched object is not a JSON object'), warnings);
  return jsonEqual(object, next) ? unchanged : { kind: 'mutated', object: next, warnings };
}
