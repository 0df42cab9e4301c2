// A team's audit trail: filters (action, actor, time range), pages newest first, and a CSV export
// of everything the filters select.

import { ApiError, api, query, session } from './api.js';
import { h, notice, timeElement, timeZoneLabel } from './dom.js';
import { currentTeam, onTeamChange, refusal, teamPage, whenTeamsLoaded } from './teams.js';

const PAGE_SIZE = 50;
// The export reads the API's largest pages, up to this many entries.
const EXPORT_PAGE = 500;
const EXPORT_MAX_PAGES = 40;
const ACTIONS = [
  'job.create', 'job.cancel', 'job.retry', 'job.delete', 'artifact.download', 'key.create', 'key.revoke',
  'member.invite', 'member.join', 'member.role_change', 'member.remove', 'session.login', 'session.sso_login',
  'session.refresh_reuse', 'user.password_change', 'quota.exceeded', 'team.plan',
];

export function renderAudit({ main, signal, setTitle }) {
  const page = teamPage(main, 'audit', 'Audit', setTitle);
  const message = h('div', { class: 'messages', id: 'audit-message' });
  const input = (id, label, attrs, hint) => {
    const control = h('input', { id, name: id, ...attrs, 'aria-describedby': hint ? `${id}-hint` : undefined });
    return { control, element: h('div', { class: 'field' }, h('label', { for: id }, label), control,
      hint ? h('p', { id: `${id}-hint`, class: 'hint' }, hint) : null) };
  };
  const action = input('audit-action', 'Action', { type: 'text', list: 'audit-actions', autocomplete: 'off' }, 'e.g. job.create; empty: every action.');
  const actor = input('audit-actor', 'Actor', { type: 'text', autocomplete: 'off' }, 'A user id, or key-<id> for an API key.');
  const from = input('audit-from', 'From', { type: 'datetime-local' }, `In ${timeZoneLabel()}.`);
  const to = input('audit-to', 'To', { type: 'datetime-local' }, 'Entries before this time.');
  const apply = h('button', { type: 'submit', id: 'audit-apply' }, 'Apply filters');
  const exportButton = h('button', { type: 'button', id: 'audit-export', class: 'button-secondary' }, 'Download CSV');
  const filters = h('form', { class: 'card audit-filters', id: 'audit-filters', novalidate: true },
    h('h2', {}, 'Filters'),
    h('datalist', { id: 'audit-actions' }, ACTIONS.map((a) => h('option', { value: a }))),
    h('div', { class: 'grid-2' }, action.element, actor.element, from.element, to.element),
    h('div', { class: 'actions' }, apply, exportButton));
  const rows = h('tbody');
  const table = h('table', { class: 'data-table', id: 'audit-table', 'aria-describedby': 'audit-range' },
    h('caption', { class: 'visually-hidden' }, 'Audit entries, newest first'),
    h('thead', {}, h('tr', {}, ['#', 'Time', 'Actor', 'Action', 'Target', 'Outcome', 'Source IP'].map((c) => h('th', { scope: 'col' }, c)))),
    rows);
  const range = h('p', { id: 'audit-range', class: 'muted small', role: 'status' });
  const newer = h('button', { type: 'button', class: 'button-secondary', id: 'audit-newer' }, '← Newer');
  const older = h('button', { type: 'button', class: 'button-secondary', id: 'audit-older' }, 'Older →');
  page.body.append(message, filters, range,
    h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Audit entries table' }, table),
    h('div', { class: 'pager' }, newer, older));

  // cursors[i]: the cursor of page i (page 0 has none).
  let cursors = [null];
  let index = 0;
  let applied = {};

  // A time the browser cannot read goes to the API as typed, which names the field in its answer.
  const isoOf = (value) => {
    if (!value) return undefined;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? value : date.toISOString();
  };
  const readFilters = () => ({
    action: action.control.value.trim() || undefined,
    actor: actor.control.value.trim() || undefined,
    from: isoOf(from.control.value),
    to: isoOf(to.control.value),
  });
  const base = () => `/teams/${encodeURIComponent(currentTeam().id)}/audit`;
  const fail = (error, what) => {
    if (error?.name === 'AbortError' || signal.aborted) return;
    message.replaceChildren(notice('error', `${what}: ${refusal(error, 'reading the audit trail')}`));
  };

  async function load() {
    if (!page.show()) return;
    message.replaceChildren();
    table.setAttribute('aria-busy', 'true');
    try {
      const data = await api('GET', `${base()}${query({ ...applied, limit: PAGE_SIZE, cursor: cursors[index] })}`, { signal });
      rows.replaceChildren(...data.items.map(entryRow));
      cursors = cursors.slice(0, index + 1);
      if (data.next_cursor) cursors.push(data.next_cursor);
      range.textContent = data.items.length
        ? `Page ${index + 1}: ${data.items.length} entr${data.items.length === 1 ? 'y' : 'ies'}${data.next_cursor ? ', more older ones' : ''}.`
        : 'No entries match these filters.';
    } catch (error) {
      rows.replaceChildren();
      range.textContent = '';
      fail(error, 'Could not read the audit trail');
    } finally {
      table.removeAttribute('aria-busy');
      newer.disabled = index === 0;
      older.disabled = index + 1 >= cursors.length;
    }
  }

  function entryRow(entry) {
    return h('tr', { 'data-seq': entry.seq },
      h('td', { class: 'num' }, String(entry.seq)), h('td', {}, timeElement(entry.at)),
      h('td', {}, h('code', {}, entry.actor)), h('td', {}, h('code', {}, entry.action)), h('td', {}, entry.target),
      h('td', {}, h('span', { class: `outcome outcome-${entry.outcome}` }, entry.outcome)),
      h('td', {}, entry.source_ip ?? h('span', { class: 'muted' }, '—')));
  }

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    applied = readFilters();
    cursors = [null];
    index = 0;
    load();
  });
  newer.addEventListener('click', () => { index = Math.max(0, index - 1); load(); });
  older.addEventListener('click', () => { if (index + 1 < cursors.length) { index += 1; load(); } });

  exportButton.addEventListener('click', async () => {
    exportButton.disabled = true;
    message.replaceChildren(notice('info', 'Preparing the CSV…'));
    try {
      const { text, truncated } = await exportCsv(base(), readFilters(), signal);
      const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
      const link = h('a', { href: url, download: `audit-${currentTeam().id}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      message.replaceChildren(notice('success', truncated
        ? `Downloaded the newest ${EXPORT_PAGE * EXPORT_MAX_PAGES} entries; narrow the time range for the rest.`
        : 'The CSV was downloaded.'));
    } catch (error) {
      fail(error, 'The CSV could not be made');
    } finally {
      exportButton.disabled = false;
    }
  });

  const unsubscribe = onTeamChange(() => { cursors = [null]; index = 0; load(); });
  signal.addEventListener('abort', unsubscribe, { once: true });
  whenTeamsLoaded().then(() => signal.aborted || load());
}

/** Every page of the filtered trail as one CSV (the API's pages, their header row once). */
async function exportCsv(path, filters, signal) {
  const token = session.token ?? (await session.restore());
  let cursor;
  let text = '';
  for (let pageNumber = 0; pageNumber < EXPORT_MAX_PAGES; pageNumber += 1) {
    const response = await fetch(`/api/v1${path}${query({ ...filters, format: 'csv', limit: EXPORT_PAGE, cursor })}`, {
      headers: { Accept: 'text/csv', Authorization: `Bearer ${token}` }, signal, cache: 'no-store',
    });
    if (!response.ok) {
      const detail = (await response.json().catch(() => null))?.error ?? {};
      throw new ApiError(response.status, detail.code, detail.message ?? `The API answered ${response.status}.`, detail.field);
    }
    const page = await response.text();
    text += pageNumber === 0 ? page : page.slice(page.indexOf('\n') + 1);
    cursor = response.headers.get('x-next-cursor');
    if (!cursor) return { text, truncated: false };
  }
  return { text, truncated: true };
}
