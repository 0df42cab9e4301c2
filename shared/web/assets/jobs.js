import { api, ApiError, query } from './api.js';
import { activity, formatCount, formatDuration, h, isActive, jobBadge, notice, relativeTimeElement, STATUSES, timeZoneLabel } from './dom.js';
import { firstRunGuide } from './guide.js';
import { currentTeamId } from './teams.js';

const PAGE_SIZES = [10, 20, 50, 100];
const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;
// The list looks for jobs started elsewhere (the API, the CLI, another tab) while it is in view;
// more often while one of its jobs is running.
const POLL_MS = 5000;
const POLL_ACTIVE_MS = 2000;
const POLL_MAX_MS = 30000;
// A search reads up to five pages each time: it looks again less often.
const POLL_SEARCH_MS = 15000;
// A search looks through this many of the newest jobs (the API lists by time, not by name).
const SEARCH_LIMIT = 500;

const COLUMNS = [
  { key: 'name', label: 'Job', value: (job) => jobLabel(job) },
  { key: 'status', label: 'Status', value: (job) => job.status },
  { key: 'created', label: 'Created', value: (job) => job.created_at ?? '' },
  { key: 'duration', label: 'Duration', value: (job) => durationMs(job) ?? -1 },
  { key: 'in', label: 'Records in', num: true, value: (job) => job.records_in ?? -1 },
  { key: 'out', label: 'Out', num: true, value: (job) => job.records_out ?? -1 },
  { key: 'rejected', label: 'Rejected', num: true, value: (job) => job.records_rejected ?? -1 },
  { key: 'cost', label: 'Cost (USD)', num: true, value: (job) => job.cost?.total_usd ?? -1 },
];

// Names in the reader's alphabetical order, "Run 2" before "Run 10".
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

const jobLabel = (job) => job.name || `Job ${job.id.slice(0, 8)}`;
const usdFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 6 });
const formatUsd = (value) => usdFormat.format(value);

function durationMs(job, now = Date.now()) {
  if (!job.started_at) return null;
  const end = job.finished_at ? new Date(job.finished_at) : now;
  const ms = end - new Date(job.started_at);
  return ms >= 0 ? ms : null;
}

/** Local calendar dates (yyyy-mm-dd) as the bounds of a half-open time range. */
function dayStart(text) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text ?? '')) return null;
  const [y, m, d] = text.split('-').map(Number);
  return new Date(y, m - 1, d);
}

/** Why the API refused to delete a job, in the words of what to do about it. */
function deleteRefusal(error) {
  if (!(error instanceof ApiError)) return error.message;
  if (error.status === 409) return `${error.message.replace(/^the job is (\w+):.*/, 'it is $1')}: cancel it first, then delete it.`;
  if (error.status === 403) return 'your role in its team only lets you read it.';
  return error.message;
}

export function renderJobs({ main, params, signal, setTitle }) {
  setTitle('Jobs');
  const options = new URLSearchParams(params[0] ?? '');
  const status = STATUSES.includes(options.get('status')) ? options.get('status') : '';
  const asked = Number(options.get('limit'));
  const limit = Number.isInteger(asked) && asked >= 1 && asked <= MAX_PAGE_SIZE ? asked : DEFAULT_PAGE_SIZE;
  const pageSizes = PAGE_SIZES.includes(limit) ? PAGE_SIZES : [...PAGE_SIZES, limit].sort((a, b) => a - b);
  const state = {
    search: options.get('q') ?? '',
    from: options.get('from') ?? '',
    to: options.get('to') ?? '',
    sort: COLUMNS.some((c) => c.key === options.get('sort')) ? options.get('sort') : 'created',
    descending: options.get('dir') !== 'asc',
  };

  // Cursors of the pages seen so far: cursors[i] opens page i (page 0 has none).
  const cursors = [null];
  let page = 0;
  let nextCursor = null;
  let jobs = [];
  let pollTimer = null;
  let failures = 0;
  let loading = null;
  let reloadAgain = false;
  // The ids of the jobs ticked for a bulk action; kept while the list redraws itself.
  const selected = new Set();

  const statusSelect = h('select', { id: 'status-filter', name: 'status' },
    h('option', { value: '' }, 'All statuses'),
    STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)));
  statusSelect.value = status;
  const limitSelect = h('select', { id: 'page-size', name: 'limit' },
    pageSizes.map((n) => h('option', { value: n }, `${n} per page`)));
  limitSelect.value = String(limit);
  const applyFilter = () => {
    location.hash = `#/jobs${query({
      status: statusSelect.value,
      limit: Number(limitSelect.value) === DEFAULT_PAGE_SIZE ? '' : limitSelect.value,
      ...urlState(),
    })}`;
  };
  statusSelect.addEventListener('change', applyFilter);
  limitSelect.addEventListener('change', applyFilter);

  const searchInput = h('input', { id: 'job-search', type: 'search', name: 'q', value: state.search, autocomplete: 'off', placeholder: 'Name or id', maxlength: 200 });
  const fromInput = h('input', { id: 'created-from', type: 'date', name: 'from', value: state.from });
  const toInput = h('input', { id: 'created-to', type: 'date', name: 'to', value: state.to });
  let searchTimer = null;
  const onSearch = () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.search = searchInput.value.trim();
      state.from = fromInput.value;
      state.to = toInput.value;
      // The address keeps the search (a reload or a shared link shows it) without redrawing the page.
      history.replaceState(null, '', `#/jobs${query({ status, limit: limit === DEFAULT_PAGE_SIZE ? '' : limit, ...urlState() })}`);
      page = 0;
      cursors.length = 1;
      load();
    }, 250);
  };
  searchInput.addEventListener('input', onSearch);
  fromInput.addEventListener('change', onSearch);
  toInput.addEventListener('change', onSearch);

  function urlState() {
    return {
      q: state.search,
      from: state.from,
      to: state.to,
      sort: state.sort === 'created' ? '' : state.sort,
      dir: state.descending ? '' : 'asc',
    };
  }
  const searching = () => Boolean(state.search || state.from || state.to);

  const message = h('div', { class: 'messages' });
  const guide = h('div', { id: 'guide-slot' });
  const liveNote = h('p', { class: 'muted refresh-note', role: 'status' });
  const searchNote = h('p', { class: 'muted small', id: 'search-note', 'aria-live': 'polite' });
  const headRow = h('tr');
  const tableBody = h('tbody');
  const zone = timeZoneLabel();
  const table = h('table', { class: 'jobs-table responsive-table', 'aria-describedby': 'jobs-caption' },
    h('caption', { id: 'jobs-caption', class: 'visually-hidden' }, `Your jobs; times in ${zone}`),
    h('thead', {}, headRow),
    tableBody);
  const newerButton = h('button', { type: 'button', class: 'button-secondary', id: 'page-newer', onclick: () => go(page - 1) }, '← Newer');
  const olderButton = h('button', { type: 'button', class: 'button-secondary', id: 'page-older', onclick: () => go(page + 1) }, 'Older →');
  const pageLabel = h('span', { class: 'muted', 'aria-live': 'polite' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' }, newerButton, pageLabel, olderButton);
  // The column headers sort on a wide screen; a phone shows no header row, so it gets this choice.
  const sortSelect = h('select', { id: 'sort-by', name: 'sort' },
    COLUMNS.flatMap((c) => [
      h('option', { value: `${c.key}:desc` }, `${c.label}, ${c.key === 'name' || c.key === 'status' ? 'Z–A' : 'highest or newest first'}`),
      h('option', { value: `${c.key}:asc` }, `${c.label}, ${c.key === 'name' || c.key === 'status' ? 'A–Z' : 'lowest or oldest first'}`),
    ]));
  sortSelect.addEventListener('change', () => {
    const [key, direction] = sortSelect.value.split(':');
    sortBy(key, direction === 'desc');
  });
  const refreshButton = h('button', { type: 'button', class: 'button-secondary', onclick: () => load() }, 'Refresh');

  // Bulk delete: tick jobs (or all shown), then delete them after one confirmation.
  const selectAll = h('input', { type: 'checkbox', id: 'select-all-jobs' });
  const deleteButton = h('button', { type: 'button', class: 'button-danger', id: 'delete-selected', disabled: true }, 'Delete selected');
  const bulkMessage = h('div', { class: 'messages', id: 'bulk-message' });
  const bulkBar = h('div', { class: 'bulk-actions' },
    h('div', { class: 'field inline checkbox-field' }, selectAll, h('label', { for: 'select-all-jobs' }, 'Select all shown')),
    deleteButton);
  selectAll.addEventListener('change', () => {
    for (const box of tableBody.querySelectorAll('input.select-job')) {
      box.checked = selectAll.checked;
      if (selectAll.checked) selected.add(box.value);
      else selected.delete(box.value);
    }
    updateSelection();
  });
  deleteButton.addEventListener('click', deleteSelected);

  main.append(
    h('div', { class: 'page-head' },
      h('h1', { tabindex: -1 }, 'Jobs'),
      h('a', { class: 'button', href: '#/jobs/new' }, 'New job')),
    h('div', { class: 'toolbar', role: 'search', 'aria-label': 'Find jobs' },
      h('div', { class: 'field inline' }, h('label', { for: 'job-search' }, 'Search'), searchInput),
      h('div', { class: 'field inline' }, h('label', { for: 'created-from' }, 'Created from'), fromInput),
      h('div', { class: 'field inline' }, h('label', { for: 'created-to' }, 'to'), toInput),
      h('div', { class: 'field inline' }, h('label', { for: 'status-filter' }, 'Status'), statusSelect),
      h('div', { class: 'field inline' }, h('label', { for: 'page-size' }, 'Show'), limitSelect),
      h('div', { class: 'field inline phone-only' }, h('label', { for: 'sort-by' }, 'Sort by'), sortSelect),
      refreshButton),
    message,
    bulkBar,
    bulkMessage,
    guide,
    searchNote,
    h('p', { class: 'muted small time-zone', id: 'time-zone' }, `Times are shown in ${zone}.`),
    h('div', { class: 'table-wrap' }, table),
    pager,
    liveNote,
  );

  function drawHead() {
    sortSelect.value = `${state.sort}:${state.descending ? 'desc' : 'asc'}`;
    headRow.replaceChildren(h('th', { scope: 'col', class: 'select-cell' }, h('span', { class: 'visually-hidden' }, 'Select')), ...COLUMNS.map((column) => {
      const sorted = state.sort === column.key;
      const button = h('button', { type: 'button', class: 'sort-button', 'data-sort': column.key },
        column.label, h('span', { class: 'sort-arrow', 'aria-hidden': 'true' }, sorted ? (state.descending ? ' ▼' : ' ▲') : ''));
      button.addEventListener('click', () => {
        sortBy(column.key, state.sort === column.key ? !state.descending : column.key === 'created');
        headRow.querySelector(`[data-sort="${column.key}"]`).focus();
      });
      return h('th', {
        scope: 'col',
        class: column.num ? 'num' : null,
        'aria-sort': sorted ? (state.descending ? 'descending' : 'ascending') : null,
      }, button);
    }));
  }

  function sortBy(key, descending) {
    state.sort = key;
    state.descending = descending;
    history.replaceState(null, '', `#/jobs${query({ status, limit: limit === DEFAULT_PAGE_SIZE ? '' : limit, ...urlState() })}`);
    drawHead();
    drawRows();
  }

  function sorted(list) {
    const column = COLUMNS.find((c) => c.key === state.sort);
    const direction = state.descending ? -1 : 1;
    return [...list].sort((a, b) => {
      const x = column.value(a);
      const y = column.value(b);
      if (typeof x === 'string' && typeof y === 'string' && column.key !== 'created') return direction * collator.compare(x, y);
      if (x < y) return -direction;
      if (x > y) return direction;
      return 0;
    });
  }

  function matches(job) {
    const text = state.search.toLowerCase();
    if (text && !(job.name ?? '').toLowerCase().includes(text) && !job.id.startsWith(text)) return false;
    const created = new Date(job.created_at);
    const from = dayStart(state.from);
    const to = dayStart(state.to);
    if (from && created < from) return false;
    if (to && created >= new Date(to.getFullYear(), to.getMonth(), to.getDate() + 1)) return false;
    return true;
  }

  function row(job, now) {
    const label = jobLabel(job);
    const took = formatDuration(job.started_at, job.finished_at ?? new Date(now).toISOString());
    const box = h('input', { type: 'checkbox', class: 'select-job', value: job.id, id: `select-${job.id}`, checked: selected.has(job.id) });
    box.checked = selected.has(job.id);
    box.addEventListener('change', () => {
      if (box.checked) selected.add(job.id);
      else selected.delete(job.id);
      updateSelection();
    });
    return h('tr', { 'data-job-id': job.id, 'data-status': job.status },
      h('td', { class: 'select-cell', 'data-label': 'Select' }, box, h('label', { for: `select-${job.id}`, class: 'visually-hidden' }, `Select ${label}`)),
      h('td', { 'data-label': 'Job' }, h('a', { href: `#/jobs/${encodeURIComponent(job.id)}` }, label),
        job.name ? null : h('span', { class: 'visually-hidden' }, ` (${job.id})`)),
      h('td', { 'data-label': 'Status' }, h('span', { class: 'status-cell' }, jobBadge(job),
        isActive(job.status) ? h('span', { class: 'muted small job-activity' }, activity(job, now)) : null)),
      h('td', { 'data-label': 'Created' }, relativeTimeElement(job.created_at, now)),
      h('td', { 'data-label': 'Duration', class: 'duration' },
        took ? `${took}${job.finished_at ? '' : ' so far'}` : h('span', { class: 'muted' }, '—')),
      h('td', { 'data-label': 'Records in', class: 'num' }, formatCount(job.records_in)),
      h('td', { 'data-label': 'Out', class: 'num' }, formatCount(job.records_out)),
      h('td', { 'data-label': 'Rejected', class: 'num' }, formatCount(job.records_rejected)),
      h('td', { 'data-label': 'Cost (USD)', class: 'num' }, job.cost ? formatUsd(job.cost.total_usd) : '—'));
  }

  function drawRows() {
    const now = Date.now();
    const shown = sorted(searching() ? jobs.filter(matches) : jobs);
    // The list redraws itself every few seconds: a keyboard user's place in it must survive that.
    const focused = document.activeElement?.closest?.('tr[data-job-id]')?.dataset.jobId;
    const onBox = document.activeElement?.matches?.('input.select-job');
    // Only what is shown can be ticked: a job that left the list (deleted, filtered out) is dropped.
    for (const id of [...selected]) if (!shown.some((job) => job.id === id)) selected.delete(id);
    tableBody.replaceChildren(...shown.map((job) => row(job, now)));
    if (focused) tableBody.querySelector(`tr[data-job-id="${CSS.escape(focused)}"] ${onBox ? 'input.select-job' : 'a'}`)?.focus({ preventScroll: true });
    if (shown.length === 0) {
      const text = searching() ? 'No job matches this search.' : status ? `No ${status} jobs.` : 'No jobs yet.';
      tableBody.append(h('tr', { class: 'empty' }, h('td', { colspan: COLUMNS.length + 1 }, text)));
    }
    bulkBar.hidden = shown.length === 0;
    updateSelection();
    return shown;
  }

  function updateSelection() {
    const boxes = [...tableBody.querySelectorAll('input.select-job')];
    const ticked = boxes.filter((b) => b.checked).length;
    selectAll.checked = ticked > 0 && ticked === boxes.length;
    selectAll.indeterminate = ticked > 0 && ticked < boxes.length;
    deleteButton.disabled = selected.size === 0;
    deleteButton.textContent = selected.size ? `Delete selected (${selected.size})` : 'Delete selected';
  }

  /** Deletes the ticked jobs one by one, after one confirmation; says which were not, and why. */
  async function deleteSelected() {
    const targets = jobs.filter((job) => selected.has(job.id));
    if (targets.length === 0) return;
    const n = targets.length;
    const what = n === 1 ? `the job "${jobLabel(targets[0])}"` : `${n} jobs`;
    if (!window.confirm(`Delete ${what}? ${n === 1 ? 'Its result and reject report go' : 'Their results and reject reports go'} too; this cannot be undone. A job still waiting or running is not deleted: cancel it first.`)) return;
    deleteButton.disabled = true;
    deleteButton.textContent = `Deleting ${n}…`;
    bulkMessage.replaceChildren();
    const failures = [];
    let deleted = 0;
    for (const job of targets) {
      try {
        await api('DELETE', `/jobs/${encodeURIComponent(job.id)}`, { signal });
        deleted += 1;
      } catch (error) {
        if (error?.name === 'AbortError' || signal.aborted) return;
        // Gone already (another tab deleted it): what was asked for is done.
        if (error instanceof ApiError && error.status === 404) deleted += 1;
        else failures.push({ job, reason: deleteRefusal(error) });
      }
      selected.delete(job.id);
    }
    const notes = [];
    if (deleted) notes.push(notice('info', `Deleted ${deleted} job${deleted === 1 ? '' : 's'}.`));
    if (failures.length) {
      notes.push(notice('error', h('p', {}, `${failures.length} job${failures.length === 1 ? ' was' : 's were'} not deleted:`),
        h('ul', { id: 'delete-failures' }, failures.map(({ job, reason }) => h('li', {},
          h('a', { href: `#/jobs/${encodeURIComponent(job.id)}` }, jobLabel(job)), `: ${reason}`)))));
      for (const { job } of failures) selected.add(job.id);
    }
    bulkMessage.replaceChildren(...notes);
    load();
  }

  function go(target) {
    if (target < 0 || target >= cursors.length) return;
    page = target;
    load();
  }

  async function fetchPage(cursor, size) {
    return api('GET', `/jobs${query({ team_id: currentTeamId(), status, limit: size, cursor })}`, { signal });
  }

  /** A search reads the newest jobs a full page at a time, up to SEARCH_LIMIT. */
  async function fetchForSearch() {
    const found = [];
    let cursor = null;
    do {
      const data = await fetchPage(cursor, MAX_PAGE_SIZE);
      found.push(...data.items);
      cursor = data.next_cursor ?? null;
    } while (cursor && found.length < SEARCH_LIMIT);
    return { items: found, more: Boolean(cursor) };
  }

  // One load at a time; a load asked for meanwhile (a new search) runs once the current one ends.
  function load() {
    if (loading) {
      reloadAgain = true;
      return;
    }
    loading = reload().finally(() => {
      loading = null;
      if (reloadAgain && !signal.aborted) {
        reloadAgain = false;
        load();
      }
    });
  }

  async function reload() {
    clearTimeout(pollTimer);
    table.setAttribute('aria-busy', 'true');
    try {
      if (searching()) {
        const { items, more } = await fetchForSearch();
        jobs = items;
        pager.hidden = true;
        const shown = drawRows();
        searchNote.textContent = `${shown.length} of ${more ? `your ${items.length} newest` : `your ${items.length}`} job${items.length === 1 ? '' : 's'} match${shown.length === 1 ? 'es' : ''}.`;
      } else {
        const data = await fetchPage(cursors[page], limit);
        nextCursor = data.next_cursor ?? null;
        if (nextCursor && cursors.length === page + 1) cursors.push(nextCursor);
        else if (nextCursor) cursors[page + 1] = nextCursor;
        else cursors.length = page + 1;
        jobs = data.items;
        pager.hidden = false;
        searchNote.textContent = '';
        drawRows();
        newerButton.disabled = page === 0;
        olderButton.disabled = !nextCursor;
        pageLabel.textContent = `Page ${page + 1}`;
      }
      message.replaceChildren();
      failures = 0;
      const firstRun = jobs.length === 0 && !status && !searching() && page === 0;
      if (firstRun && !guide.firstChild) guide.append(firstRunGuide(signal));
      else if (!firstRun) guide.replaceChildren();
      const active = jobs.some((job) => isActive(job.status));
      liveNote.textContent = active ? 'Jobs are running: this list updates by itself.' : '';
      schedule(searching() ? POLL_SEARCH_MS : active ? POLL_ACTIVE_MS : POLL_MS);
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      message.replaceChildren(notice('error', `Could not load your jobs: ${error.message}`));
      failures += 1;
      if (error.status === 0 || error.status >= 500) schedule(Math.min(POLL_MAX_MS, POLL_MS * 2 ** failures));
    } finally {
      table.removeAttribute('aria-busy');
    }
  }

  /** The next look for new jobs; none while the tab is hidden (it looks again when shown). */
  function schedule(delay) {
    clearTimeout(pollTimer);
    if (signal.aborted || document.visibilityState === 'hidden') return;
    pollTimer = setTimeout(load, delay);
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') load();
    else clearTimeout(pollTimer);
  }, { signal });
  signal.addEventListener('abort', () => {
    clearTimeout(pollTimer);
    clearTimeout(searchTimer);
  });

  drawHead();
  load();
}
