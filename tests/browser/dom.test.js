// Unit tests of the dashboard's pure helpers (shared/web/assets/dom.js): what a running job is
// said to be doing, relative times, and which completed jobs produced nothing.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

const source = await readFile(new URL('../../shared/web/assets/dom.js', import.meta.url), 'utf8');
const { activity, formatRelative, producedNothing } = await import(`data:text/javascript,${encodeURIComponent(source)}`);

const now = Date.parse('2026-11-30T12:00:00Z');
const ago = (seconds) => new Date(now - seconds * 1000).toISOString();

test('a running job says how long it has run, and which attempt it is on', () => {
  assert.equal(activity({ status: 'RUNNING', created_at: ago(20), started_at: ago(12), attempts: 1 }, now), 'Running for 12.0 s');
  assert.equal(activity({ status: 'RUNNING', created_at: ago(200), started_at: ago(90), attempts: 2 }, now), 'Running for 1 min 30 s, attempt 2');
  assert.equal(activity({ status: 'PENDING', created_at: ago(3), attempts: 0 }, now), 'Waiting to start for 3.0 s');
});

test('relative times read as people say them', () => {
  assert.equal(formatRelative(ago(0), now), 'now');
  assert.equal(formatRelative(ago(5 * 60), now), '5 minutes ago');
  assert.equal(formatRelative(ago(3 * 3600), now), '3 hours ago');
  assert.equal(formatRelative(ago(26 * 3600), now), 'yesterday');
  assert.equal(formatRelative('not a time', now), '—');
});

test('a completed job that read records and wrote none produced nothing', () => {
  assert.equal(producedNothing({ status: 'COMPLETED', records_in: 4, records_out: 0 }), true);
  assert.equal(producedNothing({ status: 'COMPLETED', records_in: 4, records_out: 3 }), false);
  assert.equal(producedNothing({ status: 'COMPLETED', records_in: 0, records_out: 0 }), false);
  assert.equal(producedNothing({ status: 'FAILED', records_in: 4, records_out: 0 }), false);
});
