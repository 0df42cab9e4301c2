// The pipeline pages in a real browser, through a pipeline's life: made on the list page, a new
// version and its diff, a run started by hand and seen in the run history, a webhook (its secret
// shown once, a delivery in its log, received and signed by a receiver this test runs), the new
// version tried on the last run's input, a schedule with its next run, a chained run with its
// steps and a failed one retried, a job saved as a pipeline, and archiving; each page checked by axe-core at a laptop's and a phone's size.
// Environment: as dashboard.test.js (HELIX_URL, HELIX_TEST_USER, HELIX_TEST_PASSWORD, CHROMIUM).
// The webhook receiver listens on 127.0.0.1, port HELIX_TEST_WEBHOOK_PORT (default: any free one).
// Screenshots: ./screenshots/latest/pipelines-*.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import * as support from './support.js';
import { LAPTOP, PHONE, baseUrl, here, launchChromium, password, user } from './support.js';

const screenshots = join(here, 'screenshots', 'latest');
const RUN_TIMEOUT_MS = Number(process.env.HELIX_JOB_TIMEOUT_MS || 120_000);
const examples = join(here, '..', '..', 'examples', 'orders');
const contextV1 = await readFile(join(examples, 'orders.yaml'), 'utf8');
// Version 2 writes customer names in capitals: every record's customer.name changes.
const contextV2 = contextV1.replace('customer.name: "{{ CUST_NAME | capitalize_words }}"', 'customer.name: "{{ CUST_NAME | upper }}"');
const schema = await readFile(join(examples, 'order_line.schema.json'), 'utf8');
const pipelineName = `Orders ${Date.now().toString(36)}`;

let context;
let page;
let userDataDir;
let token;
let team;
let pipelineId;
let receiver;
let receiverUrl;
let webhookSecret;
const received = [];
const consoleErrors = [];
// The event streams the page opened (GET /pipelines/{id}/events).
const streams = [];

async function shot(name) {
  await page.screenshot({ path: join(screenshots, `pipelines-${name}.png`), fullPage: true });
}

const expectNoAxeViolations = (what) => support.expectNoAxeViolations(page, what);
const call = (method, path, body) => support.request(token, method, path, body);
const eventually = (what, check, ms = RUN_TIMEOUT_MS) => support.eventually(what, check, ms);

before(async () => {
  assert.ok(user && password, 'set HELIX_TEST_USER and HELIX_TEST_PASSWORD to a seeded account (README lists them)');
  await mkdir(screenshots, { recursive: true });
  const login = await fetch(`${baseUrl}/api/v1/auth/token`, {
    method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: user, password }),
  });
  assert.equal(login.status, 200);
  token = (await login.json()).access_token;
  // A team of its own: the pipelines and their runs stay out of the account's personal jobs.
  const made = await call('POST', '/teams', { name: `Pipelines ${Date.now().toString(36)}` });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  team = made.body;

  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(Number(process.env.HELIX_TEST_WEBHOOK_PORT || 0), '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${receiver.address().port}/helix-events`;

  userDataDir = await mkdtemp(join(tmpdir(), 'helix-chromium-pipelines-'));
  ({ context, page } = await launchChromium(userDataDir));
  page.setDefaultTimeout(20_000);
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location()?.url ?? ''})`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  page.on('request', (request) => { if (request.url().endsWith('/events')) streams.push(request.url()); });
  page.on('dialog', (dialog) => dialog.accept());

  await page.goto(`${baseUrl}/`);
  await page.waitForURL(/#\/login$/);
  await page.getByLabel('Email').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL(/#\/jobs$/);
  await page.locator('#team-switcher option', { hasText: team.name }).waitFor({ state: 'attached' });
  await page.locator('#team-switcher').selectOption(team.id);
});

after(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve()));
});

test('a pipeline is made on the pipelines page from a pasted context and schema', async () => {
  await page.getByRole('link', { name: 'Pipelines', exact: true }).click();
  await page.waitForURL(/#\/pipelines$/);
  await page.getByRole('heading', { name: /Pipelines/, level: 1 }).waitFor();
  await page.locator('#pipelines-table tr.empty').waitFor();

  // No name: the form says so at the field, and nothing is made.
  await page.getByRole('button', { name: 'Create pipeline' }).click();
  await page.locator('#pipeline-name-error', { hasText: 'Enter a name.' }).waitFor();

  await page.getByLabel('Name', { exact: true }).fill(pipelineName);
  await page.getByLabel('Or paste the context (YAML)').fill(contextV1);
  await page.getByLabel('Or paste the JSON Schema').fill(schema);
  await page.getByLabel('Inbox file names (optional)').fill('ORDERS_*.csv, orders*.csv');
  await page.getByRole('button', { name: 'Create pipeline' }).click();
  await page.waitForURL(/#\/pipelines\/[^/]+$/);
  pipelineId = decodeURIComponent(page.url().split('/').pop());
  await page.getByRole('heading', { name: pipelineName, level: 1 }).waitFor();

  const inbox = await page.locator('#pipeline-inbox').inputValue();
  assert.match(inbox, new RegExp(`^s3://[^/]+/inbox/${team.id}/${pipelineId}/$`));
  assert.equal(await page.locator('#drop-command').inputValue(), `helix drop --api-url ${baseUrl} ${pipelineId} FILE`);
  assert.equal(await page.locator('#current-version').textContent(), 'v1');
  await page.locator('#runs-table tr.empty').waitFor();
  await shot('01-created');
  await expectNoAxeViolations('a new pipeline’s page');

  // A drop key: an API key for this pipeline's inbox alone, shown once.
  await page.getByRole('button', { name: 'Make a drop key' }).click();
  const key = await page.locator('#drop-key-value').inputValue();
  const keys = await call('GET', `/teams/${team.id}/api-keys`);
  const listed = keys.body.items.find((k) => key.startsWith(k.prefix));
  assert.deepEqual(listed.scopes, ['pipelines:run']);

  await page.getByRole('link', { name: '← All pipelines' }).click();
  const row = page.locator(`#pipelines-table tr[data-pipeline-id="${pipelineId}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /v1/);
  await row.getByText('never run').waitFor();
  await shot('02-list');
  await expectNoAxeViolations('the pipelines list');
});

test('a new version is saved and its diff shows the changed line', async () => {
  await page.locator(`#pipelines-table a[href="#/pipelines/${encodeURIComponent(pipelineId)}"]`).click();
  await page.getByRole('heading', { name: pipelineName, level: 1 }).waitFor();
  await page.locator('#new-version-form').getByLabel('Or paste the context (YAML)').fill(contextV2);
  await page.getByRole('button', { name: 'Save new version' }).click();
  await page.locator('#new-version-message .notice-success', { hasText: 'Version 2 was saved' }).waitFor();
  assert.equal(await page.locator('#current-version').textContent(), 'v2');
  assert.equal(await page.locator('#versions-table tbody tr').count(), 2);

  // Saving shows what changed from v1, as the diff form would.
  const added = page.locator('#diff-context .diff-add');
  await added.first().waitFor();
  assert.ok((await added.allTextContents()).some((t) => t.includes('+  customer.name: "{{ CUST_NAME | upper }}"')), 'the new line is marked added');
  assert.ok((await page.locator('#diff-context .diff-del').allTextContents()).some((t) => t.includes('capitalize_words')), 'the old line is marked removed');
  await page.locator('#diff-schema', { hasText: 'No change to the schema.' }).waitFor();

  // The same from the diff form, the other way round.
  await page.getByLabel('From', { exact: true }).selectOption('2');
  await page.getByLabel('To', { exact: true }).selectOption('1');
  await page.getByRole('button', { name: 'Show the changes' }).click();
  await page.locator('#diff', { hasText: 'From v2 to v1' }).waitFor();
  assert.ok((await page.locator('#diff-context .diff-add').allTextContents()).some((t) => t.includes('capitalize_words')));
  await page.locator('#versions').screenshot({ path: join(screenshots, 'pipelines-03-diff.png') });
  await expectNoAxeViolations('the pipeline page with a diff');
});

test('a webhook is added with its secret shown once', async () => {
  await page.getByLabel('URL', { exact: true }).fill('ftp://example.com/x');
  await page.getByRole('button', { name: 'Add webhook' }).click();
  await page.locator('#webhook-url-error', { hasText: 'http' }).waitFor();
  // Chromium logs the refused request (422) as a console error: that one was expected.
  consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !(e.includes('status of 422') && e.includes('/webhooks'))));

  await page.getByLabel('URL', { exact: true }).fill(receiverUrl);
  await page.getByRole('button', { name: 'Add webhook' }).click();
  const secret = await page.locator('#webhook-secret').inputValue();
  assert.match(secret, /^whsec_/);
  await page.locator('#webhooks-table tbody tr[data-webhook-id]').waitFor();
  assert.match(await page.locator('#webhooks-table').innerText(), new RegExp(receiverUrl.replace(/[.]/g, '\\.')));
  await page.locator('#deliveries-table tr.empty').waitFor();
  webhookSecret = secret;
});

test('a run started by hand on an uploaded file shows in the run history and completes, and its webhook delivery is logged', async () => {
  await page.locator('#run-content-files').setInputFiles(join(examples, 'orders.csv'));
  await page.getByLabel('Version', { exact: true }).selectOption('1');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.locator('#run-message .notice-success', { hasText: 'The run started' }).waitFor();
  const row = page.locator('#runs-table tbody tr[data-run-id]').first();
  await row.waitFor();
  // Completed, as the pipeline's live events tell the page (no reload).
  await page.locator('#runs-table tbody tr[data-status="COMPLETED"]').first().waitFor({ timeout: RUN_TIMEOUT_MS });
  assert.ok(streams.includes(`${baseUrl}/api/v1/pipelines/${pipelineId}/events`), `the page follows the pipeline's events: ${streams}`);
  assert.match(await row.innerText(), /v1/);
  const runId = await row.getAttribute('data-run-id');
  await shot('04-run-completed');

  // The run's end is POSTed to the receiver, signed with the secret, and the log says so.
  const delivery = await eventually('the webhook delivery', () => received.find((r) => r.body.includes(runId)));
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(delivery.headers['helix-signature']);
  assert.equal(v1, createHmac('sha256', webhookSecret).update(`${t}.${delivery.body}`).digest('hex'));
  await eventually('the delivered row in the log', async () => {
    await page.getByRole('button', { name: 'Refresh the log' }).click();
    return (await page.locator('#deliveries-table tbody tr[data-status="DELIVERED"]').count()) > 0;
  });
  const logged = page.locator('#deliveries-table tbody tr[data-status="DELIVERED"]').first();
  assert.match(await logged.innerText(), /run\.completed/);
  assert.match(await logged.innerText(), /HTTP 204/);
  await page.locator('#webhooks').screenshot({ path: join(screenshots, 'pipelines-05-webhook-deliveries.png') });
  await expectNoAxeViolations('the pipeline page with a run and a delivery');

  // The run's own page links back through its name; it is a job like any other.
  await row.locator('a').click();
  await page.waitForURL(new RegExp(`#/jobs/${runId}$`));
  await page.getByRole('heading', { name: new RegExp(pipelineName), level: 1 }).waitFor();
  await page.goBack();
  await page.getByRole('heading', { name: pipelineName, level: 1 }).waitFor();
});

test('version 2 is compared on the last run’s input: records and fields that changed', async () => {
  await page.locator('#compare-baseline a').waitFor();
  await page.getByLabel('Version to try').selectOption('2');
  await page.getByRole('button', { name: 'Compare on the last run’s input' }).click();
  await page.locator('#compare-changed dd').waitFor({ timeout: RUN_TIMEOUT_MS });
  const changed = Number((await page.locator('#compare-changed dd').innerText()).replace(/\D/g, ''));
  assert.ok(changed > 0, `changed records: ${changed}`);
  assert.equal((await page.locator('#compare-added dd').innerText()).trim(), '0');
  const field = page.locator('#compare-fields tr[data-field="customer.name"]');
  await field.waitFor();
  assert.match(await field.innerText(), /record \d+: ".+" → ".+"/);
  await page.locator('#compare-section').screenshot({ path: join(screenshots, 'pipelines-06-compare.png') });
  await expectNoAxeViolations('the pipeline page with a comparison');
});

test('a schedule is added with its next run', async () => {
  // Read again: the schedule form starts from the last run's input.
  await page.reload();
  await page.getByRole('heading', { name: pipelineName, level: 1 }).waitFor();
  await page.locator('#schedules-table tr.empty').waitFor();
  assert.ok((await page.locator('#schedule-content-ids').inputValue()).length > 0, 'the last run’s input is offered');
  await page.getByLabel('When').fill('rate(1 hour)');
  await page.getByLabel('Time zone').fill('UTC');
  const before = Date.now();
  await page.getByRole('button', { name: 'Add schedule' }).click();
  await page.locator('#new-schedule-message .notice-success').waitFor();
  const next = await page.locator('#schedules-table tbody tr[data-schedule-id] td.next-run time').getAttribute('datetime');
  const inMs = Date.parse(next) - before;
  assert.ok(inMs > 50 * 60_000 && inMs < 70 * 60_000, `the next run is in ${inMs} ms`);
  await page.locator('#schedules').screenshot({ path: join(screenshots, 'pipelines-07-schedule.png') });
  await page.setViewportSize(PHONE);
  await shot('08-phone');
  await page.setViewportSize(LAPTOP);
  await expectNoAxeViolations('the pipeline page with a schedule');
});

test('a chained run shows each step’s status, linked to its job', async () => {
  const step = (name, marker, after) => ({
    name, after, context: `fields:\n  id: "${marker}{{ id }}"\n  qty: "{{ qty }}"\n`,
    schema: { type: 'object', required: ['id', 'qty'], properties: { id: { type: 'string' }, qty: { type: 'integer' } } },
  });
  const made = await call('POST', '/pipelines', { name: `${pipelineName} chain`, team_id: team.id, steps: [step('parse', '', []), step('mark', 'b-', ['parse'])] });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  await page.goto(`${baseUrl}/#/pipelines/${encodeURIComponent(made.body.id)}`);
  await page.getByRole('heading', { name: `${pipelineName} chain`, level: 1 }).waitFor();
  await page.locator('#run-content-files').setInputFiles({ name: 'items.csv', mimeType: 'text/csv', buffer: Buffer.from('id,qty\na,1\nb,2\n') });
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.locator('#run-message .notice-success', { hasText: 'chained run of 2 steps' }).waitFor();
  const run = page.locator('#runs-table tr[data-chain-run][data-status="COMPLETED"]');
  await run.waitFor({ timeout: RUN_TIMEOUT_MS });
  for (const name of ['parse', 'mark']) {
    const item = run.locator(`li[data-step="${name}"]`);
    assert.match(await item.innerText(), /COMPLETED/);
    assert.match(await item.locator('a').getAttribute('href'), new RegExp(`^#/jobs/.+\\.${name}\\.1$`));
  }
  await page.locator('#runs').screenshot({ path: join(screenshots, 'pipelines-09-chain.png') });
  await expectNoAxeViolations('a chained pipeline’s page');
});

test('a failed chained run names its step, skips the one after it, and is retried from the page', async () => {
  // The first step reads its content as JSON: the CSV given fails it, and the step after it is skipped.
  const schema = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } };
  const steps = [
    { name: 'parse', context: 'input:\n  format: json\nfields:\n  id: "{{ id }}"\n', schema },
    { name: 'mark', context: 'fields:\n  id: "b-{{ id }}"\n', schema, after: ['parse'] },
  ];
  const made = await call('POST', '/pipelines', { name: `${pipelineName} failing chain`, team_id: team.id, steps });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  await page.goto(`${baseUrl}/#/pipelines/${encodeURIComponent(made.body.id)}`);
  await page.getByRole('heading', { name: `${pipelineName} failing chain`, level: 1 }).waitFor();
  await page.locator('#run-content-files').setInputFiles({ name: 'items.csv', mimeType: 'text/csv', buffer: Buffer.from('id,qty\na,1\n') });
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  const run = page.locator('#runs-table tr[data-chain-run][data-status="FAILED"]');
  await run.waitFor({ timeout: RUN_TIMEOUT_MS });
  assert.match(await run.locator('li[data-step="parse"]').innerText(), /FAILED/);
  assert.match(await run.locator('li[data-step="mark"]').innerText(), /SKIPPED/);
  assert.match(await run.locator('.chain-error').innerText(), /parse/);
  await page.locator('#runs').screenshot({ path: join(screenshots, 'pipelines-10-chain-failed.png') });

  await run.getByRole('button', { name: /^Retry the chained run/ }).click();
  // The failed step runs again as its second attempt, and fails again on the same input.
  await page.locator('#runs-table tr[data-chain-run][data-status="FAILED"] li[data-step="parse"]', { hasText: 'attempt 2' }).waitFor({ timeout: RUN_TIMEOUT_MS });
  await expectNoAxeViolations('a failed chained run');
});

test('a finished job is saved as a pipeline from its page', async () => {
  const runs = await call('GET', `/jobs?pipeline_id=${encodeURIComponent(pipelineId)}`);
  const done = runs.body.items.find((j) => j.status === 'COMPLETED');
  await page.goto(`${baseUrl}/#/jobs/${encodeURIComponent(done.id)}`);
  await page.getByRole('button', { name: 'Save as pipeline' }).click();
  await page.getByLabel('Pipeline name').fill(`${pipelineName} copy`);
  await page.locator('#save-pipeline-form').screenshot({ path: join(screenshots, 'pipelines-11-save-as-pipeline.png') });
  await expectNoAxeViolations('a job page with the save-as-pipeline form');
  await page.locator('#save-pipeline').click();
  await page.getByRole('heading', { name: `${pipelineName} copy`, level: 1 }).waitFor();
  const copyId = decodeURIComponent(page.url().split('/').pop());
  const version = await call('GET', `/pipelines/${encodeURIComponent(copyId)}/versions/1`);
  assert.equal(version.body.context_artifact_id, done.inputs.context_artifact_id);
  assert.equal(version.body.schema_artifact_id, done.inputs.schema_artifact_id);
});

test('archiving keeps the pipeline, read-only, listed among the archived', async () => {
  await page.goto(`${baseUrl}/#/pipelines/${encodeURIComponent(pipelineId)}`);
  await page.getByRole('heading', { name: pipelineName, level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Archive pipeline' }).click();
  await page.locator('#pipeline-status', { hasText: 'ARCHIVED' }).waitFor();
  assert.equal(await page.locator('#run-form').isVisible(), false, 'an archived pipeline takes no runs');
  assert.ok((await call('GET', `/pipelines/${encodeURIComponent(pipelineId)}`)).body.archived_at);
  await shot('12-archived');
  await expectNoAxeViolations('an archived pipeline');

  await page.getByRole('link', { name: '← All pipelines' }).click();
  await page.locator(`#pipelines-table tr[data-pipeline-id]`).first().waitFor();
  assert.equal(await page.locator(`#pipelines-table tr[data-pipeline-id="${pipelineId}"]`).count(), 0, 'archived pipelines are not listed by default');
  await page.getByLabel('Show archived pipelines').check();
  await page.locator(`#pipelines-table tr[data-pipeline-id="${pipelineId}"]`, { hasText: 'archived' }).waitFor();
  assert.deepEqual(consoleErrors, []);
});
