import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRe2, re2Test, UnsupportedRegexError } from './regex.js';

describe('RE2 patterns', () => {
  it('apply a leading (?i) flag group to the whole pattern', () => {
    assert.equal(re2Test('^(?i)abc$', 'ABC'), true);
    assert.equal(re2Test('(?i)^abc$', 'aBc'), true);
  });

  it('understand \\z, \\A, POSIX classes and \\Q...\\E', () => {
    assert.equal(re2Test('\\Aab\\z', 'ab'), true);
    assert.equal(re2Test('^[[:alpha:]]+$', 'abc'), true);
    assert.equal(re2Test('^[[:alpha:]]+$', 'ab1'), false);
    assert.equal(re2Test('^\\Qa.b\\E$', 'a.b'), true);
    assert.equal(re2Test('^\\Qa.b\\E$', 'axb'), false);
  });

  it('match anywhere unless anchored, like MatchString', () => {
    assert.equal(re2Test('[0-9]', 'abc1'), true);
  });

  it('reject invalid patterns', () => {
    assert.throws(() => compileRe2('(unclosed'), UnsupportedRegexError);
  });
});
