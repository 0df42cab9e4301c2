// The usage page (shared/web/assets/usage.js) in Chromium against the platform, as a platform
// admin (the seeded admin@helixnet.local): after a job and an ingested cost export, every chart
// draws on its canvas with data, each has its table, and the page is axe-clean and does not scroll
// sideways at 1366×800 and 390×844. Screenshots: ./screenshots/latest/usage-*.
// Environment: HELIX_URL, HELIX_ADMIN_USER, HELIX_ADMIN_PASSWORD, CHROMIUM.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { LAPTOP, PHONE, baseUrl, expectNoAxeViolations, here, launchChromium } from './support.js';

const screenshots = join(here, 'screenshots', 'latest');
const examples = join(here, '..', '..', 'examples', 'orders');
const exportCsv = await readFile(join(here, '..', '..', 'shared', 'jobs', 'tests', 'fixtures', 'focus-2026-11.csv'), 'utf8');
const CHARTS = ['jobs-per-day', 'job-duration', 'records-per-day', 'cost-per-day', 'estimated-billed'];

let context;
let page;
let userDataDir;
const pageErrors = [];

before(async () => {
  await mkdir(screenshots, { recursive: true });
  userDataDir = await mkdtemp(join(tmpdir(), 'helix-chromium-'));
  ({ context, page } = await launchChromium(userDataDir));
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // A refused inline script or style would show as a CSP violation in the console.
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
  });
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Email').fill(process.env.HELIX_ADMIN_USER || 'admin@helixnet.local');
  await page.getByLabel('Password').fill(process.env.HELIX_ADMIN_PASSWORD || 'helix-admin-local');
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL(/#\/jobs$/);
});

after(async () => {
  await context?.close();
  await rm(userDataDir, { recursive: true, force: true });
});

test('the usage page draws every chart with data, with its table, axe-clean at both sizes', async () => {
  const files = {
    csv: await readFile(join(examples, 'orders.csv'), 'utf8'),
    context: await readFile(join(examples, 'orders.yaml'), 'utf8'),
    schema: await readFile(join(examples, 'order_line.schema.json'), 'utf8'),
    exportCsv,
  };
  // A job of the admin's personal team, and the bill's export, through the dashboard's own modules.
  const made = await page.evaluate(async (f) => {
    const base = document.querySelector('script[type="module"]').src.replace(/[^/]+$/, '');
    const { uploadArtifact } = await import(`${base}upload.js`);
    const { api } = await import(`${base}api.js`);
    const content = await uploadArtifact(new File([f.csv], 'orders.csv', { type: 'text/csv' }), 'content', {});
    const job = await api('POST', '/jobs', { body: { content_artifact_ids: [content], context: f.context, schema: JSON.parse(f.schema) } });
    let done = job;
    for (let i = 0; i < 300 && !['COMPLETED', 'FAILED'].includes(done.status); i += 1) {
      await new Promise((r) => setTimeout(r, 200));
      done = await api('GET', `/jobs/${job.id}`);
    }
    const bill = await uploadArtifact(new File([f.exportCsv], 'focus-2026-11.csv', { type: 'text/csv' }), 'content', {});
    const ingest = await api('POST', '/costs/billing-exports', { body: { artifact_id: bill } });
    return { status: done.status, cost: done.cost, ingest };
  }, files);
  assert.equal(made.status, 'COMPLETED');
  assert.equal(made.cost.price_table, '2026-11-01');
  assert.ok(['stored', 'unchanged'].includes(made.ingest.periods[0].outcome), JSON.stringify(made.ingest));

  // From the export's month to today, while that is within the API's 366 days.
  const today = new Date().toISOString().slice(0, 10);
  const withBill = (Date.now() - Date.parse('2026-11-01T00:00:00Z')) / 86_400_000 < 360;
  await page.goto(`${baseUrl}/#/usage${withBill ? `?from=2026-11-01&to=${today}` : ''}`);
  await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
  for (const id of CHARTS) {
    await page.locator(`#${id}-title`).waitFor();
    await page.locator(`[aria-labelledby="${id}-title"] canvas`).first().waitFor();
  }
  await page.getByRole('heading', { name: 'Top 10 pipelines by cost' }).waitFor();
  // Every chart drew something: its canvas has pixels that are not the background.
  for (const id of CHARTS) {
    const inked = await page.locator(`[aria-labelledby="${id}-title"] canvas`).first().evaluate((canvas) => {
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let ink = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink += 1;
      return ink;
    });
    assert.ok(inked > 500, `${id} drew ${inked} pixels`);
  }
  // Today's jobs are in the table view, read by screen readers while the chart is shown.
  const jobsTable = page.locator('#jobs-per-day-table table');
  assert.match(await jobsTable.locator('tbody tr', { hasText: today }).innerText(), /\b[1-9]\d*\b/);
  await page.getByRole('button', { name: 'Show as table' }).first().click();
  assert.equal(await jobsTable.isVisible(), true, 'the table is shown instead of the chart');
  await page.screenshot({ path: join(screenshots, 'usage-laptop-table.png'), fullPage: true });
  await page.getByRole('button', { name: 'Show as chart' }).first().click();
  if (withBill) {
    const billed = await page.locator('#estimated-billed-table tbody tr', { hasText: '2026-11-02' }).innerText();
    assert.match(billed, /\$2\.5963/, 'the export’s billed total of 2026-11-02');
  }

  for (const size of [LAPTOP, PHONE]) {
    await page.setViewportSize(size);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(screenshots, `usage-${size.width}x${size.height}.png`), fullPage: true });
  }
  await expectNoAxeViolations(page, 'the usage page');
  assert.deepEqual(pageErrors, []);
});
