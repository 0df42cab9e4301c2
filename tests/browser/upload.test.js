// Big files from the browser: the dashboard's upload module (shared/web/assets/upload.js) in
// Chromium against the platform, which `make test` starts with a 5 MiB multipart threshold. A
// 36 MiB file goes up in three parts (of the default 16 MiB), each PUT to storage (a cross-origin request, under the bucket's
// CORS rule) bound to its SHA-256; a cancelled upload leaves nothing behind.
// Environment: HELIX_URL, HELIX_TEST_USER, HELIX_TEST_PASSWORD, CHROMIUM (as dashboard.test.js).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

const baseUrl = (process.env.HELIX_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');
let context;
let page;
let userDataDir;

before(async () => {
  userDataDir = await mkdtemp(join(tmpdir(), 'helix-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Email').fill(process.env.HELIX_TEST_USER);
  await page.getByLabel('Password').fill(process.env.HELIX_TEST_PASSWORD);
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL(/#\/jobs$/);
});

after(async () => {
  await context?.close();
  await rm(userDataDir, { recursive: true, force: true });
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
