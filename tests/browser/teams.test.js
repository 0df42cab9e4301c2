// The team pages in a real browser: the team switcher in the header, members (invite, role,
// remove), API keys (made, shown once, copied, used, revoked), the audit trail (filters, pages,
// CSV) and the plan's limits, each checked by axe-core at a laptop's and a phone's size.
// Environment: as dashboard.test.js (HELIX_URL, HELIX_TEST_USER, HELIX_TEST_PASSWORD, CHROMIUM),
// and HELIX_TEST_OTHER_USER / HELIX_TEST_OTHER_PASSWORD: a second seeded account, invited here
// (default bob@helixnet.local, as the local platform seeds). Screenshots: ./screenshots/latest/teams-*.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import * as support from './support.js';
import { LAPTOP, PHONE, baseUrl, here, launchChromium, password, request as call, tokenOf, user } from './support.js';

const screenshots = join(here, 'screenshots', 'latest');
const otherUser = process.env.HELIX_TEST_OTHER_USER || 'bob@helixnet.local';
const otherPassword = process.env.HELIX_TEST_OTHER_PASSWORD || 'bob-local-pass';
const teamName = `Browser team ${Date.now().toString(36)}`;

let context;
let page;
let userDataDir;
let team;
let aliceToken;
const consoleErrors = [];
let expectedErrors = [];

function expectErrors(...patterns) {
  expectedErrors = patterns;
}

async function shot(name) {
  await page.screenshot({ path: join(screenshots, `teams-${name}.png`), fullPage: true });
}

const expectNoAxeViolations = (what) => support.expectNoAxeViolations(page, what);

before(async () => {
  assert.ok(user && password, 'set HELIX_TEST_USER and HELIX_TEST_PASSWORD to a seeded account (README lists them)');
  await mkdir(screenshots, { recursive: true });
  aliceToken = await tokenOf(user, password);
  const created = await call(aliceToken, 'POST', '/teams', { name: teamName });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  team = created.body;
  userDataDir = await mkdtemp(join(tmpdir(), 'helix-chromium-teams-'));
  ({ context, page } = await launchChromium(userDataDir, { acceptDownloads: true }));
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
  page.setDefaultTimeout(15_000);
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const url = message.location()?.url ?? '';
    if (expectedErrors.some((p) => message.text().includes(`status of ${p.status}`) && url.includes(p.path))) return;
    consoleErrors.push(`${message.text()} (${url})`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  page.on('dialog', (dialog) => dialog.accept());
});

after(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

test('the team switcher lists the teams, remembers the choice and lists that team’s jobs', async () => {
  await page.goto(`${baseUrl}/`);
  await page.waitForURL(/#\/login$/);
  await page.getByLabel('Email').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL(/#\/jobs$/);
  const switcher = page.locator('#team-switcher');
  await switcher.locator('option', { hasText: teamName }).waitFor({ state: 'attached' });
  assert.ok((await switcher.locator('option').allTextContents()).some((t) => t.endsWith('(personal)')), 'the personal team is listed');

  const listed = page.waitForRequest((r) => r.url().includes('/api/v1/jobs?') && r.url().includes(`team_id=${encodeURIComponent(team.id)}`));
  await switcher.selectOption(team.id);
  await listed;
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  await switcher.locator('option', { hasText: teamName }).waitFor({ state: 'attached' });
  assert.equal(await switcher.inputValue(), team.id, 'the choice survives a reload');
  assert.equal(await page.evaluate(() => localStorage.getItem('helix.team')), team.id);
  await page.setViewportSize(PHONE);
  await shot('01-phone-switcher');
  await page.setViewportSize(LAPTOP);
});

test('members: an invitation link shown once with a copy button, a role changed, a member removed', async () => {
  await page.getByRole('link', { name: 'Team', exact: true }).click();
  await page.waitForURL(/#\/team\/members$/);
  await page.getByRole('heading', { name: /Members/, level: 1 }).waitFor();
  const table = page.locator('#members-table');
  await table.locator('tbody tr').first().waitFor();
  assert.equal(await table.locator('tbody tr').count(), 1, 'only the owner so far');
  assert.equal(await table.locator('tbody select').first().inputValue(), 'owner');

  await page.getByLabel('Role', { exact: true }).selectOption('member');
  await page.getByRole('button', { name: 'Create invitation link' }).click();
  const link = page.locator('#invitation-link');
  await link.waitFor();
  const url = await link.inputValue();
  assert.match(url, /#\/invitations\/[A-Za-z0-9_-]{20,}$/);
  await page.locator('[data-copy="invitation-link"]').click();
  await page.locator('.copy-status', { hasText: 'Copied.' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url, 'the copy button copies the link');
  await shot('02-members-invitation');
  await expectNoAxeViolations('the members page with a new invitation');

  // Bob follows the link (through the API: the page's own route is checked below).
  const bobToken = await tokenOf(otherUser, otherPassword);
  const token = decodeURIComponent(url.split('/').pop());
  const joined = await call(bobToken, 'POST', `/invitations/${encodeURIComponent(token)}/accept`);
  assert.equal(joined.status, 200, JSON.stringify(joined.body));
  const bobId = (await call(bobToken, 'GET', '/users/me')).body.id;

  await page.reload();
  const bobRole = page.locator(`select[id="role-${bobId}"]`);
  await bobRole.waitFor();
  assert.equal(await bobRole.inputValue(), 'member');
  await bobRole.selectOption('viewer');
  await page.locator('#members-message .notice-success', { hasText: 'is now viewer' }).waitFor();
  const after = await call(aliceToken, 'GET', `/teams/${team.id}/members`);
  assert.equal(after.body.items.find((m) => m.user_id === bobId).role, 'viewer');

  await page.locator(`[data-remove="${bobId}"]`).click();
  await page.locator('#members-message .notice-success', { hasText: 'was removed' }).waitFor();
  await bobRole.waitFor({ state: 'detached' });
  const gone = await call(bobToken, 'GET', `/teams/${team.id}/members`);
  assert.equal(gone.status, 404, 'a removed member is an outsider on the next request');
});

test('an invitation link opens a page that joins the team', async () => {
  const invitation = await call(aliceToken, 'POST', `/teams/${team.id}/invitations`, { role: 'viewer' });
  assert.equal(invitation.status, 201, JSON.stringify(invitation.body));
  // Alice opens her own link: she is a member already, so the page says why it cannot join.
  expectErrors({ status: 409, path: '/accept' });
  await page.goto(`${baseUrl}/#/invitations/${encodeURIComponent(invitation.body.token)}`);
  await page.getByRole('heading', { name: 'Join a team', level: 1 }).waitFor();
  await expectNoAxeViolations('the invitation page');
  await page.getByRole('button', { name: 'Join the team' }).click();
  await page.locator('#invitation-message [role="alert"]').waitFor();
  expectErrors();
});

test('API keys: a new key is shown once with a copy button, listed with its prefix, scopes and last use, and revoked', async () => {
  await page.goto(`${baseUrl}/#/team/keys`);
  await page.getByRole('heading', { name: /API keys/, level: 1 }).waitFor();
  await page.locator('#keys-empty').waitFor();

  // Nothing chosen: the form says what is missing, at the field.
  await page.getByLabel('jobs:read').uncheck();
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.locator('#key-name-error', { hasText: 'Enter a name.' }).waitFor();
  await page.locator('#key-scopes-error', { hasText: 'Choose at least one scope.' }).waitFor();
  await expectNoAxeViolations('the API keys form with errors');

  await page.getByLabel('Name').fill('ERP nightly export');
  await page.getByLabel('jobs:read').check();
  await page.getByLabel('jobs:write').check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = page.locator('#new-key-value');
  await secret.waitFor();
  const key = await secret.inputValue();
  assert.match(key, /^hx_live_/);
  await page.locator('[data-copy="new-key-value"]').click();
  await page.locator('.copy-status', { hasText: 'Copied.' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
  const row = page.locator('#keys-table tbody tr').first();
  await row.waitFor();
  const rowText = await row.textContent();
  assert.ok(rowText.includes('ERP nightly export') && rowText.includes('jobs:read') && rowText.includes('jobs:write'), rowText);
  assert.ok(!rowText.includes(key), 'the list never shows the key');
  assert.ok(rowText.includes('never'), 'not used yet');
  await shot('03-keys-created');
  await expectNoAxeViolations('the API keys page with a new key');

  // Used once by a program; the list says so after a reload, where the key itself is gone.
  assert.equal((await call(key, 'GET', '/jobs')).status, 200);
  await page.reload();
  await row.waitFor();
  assert.equal(await page.locator('#new-key-value').count(), 0, 'the key is shown only once');
  assert.equal((await row.locator('td').nth(5).textContent()).trim(), '1');

  await page.locator('[data-revoke]').first().click();
  await page.locator('#keys-message .notice-success', { hasText: 'was revoked' }).waitFor();
  await row.filter({ hasText: 'Revoked' }).waitFor();
  await page.waitForTimeout(1100);
  assert.equal((await call(key, 'GET', '/jobs')).status, 401, 'a revoked key is refused');
});

test('audit: filters, pages and a CSV of the filtered trail', async () => {
  // Enough entries for a second page: invitations, each one entry.
  for (let i = 0; i < 52; i += 1) {
    assert.equal((await call(aliceToken, 'POST', `/teams/${team.id}/invitations`, { role: 'viewer' })).status, 201);
  }
  await page.goto(`${baseUrl}/#/team/audit`);
  await page.getByRole('heading', { name: /Audit/, level: 1 }).waitFor();
  const rows = page.locator('#audit-table tbody tr');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 50, 'a page of 50, newest first');
  const older = page.getByRole('button', { name: 'Older →' });
  assert.ok(await older.isEnabled());
  await older.click();
  await page.locator('#audit-range', { hasText: 'Page 2' }).waitFor();
  assert.ok(await rows.count() >= 1);
  await page.getByRole('button', { name: '← Newer' }).click();
  await page.locator('#audit-range', { hasText: 'Page 1' }).waitFor();

  await page.getByLabel('Action').fill('key.create');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('#audit-range', { hasText: '1 entry' }).waitFor();
  assert.deepEqual(await page.locator('#audit-table tbody td:nth-child(4)').allTextContents(), ['key.create']);
  await shot('04-audit-filtered');
  await expectNoAxeViolations('the audit page, filtered');

  await page.getByLabel('Action').fill('');
  await page.getByLabel('From').fill('2020-01-01T00:00');
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download CSV' }).click();
  const file = await (await download).path();
  const lines = (await readFile(file, 'utf8')).trim().split(/\r?\n/);
  assert.match(lines[0], /^seq,at,team_id,actor,action,target,outcome/);
  assert.ok(lines.length - 1 >= 55, `every entry of the trail, not one page: ${lines.length - 1}`);
  assert.equal(lines.filter((l) => l.startsWith('seq,')).length, 1, 'one header row');

  // A time that is not one: the API names the field and the page says so.
  expectErrors({ status: 400, path: '/audit' });
  await page.evaluate(() => {
    const to = document.getElementById('audit-to');
    to.type = 'text';
    to.value = 'yesterday';
  });
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('#audit-message [role="alert"]').waitFor();
  expectErrors();
});

test('plan limits: bars of the team’s usage against its plan', async () => {
  await page.goto(`${baseUrl}/#/team/limits`);
  await page.getByRole('heading', { name: /Plan limits/, level: 1 }).waitFor();
  await page.locator('#usage-plan', { hasText: 'Plan:' }).waitFor();
  const meters = page.locator('#usage-bars meter');
  assert.equal(await meters.count(), 3);
  for (const label of ['Jobs running at once', 'Storage of uploaded files', 'Records this month (UTC)']) {
    const meter = page.getByLabel(label);
    assert.ok(Number(await meter.getAttribute('max')) > 0, label);
  }
  assert.match(await page.locator('[data-bar="concurrent-jobs"] .usage-figures').textContent(), /^\d+ of \d+ \(\d+%\)$/);
  await shot('05-limits');
  await page.setViewportSize(PHONE);
  await shot('06-phone-limits');
  await page.setViewportSize(LAPTOP);
  await expectNoAxeViolations('the plan limits page');
});

test('a viewer is told what their role does not allow', async () => {
  const bobToken = await tokenOf(otherUser, otherPassword);
  const invitation = await call(aliceToken, 'POST', `/teams/${team.id}/invitations`, { role: 'viewer' });
  assert.equal((await call(bobToken, 'POST', `/invitations/${encodeURIComponent(invitation.body.token)}/accept`)).status, 200);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(/#\/login$/);
  // A viewer's team pages are refused by the API (and Chromium logs each refusal).
  expectErrors({ status: 403, path: '/usage' }, { status: 403, path: '/api-keys' });
  await page.getByLabel('Email').fill(otherUser);
  await page.getByLabel('Password').fill(otherPassword);
  await page.getByLabel('Password').press('Enter');
  // Back on the page the logout left.
  await page.locator('#whoami').filter({ hasText: otherUser }).waitFor();
  await page.locator('#team-switcher option', { hasText: teamName }).waitFor({ state: 'attached' });
  await page.locator('#team-switcher').selectOption(team.id);
  await page.goto(`${baseUrl}/#/team/keys`);
  await page.locator('#keys-message [role="alert"]', { hasText: 'Your role (viewer) in this team does not allow' }).waitFor();
  await shot('07-viewer-keys-refused');
  expectErrors();
  assert.deepEqual(consoleErrors, [], 'no unexpected console errors');
});
