/** The traffic split: two integer percentages that always add up to 100. */
export interface Weights {
  stable: number;
  canary: number;
}

/** The split that gives the canary `canary`% (an integer from 0 to 100). */
export function canaryWeight(canary: number): Weights {
  const weights = { stable: 100 - canary, canary };
  assertWeights(weights);
  return weights;
}

export const ALL_STABLE: Weights = Object.freeze({ stable: 100, canary: 0 });
export const ALL_CANARY: Weights = Object.freeze({ stable: 0, canary: 100 });

/** Throws unless both weights are integers from 0 to 100 adding up to 100: a bug, never a user error. */
export function assertWeights(weights: Weights): void {
  const { stable, canary } = weights;
  const valid =
    Number.isInteger(stable) &&
    Number.isInteger(canary) &&
    stable >= 0 &&
    canary >= 0 &&
    stable <= 100 &&
    canary <= 100 &&
    stable + canary === 100;
  if (!valid)
    throw new RangeError(`weights must be integers adding up to 100 (got ${JSON.stringify(weights)})`);
}
