import { api, query } from './api.js';
import { formatCount, h, isActive, notice, STATUSES, statusBadge, timeElement } from './dom.js';

const PAGE_SIZES = [10, 20, 50, 100];
const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;
const REFRESH_FIRST_MS = 1000;
const REFRESH_MAX_MS = 15000;

export function renderJobs({ main, params, signal, setTitle }) {
  setTitle('Jobs');
  const options = new URLSearchParams(params[0] ?? '');
  const status = STATUSES.includes(options.get('status')) ? options.get('status') : '';
  const asked = Number(options.get('limit'));
  const limit = Number.isInteger(asked) && asked >= 1 && asked <= MAX_PAGE_SIZE ? asked : DEFAULT_PAGE_SIZE;
  const pageSizes = PAGE_SIZES.includes(limit) ? PAGE_SIZES : [...PAGE_SIZES, limit].sort((a, b) => a - b);

  // Cursors of the pages seen so far: cursors[i] opens page i (page 0 has none).
  const cursors = [null];
  let page = 0;
  let nextCursor = null;
  let refreshTimer = null;
  let refreshDelay = REFRESH_FIRST_MS;

  const statusSelect = h('select', { id: 'status-filter', name: 'status' },
    h('option', { value: '' }, 'All statuses'),
    STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)));
  statusSelect.value = status;
  const limitSelect = h('select', { id: 'page-size', name: 'limit' },
    pageSizes.map((n) => h('option', { value: n }, `${n} per page`)));
  limitSelect.value = String(limit);
  const applyFilter = () => {
    location.hash = `#/jobs${query({ status: statusSelect.value, limit: Number(limitSelect.value) === DEFAULT_PAGE_SIZE ? '' : limitSelect.value })}`;
  };
  statusSelect.addEventListener('change', applyFilter);
  limitSelect.addEventListener('change', applyFilter);

  const message = h('div', { class: 'messages' });
  const refreshNote = h('p', { class: 'muted refresh-note', role: 'status' });
  const tableBody = h('tbody');
  const table = h('table', { class: 'jobs-table responsive-table', 'aria-describedby': 'jobs-caption' },
    h('caption', { id: 'jobs-caption', class: 'visually-hidden' }, 'Your jobs, newest first'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Job'),
      h('th', { scope: 'col' }, 'Status'),
      h('th', { scope: 'col' }, 'Created'),
      h('th', { scope: 'col' }, 'Finished'),
      h('th', { scope: 'col', class: 'num' }, 'Records in'),
      h('th', { scope: 'col', class: 'num' }, 'Out'),
      h('th', { scope: 'col', class: 'num' }, 'Rejected'))),
    tableBody);
  const newerButton = h('button', { type: 'button', class: 'button-secondary', id: 'page-newer', onclick: () => go(page - 1) }, '← Newer');
  const olderButton = h('button', { type: 'button', class: 'button-secondary', id: 'page-older', onclick: () => go(page + 1) }, 'Older →');
  const pageLabel = h('span', { class: 'muted', 'aria-live': 'polite' });
  const refreshButton = h('button', { type: 'button', class: 'button-secondary', onclick: () => load(true) }, 'Refresh');

  main.append(
    h('div', { class: 'page-head' },
      h('h1', { tabindex: -1 }, 'Jobs'),
      h('a', { class: 'button', href: '#/jobs/new' }, 'New job')),
    h('div', { class: 'toolbar' },
      h('div', { class: 'field inline' }, h('label', { for: 'status-filter' }, 'Status'), statusSelect),
      h('div', { class: 'field inline' }, h('label', { for: 'page-size' }, 'Show'), limitSelect),
      refreshButton),
    message,
    h('div', { class: 'table-wrap' }, table),
    h('nav', { class: 'pager', 'aria-label': 'Pages' }, newerButton, pageLabel, olderButton),
    refreshNote,
  );

  signal.addEventListener('abort', () => clearTimeout(refreshTimer));

  function go(target) {
    if (target < 0 || target >= cursors.length) return;
    page = target;
    load(true);
  }

  function row(job) {
    const label = job.name || `Job ${job.id.slice(0, 8)}`;
    return h('tr', { 'data-job-id': job.id, 'data-status': job.status },
      h('td', { 'data-label': 'Job' }, h('a', { href: `#/jobs/${encodeURIComponent(job.id)}` }, label),
        job.name ? null : h('span', { class: 'visually-hidden' }, ` (${job.id})`)),
      h('td', { 'data-label': 'Status' }, statusBadge(job.status)),
      h('td', { 'data-label': 'Created' }, timeElement(job.created_at)),
      h('td', { 'data-label': 'Finished' }, timeElement(job.finished_at)),
      h('td', { 'data-label': 'Records in', class: 'num' }, formatCount(job.records_in)),
      h('td', { 'data-label': 'Out', class: 'num' }, formatCount(job.records_out)),
      h('td', { 'data-label': 'Rejected', class: 'num' }, formatCount(job.records_rejected)));
  }

  async function load(byUser = false) {
    clearTimeout(refreshTimer);
    if (byUser) refreshDelay = REFRESH_FIRST_MS;
    table.setAttribute('aria-busy', 'true');
    try {
      const data = await api('GET', `/jobs${query({ status, limit, cursor: cursors[page] })}`, { signal });
      message.replaceChildren();
      nextCursor = data.next_cursor ?? null;
      if (nextCursor && cursors.length === page + 1) cursors.push(nextCursor);
      else if (nextCursor) cursors[page + 1] = nextCursor;
      else cursors.length = page + 1;
      tableBody.replaceChildren(...data.items.map(row));
      if (data.items.length === 0) {
        tableBody.append(h('tr', { class: 'empty' }, h('td', { colspan: 7 },
          status ? `No ${status} jobs.` : 'No jobs yet. ',
          status ? null : h('a', { href: '#/jobs/new' }, 'Create your first job.'))));
      }
      newerButton.disabled = page === 0;
      olderButton.disabled = !nextCursor;
      pageLabel.textContent = `Page ${page + 1}`;
      const active = data.items.some((job) => isActive(job.status));
      if (active) {
        refreshNote.textContent = 'Jobs are running: this list refreshes by itself.';
        refreshTimer = setTimeout(() => load(false), refreshDelay);
        refreshDelay = Math.min(REFRESH_MAX_MS, refreshDelay * 1.6);
      } else {
        refreshNote.textContent = '';
        refreshDelay = REFRESH_FIRST_MS;
      }
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      message.replaceChildren(notice('error', `Could not load your jobs: ${error.message}`));
      if (error.status === 0 || error.status >= 500) {
        refreshTimer = setTimeout(() => load(false), refreshDelay);
        refreshDelay = Math.min(REFRESH_MAX_MS, refreshDelay * 2);
      }
    } finally {
      table.removeAttribute('aria-busy');
    }
  }

  load(true);
}
