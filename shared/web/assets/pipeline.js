// One pipeline's page: its inbox and drop command (and drop keys), a run started by hand, the run
// history (chained runs with their steps), versions with a new version and the diff of two, a
// version tried on the last run's input, schedules, webhooks with their delivery log, archiving.
// Runs are followed live from GET /pipelines/{id}/events; elsewhere the page reads them again.

import { api, ApiError, eventsUrl, query, session } from './api.js';
import { formatCount, formatDuration, formatRelative, formatTime, h, isActive, jobBadge, notice, pollWithBackoff, relativeTimeElement, scrollBox, timeElement } from './dom.js';
import { documentSections, versionDocuments } from './pipelines.js';
import { copyField } from './teams.js';
import { errorText, uploadArtifact } from './upload.js';

const RUNS_PAGE = 20;
// A chained run's step job: `<run>.<step>.<attempt>`.
const STEP_JOB = /^(.+)\.([A-Za-z0-9_-]+)\.(\d+)$/;
const STEP_COLOURS = { WAITING: 'pending', RUNNING: 'running', COMPLETED: 'completed', FAILED: 'failed', SKIPPED: 'cancelled' };
const DELIVERY_COLOURS = { PENDING: 'pending', DELIVERED: 'completed', GAVE_UP: 'failed' };

const isFinished = (status) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(status);

function badge(status, colours) {
  return h('span', { class: `badge badge-${colours[status] ?? 'unknown'}` }, status.replace('_', ' '));
}

/** A card: a section named by its heading. */
function card(id, title, ...content) {
  return h('section', { class: 'card', id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), ...content);
}

function fieldError(id) {
  return h('p', { id, class: 'field-error', hidden: true });
}

function showError(control, slot, text) {
  slot.textContent = text ?? '';
  slot.hidden = !text;
  if (text) control.setAttribute('aria-invalid', 'true');
  else control.removeAttribute('aria-invalid');
}

/** Runs `work` with `button` busy; an error lands in `message` as "<what>: <why>". */
async function busy(button, label, message, what, work, signal) {
  const idle = button.textContent;
  button.disabled = true;
  button.textContent = label;
  message.replaceChildren();
  try {
    await work();
  } catch (error) {
    if (error?.name === 'AbortError' || signal.aborted) return;
    const text = error instanceof ApiError && error.status === 403
      ? 'your role in the pipeline’s team does not allow it: ask an admin.'
      : error.message;
    message.replaceChildren(notice('error', `${what}: ${text}`));
  } finally {
    button.disabled = false;
    button.textContent = idle;
  }
}

/** Content files for a run: files uploaded now, or the ids of files uploaded before. */
function contentPicker(prefix, legend) {
  const files = h('input', { type: 'file', multiple: true, id: `${prefix}-files`, 'aria-describedby': `${prefix}-hint ${prefix}-error` });
  const ids = h('input', { type: 'text', id: `${prefix}-ids`, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `${prefix}-hint ${prefix}-error` });
  const error = fieldError(`${prefix}-error`);
  const status = h('p', { class: 'muted small', role: 'status' });
  const element = h('fieldset', { class: 'file-section' }, h('legend', {}, legend),
    h('p', { id: `${prefix}-hint`, class: 'hint' }, 'Choose the content files, or give the artifact ids of files uploaded before (separated by commas or spaces).'),
    h('div', { class: 'field' }, h('label', { for: `${prefix}-files` }, 'Content files'), files),
    h('div', { class: 'field' }, h('label', { for: `${prefix}-ids` }, 'Or artifact ids'), ids),
    status, error);
  return {
    element,
    ids,
    setError: (text) => showError(files, error, text),
    /** The artifact ids, the chosen files uploaded first (for `teamId`); null (the error shown) when there are none. */
    async resolve(signal, teamId) {
      const chosen = [...files.files];
      const known = ids.value.split(/[\s,]+/).filter(Boolean);
      if (chosen.length + known.length === 0) {
        showError(files, error, 'Choose at least one content file, or give an artifact id.');
        return null;
      }
      showError(files, error, null);
      const uploaded = [];
      for (const [i, file] of chosen.entries()) {
        status.textContent = `Uploading ${file.name} (${i + 1} of ${chosen.length})…`;
        try {
          uploaded.push(await uploadArtifact(file, 'content', { signal, teamId }));
        } catch (e) {
          if (e?.name === 'AbortError' || signal.aborted) throw e;
          status.textContent = '';
          showError(files, error, `${file.name}: ${errorText(e)}`);
          return null;
        }
      }
      status.textContent = '';
      files.value = '';
      return [...uploaded, ...known];
    },
  };
}

/** Reads a Server-Sent Events response, calling `onEvent(name, data)` for each event with data. */
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const lines = block.split('\n');
      const name = lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
      const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (data) onEvent(name, JSON.parse(data));
    }
  }
}

export function renderPipeline({ main, params, signal, setTitle }) {
  const id = params[0];
  const path = `/pipelines/${encodeURIComponent(id)}`;
  setTitle('Pipeline');
  const heading = h('h1', { tabindex: -1 }, 'Pipeline');
  const status = h('span', { id: 'pipeline-status' });
  const archive = h('button', { type: 'button', class: 'button-danger', id: 'archive-pipeline' }, 'Archive pipeline');
  const actions = h('div', { class: 'job-actions' }, archive);
  const message = h('div', { class: 'messages', id: 'pipeline-message' });
  // Shown once the pipeline is read: its forms need it.
  const body = h('div', { class: 'pipeline-body', hidden: true });
  main.append(h('p', { class: 'breadcrumb' }, h('a', { href: '#/pipelines' }, '← All pipelines')),
    h('div', { class: 'page-head' }, heading, status), actions, message, body);

  let pipeline = null;
  let versions = [];
  let role = '';
  // The pipeline's runs as read so far, newest first, and the chained runs their step jobs belong to.
  let runs = [];
  let runsCursor = null;
  const chains = new Map();
  const editors = [];

  const overview = overviewCard();
  const runForm = runCard();
  const history = historyCard();
  const versionsSection = versionsCard();
  const compare = compareCard();
  const schedules = schedulesCard();
  const webhooks = webhooksCard();
  body.append(overview.element, runForm.element, history.element, versionsSection.element, compare.element,
    schedules.element, webhooks.element);

  async function load() {
    try {
      pipeline = await api('GET', path, { signal });
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      if (error instanceof ApiError && error.status === 404) {
        heading.textContent = 'Pipeline not found';
        actions.replaceChildren();
        message.replaceChildren(notice('error', 'There is no pipeline with this id among your teams’ pipelines. ', h('a', { href: '#/pipelines' }, 'Back to the pipelines.')));
      } else {
        message.replaceChildren(notice('error', `Could not load the pipeline: ${error.message}`));
      }
      return;
    }
    try {
      role = (await api('GET', `/teams/${encodeURIComponent(pipeline.team_id)}`, { signal })).role ?? '';
    } catch (error) {
      if (error?.name === 'AbortError') return;
    }
    showPipeline();
    // The runs first: the comparison and a new schedule start from the last run's input.
    await loadRuns();
    await Promise.all([loadVersions(), schedules.load(), webhooks.load()]);
    follow();
  }

  function showPipeline() {
    heading.textContent = pipeline.name;
    setTitle(pipeline.name);
    status.replaceChildren(pipeline.archived_at
      ? h('span', { class: 'badge badge-cancelled' }, 'ARCHIVED')
      : h('span', { class: 'badge badge-unknown' }, `v${pipeline.current_version}`));
    const readOnly = Boolean(pipeline.archived_at) || role === 'viewer';
    actions.replaceChildren(...(readOnly ? [] : [archive]));
    for (const editor of editors) editor.hidden = readOnly;
    body.hidden = false;
    if (pipeline.archived_at) {
      message.replaceChildren(notice('info', h('p', {}, 'This pipeline was archived ', timeElement(pipeline.archived_at), ': its versions and runs are kept, and it takes no new runs, versions, schedules or webhooks.')));
    } else if (role === 'viewer') {
      message.replaceChildren(notice('info', h('p', {}, 'You are a viewer in this pipeline’s team: you can read it, not run or change it.')));
    }
    overview.show();
  }

  archive.addEventListener('click', () => {
    if (!window.confirm(`Archive the pipeline “${pipeline.name}”? It keeps its versions and runs, and takes no new ones; its schedules stop.`)) return;
    busy(archive, 'Archiving…', message, 'The pipeline was not archived', async () => {
      await api('DELETE', path, { signal });
      pipeline = await api('GET', path, { signal });
      showPipeline();
      schedules.load();
    }, signal);
  });

  // ---- Overview: inbox, drop command, drop keys -------------------------------------------------

  function overviewCard() {
    const facts = h('dl', { class: 'facts' });
    const inbox = h('div');
    const keyName = h('input', { id: 'drop-key-name', type: 'text', maxlength: 100, autocomplete: 'off', value: 'Partner drop key', 'aria-describedby': 'drop-key-hint' });
    const keyButton = h('button', { type: 'submit', class: 'button-secondary', id: 'create-drop-key' }, 'Make a drop key');
    const keyMessage = h('div', { class: 'messages', id: 'drop-key-message' });
    const keyForm = h('form', { id: 'drop-key-form', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: 'drop-key-name' }, 'Drop key name'),
        h('div', { class: 'copy-row' }, keyName, keyButton),
        h('p', { id: 'drop-key-hint', class: 'hint' }, 'A drop key is an API key with the scope pipelines:run for this pipeline alone: it can put files into the inbox and nothing else. Give it to the partner who sends the files; revoke it under Team → API keys.')),
      keyMessage);
    editors.push(keyForm);
    keyForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = keyName.value.trim();
      if (!name) {
        keyMessage.replaceChildren(notice('error', 'Enter a name for the drop key.'));
        keyName.focus();
        return;
      }
      busy(keyButton, 'Making…', keyMessage, 'No drop key was made', async () => {
        const key = await api('POST', `/teams/${encodeURIComponent(pipeline.team_id)}/api-keys`, {
          body: { name, scopes: ['pipelines:run'], pipeline_id: pipeline.id }, signal,
        });
        keyMessage.replaceChildren(notice('success', `The drop key “${key.name}” was made.`),
          copyField('drop-key-value', 'The new drop key', key.key, 'Copy it now: it is not shown again. Set it as HELIX_API_KEY before running the command above.'));
      }, signal);
    });
    const element = card('pipeline-overview', 'Inbox and drops',
      facts, inbox, keyForm);
    return {
      element,
      show() {
        facts.replaceChildren(
          h('dt', {}, 'Current version'), h('dd', { id: 'current-version' }, `v${pipeline.current_version}`),
          h('dt', {}, 'Inbox file names'), h('dd', {}, pipeline.patterns.length
            ? pipeline.patterns.map((p) => h('code', { class: 'scope' }, p))
            : h('span', { class: 'muted' }, 'every name')),
          h('dt', {}, 'Created'), h('dd', {}, timeElement(pipeline.created_at)),
          h('dt', {}, 'Id'), h('dd', {}, h('code', {}, pipeline.id)));
        const command = `helix drop --api-url ${location.origin} ${pipeline.id} FILE`;
        inbox.replaceChildren(
          copyField('pipeline-inbox', 'Inbox address', pipeline.inbox, 'A file stored here (with the AWS CLI, an SDK, or an S3 event from your own bucket) starts one run of the current version. The same bytes again start nothing.'),
          copyField('drop-command', 'Drop command', command, 'Drops FILE into the inbox with the HelixNet CLI: logged in as a team member (helix login), or with a drop key in HELIX_API_KEY.'));
      },
    };
  }

  // ---- A run started by hand -------------------------------------------------------------------

  function runCard() {
    const picker = contentPicker('run-content', 'What to run on');
    const version = h('select', { id: 'run-version' });
    const submit = h('button', { type: 'submit', id: 'run-pipeline' }, 'Run');
    const result = h('div', { class: 'messages', id: 'run-message' });
    let pending = null;
    const form = h('form', { id: 'run-form', novalidate: true }, picker.element,
      h('div', { class: 'field' }, h('label', { for: 'run-version' }, 'Version'), version),
      h('div', { class: 'actions' }, submit), result);
    const element = card('run', 'Run', form);
    editors.push(element);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      result.replaceChildren();
      const ids = await picker.resolve(signal, pipeline.team_id).catch(() => null);
      if (!ids) return;
      const request = { content_artifact_ids: ids };
      if (version.value) request.version = Number(version.value);
      const text = JSON.stringify(request);
      if (pending?.text !== text) pending = { text, key: crypto.randomUUID() };
      await busy(submit, 'Starting…', result, 'The run was not started', async () => {
        const started = await api('POST', `${path}/runs`, { body: request, signal, idempotencyKey: pending.key });
        pending = null;
        picker.ids.value = '';
        if (started.steps) {
          chains.set(started.id, started);
          result.replaceChildren(notice('success', h('p', {}, `A chained run of ${started.steps.length} steps started (v${started.pipeline_version}); its steps are listed under Runs.`)));
        } else {
          upsertRun(started);
          result.replaceChildren(notice('success', h('p', {}, 'The run started: ', h('a', { href: `#/jobs/${encodeURIComponent(started.id)}` }, started.name || started.id), '.')));
        }
        loadRuns();
      }, signal);
    });
    return {
      element,
      setVersions() {
        const chosen = version.value;
        version.replaceChildren(h('option', { value: '' }, `The current version (v${pipeline.current_version})`),
          ...versions.map((v) => h('option', { value: v.version }, `v${v.version}`)));
        version.value = chosen;
      },
    };
  }

  // ---- Run history -------------------------------------------------------------------------------

  function historyCard() {
    const rows = h('tbody');
    const table = h('table', { class: 'data-table', id: 'runs-table' },
      h('caption', { class: 'visually-hidden' }, 'Runs of the pipeline, newest first'),
      h('thead', {}, h('tr', {}, ['Run', 'Version', 'Status', 'Started', 'Duration', 'In', 'Out', 'Rejected']
        .map((c, i) => h('th', { scope: 'col', class: i >= 5 ? 'num' : null }, c)))),
      rows);
    const more = h('button', { type: 'button', class: 'button-secondary', id: 'older-runs', hidden: true }, 'Older runs');
    const live = h('p', { class: 'muted small', id: 'runs-live', role: 'status' });
    const runMessage = h('div', { class: 'messages', id: 'runs-message' });
    more.addEventListener('click', () => loadRuns(true));
    const element = card('runs', 'Runs', live, runMessage, scrollBox('Runs', table).element, h('div', { class: 'actions' }, more));
    return { element, rows, more, live, runMessage };
  }

  async function loadRuns(older = false) {
    try {
      const page = await api('GET', `/jobs${query({ pipeline_id: id, limit: RUNS_PAGE, cursor: older ? runsCursor : '' })}`, { signal });
      for (const job of page.items) upsertRun(job, false);
      if (older || !runsCursor) runsCursor = page.next_cursor;
      history.more.hidden = !runsCursor;
      drawRuns();
      compare.showBaseline();
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      history.runMessage.replaceChildren(notice('error', `Could not list the runs: ${error.message}`));
    }
  }

  /** Adds or replaces a run (from a list, an event or an answer), keeping newest first. */
  function upsertRun(job, draw = true) {
    const at = runs.findIndex((r) => r.id === job.id);
    if (at >= 0) runs[at] = job;
    else runs.push(job);
    runs.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
    const step = STEP_JOB.exec(job.id);
    if (step) refreshChain(step[1]);
    if (draw) drawRuns();
  }

  const chainReads = new Map();
  /** Reads a chained run again (once at a time per run), then redraws. */
  function refreshChain(runId) {
    if (chainReads.has(runId)) return chainReads.get(runId);
    const read = api('GET', `${path}/runs/${encodeURIComponent(runId)}`, { signal })
      .then((run) => { chains.set(runId, run); drawRuns(); })
      .catch(() => {})
      .finally(() => chainReads.delete(runId));
    chainReads.set(runId, read);
    return read;
  }

  // A chained run advances after its step's job has ended, so the job's event may come before the
  // run's new state: the running ones are read again every few seconds until they settle.
  let chainTimer = null;
  signal.addEventListener('abort', () => clearTimeout(chainTimer));
  function watchChains() {
    const running = [...chains.values()].filter((run) => run.status === 'RUNNING');
    if (chainTimer || signal.aborted || running.length === 0) return;
    chainTimer = setTimeout(async () => {
      chainTimer = null;
      await Promise.all(running.map((run) => refreshChain(run.id)));
      watchChains();
    }, 2000);
  }

  function drawRuns() {
    const now = Date.now();
    const shownChains = new Set();
    const rows = [];
    for (const job of runs) {
      const step = STEP_JOB.exec(job.id);
      if (!step) {
        rows.push(jobRow(job, now));
      } else if (!shownChains.has(step[1])) {
        shownChains.add(step[1]);
        rows.push(chainRow(step[1], job, now));
      }
    }
    if (rows.length === 0) rows.push(h('tr', { class: 'empty' }, h('td', { colspan: 8 }, 'No runs yet: run the pipeline above, or drop a file into its inbox.')));
    // The list redraws itself as runs change: a keyboard user's place in it must survive that.
    const focusedRow = document.activeElement?.closest?.('#runs-table tbody tr');
    const focusedKey = focusedRow ? focusedRow.dataset.runId ?? focusedRow.dataset.chainRun : null;
    history.rows.replaceChildren(...rows);
    if (focusedKey) {
      const again = [...history.rows.children].find((tr) => (tr.dataset.runId ?? tr.dataset.chainRun) === focusedKey);
      again?.querySelector('a, button')?.focus({ preventScroll: true });
    }
    const active = runs.some((r) => isActive(r.status)) || [...chains.values()].some((run) => run.status === 'RUNNING');
    history.live.textContent = active ? 'A run is in progress: this list updates by itself.' : '';
    watchChains();
  }

  function counts(job) {
    return [job.records_in, job.records_out, job.records_rejected].map((n) => h('td', { class: 'num' }, formatCount(n)));
  }

  function jobRow(job, now) {
    const took = formatDuration(job.started_at, job.finished_at ?? new Date(now).toISOString());
    return h('tr', { 'data-run-id': job.id, 'data-status': job.status },
      h('td', {}, h('a', { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.name || `Run ${job.id.slice(0, 8)}`)),
      h('td', {}, job.pipeline_version ? `v${job.pipeline_version}` : '—'),
      h('td', {}, jobBadge(job)),
      h('td', {}, relativeTimeElement(job.created_at, now)),
      h('td', {}, took ? `${took}${job.finished_at ? '' : ' so far'}` : h('span', { class: 'muted' }, '—')),
      ...counts(job));
  }

  function chainRow(runId, newest, now) {
    const run = chains.get(runId);
    const stepJobs = runs.filter((r) => STEP_JOB.exec(r.id)?.[1] === runId);
    const first = stepJobs[stepJobs.length - 1];
    const steps = run
      ? h('ol', { class: 'chain-steps' }, run.steps.map((s) => h('li', { 'data-step': s.name },
        s.job_id ? h('a', { href: `#/jobs/${encodeURIComponent(s.job_id)}` }, s.name) : h('span', {}, s.name), ' ',
        badge(s.status, STEP_COLOURS), s.attempt > 1 ? h('span', { class: 'muted small' }, ` attempt ${s.attempt}`) : null)))
      : h('p', { class: 'muted small' }, 'Reading the steps…');
    const retry = run?.status === 'FAILED' && role !== 'viewer' && !pipeline.archived_at
      ? h('button', { type: 'button', class: 'button-secondary', 'data-retry-run': runId, 'aria-label': `Retry the chained run ${runId.slice(0, 8)}` }, 'Retry')
      : null;
    retry?.addEventListener('click', () => busy(retry, 'Retrying…', history.runMessage, 'The run was not retried', async () => {
      chains.set(runId, await api('POST', `${path}/runs/${encodeURIComponent(runId)}/retry`, { signal, idempotencyKey: crypto.randomUUID() }));
      drawRuns();
    }, signal));
    const finished = stepJobs.every((j) => j.finished_at);
    const end = finished ? stepJobs.map((j) => j.finished_at).sort().pop() : new Date(now).toISOString();
    const took = formatDuration(first?.started_at ?? first?.created_at, end);
    return h('tr', { 'data-chain-run': runId, 'data-status': run?.status ?? '' },
      h('td', {}, h('span', { class: 'chain-name' }, `Chained run ${runId.slice(0, 8)}`), steps,
        run?.error ? h('p', { class: 'chain-error small' }, run.error) : null, retry),
      h('td', {}, `v${run?.pipeline_version ?? newest.pipeline_version}`),
      h('td', {}, run ? badge(run.status, STEP_COLOURS) : h('span', { class: 'muted' }, '…')),
      h('td', {}, relativeTimeElement(run?.created_at ?? first?.created_at ?? newest.created_at, now)),
      h('td', {}, took ? `${took}${run?.status === 'RUNNING' ? ' so far' : ''}` : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'num' }, formatCount(first?.records_in)),
      h('td', { class: 'num' }, formatCount(newest.records_out)),
      h('td', { class: 'num' }, formatCount(stepJobs.reduce((sum, j) => sum + (j.records_rejected ?? 0), 0))));
  }

  /**
   * Follows the pipeline's runs live (GET /pipelines/{id}/events, read with fetch to send the
   * token): each new or changed run is shown as it comes; a finished one also refreshes the
   * webhook deliveries and schedules it may have changed. A stream the server ends is opened
   * again; where none can be had, the runs are read again now and then.
   */
  async function follow() {
    const token = session.token;
    let response = null;
    try {
      if (token) {
        response = await fetch(eventsUrl(`/pipelines/${encodeURIComponent(id)}/events`), {
          headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' }, signal, cache: 'no-store',
        });
      }
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
    }
    if (!response?.ok || !response.body) {
      pollWithBackoff(signal, async () => {
        await loadRuns();
        return true;
      }, { initial: 3000, max: 30000 });
      return;
    }
    try {
      await readEvents(response, (name, data) => {
        if (name !== 'run' || !data.id) return;
        const before = runs.find((r) => r.id === data.id);
        upsertRun(data);
        if (isFinished(data.status) && before && !isFinished(before.status)) {
          webhooks.loadDeliveries();
          schedules.load();
          compare.showBaseline();
        }
      });
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
    }
    if (!signal.aborted) setTimeout(follow, 1000);
  }

  // ---- Versions, a new version, the diff of two ------------------------------------------------

  async function loadVersions() {
    try {
      versions = (await api('GET', `${path}/versions`, { signal })).items;
      versionsSection.draw();
      runForm.setVersions();
      compare.setVersions();
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      versionsSection.message.replaceChildren(notice('error', `Could not list the versions: ${error.message}`));
    }
  }

  function versionsCard() {
    const rows = h('tbody');
    const table = h('table', { class: 'data-table', id: 'versions-table' },
      h('caption', { class: 'visually-hidden' }, 'Versions of the pipeline, oldest first'),
      h('thead', {}, h('tr', {}, ['Version', 'Saved', 'Context', 'Schema', 'Options'].map((c) => h('th', { scope: 'col' }, c)))),
      rows);
    const message = h('div', { class: 'messages', id: 'versions-message' });

    const formMessage = h('div', { class: 'messages', id: 'new-version-message' });
    const sections = documentSections(() => formMessage.replaceChildren());
    const autoMap = h('input', { id: 'version-auto-map', type: 'checkbox' });
    const save = h('button', { type: 'submit', id: 'save-version' }, 'Save new version');
    const form = h('form', { id: 'new-version-form', novalidate: true, 'aria-labelledby': 'new-version-title' },
      h('h3', { id: 'new-version-title' }, 'New version'),
      h('p', { class: 'muted small' }, 'What you give replaces the current version’s; what you leave out is kept. The new version becomes the current one.'),
      sections.context.element, sections.schema.element,
      h('div', { class: 'field inline' }, autoMap, h('label', { for: 'version-auto-map' }, 'auto_map: fill in the required fields the context leaves unmapped')),
      formMessage, h('div', { class: 'actions' }, save));
    editors.push(form);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      formMessage.replaceChildren();
      for (const section of Object.values(sections)) section.setError(null);
      await busy(save, 'Saving…', formMessage, 'The version was not saved', async () => {
        const documents = await versionDocuments(sections, null, signal, pipeline.team_id);
        if (!documents.ok) {
          formMessage.replaceChildren(notice('error', `The version was not saved: ${documents.problems.map((p) => `${p.label}: ${p.text}`).join('; ')}`));
          return;
        }
        const saved = await api('POST', `${path}/versions`, { body: { ...documents.body, options: { auto_map: autoMap.checked } }, signal });
        for (const section of Object.values(sections)) {
          section.pasted.value = '';
          section.entries.splice(0).forEach((entry) => entry.element.remove());
        }
        pipeline = await api('GET', path, { signal });
        showPipeline();
        await loadVersions();
        formMessage.replaceChildren(notice('success', `Version ${saved.version} was saved and is now the current version.`));
        if (saved.version > 1) showDiff(saved.version - 1, saved.version);
      }, signal);
    });

    const from = h('select', { id: 'diff-from' });
    const to = h('select', { id: 'diff-to' });
    const show = h('button', { type: 'submit', class: 'button-secondary', id: 'show-diff' }, 'Show the changes');
    const diffOut = h('div', { id: 'diff', 'aria-live': 'polite' });
    const diffForm = h('form', { id: 'diff-form', novalidate: true, 'aria-labelledby': 'diff-title' },
      h('h3', { id: 'diff-title' }, 'Changes between two versions'),
      h('div', { class: 'toolbar' },
        h('div', { class: 'field inline' }, h('label', { for: 'diff-from' }, 'From'), from),
        h('div', { class: 'field inline' }, h('label', { for: 'diff-to' }, 'To'), to), show),
      diffOut);
    diffForm.addEventListener('submit', (event) => {
      event.preventDefault();
      showDiff(Number(from.value), Number(to.value));
    });

    async function showDiff(a, b) {
      from.value = String(a);
      to.value = String(b);
      diffOut.replaceChildren(h('p', { class: 'muted' }, 'Reading the changes…'));
      try {
        const diff = await api('GET', `${path}/versions/${a}/diff/${b}`, { signal });
        diffOut.replaceChildren(...renderDiff(diff));
      } catch (error) {
        if (error?.name === 'AbortError' || signal.aborted) return;
        diffOut.replaceChildren(notice('error', `The changes could not be read: ${error.message}`));
      }
    }

    const element = card('versions', 'Versions', message, scrollBox('Versions', table).element, diffForm, form);
    return {
      element,
      message,
      draw() {
        rows.replaceChildren(...versions.map((v) => h('tr', { 'data-version': v.version },
          h('td', {}, `v${v.version}`, v.version === pipeline.current_version ? h('span', { class: 'muted small' }, ' (current)') : null,
            v.steps?.length ? h('span', { class: 'muted small' }, ` · ${v.steps.length} steps`) : null),
          h('td', {}, relativeTimeElement(v.created_at)),
          h('td', {}, v.context_artifact_id ? h('code', {}, v.context_artifact_id.slice(0, 12)) : h('span', { class: 'muted' }, 'none')),
          h('td', {}, v.schema_artifact_id ? h('code', {}, v.schema_artifact_id.slice(0, 12)) : h('span', { class: 'muted' }, 'none')),
          h('td', {}, v.options?.auto_map ? 'auto_map' : h('span', { class: 'muted' }, '—')))));
        const options = () => versions.map((v) => h('option', { value: v.version }, `v${v.version}`));
        const [a, b] = [from.value, to.value];
        from.replaceChildren(...options());
        to.replaceChildren(...options());
        const last = versions[versions.length - 1]?.version ?? 1;
        from.value = a || String(Math.max(1, last - 1));
        to.value = b && Number(b) !== last - 1 ? b : String(last);
        autoMap.checked = Boolean(versions.find((v) => v.version === pipeline.current_version)?.options?.auto_map);
      },
    };
  }

  // ---- A version tried on the last run's input -------------------------------------------------

  function compareCard() {
    const version = h('select', { id: 'compare-version' });
    const baseline = h('p', { id: 'compare-baseline', class: 'muted' });
    const submit = h('button', { type: 'submit', id: 'compare' }, 'Compare on the last run’s input');
    const message = h('div', { class: 'messages', id: 'compare-message' });
    const out = h('div', { id: 'comparison', 'aria-live': 'polite' });
    const form = h('form', { id: 'compare-form', novalidate: true },
      h('p', { class: 'muted small' }, 'Runs a version on the input of the last completed run and shows how its output differs, before the version goes live.'),
      h('div', { class: 'toolbar' }, h('div', { class: 'field inline' }, h('label', { for: 'compare-version' }, 'Version to try'), version), submit),
      baseline, message);
    const element = card('compare-section', 'Try a version on the last run’s input', form, out);
    editors.push(form);

    /** The run compared against: the newest completed run that is not a step of a chained run. */
    const lastRun = () => runs.find((r) => r.status === 'COMPLETED' && !STEP_JOB.test(r.id));

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const base = lastRun();
      if (!base) {
        message.replaceChildren(notice('error', 'There is no completed run to compare with yet: run the pipeline first.'));
        return;
      }
      busy(submit, 'Starting…', message, 'The comparison was not started', async () => {
        const started = await api('POST', `${path}/versions/${version.value}/compare`, { body: { job_id: base.id }, signal, idempotencyKey: crypto.randomUUID() });
        showComparison(started);
        watch(started.candidate.id);
      }, signal);
    });

    /** Reads the comparison again until the version's run has ended and the difference is known. */
    function watch(candidate) {
      pollWithBackoff(signal, async () => {
        const comparison = await api('GET', `${path}/comparisons/${encodeURIComponent(candidate)}`, { signal });
        showComparison(comparison);
        return comparison.records === null && isActive(comparison.candidate.status);
      }, { initial: 800, factor: 1.3, max: 5000 });
    }

    function showComparison(c) {
      const runLink = (job, label) => h('a', { href: `#/jobs/${encodeURIComponent(job.id)}` }, label);
      const head = h('p', {}, 'Version ', h('strong', {}, `v${c.version}`), ' (', runLink(c.candidate, 'its run'), ', ', jobBadge(c.candidate),
        ') against ', runLink(c.baseline, `the run of v${c.baseline.pipeline_version ?? '?'}`), ' on the same input.');
      if (!c.records) {
        const waiting = isActive(c.candidate.status)
          ? h('p', { class: 'muted', role: 'status' }, 'The version is running on the input; the difference follows once it completes.')
          : notice('error', `The version’s run ended ${c.candidate.status}: ${c.candidate.error ?? 'see its page'}. There is nothing to compare.`);
        out.replaceChildren(head, waiting);
        return;
      }
      const r = c.records;
      const figure = (label, value, key) => h('div', { class: 'count', id: `compare-${key}` }, h('dt', {}, label), h('dd', {}, formatCount(value)));
      const json = (value) => (value === null || value === undefined ? h('span', { class: 'muted' }, 'absent') : h('code', {}, JSON.stringify(value)));
      const fields = c.fields.length === 0
        ? h('p', { id: 'compare-no-fields' }, 'No field differs: the version writes the same records.')
        : scrollBox('Fields that changed', h('table', { class: 'data-table', id: 'compare-fields' },
          h('caption', { class: 'visually-hidden' }, 'Fields that differ, most often first'),
          h('thead', {}, h('tr', {}, ['Field', 'Changed', 'Added', 'Removed', 'Examples (record: before → after)']
            .map((t, i) => h('th', { scope: 'col', class: i >= 1 && i <= 3 ? 'num' : null }, t)))),
          h('tbody', {}, c.fields.map((f) => h('tr', { 'data-field': f.field },
            h('th', { scope: 'row' }, h('code', {}, f.field)),
            h('td', { class: 'num' }, formatCount(f.changed)), h('td', { class: 'num' }, formatCount(f.added)),
            h('td', { class: 'num' }, formatCount(f.removed)),
            h('td', {}, h('ul', { class: 'cell-list' }, f.examples.map((e) => h('li', {}, `record ${e.record}: `, json(e.before), ' → ', json(e.after)))))))))).element;
      out.replaceChildren(head,
        h('dl', { class: 'counts counts-4' }, figure('Added', r.added, 'added'), figure('Removed', r.removed, 'removed'),
          figure('Changed', r.changed, 'changed'), figure('Unchanged', r.unchanged, 'unchanged')),
        h('p', { class: 'muted small' }, r.aligned_by === 'position'
          ? 'Records were matched by their place in the output (the context filters or groups records).'
          : 'Records were matched by their input record.'),
        h('h3', {}, 'Fields that changed'), fields);
    }

    return {
      element,
      setVersions() {
        const chosen = version.value;
        version.replaceChildren(...versions.map((v) => h('option', { value: v.version }, `v${v.version}`)));
        version.value = chosen || String(pipeline.current_version);
      },
      showBaseline() {
        const base = lastRun();
        baseline.replaceChildren(...(base
          ? ['Compared with the last completed run: ', h('a', { href: `#/jobs/${encodeURIComponent(base.id)}` }, base.name || base.id),
            ` (v${base.pipeline_version ?? '?'}, `, h('time', { datetime: base.created_at, title: formatTime(base.created_at) }, formatRelative(base.created_at)), ').']
          : ['No completed run yet: run the pipeline first.']));
      },
    };
  }

  // ---- Schedules ---------------------------------------------------------------------------------

  function schedulesCard() {
    const rows = h('tbody');
    const table = h('table', { class: 'data-table', id: 'schedules-table' },
      h('caption', { class: 'visually-hidden' }, 'Schedules of the pipeline'),
      h('thead', {}, h('tr', {}, ['Expression', 'Time zone', 'Next run', 'Last run', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      rows);
    const message = h('div', { class: 'messages', id: 'schedules-message' });
    const expression = h('input', { id: 'schedule-expression', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'rate(1 hour)', 'aria-describedby': 'schedule-expression-hint schedule-expression-error' });
    const expressionError = fieldError('schedule-expression-error');
    const zone = h('input', { id: 'schedule-timezone', type: 'text', autocomplete: 'off', value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC', 'aria-describedby': 'schedule-timezone-error' });
    const zoneError = fieldError('schedule-timezone-error');
    const picker = contentPicker('schedule-content', 'What each run reads');
    const add = h('button', { type: 'submit', id: 'create-schedule' }, 'Add schedule');
    const formMessage = h('div', { class: 'messages', id: 'new-schedule-message' });
    const form = h('form', { id: 'schedule-form', novalidate: true, 'aria-labelledby': 'new-schedule-title' },
      h('h3', { id: 'new-schedule-title' }, 'New schedule'),
      h('div', { class: 'field' }, h('label', { for: 'schedule-expression' }, 'When'), expression,
        h('p', { id: 'schedule-expression-hint', class: 'hint' }, 'A cron pattern (minute hour day month weekday, e.g. 0 6 * * MON-FRI) or a rate: rate(15 minutes), rate(1 hour), rate(2 days).'),
        expressionError),
      h('div', { class: 'field' }, h('label', { for: 'schedule-timezone' }, 'Time zone'), zone, zoneError),
      picker.element, formMessage, h('div', { class: 'actions' }, add));
    editors.push(form);

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      showError(expression, expressionError, null);
      showError(zone, zoneError, null);
      formMessage.replaceChildren();
      if (!expression.value.trim()) {
        showError(expression, expressionError, 'Enter a cron pattern or a rate.');
        expression.focus();
        return;
      }
      const ids = await picker.resolve(signal, pipeline.team_id).catch(() => null);
      if (!ids) return;
      await busy(add, 'Adding…', formMessage, 'The schedule was not added', async () => {
        try {
          const made = await api('POST', `${path}/schedules`, {
            body: { expression: expression.value.trim(), timezone: zone.value.trim() || undefined, input: { content_artifact_ids: ids } }, signal,
          });
          expression.value = '';
          formMessage.replaceChildren(notice('success', h('p', {}, 'The schedule was added: it runs next ', timeElement(made.next_run_at), '.')));
          load();
        } catch (error) {
          if (error.field === 'expression') showError(expression, expressionError, error.message);
          else if (error.field === 'timezone') showError(zone, zoneError, error.message);
          else if (error.field?.startsWith('input')) picker.setError(error.message);
          throw error;
        }
      }, signal);
    });

    async function load() {
      try {
        const { items } = await api('GET', `${path}/schedules`, { signal });
        rows.replaceChildren(...items.map(row));
        if (items.length === 0) rows.append(h('tr', { class: 'empty' }, h('td', { colspan: 5 }, 'No schedules: the pipeline runs when files arrive or when started.')));
        if (!picker.ids.value) {
          const last = runs.find((r) => !STEP_JOB.test(r.id));
          if (last) picker.ids.value = last.inputs.content_artifact_ids.join(', ');
        }
      } catch (error) {
        if (error?.name === 'AbortError' || signal.aborted) return;
        message.replaceChildren(notice('error', `Could not list the schedules: ${error.message}`));
      }
    }

    function row(schedule) {
      const remove = pipeline.archived_at || role === 'viewer' ? null : h('button', {
        type: 'button', class: 'button-danger', 'data-delete-schedule': schedule.id, 'aria-label': `Delete the schedule ${schedule.expression}`,
      }, 'Delete');
      remove?.addEventListener('click', () => {
        if (!window.confirm(`Delete the schedule “${schedule.expression}”? It fires no more.`)) return;
        busy(remove, 'Deleting…', message, 'The schedule was not deleted', async () => {
          await api('DELETE', `${path}/schedules/${encodeURIComponent(schedule.id)}`, { signal });
          message.replaceChildren(notice('success', `The schedule “${schedule.expression}” was deleted.`));
          load();
        }, signal);
      });
      const last = schedule.last_fired_at
        ? h('span', { class: 'status-cell' }, relativeTimeElement(schedule.last_fired_at),
          schedule.last_job_id ? h('a', { href: `#/jobs/${encodeURIComponent(schedule.last_job_id)}` }, 'its run') : null,
          schedule.last_error ? h('span', { class: 'attempt-error small' }, schedule.last_error) : null)
        : h('span', { class: 'muted' }, 'not yet');
      return h('tr', { 'data-schedule-id': schedule.id },
        h('td', {}, h('code', {}, schedule.expression)),
        h('td', {}, schedule.timezone),
        h('td', { class: 'next-run' }, pipeline.archived_at ? h('span', { class: 'muted' }, 'stopped') : relativeTimeElement(schedule.next_run_at)),
        h('td', {}, last),
        h('td', {}, remove));
    }

    const element = card('schedules', 'Schedules', message, scrollBox('Schedules', table).element, form);
    return { element, load };
  }

  // ---- Webhooks and their deliveries -----------------------------------------------------------

  function webhooksCard() {
    const rows = h('tbody');
    const table = h('table', { class: 'data-table', id: 'webhooks-table' },
      h('caption', { class: 'visually-hidden' }, 'Webhooks of the pipeline'),
      h('thead', {}, h('tr', {}, ['URL', 'Added', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      rows);
    const message = h('div', { class: 'messages', id: 'webhooks-message' });
    const url = h('input', { id: 'webhook-url', type: 'url', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://example.com/helix-events', 'aria-describedby': 'webhook-url-hint webhook-url-error' });
    const urlError = fieldError('webhook-url-error');
    const add = h('button', { type: 'submit', id: 'create-webhook' }, 'Add webhook');
    const created = h('div', { id: 'new-webhook' });
    const form = h('form', { id: 'webhook-form', novalidate: true, 'aria-labelledby': 'new-webhook-title' },
      h('h3', { id: 'new-webhook-title' }, 'New webhook'),
      h('div', { class: 'field' }, h('label', { for: 'webhook-url' }, 'URL'), url,
        h('p', { id: 'webhook-url-hint', class: 'hint' }, 'Each finished run (completed, failed or cancelled) is POSTed here, signed with HMAC-SHA256 in the Helix-Signature header, and retried for up to 24 hours until it is answered with 2xx.'),
        urlError),
      h('div', { class: 'actions' }, add), created);
    editors.push(form);

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      showError(url, urlError, null);
      created.replaceChildren();
      if (!url.value.trim()) {
        showError(url, urlError, 'Enter the URL to POST to.');
        url.focus();
        return;
      }
      await busy(add, 'Adding…', created, 'The webhook was not added', async () => {
        try {
          const webhook = await api('POST', `${path}/webhooks`, { body: { url: url.value.trim() }, signal });
          url.value = '';
          created.replaceChildren(notice('success', `The webhook for ${webhook.url} was added.`),
            copyField('webhook-secret', 'Its signing secret', webhook.secret, 'Copy it now: it is not shown again. Check each delivery’s Helix-Signature (t=…,v1=HMAC-SHA256 of “t.body”) with it.'));
          load();
        } catch (error) {
          if (error.field === 'url') showError(url, urlError, error.message);
          throw error;
        }
      }, signal);
    });

    const deliveries = h('tbody');
    const deliveryTable = h('table', { class: 'data-table', id: 'deliveries-table' },
      h('caption', { class: 'visually-hidden' }, 'Webhook deliveries, newest first'),
      h('thead', {}, h('tr', {}, ['Sent', 'Event', 'Run', 'Status', 'Attempts', 'Next attempt'].map((c) => h('th', { scope: 'col' }, c)))),
      deliveries);
    const refresh = h('button', { type: 'button', class: 'button-secondary', id: 'refresh-deliveries' }, 'Refresh the log');
    refresh.addEventListener('click', () => loadDeliveries());

    async function load() {
      try {
        const { items } = await api('GET', `${path}/webhooks`, { signal });
        rows.replaceChildren(...items.map(row));
        if (items.length === 0) rows.append(h('tr', { class: 'empty' }, h('td', { colspan: 3 }, 'No webhooks.')));
      } catch (error) {
        if (error?.name === 'AbortError' || signal.aborted) return;
        message.replaceChildren(notice('error', `Could not list the webhooks: ${error.message}`));
      }
      await loadDeliveries();
    }

    async function loadDeliveries() {
      try {
        const { items } = await api('GET', `${path}/webhooks/deliveries`, { signal });
        deliveries.replaceChildren(...items.map(deliveryRow));
        if (items.length === 0) deliveries.append(h('tr', { class: 'empty' }, h('td', { colspan: 6 }, 'Nothing sent yet: a delivery is made when a run finishes.')));
      } catch (error) {
        if (error?.name === 'AbortError' || signal.aborted) return;
        message.replaceChildren(notice('error', `Could not read the delivery log: ${error.message}`));
      }
    }

    function row(webhook) {
      const remove = pipeline.archived_at || role === 'viewer' ? null : h('button', {
        type: 'button', class: 'button-danger', 'data-delete-webhook': webhook.id, 'aria-label': `Delete the webhook for ${webhook.url}`,
      }, 'Delete');
      remove?.addEventListener('click', () => {
        if (!window.confirm(`Delete the webhook for ${webhook.url}? Its pending deliveries give up.`)) return;
        busy(remove, 'Deleting…', message, 'The webhook was not deleted', async () => {
          await api('DELETE', `${path}/webhooks/${encodeURIComponent(webhook.id)}`, { signal });
          message.replaceChildren(notice('success', `The webhook for ${webhook.url} was deleted.`));
          load();
        }, signal);
      });
      return h('tr', { 'data-webhook-id': webhook.id },
        h('td', {}, h('code', {}, webhook.url)), h('td', {}, relativeTimeElement(webhook.created_at)), h('td', {}, remove));
    }

    function deliveryRow(delivery) {
      const last = delivery.attempts[delivery.attempts.length - 1];
      const outcome = (a) => `#${a.number}: ${a.status_code ? `HTTP ${a.status_code}` : a.error ?? 'no answer'} in ${a.duration_ms} ms`;
      return h('tr', { 'data-delivery-id': delivery.id, 'data-status': delivery.status },
        h('td', {}, relativeTimeElement(delivery.created_at)),
        h('td', {}, h('code', {}, delivery.event)),
        h('td', {}, h('a', { href: `#/jobs/${encodeURIComponent(delivery.job_id)}` }, delivery.job_id.slice(0, 8))),
        h('td', {}, badge(delivery.status, DELIVERY_COLOURS)),
        h('td', { class: 'attempt-error' }, last
          ? h('ul', { class: 'cell-list' }, delivery.attempts.map((a) => h('li', {}, outcome(a), a.status_code && a.error ? ` (${a.error})` : null)))
          : h('span', { class: 'muted' }, 'none yet')),
        h('td', {}, delivery.next_attempt_at ? relativeTimeElement(delivery.next_attempt_at) : h('span', { class: 'muted' }, '—')));
    }

    const element = card('webhooks', 'Webhooks', message, scrollBox('Webhooks', table).element, form,
      h('div', { class: 'chart-head' }, h('h3', { id: 'deliveries-title' }, 'Delivery log'), refresh),
      scrollBox('Delivery log', deliveryTable).element);
    return { element, load, loadDeliveries };
  }

  load();
}

/** The two documents' unified diffs, line by line, with the lines added and removed marked. */
function renderDiff(diff) {
  const block = (title, text, id) => {
    if (!text) return [h('h4', {}, title), h('p', { class: 'muted', id }, `No change to the ${title.toLowerCase()}.`)];
    const lines = text.replace(/\n$/, '').split('\n').map((line) => {
      const kind = line.startsWith('+++') || line.startsWith('---') ? 'file'
        : line.startsWith('@@') ? 'hunk' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : 'same';
      const said = { add: 'added: ', del: 'removed: ' }[kind];
      return h('span', { class: `diff-line diff-${kind}` }, said ? h('span', { class: 'visually-hidden' }, said) : null, line || ' ');
    });
    return [h('h4', {}, title), h('pre', { class: 'diff', id }, lines)];
  };
  const notes = [];
  if (diff.lookups_changed) notes.push('The lookup tables differ too.');
  if (diff.options_changed) notes.push('The options (auto_map) differ too.');
  return [
    h('p', { class: 'muted small' }, `From v${diff.from} to v${diff.to}: lines starting with + were added, lines starting with - removed.`),
    ...block('Context', diff.context, 'diff-context'),
    ...block('Schema', diff.schema, 'diff-schema'),
    ...notes.map((n) => h('p', { class: 'diff-note' }, n)),
  ];
}
