// What every browser test file needs alike: the platform under test, a headless Chromium, axe-core's
// audit at the two sizes the pages are checked at, and the API called from the test process.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const here = fileURLToPath(new URL('.', import.meta.url));
export const baseUrl = (process.env.HELIX_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');
export const user = process.env.HELIX_TEST_USER;
export const password = process.env.HELIX_TEST_PASSWORD;
export const LAPTOP = { width: 1366, height: 800 };
export const PHONE = { width: 390, height: 844 };
const axeSource = await readFile(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** A headless Chromium with its own profile in `userDataDir`, at laptop size; its first page. */
export async function launchChromium(userDataDir, options = {}) {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: LAPTOP,
    ...options,
  });
  const page = context.pages()[0] ?? await context.newPage();
  return { context, page };
}

/**
 * axe-core's WCAG 2.x A/AA rules and best practices on the page as it is now, at each size, and no
 * sideways scrolling there. axe is evaluated through the DevTools protocol, which the page's CSP does
 * not govern (a script tag would be refused, as it should be).
 */
export async function expectNoAxeViolations(page, what) {
  const size = page.viewportSize();
  for (const viewport of [LAPTOP, PHONE]) {
    await page.setViewportSize(viewport);
    if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const results = await window.axe.run(document, { resultTypes: ['violations'] });
      return results.violations.map((v) => ({ rule: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
    });
    assert.deepEqual(violations, [], `${what} at ${viewport.width}×${viewport.height}: ${JSON.stringify(violations, null, 1)}`);
    await expectNoHorizontalScroll(page, what);
  }
  await page.setViewportSize(size);
}

export async function expectNoHorizontalScroll(page, what) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `${what} scrolls sideways by ${overflow}px at ${page.viewportSize().width}px width`);
}

/** A bearer token for an account, as a script logs in (the browser's session is left alone). */
export async function tokenOf(email, secret) {
  const response = await fetch(`${baseUrl}/api/v1/auth/token`, {
    method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: email, password: secret }),
  });
  assert.equal(response.status, 200, `log in as ${email}`);
  return (await response.json()).access_token;
}

/** The API from the test process: `{status, body, headers}`; a body is JSON unless it is FormData. */
export async function request(token, method, path, body) {
  const headers = { Accept: 'application/json', Authorization: `Bearer ${token}` };
  const init = { method, headers };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${baseUrl}/api/v1${path}`, init);
  const text = await response.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = text; }
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Calls `check` until it returns something truthy, or fails after `ms`. */
export async function eventually(what, check, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
