import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goFloat, goJson, goNumber, goQuote, goSyntax } from './go-format.js';

describe('Go renderings', () => {
  it('quotes strings like strconv.Quote', () => {
    assert.equal(goQuote('a"b\\c\n\t'), '"a\\"b\\\\c\\n\\t"');
    assert.equal(goQuote('\x01é'), '"\\x01é"');
  });

  it('prints float64 with %v: shortest digits, exponent from 1e+06 and below 1e-04', () => {
    assert.deepEqual([1.5, 123456, 1e6, 1234567.5, 0.0001, 0.00001].map(goFloat), [
      '1.5',
      '123456',
      '1e+06',
      '1.2345675e+06',
      '0.0001',
      '1e-05',
    ]);
  });

  it('prints integral JSON numbers as int64', () => {
    assert.equal(goNumber(1e6), '1000000');
    assert.equal(goNumber(2.5), '2.5');
  });

  it('renders unstructured values with %#v, keys sorted', () => {
    assert.equal(goSyntax({ port: 80, name: 'a' }), 'map[string]interface {}{"name":"a", "port":80}');
    assert.equal(goSyntax(['a', null, true]), '[]interface {}{"a", interface {}(nil), true}');
  });

  it('renders JSON like encoding/json, keys sorted and HTML escaped', () => {
    assert.equal(goJson({ b: '<x>', a: [1, 2.5] }), '{"a":[1,2.5],"b":"\\u003cx\\u003e"}');
  });
});
