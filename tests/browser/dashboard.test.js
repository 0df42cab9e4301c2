// The dashboard in a real browser: Debian's headless Chromium driven by playwright-core, with
// axe-core checking every page at a laptop's and a phone's size.
// Environment: HELIX_URL (default http://127.0.0.1:8000), HELIX_TEST_USER, HELIX_TEST_PASSWORD
// (a seeded account with no jobs yet: the first-run guide is tested first), CHROMIUM (default
// /usr/bin/chromium). Screenshots: ./screenshots/latest/ (this run's, not tracked). The tracked pairs
// are ./screenshots/before/ (the problems issue 16 reported, from the build it was filed against)
// and ./screenshots/after/: with HELIX_CURATE_SCREENSHOTS=1 a run copies the pictures named in
// CURATED there, to refresh them.

import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import * as support from './support.js';
import { LAPTOP, PHONE, baseUrl, here, launchChromium, password, tokenOf, user } from './support.js';

const fixtures = join(here, 'fixtures');
// HELIX_SCREENSHOTS_DIR: another folder, for a run beside another one in the same checkout.
const screenshots = process.env.HELIX_SCREENSHOTS_DIR || join(here, 'screenshots', 'latest');
const curatedDir = join(here, 'screenshots', 'after');
// This run's picture → its name in screenshots/after/ (the same name as its before/ picture, where
// there is one).
const CURATED = {
  '01-first-run': '01-jobs-empty',
  '06-new-job-bad-yaml': '02-new-job-bad-yaml',
  '07-new-job-empty-file': '03-new-job-empty-file',
  '08-job-nothing-out': '04-job-nothing-out',
  '02-example-job': '05-job-wide-nested',
  '09-jobs': '06-jobs',
  '10-profile-invalid': '07-profile-invalid',
  '12-phone-api-docs': '08-phone-api-docs',
  '17-job-failed-actions': '09-job-failed-retry-clone',
  '18-job-retried-attempts': '10-job-attempts',
  '19-job-cloned': '11-job-cloned',
  '20-jobs-bulk-delete-selected': '12-jobs-bulk-delete-selected',
  '21-jobs-bulk-delete-result': '13-jobs-bulk-delete-result',
  '22-phone-job-attempts': '14-phone-job-attempts',
  '23-phone-jobs-bulk': '15-phone-jobs-bulk',
  '24-job-viewer': '16-job-viewer',
};
const JOB_TIMEOUT_MS = Number(process.env.HELIX_JOB_TIMEOUT_MS || 120_000);

const examples = join(here, '..', '..', 'examples', 'orders');
// The order the jobs list sorts names in.
const byName = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' }).compare;

let context;
let page;
let userDataDir;
let downloadDir;
// Console errors seen so far, and those the current step expects (a 401 for a wrong password,
// a 422 for an invalid profile field: Chromium logs every failed request as a console error).
const consoleErrors = [];
let expectedErrors = [];

function expectErrors(...patterns) {
  expectedErrors = patterns;
}

function recordConsoleError(text, url = '') {
  if (expectedErrors.some((p) => p.status && text.includes(`status of ${p.status}`) && url.includes(p.path))) return;
  consoleErrors.push(url ? `${text} (${url})` : text);
}

async function shot(name) {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

const expectNoAxeViolations = (what) => support.expectNoAxeViolations(page, what);
const expectNoHorizontalScroll = (what) => support.expectNoHorizontalScroll(page, what);

before(async () => {
  assert.ok(user && password, 'set HELIX_TEST_USER and HELIX_TEST_PASSWORD to a seeded account (README lists them)');
  // Only this run's pictures: a failed run must not leave an older run's beside them.
  await rm(screenshots, { recursive: true, force: true });
  await mkdir(screenshots, { recursive: true });
  userDataDir = await mkdtemp(join(tmpdir(), 'helix-chromium-'));
  downloadDir = await mkdtemp(join(tmpdir(), 'helix-downloads-'));
  ({ context, page } = await launchChromium(userDataDir, { acceptDownloads: true }));
  page.setDefaultTimeout(15_000);
  page.on('console', (message) => {
    if (message.type() === 'error') recordConsoleError(message.text(), message.location()?.url);
  });
  page.on('pageerror', (error) => recordConsoleError(`uncaught: ${error.message}`));
});

after(async () => {
  if (process.env.HELIX_CURATE_SCREENSHOTS === '1') {
    await mkdir(curatedDir, { recursive: true });
    const taken = new Set(await readdir(screenshots));
    for (const [from, to] of Object.entries(CURATED)) {
      if (taken.has(`${from}.png`)) await copyFile(join(screenshots, `${from}.png`), join(curatedDir, `${to}.png`));
    }
  }
  await context?.close();
  await rm(userDataDir, { recursive: true, force: true });
  await rm(downloadDir, { recursive: true, force: true });
});

let jobId;
let exampleJobId;
const jobName = `Browser test ${new Date().toISOString()}`;

test('the dashboard is served with a strict content security policy', async () => {
  const response = await fetch(`${baseUrl}/`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^text\/html/);
  const csp = response.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe/);
});

test('login: a wrong password is refused with a message, the right one opens the jobs page', async () => {
  await page.goto(`${baseUrl}/`);
  await page.waitForURL(/#\/login$/);
  await page.getByRole('heading', { name: 'Log in to HelixNet' }).waitFor();
  await shot('01-login');
  await expectNoAxeViolations('the login page');

  expectErrors({ status: 401, path: '/api/v1/auth/token' });
  await page.getByLabel('Email').fill(user);
  await page.getByLabel('Password').fill(`${password}-wrong`);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Incorrect email or password.' }).waitFor();
  assert.equal(await page.getByLabel('Password').inputValue(), '', 'the wrong password is cleared');
  expectErrors();

  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL(/#\/jobs$/);
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  await page.locator('#whoami').filter({ hasText: user }).waitFor();
  assert.ok(await page.evaluate(() => sessionStorage.getItem('helix.token')), 'the token is in sessionStorage');
});

test('first run: the empty jobs page explains a context and a schema, and runs the orders example in one click', async () => {
  const guide = page.locator('#first-run-guide');
  await guide.waitFor();
  for (const term of ['Content files', 'A context (optional)', 'A schema (optional)']) {
    await guide.locator('dt', { hasText: term }).waitFor();
  }
  await page.locator('#time-zone').filter({ hasText: 'Times are shown in' }).waitFor();
  await shot('01-first-run');
  await expectNoAxeViolations('the empty jobs page with the guide');

  // Each example file downloads in one click, as the examples folder holds it.
  for (const [kind, file] of [['content', 'orders.csv'], ['context', 'orders.yaml'], ['schema', 'order_line.schema.json']]) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`a[data-example="${kind}"]`).click()]);
    assert.equal(download.suggestedFilename(), file);
    const saved = join(downloadDir, file);
    await download.saveAs(saved);
    assert.equal(await readFile(saved, 'utf8'), await readFile(join(examples, file), 'utf8'), file);
  }

  // From an empty account to a COMPLETED example job: log in, then this one click.
  await page.getByRole('button', { name: 'Try the example' }).click();
  await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/, { timeout: 60_000 });
  const badge = page.locator('.job-status .badge');
  await badge.filter({ hasText: /COMPLETED|FAILED/ }).waitFor({ timeout: JOB_TIMEOUT_MS });
  assert.equal(await badge.textContent(), 'COMPLETED', await page.locator('#job-error').textContent().catch(() => ''));
  exampleJobId = page.url().split('/').pop();
  assert.equal(await page.locator('#records-in dd').textContent(), '15');
  assert.equal(await page.locator('#records-out dd').textContent(), '15');

  // Nested fields are columns of their own, not raw JSON; the hidden columns are announced.
  const preview = page.locator('#preview-table');
  await preview.waitFor();
  const columns = await preview.locator('thead th').allTextContents();
  assert.ok(columns.includes('customer.id') && columns.includes('customer.name'), `${columns}`);
  assert.equal(columns.includes('customer'), false, `${columns}`);
  for (const text of await preview.locator('tbody td').allTextContents()) assert.doesNotMatch(text, /^[{[]/, 'no raw JSON in a cell');
  const hint = page.locator('#result-preview .scroll-hint');
  await hint.filter({ hasText: 'More columns to the right' }).waitFor();
  assert.equal(await page.locator('#result-preview .table-wrap.more-right').count(), 1, 'the right edge is shaded');
  await shot('02-example-job');
  await page.locator('#result-preview .table-wrap').evaluate((box) => { box.scrollLeft = box.scrollWidth; });
  await hint.filter({ hasText: 'More columns to the left' }).waitFor();
});

test('new job: content, context and schema go to S3 through the page, then the job page opens', async () => {
  await page.getByRole('link', { name: 'New job' }).first().click();
  await page.waitForURL(/#\/jobs\/new$/);
  await page.getByLabel('Job name (optional)').fill(jobName);
  await page.setInputFiles('#content-files', join(fixtures, 'orders.csv'));
  await page.setInputFiles('#context-files', join(fixtures, 'orders.context.yaml'));
  await page.setInputFiles('#schema-files', join(fixtures, 'order.schema.json'));
  for (const name of ['orders.csv', 'orders.context.yaml', 'order.schema.json']) {
    await page.locator('.file-name', { hasText: name }).waitFor();
  }
  await shot('02-new-job');

  // Every file's progress bar must reach the end and its check pass before the page moves on.
  const finished = page.evaluate(() => new Promise((resolve) => {
    const states = new Map();
    const observer = new MutationObserver(() => {
      for (const item of document.querySelectorAll('.file')) {
        const name = item.querySelector('.file-name').textContent;
        states.set(name, { state: item.dataset.state, progress: item.querySelector('progress').value });
      }
      if (!document.querySelector('.file')) {
        observer.disconnect();
        resolve(Object.fromEntries(states));
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  }));
  await page.getByRole('button', { name: 'Upload and start job' }).click();
  try {
    await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/, { timeout: 60_000 });
  } catch (error) {
    await shot('02-new-job-failed');
    const shown = await page.locator('.file, #form-message, .field-error:visible').allInnerTexts();
    throw new Error(`the job page did not open; the page shows: ${JSON.stringify(shown)}`, { cause: error });
  }
  const states = await finished;
  for (const name of ['orders.csv', 'orders.context.yaml', 'order.schema.json']) {
    assert.deepEqual(states[name], { state: 'done', progress: 1 }, `${name}: ${JSON.stringify(states[name])}`);
  }
  jobId = page.url().split('/').pop();
});

test('job page: the job completes, with counts, a preview, the reject table and downloads', async () => {
  const badge = page.locator('.job-status .badge');
  await badge.filter({ hasText: /COMPLETED|FAILED/ }).waitFor({ timeout: JOB_TIMEOUT_MS });
  const status = await badge.textContent();
  assert.equal(status, 'COMPLETED', `job ${jobId} ended ${status}: ${await page.locator('#job-error').textContent().catch(() => '')}`);
  await page.getByRole('heading', { name: jobName, level: 1 }).waitFor();

  assert.equal(await page.locator('#records-in dd').textContent(), '4');
  assert.equal(await page.locator('#records-out dd').textContent(), '3');
  assert.equal(await page.locator('#records-rejected dd').textContent(), '1');
  assert.equal(await page.locator('.timeline li.done').count(), 3, 'created, started and finished are all shown');

  const preview = page.locator('#preview-table');
  await preview.waitFor();
  assert.deepEqual(await preview.locator('thead th').allTextContents(), ['#', 'order_id', 'customer', 'amount', 'country']);
  const rows = preview.locator('tbody tr');
  assert.equal(await rows.count(), 3);
  assert.deepEqual(await rows.first().locator('td').allTextContents(), ['1', 'A-1001', 'Alice GmbH', '120.5', 'ch']);

  const rejects = page.locator('#reject-table');
  await rejects.waitFor();
  const rejectRows = rejects.locator('tbody tr');
  assert.equal(await rejectRows.count(), 1);
  const [input, line, , field, , message] = await rejectRows.first().locator('td').allTextContents();
  assert.equal(input, 'orders.csv');
  assert.equal(line, '4', 'the rejected row is on line 4 of the CSV');
  assert.equal(field, '/amount');
  assert.ok(message.length > 0, 'the reject says why');
  await shot('03-job');

  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download-result').click()]);
  const saved = join(downloadDir, download.suggestedFilename() || 'result.json');
  await download.saveAs(saved);
  const result = JSON.parse(await readFile(saved, 'utf8'));
  assert.deepEqual(result.map((r) => r.order_id), ['A-1001', 'A-1002', 'A-1004']);
  assert.equal(result[0].amount, 120.5);
});

/** Drops files (made in the page from text) on a drop zone, as a drag from the desktop does. */
async function dropFiles(selector, files) {
  const dataTransfer = await page.evaluateHandle((list) => {
    const transfer = new DataTransfer();
    for (const f of list) transfer.items.add(new File([f.text], f.name, { type: f.type }));
    return transfer;
  }, files);
  await page.dispatchEvent(selector, 'dragover', { dataTransfer });
  await page.dispatchEvent(selector, 'drop', { dataTransfer });
}

async function submitAndWaitForEnd() {
  await page.getByRole('button', { name: 'Upload and start job' }).click();
  await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/, { timeout: 60_000 });
  const badge = page.locator('.job-status .badge');
  await badge.filter({ hasText: /COMPLETED|FAILED/ }).waitFor({ timeout: JOB_TIMEOUT_MS });
  return { id: page.url().split('/').pop(), status: await badge.textContent() };
}

let pastedJobId;
let failedJobId;
let nothingOutJobId;

test('new job by drag and drop, with the context and schema pasted', async () => {
  await page.getByRole('link', { name: 'New job' }).first().click();
  await page.waitForURL(/#\/jobs\/new$/);
  const csv = await readFile(join(fixtures, 'orders.csv'), 'utf8');
  await dropFiles('.dropzone[data-kind="content"]', [{ name: 'dropped.csv', type: 'text/csv', text: csv }, { name: 'extra.csv', type: 'text/csv', text: csv }]);
  await page.locator('.file-name', { hasText: 'dropped.csv' }).waitFor();
  await page.getByRole('button', { name: 'Remove extra.csv' }).click();
  assert.equal(await page.locator('#content-section .file').count(), 1);

  await page.getByLabel('Or paste the context (YAML)').fill(await readFile(join(fixtures, 'orders.context.yaml'), 'utf8'));
  await page.getByLabel('Or paste the JSON Schema').fill('{"type": "object", "properties": {');
  await page.getByRole('button', { name: 'Upload and start job' }).click();
  const schemaError = page.locator('#schema-error');
  await schemaError.waitFor();
  assert.match(await schemaError.textContent(), /not valid JSON/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'schema-text');

  await page.getByLabel('Or paste the JSON Schema').fill(await readFile(join(fixtures, 'order.schema.json'), 'utf8'));
  const { id, status } = await submitAndWaitForEnd();
  assert.equal(status, 'COMPLETED');
  pastedJobId = id;
  assert.equal(await page.locator('#records-out dd').textContent(), '3');
  assert.equal(await page.locator('#records-rejected dd').textContent(), '1');
  await page.locator('#reject-table tbody tr').first().waitFor();
  await page.locator('.input-list li', { hasText: 'dropped.csv' }).waitFor();
});

test('a failed job says why, with the line', async () => {
  await page.getByRole('link', { name: 'New job' }).first().click();
  await page.waitForURL(/#\/jobs\/new$/);
  await page.getByLabel('Job name (optional)').fill('Broken CSV');
  await dropFiles('.dropzone[data-kind="content"]', [{ name: 'broken.csv', type: 'text/csv', text: 'order_no,customer\nA-1001,ok\nA-1002,"never closed\n' }]);
  const { id, status } = await submitAndWaitForEnd();
  assert.equal(status, 'FAILED');
  failedJobId = id;
  const error = await page.locator('#job-error .error-text').textContent();
  assert.match(error, /line 3/, error);
  await shot('04-job-failed');
});

test('new job: a bad YAML file is refused on its own row, naming where its bracket opened', async () => {
  await page.goto(`${baseUrl}/#/jobs`);
  await page.getByRole('link', { name: 'New job' }).first().click();
  await page.waitForURL(/#\/jobs\/new$/);
  await page.setInputFiles('#content-files', join(fixtures, 'orders.csv'));
  await page.setInputFiles('#context-files', {
    name: 'bad.context.yaml',
    mimeType: 'application/yaml',
    buffer: Buffer.from("fields:\n  order_id: '{{ order_no }}'\n  customer: '{{ customer }}'\nlists:\n  codes: [a, b\n  other: 1\n"),
  });
  expectErrors({ status: 422, path: '/api/v1/jobs' }, { status: 400, path: '/api/v1/jobs' });
  await page.getByRole('button', { name: 'Upload and start job' }).click();
  const row = page.locator('#context-section .file', { hasText: 'bad.context.yaml' });
  await row.and(page.locator('[data-state="invalid"]')).waitFor({ timeout: 30_000 });
  const rowText = await row.locator('.file-status').textContent();
  assert.match(rowText, /line 6/, rowText);
  assert.match(rowText, /the `\[` opened on line 5, column 10 is never closed/, rowText);
  assert.doesNotMatch(rowText, /Uploaded and checked/);
  assert.equal(await page.locator('#context-text').getAttribute('aria-invalid'), null, 'the empty paste box is not marked');
  assert.equal(await page.locator('#context-error').isVisible(), false, 'no error under the paste box');
  const summary = page.locator('#form-message');
  assert.doesNotMatch(await summary.textContent(), /below|above/);
  await summary.getByRole('button', { name: 'Context (bad.context.yaml)' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'context-files', 'the focus is on the file to replace');
  await shot('06-new-job-bad-yaml');
  await expectNoAxeViolations('the new job page with a refused file');
  expectErrors();

  // The summary's button moves back to the field from wherever the user is.
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.locator('#job-name').focus();
  await summary.getByRole('button', { name: 'Context (bad.context.yaml)' }).click();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'context-files');
  await page.getByRole('button', { name: 'Remove bad.context.yaml' }).click();
  assert.equal(await page.locator('#context-files').getAttribute('aria-invalid'), null);
  assert.equal(await summary.textContent(), '', 'the summary of the removed file is gone');
});

test('new job: an empty file is refused when it is chosen', async () => {
  await page.setInputFiles('#content-files', { name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.alloc(0) });
  const error = page.locator('#content-error');
  await error.filter({ hasText: 'empty.csv is empty (0 bytes) and was not added' }).waitFor();
  assert.equal(await page.locator('#content-section .file-name', { hasText: 'empty.csv' }).count(), 0, 'not in the list');
  assert.equal(await page.locator('#content-files').getAttribute('aria-invalid'), 'true');
  await shot('07-new-job-empty-file');
});

test('jobs list: the job is listed COMPLETED and the status filter finds it', async () => {
  await page.getByRole('link', { name: 'Jobs', exact: true }).click();
  await page.waitForURL(/#\/jobs$/);
  const row = page.locator(`tr[data-job-id="${jobId}"]`);
  await row.waitFor();
  assert.equal(await row.locator('.badge').textContent(), 'COMPLETED');
  await shot('05-jobs');

  await page.getByLabel('Status').selectOption('FAILED');
  await page.waitForURL(/#\/jobs\?status=FAILED$/);
  await page.locator(`tr[data-job-id="${failedJobId}"]`).waitFor();
  assert.equal(await page.locator(`tr[data-job-id="${jobId}"]`).count(), 0, 'a COMPLETED job is not listed under FAILED');
  await page.getByLabel('Status').selectOption('COMPLETED');
  await page.waitForURL(/#\/jobs\?status=COMPLETED$/);
  await page.locator(`tr[data-job-id="${jobId}"]`).waitFor();
  for (const badgeText of await page.locator('.jobs-table tbody .badge').allTextContents()) {
    assert.equal(badgeText, 'COMPLETED');
  }
});

test('jobs list: pages go back in time and return', async () => {
  await page.goto(`${baseUrl}/#/jobs?limit=1`);
  const only = page.locator('.jobs-table tbody tr');
  await page.locator(`tr[data-job-id="${failedJobId}"]`).waitFor();
  assert.equal(await only.count(), 1, 'newest first, one per page');
  assert.equal(await page.getByRole('button', { name: '← Newer' }).isDisabled(), true);
  await page.getByRole('button', { name: 'Older →' }).click();
  await page.locator(`tr[data-job-id="${pastedJobId}"]`).waitFor();
  await page.getByRole('button', { name: 'Older →' }).click();
  await page.locator(`tr[data-job-id="${jobId}"]`).waitFor();
  await page.getByRole('button', { name: '← Newer' }).click();
  await page.locator(`tr[data-job-id="${pastedJobId}"]`).waitFor();
});

test('new job: auto_map without a context is refused at its checkbox', async () => {
  await page.goto(`${baseUrl}/#/jobs/new`);
  await page.setInputFiles('#content-files', join(fixtures, 'orders.csv'));
  await page.getByLabel('Fill in the required fields the context leaves unmapped (auto_map)').check();
  await page.getByRole('button', { name: 'Upload and start job' }).click();
  const error = page.locator('#auto-map-error');
  await error.waitFor();
  assert.match(await error.textContent(), /needs a context and a schema/);
  assert.equal(await page.locator('#auto-map').getAttribute('aria-invalid'), 'true');
});

test('job page: the fields auto_map proposed are listed, with the completed context', async () => {
  // Through the API, reusing the first job's content: a context that leaves `customer` unmapped.
  const id = await page.evaluate(async (firstJob) => {
    const headers = { authorization: `Bearer ${sessionStorage.getItem('helix.token')}`, 'content-type': 'application/json' };
    const first = await (await fetch(`/api/v1/jobs/${firstJob}`, { headers })).json();
    const response = await fetch('/api/v1/jobs', {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: 'auto-mapped orders',
        content_artifact_ids: first.inputs.content_artifact_ids,
        context: "fields:\n  order_id: '{{ order_no }}'\n",
        schema: { type: 'object', required: ['order_id', 'customer'], properties: { order_id: { type: 'string' }, customer: { type: 'string', title: 'Customer' } } },
        auto_map: true,
      }),
    });
    return (await response.json()).id;
  }, jobId);
  assert.match(id ?? '', /^[0-9a-f-]{36}$/, 'the job was accepted');
  await page.goto(`${baseUrl}/#/jobs/${id}`);
  const badge = page.locator('.job-status .badge');
  await badge.filter({ hasText: /COMPLETED|FAILED/ }).waitFor({ timeout: JOB_TIMEOUT_MS });
  assert.equal(await badge.textContent(), 'COMPLETED', await page.locator('#job-error').textContent().catch(() => ''));
  const proposed = page.locator('#auto-mapped-table tbody tr');
  await proposed.first().waitFor();
  const [field, source] = await proposed.first().locator('td').allTextContents();
  assert.deepEqual([field, source], ['customer', 'customer']);
  await page.locator('#download-auto-map-context').waitFor();
  await page.locator('#preview-table').waitFor();
  assert.deepEqual(await page.locator('#preview-table thead th').allTextContents(), ['#', 'order_id', 'customer']);
  await shot('05-auto-map');
});

test('job page: a job with nothing out is not a plain green COMPLETED', async () => {
  const id = await page.evaluate(async (firstJob) => {
    const headers = { authorization: `Bearer ${sessionStorage.getItem('helix.token')}`, 'content-type': 'application/json' };
    const first = await (await fetch(`/api/v1/jobs/${firstJob}`, { headers })).json();
    const response = await fetch('/api/v1/jobs', {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'Nothing out', content_artifact_ids: first.inputs.content_artifact_ids, schema: { type: 'object', required: ['no_such_field'] } }),
    });
    return (await response.json()).id;
  }, jobId);
  assert.match(id ?? '', /^[0-9a-f-]{36}$/, 'the job was accepted');
  nothingOutJobId = id;
  await page.goto(`${baseUrl}/#/jobs/${id}`);
  const badge = page.locator('.job-status .badge');
  await badge.filter({ hasText: /COMPLETED|FAILED/ }).waitFor({ timeout: JOB_TIMEOUT_MS });
  assert.equal(await badge.textContent(), 'COMPLETED — nothing out');
  assert.match(await badge.getAttribute('class'), /badge-nothing-out/);
  await page.locator('#nothing-out').filter({ hasText: 'every record was rejected' }).waitFor();
  await page.locator('#reject-table tbody tr').first().waitFor();
  await shot('08-job-nothing-out');
  await expectNoAxeViolations('a job page with nothing out');
});

test('jobs list: a job started elsewhere appears without Refresh; search, dates, sorting, durations and the time zone', async () => {
  await page.goto(`${baseUrl}/#/jobs`);
  await page.locator(`tr[data-job-id="${jobId}"]`).waitFor();
  assert.deepEqual(await page.locator('.jobs-table thead th').allTextContents(),
    ['Select', 'Job', 'Status', 'Created ▼', 'Duration', 'Records in', 'Out', 'Rejected', 'Cost (USD)']);
  const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  assert.match(await page.locator('#time-zone').textContent(), new RegExp(`Times are shown in ${zone.replace('/', '\\/')}`));
  const row = page.locator(`tr[data-job-id="${jobId}"]`);
  assert.match(await row.locator('td[data-label="Created"]').textContent(), /(ago|now)/);
  assert.match(await row.locator('td[data-label="Duration"]').textContent(), /^\d+(\.\d)? (ms|s)$/);

  // Through the API, as a script or another tab would: the open list shows it by itself, and
  // a keyboard user's focus stays where it was through the redraw.
  await row.locator('a').focus();
  const started = Date.now();
  const apiJob = await page.evaluate(async (firstJob) => {
    const headers = { authorization: `Bearer ${sessionStorage.getItem('helix.token')}`, 'content-type': 'application/json' };
    const first = await (await fetch(`/api/v1/jobs/${firstJob}`, { headers })).json();
    const response = await fetch('/api/v1/jobs', {
      method: 'POST', headers, body: JSON.stringify({ name: 'Started elsewhere', content_artifact_ids: first.inputs.content_artifact_ids }),
    });
    return (await response.json()).id;
  }, jobId);
  await page.locator(`tr[data-job-id="${apiJob}"]`).waitFor({ timeout: 10_000 });
  await page.locator(`tr[data-job-id="${apiJob}"][data-status="COMPLETED"]`).waitFor({ timeout: 10_000 });
  const seenAfter = Date.now() - started;
  assert.ok(seenAfter < 10_000, `listed after ${seenAfter} ms`);
  assert.equal(await page.evaluate(() => document.activeElement?.closest('tr')?.dataset.jobId), jobId, 'the focus survived the redraw');
  await shot('09-jobs');
  await expectNoAxeViolations('the jobs list');

  // Search by name: only matching jobs, the pages give way to a count.
  await page.getByLabel('Search').fill('example');
  await page.locator('#search-note').filter({ hasText: /^1 of your \d+ jobs matches\.$/ }).waitFor();
  assert.deepEqual(await page.locator('.jobs-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.jobId)), [exampleJobId]);
  assert.match(page.url(), /q=example/, 'the search is in the address');
  // By date: today has them all, tomorrow none.
  const today = await page.evaluate(() => new Date().toLocaleDateString('sv'));
  const tomorrow = await page.evaluate(() => new Date(Date.now() + 86_400_000).toLocaleDateString('sv'));
  await page.getByLabel('Search').fill('');
  await page.getByLabel('Created from').fill(today);
  await page.locator(`tr[data-job-id="${jobId}"]`).waitFor();
  await page.getByLabel('Created from').fill(tomorrow);
  await page.locator('tr.empty', { hasText: 'No job matches this search.' }).waitFor();
  await page.getByLabel('Created from').fill('');
  await page.locator('.pager').waitFor();

  // Sorting: by name, then back (the header row sorts; the phone's choice is not shown here).
  assert.equal(await page.locator('#sort-by').isVisible(), false);
  await page.getByRole('button', { name: 'Job', exact: true }).click();
  assert.equal(await page.locator('.jobs-table th[aria-sort="ascending"]').textContent(), 'Job ▲');
  const names = await page.locator('.jobs-table tbody td[data-label="Job"] a').allTextContents();
  assert.deepEqual(names, [...names].sort(byName), `${names}`);
  await page.getByRole('button', { name: 'Job', exact: true }).click();
  assert.equal(await page.locator('.jobs-table th[aria-sort="descending"]').textContent(), 'Job ▼');
  await page.getByRole('button', { name: /^Created/ }).click();
  assert.match(await page.locator('.jobs-table th[aria-sort="descending"]').textContent(), /^Created/);
});

test('profile: an invalid value is shown at its field, valid values are saved', async () => {
  await page.getByRole('link', { name: 'Profile' }).click();
  await page.waitForURL(/#\/profile$/);
  const email = page.getByLabel('Email');
  await page.waitForFunction(() => document.querySelector('#email')?.value);
  assert.equal(await email.inputValue(), user);
  assert.equal(await email.getAttribute('readonly'), '');

  assert.equal(await page.getByLabel('Full name').getAttribute('maxlength'), '200', 'the 200-character limit is in the input');
  assert.equal(await page.getByLabel('Website').getAttribute('maxlength'), '2048');

  // Two bad fields: both reported by one answer, both shown at once.
  expectErrors({ status: 422, path: '/api/v1/users/me' });
  await page.getByLabel('Full name').fill('Browser Tester');
  await page.getByLabel('Phone number').fill('12345');
  await page.getByLabel('Website').fill('ftp://example.org');
  await page.getByRole('button', { name: 'Save' }).click();
  const phoneError = page.locator('#phone_number-error');
  await phoneError.waitFor();
  assert.match(await phoneError.textContent(), /international/);
  assert.match(await page.locator('#web_url-error').textContent(), /http:\/\/ or https:\/\//);
  assert.equal(await page.getByLabel('Phone number').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Website').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#fullname-error').isVisible(), false);
  const summary = page.locator('#profile-message');
  assert.match(await summary.textContent(), /Correct these 2 fields/);
  assert.doesNotMatch(await summary.textContent(), /below|above/);
  assert.deepEqual(await summary.getByRole('button').allTextContents(), ['Phone number', 'Website']);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'phone_number', 'the first invalid field has the focus');
  await shot('10-profile-invalid');
  await expectNoAxeViolations('the profile with two refused fields');
  expectErrors();

  await page.getByLabel('Phone number').fill('+41 44 668 18 00');
  await page.getByLabel('Website').fill('https://example.org/browser-tester');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Profile saved.' }).waitFor();
  assert.equal(await phoneError.isVisible(), false);
  assert.equal(await page.locator('#web_url-error').isVisible(), false);

  await page.reload();
  await page.waitForFunction(() => document.querySelector('#fullname')?.value === 'Browser Tester');
  assert.equal(await page.getByLabel('Phone number').inputValue(), '+41446681800');
  assert.equal(await page.getByLabel('Website').inputValue(), 'https://example.org/browser-tester');
  await shot('11-profile');
});

/** A job made through the API (as a script would), awaited until it has finished. */
async function apiJobDone(path, body) {
  return page.evaluate(async ({ path, body }) => {
    const headers = { authorization: `Bearer ${sessionStorage.getItem('helix.token')}`, 'content-type': 'application/json' };
    const made = await (await fetch(`/api/v1${path}`, { method: 'POST', headers, body: JSON.stringify(body) })).json();
    for (let i = 0; i < 240; i += 1) {
      const job = await (await fetch(`/api/v1/jobs/${made.id}`, { headers })).json();
      if (!['PENDING', 'RUNNING'].includes(job.status)) return job;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`job ${made.id} did not finish`);
  }, { path, body });
}

let clonedJobId;

test('job page: a failed job offers Retry and Clone beside its status, and a retry is listed as its next attempt', async () => {
  await page.goto(`${baseUrl}/#/jobs/${failedJobId}`);
  await page.locator('#job-error').waitFor();
  const actions = page.locator('#job-actions button');
  await page.locator('#retry-job').waitFor();
  assert.deepEqual(await actions.allTextContents(), ['Retry', 'Clone'], 'no Cancel on a finished job');
  const attempts = page.locator('#attempts-table tbody tr');
  assert.equal(await attempts.count(), 1);
  const [number, run, , , outcome, , , , why] = await attempts.first().locator('td').allTextContents();
  assert.deepEqual([number, run, outcome], ['1', 'First run', 'Failed']);
  assert.match(why, /line 3/, 'the attempt says why it stopped');
  await shot('17-job-failed-actions');
  await expectNoAxeViolations('a failed job with its actions and attempts');

  await page.locator('#retry-job').click();
  await page.locator('#job-action-message').filter({ hasText: 'runs again on the same inputs (retry 1)' }).waitFor();
  await page.locator('#attempts-table tbody tr').nth(1).waitFor({ timeout: JOB_TIMEOUT_MS });
  await page.locator('.job-status .badge', { hasText: 'FAILED' }).waitFor({ timeout: JOB_TIMEOUT_MS });
  await page.locator('#attempts-table tbody tr:nth-child(2) .badge', { hasText: 'Failed' }).waitFor({ timeout: JOB_TIMEOUT_MS });
  const second = await attempts.nth(1).locator('td').allTextContents();
  assert.deepEqual([second[0], second[1]], ['2', 'Retry 1']);
  assert.match(await page.locator('.timeline + p').textContent(), /Attempts: 2/);
  await shot('18-job-retried-attempts');
  await expectNoAxeViolations('a retried job');

  await page.setViewportSize(PHONE);
  await expectNoHorizontalScroll('a job page with attempts');
  await shot('22-phone-job-attempts');
  await page.setViewportSize(LAPTOP);
});

test('job page: Clone makes a new job from the same inputs and opens it', async () => {
  await page.goto(`${baseUrl}/#/jobs/${jobId}`);
  await page.locator('#clone-job').waitFor();
  assert.deepEqual(await page.locator('#job-actions button').allTextContents(), ['Clone', 'Save as pipeline'], 'a completed job is cloned or saved as a pipeline, not retried');
  await page.locator('#clone-job').click();
  await page.waitForURL((url) => /#\/jobs\/[0-9a-f-]{36}$/.test(url.hash) && !url.hash.endsWith(jobId));
  clonedJobId = page.url().split('/').pop();
  await page.locator('.job-status .badge', { hasText: 'COMPLETED' }).waitFor({ timeout: JOB_TIMEOUT_MS });
  await page.getByRole('heading', { name: jobName, level: 1 }).waitFor();
  assert.equal(await page.locator('#records-out dd').textContent(), '3', 'the same inputs, the same result');
  const attempt = await page.locator('#attempts-table tbody tr').first().locator('td').allTextContents();
  assert.deepEqual([attempt[0], attempt[1], attempt[4], attempt[5], attempt[6], attempt[7]], ['1', 'First run', 'Completed', '4', '3', '1']);
  await page.locator('#reject-table').waitFor();
  await shot('19-job-cloned');
  await expectNoAxeViolations('a cloned job');
});

test('jobs list: bulk delete asks once, naming the count, and reports each job it could not delete', async () => {
  const doomed = [clonedJobId, (await apiJobDone(`/jobs/${jobId}/clone`, { name: 'To be deleted' })).id];
  // A job the server refuses to delete (as it refuses one still running): the list must say which and why.
  const refused = nothingOutJobId;
  await page.route(`**/api/v1/jobs/${refused}`, (route) => (route.request().method() === 'DELETE'
    ? route.fulfill({ status: 409, contentType: 'application/json', body: JSON.stringify({ error: { code: 'conflict', message: 'the job is RUNNING: cancel it first; only a finished job is deleted' } }) })
    : route.continue()));
  // Chromium logs the refusal, and the look-ups below of the jobs deleted, as console errors.
  expectErrors({ status: 409, path: `/api/v1/jobs/${refused}` }, ...doomed.map((id) => ({ status: 404, path: `/api/v1/jobs/${id}` })));
  await page.goto(`${baseUrl}/#/jobs`);
  for (const id of [...doomed, refused]) await page.locator(`tr[data-job-id="${id}"]`).waitFor();
  assert.equal(await page.locator('#delete-selected').isDisabled(), true, 'nothing ticked, nothing to delete');

  // Select all ticks every row shown, and untick clears them.
  await page.getByLabel('Select all shown').check();
  const boxes = page.locator('.jobs-table input.select-job');
  assert.ok((await boxes.evaluateAll((all) => all.every((b) => b.checked))), 'every row is ticked');
  await page.getByLabel('Select all shown').uncheck();
  assert.ok((await boxes.evaluateAll((all) => all.every((b) => !b.checked))), 'no row is ticked');

  for (const id of [...doomed, refused]) await page.locator(`#select-${id}`).check();
  assert.equal(await page.locator('#delete-selected').textContent(), 'Delete selected (3)');
  assert.equal(await page.getByLabel('Select all shown').evaluate((b) => b.indeterminate), true);
  await shot('20-jobs-bulk-delete-selected');
  await expectNoAxeViolations('the jobs list with jobs ticked');

  // Dismissed: nothing is deleted.
  let asked = '';
  page.once('dialog', (dialog) => { asked = dialog.message(); dialog.dismiss(); });
  await page.locator('#delete-selected').click();
  assert.match(asked, /^Delete 3 jobs\?/);
  assert.equal(await page.locator(`tr[data-job-id="${doomed[0]}"]`).count(), 1);

  page.once('dialog', (dialog) => { asked = dialog.message(); dialog.accept(); });
  await page.locator('#delete-selected').click();
  assert.match(asked, /^Delete 3 jobs\? Their results and reject reports go too/);
  await page.locator('#bulk-message .notice-info', { hasText: 'Deleted 2 jobs.' }).waitFor();
  const failures = page.locator('#delete-failures li');
  assert.equal(await failures.count(), 1);
  assert.match(await failures.first().textContent(), /^Nothing out: it is RUNNING: cancel it first, then delete it\.$/);
  for (const id of doomed) await page.locator(`tr[data-job-id="${id}"]`).waitFor({ state: 'detached' });
  assert.equal(await page.locator(`#select-${refused}`).isChecked(), true, 'the job not deleted stays ticked');
  assert.equal(await page.locator('#delete-selected').textContent(), 'Delete selected (1)');
  await shot('21-jobs-bulk-delete-result');
  await expectNoAxeViolations('the jobs list after a bulk delete');
  for (const id of doomed) {
    const status = await page.evaluate(async (id) => (await fetch(`/api/v1/jobs/${id}`, { headers: { authorization: `Bearer ${sessionStorage.getItem('helix.token')}` } })).status, id);
    assert.equal(status, 404, `job ${id} is gone`);
  }

  await page.setViewportSize(PHONE);
  await expectNoHorizontalScroll('the jobs list with jobs ticked');
  await shot('23-phone-jobs-bulk');
  await page.setViewportSize(LAPTOP);
  await page.unroute(`**/api/v1/jobs/${refused}`);
  await page.locator(`#select-${refused}`).uncheck();
  expectErrors();
});

/** The API as a script uses it, from this process (the browser's session is left alone): the body. */
async function call(token, method, path, body) {
  const response = await support.request(token, method, path, body);
  assert.ok(response.status >= 200 && response.status < 300, `${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

test("job page: a team's viewer sees no Cancel, Retry, Clone, only a note that says why", async () => {
  const alice = await tokenOf(user, password);
  const team = await call(alice, 'POST', '/teams', { name: `Viewers ${Date.now()}` });
  const invitation = await call(alice, 'POST', `/teams/${team.id}/invitations`, { role: 'viewer' });
  const viewerEmail = process.env.HELIX_TEST_VIEWER_USER || 'bob@helixnet.local';
  const viewerPassword = process.env.HELIX_TEST_VIEWER_PASSWORD || 'bob-local-pass';
  await call(await tokenOf(viewerEmail, viewerPassword), 'POST', invitation.accept_path.replace('/api/v1', ''));
  const form = new FormData();
  form.append('team_id', team.id);
  form.append('name', 'Broken for viewers');
  form.append('content_file', new Blob(['order_no,customer\nA-1,"never closed\n'], { type: 'text/csv' }), 'broken.csv');
  const job = await call(alice, 'POST', '/jobs/upload', form);

  // The viewer, in a browser of their own.
  const viewerDir = await mkdtemp(join(tmpdir(), 'helix-chromium-viewer-'));
  const viewer = await launchChromium(viewerDir);
  const alicePage = page;
  try {
    page = viewer.page;
    page.setDefaultTimeout(15_000);
    await page.goto(`${baseUrl}/`);
    await page.getByLabel('Email').fill(viewerEmail);
    await page.getByLabel('Password').fill(viewerPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/#\/jobs/);
    await page.goto(`${baseUrl}/#/jobs/${job.id}`);
    await page.locator('.job-status .badge', { hasText: 'FAILED' }).waitFor({ timeout: JOB_TIMEOUT_MS });
    await page.locator('#viewer-note').filter({ hasText: 'You are a viewer in this job\'s team' }).waitFor();
    assert.equal(await page.locator('#job-actions button').count(), 0, 'no write button for a viewer');
    await shot('24-job-viewer');
    await expectNoAxeViolations('a job page as a viewer');
  } finally {
    page = alicePage;
    await viewer.context.close();
    await rm(viewerDir, { recursive: true, force: true });
  }
});

test('axe: the job pages, the new job page and the profile have no violations at either size', async () => {
  for (const [hash, ready] of [
    [`#/jobs/${jobId}`, '#reject-table'],
    [`#/jobs/${failedJobId}`, '#job-error'],
    [`#/jobs/${exampleJobId}`, '#preview-table'],
    ['#/jobs/new', '#content-files'],
    ['#/profile', '#fullname'],
  ]) {
    await page.goto(`${baseUrl}/${hash}`);
    await page.locator(ready).waitFor();
    await page.locator('[aria-busy="true"]').waitFor({ state: 'detached' }).catch(() => {});
    await expectNoAxeViolations(hash);
  }
});

test('API docs: the Swagger page has a content security policy, nosniff and a phone viewport', async () => {
  const response = await fetch(`${baseUrl}/api/v1/docs/`);
  assert.equal(response.status, 200);
  const csp = response.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.match(await response.text(), /<meta name="viewport" content="width=device-width, initial-scale=1">/);

  await page.setViewportSize(PHONE);
  await page.goto(`${baseUrl}/api/v1/docs/`);
  await page.locator('.swagger-ui .info .title').waitFor();
  await expectNoHorizontalScroll('the API docs');
  await page.screenshot({ path: join(screenshots, '12-phone-api-docs.png') });
  await page.setViewportSize(LAPTOP);
});

test('phone width: every page fits without sideways scrolling', async () => {
  await page.setViewportSize(PHONE);
  for (const [hash, name, ready] of [
    ['#/jobs', '13-phone-jobs', `tr[data-job-id="${jobId}"]`],
    [`#/jobs/${jobId}`, '14-phone-job', '#reject-table'],
    ['#/jobs/new', '15-phone-new-job', '#content-files'],
    ['#/profile', '16-phone-profile', '#fullname'],
  ]) {
    await page.goto(`${baseUrl}/${hash}`);
    await page.locator(ready).waitFor();
    await expectNoHorizontalScroll(hash);
    await shot(name);
    if (hash === '#/jobs') {
      // No header row to click on a phone: the list sorts from a choice above it.
      await page.getByLabel('Sort by').selectOption('name:asc');
      const names = await page.locator('.jobs-table tbody td[data-label="Job"] a').allTextContents();
      assert.deepEqual(names, [...names].sort(byName), `${names}`);
    }
  }
  await page.setViewportSize(LAPTOP);
});

test('keyboard: the skip link and the main navigation are reachable with Tab', async () => {
  await page.goto(`${baseUrl}/#/jobs`);
  await page.locator(`tr[data-job-id="${jobId}"]`).waitFor();
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await skip.focus();
  const box = await skip.boundingBox();
  assert.ok(box && box.x >= 0 && box.y >= 0, 'the focused skip link is on screen');
  const reached = [];
  // The brand, six links, the team switcher (when there is a team to switch to), then Log out.
  for (let i = 0; i < 9; i += 1) {
    await page.keyboard.press('Tab');
    reached.push(await page.evaluate(() => document.activeElement?.textContent?.trim()));
  }
  for (const name of ['Jobs', 'New job', 'Profile', 'Log out']) assert.ok(reached.includes(name), `${name} not reached by Tab: ${reached}`);

  await skip.focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  assert.match(page.url(), /#\/jobs$/);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/jobs\/new$/);
});

test('a second tab shares the session, and logging out in one ends it in the other', async () => {
  const tab = await context.newPage();
  tab.on('console', (message) => {
    if (message.type() === 'error') recordConsoleError(message.text(), message.location()?.url);
  });
  await tab.goto(`${baseUrl}/#/jobs`);
  await tab.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  assert.match(tab.url(), /#\/jobs$/, 'no second login');
  assert.equal(await tab.evaluate(() => document.cookie.includes('helix_refresh')), false, 'the refresh token is HttpOnly');

  expectErrors({ status: 401, path: '/api/v1/' });
  await tab.getByRole('button', { name: 'Log out' }).click();
  await tab.waitForURL(/#\/login$/);
  await tab.close();
  // The first tab's access token ends with the session (within a second), and no cookie is left
  // to refresh with: the next request leads to the login page.
  await page.waitForTimeout(1_100);
  await page.getByRole('link', { name: 'Profile' }).first().click();
  await page.waitForURL(/#\/login$/);
  expectErrors();
  await page.getByLabel('Email').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL(/#\/(jobs|profile)$/);
});

test('logout clears the session; an invalid or expired token leads back to login with a message', async () => {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(/#\/login$/);
  await page.getByRole('status').filter({ hasText: 'You have logged out.' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);

  await page.goto(`${baseUrl}/#/profile`);
  await page.waitForURL(/#\/login$/);

  expectErrors({ status: 401, path: '/api/v1/' });
  await page.evaluate(() => sessionStorage.setItem('helix.token', 'not-a-valid-token'));
  await page.goto(`${baseUrl}/#/jobs`);
  await page.waitForURL(/#\/login$/);
  await page.getByRole('alert').filter({ hasText: 'Please log in again.' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('helix.token')), null);
  expectErrors();
});

test('no console errors', () => {
  assert.deepEqual(consoleErrors, []);
});
