// The review page of a suggest-mapping job's draft in a real browser: the proposals with their
// alternatives, evidence and sample values; a field changed to another column, one rejected, a
// value map edited; Confirm saves the context and the team's mapping memory, and the next file of
// the source (its columns renamed and moved) is drafted from that memory. Checked by axe-core at
// a laptop's and a phone's size. Environment: as dashboard.test.js (HELIX_URL, HELIX_TEST_USER,
// HELIX_TEST_PASSWORD, CHROMIUM); the platform's GPU worker needs the model (scripts/setup.sh).
// Screenshots: ./screenshots/latest/review-*.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import * as support from './support.js';
import { LAPTOP, PHONE, baseUrl, here, launchChromium, password, tokenOf, user } from './support.js';

const screenshots = join(here, 'screenshots', 'latest');
const stamp = Date.now().toString(36);

const SCHEMA = {
  type: 'object',
  required: ['order_number', 'customer_id', 'order_date', 'net_value', 'currency'],
  properties: {
    order_number: { type: 'string', description: 'Sales document number' },
    customer_id: { type: 'string' },
    order_date: { type: 'string', format: 'date' },
    net_value: { type: 'number' },
    currency: { type: 'string', enum: ['EUR', 'USD'] },
    sales_channel: { type: 'string', enum: ['web', 'shop', 'phone'] },
    loyalty_tier: { type: 'string', enum: ['gold', 'silver'] },
  },
};
const ORDERS = 'VBELN;KUNNR;ERDAT;NETWR;WAERS;KANAL;Bemerkung\n'
  + '0000012345;0000100234;20240301;1.234,50;EUR;W;eilig\n'
  + '0000012346;0000100871;20240302;99,90;eur;L;\n'
  + '0000012347;0000100912;20240305;2.750,00;USD;T;\n';
// The next file of the source: renamed, reordered.
const MORE_ORDERS = 'Kanal;Kunde;Waehrung;Belegnummer;Nettowert;Anlagedatum\n'
  + 'W;0000100555;EUR;0000012400;10,00;20240401\n'
  + 'T;0000100871;usd;0000012401;1.500,00;20240402\n'
  + 'L;0000100990;EUR;0000012402;7,25;20240403\n';

let context;
let page;
let userDataDir;
let token;
let schemaId;
let firstJob;
const consoleErrors = [];

async function shot(name) {
  await page.screenshot({ path: join(screenshots, `review-${name}.png`), fullPage: true });
}

const expectNoAxeViolations = (what) => support.expectNoAxeViolations(page, what);
const call = (method, path, body) => support.request(token, method, path, body);

/** Uploads through a presigned PUT, as the CLI and the new job page do; the artifact's id. */
async function upload(filename, contentType, kind, text) {
  const bytes = new TextEncoder().encode(text);
  const ticket = await call('POST', '/artifacts/upload', { filename, content_type: contentType, kind, size_bytes: bytes.length });
  assert.equal(ticket.status, 201, JSON.stringify(ticket.body));
  const put = await fetch(ticket.body.upload_url, { method: 'PUT', headers: ticket.body.headers, body: bytes });
  assert.ok(put.ok, `PUT ${filename}: ${put.status}`);
  for (let i = 0; i < 100; i += 1) {
    const artifact = await call('GET', `/artifacts/${ticket.body.artifact_id}`);
    if (artifact.body?.status === 'AVAILABLE') return ticket.body.artifact_id;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${filename} never became available`);
}

async function suggest(filename, text) {
  const content = await upload(filename, 'text/csv', 'content', text);
  const job = await call('POST', '/jobs', { kind: 'suggest-mapping', name: `review ${stamp}`, content_artifact_ids: [content], schema_artifact_id: schemaId });
  assert.equal(job.status, 202, JSON.stringify(job.body));
  for (let i = 0; i < 600; i += 1) {
    const read = await call('GET', `/jobs/${job.body.id}`);
    if (read.body.status === 'COMPLETED') return read.body;
    assert.notEqual(read.body.status, 'FAILED', JSON.stringify(read.body));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the suggestion did not complete');
}

before(async () => {
  assert.ok(user && password, 'set HELIX_TEST_USER and HELIX_TEST_PASSWORD to a seeded account (README lists them)');
  await mkdir(screenshots, { recursive: true });
  token = await tokenOf(user, password);
  schemaId = await upload(`order-${stamp}.schema.json`, 'application/json', 'schema', JSON.stringify(SCHEMA));
  firstJob = await suggest(`orders-${stamp}.csv`, ORDERS);
  userDataDir = await mkdtemp(join(tmpdir(), 'helix-chromium-review-'));
  ({ context, page } = await launchChromium(userDataDir));
  page.setDefaultTimeout(15_000);
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location()?.url ?? ''})`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
});

after(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

test('the job page of a suggestion links to its review: proposals, alternatives, evidence, samples and value maps', async () => {
  await page.goto(`${baseUrl}/`);
  await page.waitForURL(/#\/login$/);
  await page.getByLabel('Email').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL(/#\/jobs$/);
  await page.goto(`${baseUrl}/#/jobs/${firstJob.id}`);
  await page.getByRole('link', { name: 'Review the draft' }).click();
  await page.waitForURL(new RegExp(`#/jobs/${firstJob.id}/review$`));
  await page.getByRole('heading', { name: 'Review the draft', level: 1 }).waitFor();
  const customer = page.locator('.review-field', { has: page.getByRole('heading', { name: 'customer_id' }) });
  await customer.locator('.proposal', { hasText: 'Proposed: KUNNR' }).waitFor();
  assert.match(await customer.locator('.proposal').textContent(), /Sample values: 0000100234, 0000100871, 0000100912/);
  assert.ok(await customer.locator('table.alternatives tbody tr').count() >= 1, 'alternatives are listed');
  assert.match(await customer.locator('table.alternatives').textContent(), /\d+%/);
  const currency = page.locator('.review-field', { has: page.getByRole('heading', { name: 'currency' }) });
  assert.equal(await currency.getByLabel('Source value 1 of currency').inputValue(), 'eur');
  assert.equal(await currency.getByLabel('Target value 1 of currency').inputValue(), 'EUR');
  await shot('01-draft');
  await page.setViewportSize(PHONE);
  await shot('02-phone-draft');
  await page.setViewportSize(LAPTOP);
  await expectNoAxeViolations('the review page');
});

test('a change, a rejection and an edited value map are confirmed, and the next file is drafted from the memory', async () => {
  // The channel, unproposed: changed to its column, its codes mapped by hand.
  const channel = page.locator('.review-field', { has: page.getByRole('heading', { name: 'sales_channel' }) });
  await channel.getByLabel('Column for sales_channel').selectOption('KANAL');
  assert.ok(await channel.getByLabel('Change to').isChecked(), 'picking a column chooses "change"');
  await channel.locator('details.value-map > summary').click();
  for (const [source, target] of [['W', 'web'], ['L', 'shop'], ['T', 'phone']]) {
    await channel.getByRole('button', { name: "Add a value to sales_channel's map" }).click();
    const n = await channel.locator('.map-row').count();
    await channel.getByLabel(`Source value ${n} of sales_channel`).fill(source);
    await channel.getByLabel(`Target value ${n} of sales_channel`).fill(target);
  }
  const currency = page.locator('.review-field', { has: page.getByRole('heading', { name: 'currency' }) });
  await currency.getByRole('button', { name: "Add a value to currency's map" }).click();
  await currency.getByLabel('Source value 2 of currency').fill('usd');
  await currency.getByLabel('Target value 2 of currency').fill('USD');
  const remark = page.locator('.review-field', { has: page.getByRole('heading', { name: 'loyalty_tier' }) });
  assert.ok(await remark.getByLabel('Reject: leave it unmapped').isChecked(), 'a field without a proposal starts rejected');
  await shot('03-edited');

  await page.getByRole('button', { name: 'Confirm' }).click();
  const result = page.locator('#confirm-result .notice-success');
  await result.waitFor();
  assert.match(await result.textContent(), /Confirmed: saved as context artifact .+\. 6 fields remembered for your team; 1 left unmapped\./);
  const confirmed = await page.locator('#confirmed-context').textContent();
  assert.match(confirmed, /"sales_channel": \{ value: "\{\{ KANAL \| trim \}\}", map: \{ "L": "shop", "T": "phone", "W": "web" \}/);
  assert.match(confirmed, /"currency": \{ value: "\{\{ WAERS \| trim \}\}", map: \{ "eur": "EUR", "usd": "USD" \}/);
  await shot('04-confirmed');
  await expectNoAxeViolations('the confirmed review');

  const memory = await call('GET', `/teams/${firstJob.team_id}/mapping-memory`);
  const mine = memory.body.filter((e) => e.job_id === firstJob.id);
  assert.deepEqual(mine.map((e) => `${e.target}<-${e.column}`).sort(),
    ['currency<-WAERS', 'customer_id<-KUNNR', 'net_value<-NETWR', 'order_date<-ERDAT', 'order_number<-VBELN', 'sales_channel<-KANAL']);

  // The next file of the source: every column found again, the channel's map with it.
  const second = await suggest(`orders-${stamp}-april.csv`, MORE_ORDERS);
  await page.goto(`${baseUrl}/#/jobs/${second.id}/review`);
  const channel2 = page.locator('.review-field', { has: page.getByRole('heading', { name: 'sales_channel' }) });
  await channel2.locator('.proposal', { hasText: 'Proposed: Kanal' }).waitFor();
  assert.match(await channel2.locator('.proposal').textContent(), new RegExp(`remembered.*confirmed by ${user.replace('.', '\\.')} on \\d{4}-\\d{2}-\\d{2} for KANAL`));
  assert.equal(await channel2.getByLabel('Target value 1 of sales_channel').inputValue(), 'shop');
  const summary = await page.locator('#review-summary-title + p').textContent();
  assert.match(summary, /6 of 7 target fields proposed from 3 sampled records, 6 of them from the team's mapping memory\./);
  await shot('05-remembered');
  await expectNoAxeViolations('a draft from the memory');
  assert.deepEqual(consoleErrors, [], 'no console errors');
});
