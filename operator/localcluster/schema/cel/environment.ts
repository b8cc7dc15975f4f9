/**
 * The CEL environments rules run in: cel-js with optional types and the Kubernetes libraries. A rule sees
 * `self` and, for transition rules, `oldSelf`; rules with `optionalOldSelf: true` see `oldSelf` as an
 * `optional` (cel-js needs that declared to type `oldSelf.value()` correctly), so there are two.
 */
import { Environment } from '@marcbachmann/cel-js';
import { registerDuration } from './lib/duration.js';
import { registerFormat } from './lib/format.js';
import { registerHas } from './lib/has.js';
import { registerLists } from './lib/lists.js';
import { registerNet } from './lib/net.js';
import { registerQuantity } from './lib/quantity.js';
import { registerRegex } from './lib/regex.js';
import { registerStrings } from './lib/strings.js';
import { registerUrls } from './lib/urls.js';

export interface RuleEnvironments {
  /** `oldSelf` is the previous value itself. */
  readonly plain: Environment;
  /** `oldSelf` is `optional.of(previous)` or `optional.none()`. */
  readonly optionalOldSelf: Environment;
}

let shared: RuleEnvironments | undefined;

/** Building an environment is expensive; all compiled schemas share one pair. */
export function ruleEnvironments(): RuleEnvironments {
  shared ??= createEnvironments();
  return shared;
}

function createEnvironments(): RuleEnvironments {
  const base = new Environment({ enableOptionalTypes: true });
  for (const register of [
    registerHas,
    registerDuration,
    registerStrings,
    registerLists,
    registerRegex,
    registerUrls,
    registerQuantity,
    registerNet,
    registerFormat,
  ]) {
    register(base);
  }
  return {
    plain: base.clone().registerVariable('self', 'dyn').registerVariable('oldSelf', 'dyn'),
    optionalOldSelf: base
      .clone()
      .registerVariable('self', 'dyn')
      .registerVariable('oldSelf', 'optional<dyn>'),
  };
}
