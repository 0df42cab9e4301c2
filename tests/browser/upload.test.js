// Big files from the browser: the dashboard's upload module (shared/web/assets/upload.js) in
// Chromium against the platform, which `make test` starts with a 5 MiB multipart threshold. A
// 36 MiB file goes up in three parts (of the default 16 MiB), each PUT to storage (a cross-origin request, under the bucket's
// CORS rule) bound to its SHA-256; a cancelled upload leaves nothing behind. Then the page as people
// use it (issue 16, item 1): the upload panel at the top with percentage, bytes, speed, time left,
// pause, resume and cancel; leaving the new job page mid-upload asks first; a reload offers to
// resume from the parts stored; the job page cancels a running job. Uploads are slowed with
// Chromium's network throttling so that there is time to look. Screenshots: ./screenshots/latest/upload-*.
// Environment: HELIX_URL, HELIX_TEST_USER, HELIX_TEST_PASSWORD, CHROMIUM (as dashboard.test.js).

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import * as support from './support.js';
import { baseUrl, here, launchChromium } from './support.js';

let context;
let page;
let userDataDir;
let fileDir;
let cdp;
// HELIX_SCREENSHOTS_DIR: as in dashboard.test.js.
const screenshots = process.env.HELIX_SCREENSHOTS_DIR || join(here, 'screenshots', 'latest');

before(async () => {
  userDataDir = await mkdtemp(join(tmpdir(), 'helix-chromium-'));
  ({ context, page } = await launchChromium(userDataDir));
  page.setDefaultTimeout(30_000);
  fileDir = await mkdtemp(join(tmpdir(), 'helix-upload-files-'));
  cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Email').fill(process.env.HELIX_TEST_USER);
  await page.getByLabel('Password').fill(process.env.HELIX_TEST_PASSWORD);
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL(/#\/jobs$/);
});

after(async () => {
  await context?.close();
  await rm(userDataDir, { recursive: true, force: true });
  await rm(fileDir, { recursive: true, force: true });
});

test('a file above the multipart threshold goes up in checked parts and becomes available', async () => {
  const outcome = await page.evaluate(async () => {
    // The dashboard's own modules: the same instances, logged in, as the page uses.
    const base = document.querySelector('script[type="module"]').src.replace(/[^/]+$/, '');
    const upload = await import(`${base}upload.js`);
    const { api } = await import(`${base}api.js`);
    const line = 'id,qty\n';
    const text = line + '00000001,7\n'.repeat(Math.ceil((36 << 20) / 11));
    const file = new File([text], 'big.csv', { type: 'text/csv' });
    const progress = [];
    const id = await upload.uploadArtifact(file, 'content', { onProgress: (f) => progress.push(f) });
    const artifact = await api('GET', `/artifacts/${id}`);
    return { artifact, size: file.size, last: progress.at(-1), steps: progress.length };
  });
  assert.equal(outcome.artifact.status, 'AVAILABLE', JSON.stringify(outcome.artifact));
  assert.equal(outcome.artifact.size_bytes, outcome.size);
  assert.ok(outcome.artifact.checksum_sha256, 'the stored file has a checksum');
  assert.equal(outcome.last, 1);
  assert.ok(outcome.steps > 3, 'progress is reported as parts go up');
});

test('cancelling a multipart upload aborts it on the server', async () => {
  const outcome = await page.evaluate(async () => {
    const base = document.querySelector('script[type="module"]').src.replace(/[^/]+$/, '');
    const upload = await import(`${base}upload.js`);
    const { api } = await import(`${base}api.js`);
    const file = new File([new Uint8Array(16 << 20).fill(65)], 'cancelled.csv', { type: 'text/csv' });
    const controller = new AbortController();
    let registered;
    const original = window.fetch;
    // The artifact id, from the registration's answer, to look at it afterwards.
    window.fetch = async (...args) => {
      const response = await original(...args);
      if (String(args[0]).endsWith('/artifacts/upload')) registered = (await response.clone().json()).artifact_id;
      return response;
    };
    let error;
    try {
      await upload.uploadArtifact(file, 'content', {
        signal: controller.signal,
        onProgress: (f) => { if (f > 0) controller.abort(); },
      });
    } catch (e) {
      error = e.name;
    } finally {
      window.fetch = original;
    }
    for (let i = 0; i < 50; i += 1) {
      const artifact = await api('GET', `/artifacts/${registered}`);
      if (artifact.status !== 'PENDING_UPLOAD') return { error, artifact };
      await new Promise((r) => setTimeout(r, 100));
    }
    return { error, artifact: await api('GET', `/artifacts/${registered}`) };
  });
  assert.equal(outcome.error, 'AbortError');
  assert.equal(outcome.artifact.status, 'REJECTED', JSON.stringify(outcome.artifact));
  assert.equal(outcome.artifact.rejected_reason, 'the upload was cancelled');
});

/** Uploads go at most `bytesPerSecond` (null: full speed): Chromium's own throttling. */
async function throttleUploads(bytesPerSecond) {
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond ?? -1,
  });
}

/** A CSV of about `mebibytes` MiB on disk: picked again after a reload, it is the same file. */
async function csvFile(name, mebibytes) {
  const path = join(fileDir, name);
  await writeFile(path, 'id,qty\n' + '00000001,7\n'.repeat(Math.ceil((mebibytes << 20) / 11)));
  return path;
}

/** GET on the API as the logged-in page. */
function apiGet(path) {
  return page.evaluate(async (p) => {
    const base = document.querySelector('script[type="module"]').src.replace(/[^/]+$/, '');
    const { api } = await import(`${base}api.js`);
    return api('GET', p);
  }, path);
}

/** The unfinished uploads the page keeps in IndexedDB. */
function rememberedUploads() {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const request = indexedDB.open('helix-uploads', 1);
    request.onupgradeneeded = () => request.result.createObjectStore('uploads', { keyPath: 'artifact_id' });
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const query = request.result.transaction('uploads').objectStore('uploads').getAll();
      query.onsuccess = () => { request.result.close(); resolve(query.result); };
    };
  }));
}

async function artifactOnceSettled(id) {
  for (let i = 0; i < 50; i += 1) {
    const artifact = await apiGet(`/artifacts/${id}`);
    if (artifact.status !== 'PENDING_UPLOAD') return artifact;
    await page.waitForTimeout(100);
  }
  return apiGet(`/artifacts/${id}`);
}

const expectNoAxeViolations = (what) => support.expectNoAxeViolations(page, what);

async function startUpload(path) {
  await page.goto(`${baseUrl}/#/jobs/new`);
  await page.locator('#content-files').setInputFiles(path);
  await page.getByRole('button', { name: 'Upload and start job' }).click();
}

const panel = () => page.locator('#upload-panel');
const figures = (name) => panel().locator('.upload-row', { hasText: name }).locator('.upload-figures');

test('the upload panel: percentage, bytes, speed and time left at the top; pause, resume; a reload resumes from the parts stored; the job can be cancelled', async () => {
  const path = await csvFile('resumable.csv', 36);
  await throttleUploads(4 << 20);
  await startUpload(path);

  // At the top of the page, and still in view when the page is scrolled down.
  await assert.doesNotReject(figures('resumable.csv').filter({ hasText: /\d+ % · [\d.]+ [KM]B of 36 MB · [\d.]+ [KM]B\/s · \d+ (s|min \d+ s) left/ }).waitFor());
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const box = await panel().boundingBox();
  assert.ok(box && box.y <= 1, `the panel stays at the top while the page scrolls (y = ${box?.y})`);
  await page.screenshot({ path: join(screenshots, 'upload-panel-running.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(screenshots, 'upload-panel-running-phone.png') });
  await page.setViewportSize({ width: 1280, height: 720 });
  await expectNoAxeViolations('the new job page with the upload panel');

  // Pause: nothing moves; resume: it goes on.
  await page.getByRole('button', { name: 'Pause the upload of resumable.csv' }).click();
  await figures('resumable.csv').filter({ hasText: /^Paused at \d+ %/ }).waitFor();
  const paused = await figures('resumable.csv').textContent();
  await page.waitForTimeout(1000);
  assert.equal(await figures('resumable.csv').textContent(), paused, 'a paused upload sends nothing');
  await page.screenshot({ path: join(screenshots, 'upload-panel-paused.png') });
  await page.getByRole('button', { name: 'Resume the upload of resumable.csv' }).click();
  await figures('resumable.csv').filter({ hasText: /left$/ }).waitFor();

  // What a reload needs to resume: kept in IndexedDB, and on the server.
  const [record] = await rememberedUploads();
  assert.equal(record.name, 'resumable.csv');
  assert.equal(record.size, (await readFile(path)).length);
  assert.ok(record.last_modified > 0 && record.upload_id, JSON.stringify(record));
  const artifact = await apiGet(`/artifacts/${record.artifact_id}`);
  assert.equal(artifact.multipart?.upload_id, record.upload_id, JSON.stringify(artifact));
  // Once a part is stored, the page is reloaded mid-upload (the browser asks first).
  for (let i = 0; i < 200 && (await apiGet(`/artifacts/${record.artifact_id}/parts`)).parts.length === 0; i += 1) {
    await page.waitForTimeout(100);
  }
  await page.getByRole('button', { name: 'Pause the upload of resumable.csv' }).click();
  const { parts: stored } = await apiGet(`/artifacts/${record.artifact_id}/parts`);
  assert.ok(stored.length >= 1 && stored.length < 3, `some parts stored: ${JSON.stringify(stored)}`);
  const dialogs = [];
  page.once('dialog', (dialog) => {
    dialogs.push(dialog.type());
    dialog.accept();
  });
  await page.reload();
  assert.deepEqual(dialogs, ['beforeunload'], 'reloading mid-upload asks first');
  await throttleUploads(null);

  // The reload offers to resume; a different file is refused, the same one sends only what is missing.
  const offer = panel().locator('.upload-row[data-state="interrupted"]', { hasText: 'resumable.csv' });
  await offer.filter({ hasText: `(${stored.length} part${stored.length === 1 ? '' : 's'})` }).waitFor();
  await page.screenshot({ path: join(screenshots, 'upload-panel-resume-offer.png') });
  await expectNoAxeViolations('the upload panel offering to resume');
  await page.getByLabel('Resume resumable.csv…').setInputFiles(await csvFile('other.csv', 1));
  await offer.getByText('That is not the file this upload started with').waitFor();
  const partsSent = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (request.method() === 'PUT' && url.searchParams.has('partNumber')) partsSent.push(Number(url.searchParams.get('partNumber')));
  });
  await page.getByLabel('Resume resumable.csv…').setInputFiles(path);
  await page.getByRole('link', { name: 'Start a job with resumable.csv' }).waitFor();
  const storedNumbers = new Set(stored.map((p) => p.part_number));
  assert.deepEqual(partsSent.sort(), [1, 2, 3].filter((n) => !storedNumbers.has(n)), 'only the missing parts are sent');
  const available = await apiGet(`/artifacts/${record.artifact_id}`);
  assert.equal(available.status, 'AVAILABLE');
  assert.equal(available.size_bytes, record.size);
  assert.deepEqual(await rememberedUploads(), [], 'a finished upload is forgotten');
  await page.screenshot({ path: join(screenshots, 'upload-panel-resumed.png') });

  // The resumed file starts a job; the job page cancels it while it runs.
  await page.getByRole('link', { name: 'Start a job with resumable.csv' }).click();
  await page.locator('.file[data-state="done"]', { hasText: 'resumable.csv' }).waitFor();
  await page.getByRole('button', { name: 'Upload and start job' }).click();
  await page.waitForURL(/#\/jobs\/[^/]+$/);
  const cancel = page.getByRole('button', { name: 'Cancel job' });
  await cancel.waitFor();
  await page.screenshot({ path: join(screenshots, 'upload-job-cancel-button.png') });
  page.once('dialog', (dialog) => dialog.accept());
  await cancel.click();
  await page.locator('#job-action-message').getByText('The job was cancelled.').waitFor();
  await page.locator('.job-status .badge', { hasText: 'CANCELLED' }).waitFor();
  assert.equal(await cancel.count(), 0, 'a cancelled job offers no Cancel');
  const jobId = decodeURIComponent(page.url().split('/').pop());
  assert.equal((await apiGet(`/jobs/${jobId}`)).status, 'CANCELLED');
  await page.screenshot({ path: join(screenshots, 'upload-job-cancelled.png') });
  await expectNoAxeViolations('a cancelled job');
});

test('the panel cancels an upload; clicking Jobs mid-upload asks, and leaving cancels it', async () => {
  const path = await csvFile('left-behind.csv', 12);
  await throttleUploads(1 << 20);
  await startUpload(path);
  await figures('left-behind.csv').filter({ hasText: /left$/ }).waitFor();
  const [first] = await rememberedUploads();

  // "Stay": the address goes back and the upload goes on.
  const dialogs = [];
  page.once('dialog', (dialog) => {
    dialogs.push({ type: dialog.type(), message: dialog.message() });
    dialog.dismiss();
  });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click();
  await page.waitForTimeout(300);
  assert.equal(dialogs[0]?.type, 'confirm');
  assert.match(dialogs[0].message, /still uploading for the new job\. Leave this page and cancel the upload\?/);
  assert.match(page.url(), /#\/jobs\/new$/);
  assert.equal(await page.locator('.upload-row[data-state="uploading"]', { hasText: 'left-behind.csv' }).count(), 1, 'the upload goes on');

  // The panel's Cancel aborts it on the server, and the form says so at the file.
  await page.getByRole('button', { name: 'Cancel the upload of left-behind.csv' }).click();
  await figures('left-behind.csv').filter({ hasText: 'Cancelled' }).waitFor();
  await page.locator('#form-message').getByText('The upload of left-behind.csv was cancelled.').first().waitFor();
  const cancelled = await artifactOnceSettled(first.artifact_id);
  assert.equal(cancelled.status, 'REJECTED', JSON.stringify(cancelled));
  assert.equal(cancelled.rejected_reason, 'the upload was cancelled');

  // "Leave": the upload is cancelled, not dropped silently.
  await page.getByRole('button', { name: 'Upload and start job' }).click();
  await figures('left-behind.csv').filter({ hasText: /left$/ }).waitFor();
  const second = (await rememberedUploads()).find((r) => r.artifact_id !== first.artifact_id);
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click();
  await page.waitForURL(/#\/jobs$/);
  await figures('left-behind.csv').filter({ hasText: 'Cancelled' }).first().waitFor();
  const left = await artifactOnceSettled(second.artifact_id);
  assert.equal(left.status, 'REJECTED', JSON.stringify(left));
  await throttleUploads(null);
});
