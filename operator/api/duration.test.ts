import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads Go durations with several units', () => {
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('1h0m0s'), 3_600_000);
  });

  it('refuses what Go refuses: no unit, spaces, days, negative values', () => {
    for (const bad of ['10', '1 m', '1d', '-5s', '', 's']) {
      assert.throws(() => parseDuration(bad), /invalid duration/, bad);
    }
  });
});

describe('formatDuration', () => {
  it('writes durations as Go prints them', () => {
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(3_600_000), '1h0m0s');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(0), '0s');
  });
});
