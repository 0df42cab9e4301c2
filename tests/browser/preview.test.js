// Unit tests of the dashboard's streaming preview parser (shared/web/assets/preview.js), which
// reads only the start of large results and reject reports.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

const source = await readFile(new URL('../../shared/web/assets/preview.js', import.meta.url), 'utf8');
const { firstValues, firstValuesOf, readPrefix } = await import(`data:text/javascript,${encodeURIComponent(source)}`);

test('a JSON array gives its first records', () => {
  assert.deepEqual(firstValues('[{"a":1},{"a":2},{"a":3}]', 2), [{ a: 1 }, { a: 2 }]);
  assert.deepEqual(firstValues('[\n  {"a": "x]}"},\n  {"b": [1, {"c": null}]}\n]\n', 10), [{ a: 'x]}' }, { b: [1, { c: null }] }]);
  assert.deepEqual(firstValues('[]', 5), []);
});

test('NDJSON gives one record per line', () => {
  assert.deepEqual(firstValues('{"a":1}\n{"a":"\\"quoted\\""}\n', 10), [{ a: 1 }, { a: '"quoted"' }]);
});

test('a record cut off by the byte budget is left out', () => {
  assert.deepEqual(firstValues('[{"a":1},{"a":"unfini', 10), [{ a: 1 }]);
  assert.deepEqual(firstValues('{"a":1}\n{"a":2', 10), [{ a: 1 }]);
  assert.deepEqual(firstValues('[1, 2, 3', 10), [1, 2]);
});

test('the rejects of a reject report, even when the report is cut short', () => {
  const report = '{"rejects": [\n  {"input": "a.csv", "line": 4, "pointer": "/amount"},\n  {"input": "a.csv", "line": 9, "poi';
  assert.deepEqual(firstValuesOf(report, 'rejects', 10), [{ input: 'a.csv', line: 4, pointer: '/amount' }]);
  assert.deepEqual(firstValuesOf('{"rejects": [],\n "summary": {"records_in": 3}}', 'rejects', 10), []);
  assert.deepEqual(firstValuesOf('{"summary": {}}', 'rejects', 10), []);
});

test('readPrefix stops reading after the budget and cancels the download', async () => {
  const big = 'x'.repeat(1000);
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream({
    pull(controller) {
      pulled += 1;
      controller.enqueue(new TextEncoder().encode(big));
    },
    cancel() {
      cancelled = true;
    },
  });
  const { text, complete } = await readPrefix(new Response(body), 2500);
  assert.equal(text.length, 3000);
  assert.equal(complete, false);
  assert.ok(cancelled);
  assert.ok(pulled <= 4);

  const small = await readPrefix(new Response('[{"a":1}]'), 2500);
  assert.deepEqual(small, { text: '[{"a":1}]', complete: true });
});
