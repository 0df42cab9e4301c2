import { api, ApiError, downloadLink, eventsUrl, session } from './api.js';
import { activity, formatBytes, formatCount, formatDuration, h, isActive, jobBadge, notice, producedNothing, scrollBox, timeElement } from './dom.js';
import { savePipelineForm } from './pipelines.js';
import { firstValues, firstValuesOf, readPrefix } from './preview.js';

const PREVIEW_RECORDS = 20;
const PREVIEW_BYTES = 512 * 1024;
const REJECT_ROWS = 100;
const REJECT_BYTES = 2 * 1024 * 1024;

export function renderJob({ main, params, signal, setTitle }) {
  const id = params[0];
  setTitle('Job');
  const heading = h('h1', { tabindex: -1 }, 'Job');
  const badge = h('span', { class: 'job-status' });
  const message = h('div', { class: 'messages' });
  const summary = h('div', { class: 'job-summary' });
  const results = h('div', { class: 'job-results' });
  const refreshNote = h('p', { class: 'muted refresh-note', role: 'status' });
  // What can be done with the job, beside its status: Cancel while it is pending or running,
  // Retry once it failed or was cancelled, Clone once it finished. A team's viewer sees none.
  const actions = h('div', { class: 'job-actions', id: 'job-actions' });
  const cancel = h('button', { type: 'button', class: 'button-secondary', id: 'cancel-job' }, 'Cancel job');
  const retry = h('button', { type: 'button', class: 'button-secondary', id: 'retry-job' }, 'Retry');
  const clone = h('button', { type: 'button', class: 'button-secondary', id: 'clone-job' }, 'Clone');
  // A finished job's context and schema kept as a pipeline: the button opens the form below it.
  const saveAsPipeline = h('button', { type: 'button', class: 'button-secondary', id: 'save-as-pipeline', 'aria-expanded': 'false', 'aria-controls': 'save-pipeline-panel' }, 'Save as pipeline');
  const savePanel = h('div', { id: 'save-pipeline-panel', hidden: true });
  const actionMessage = h('div', { class: 'messages', id: 'job-action-message' });
  main.append(
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/jobs' }, '← All jobs')),
    h('div', { class: 'page-head' }, heading, badge),
    actions, savePanel, actionMessage, message, refreshNote, summary, results);

  // null until the team answers: the buttons show meanwhile, and a refusal still explains itself.
  let role = null;

  /** Runs one action's request with its button busy; the job is read again afterwards. */
  async function act(button, busyLabel, run, refused) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = busyLabel;
    actionMessage.replaceChildren();
    try {
      await run();
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      const text = error instanceof ApiError && error.status === 403
        ? 'Your role in this job\'s team only lets you read its jobs: ask an admin to make you a member.'
        : refused(error);
      actionMessage.replaceChildren(notice('error', text));
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
    clearTimeout(timer);
    delay = 1000;
    // An open stream shows what the action did; otherwise (the job had finished) follow it again.
    if (!streaming) follow();
  }

  cancel.addEventListener('click', () => {
    if (!window.confirm('Cancel this job? It stops, and writes no result.')) return;
    act(cancel, 'Cancelling…', async () => {
      await api('POST', `/jobs/${encodeURIComponent(id)}/cancel`, { signal });
      actionMessage.replaceChildren(notice('info', 'The job was cancelled.'));
    }, (error) => (error instanceof ApiError && error.status === 409
      ? 'The job had already finished, so there was nothing to cancel.'
      : `The job was not cancelled: ${error.message}`));
  });

  retry.addEventListener('click', () => act(retry, 'Retrying…', async () => {
    const job = await api('POST', `/jobs/${encodeURIComponent(id)}/retry`, { signal });
    actionMessage.replaceChildren(notice('info', `The job runs again on the same inputs (retry ${job.retries}); its earlier attempts stay listed below.`));
  }, (error) => (error instanceof ApiError && error.status === 409
    ? 'Only a failed or cancelled job can be retried, and this one is not (any more).'
    : `The job was not retried: ${error.message}`)));

  clone.addEventListener('click', () => act(clone, 'Cloning…', async () => {
    const copy = await api('POST', `/jobs/${encodeURIComponent(id)}/clone`, { body: {}, signal });
    location.hash = `#/jobs/${encodeURIComponent(copy.id)}`;
  }, (error) => `The job was not cloned: ${error.message}`));

  let shownJob = null;
  saveAsPipeline.addEventListener('click', () => {
    const open = savePanel.hidden;
    savePanel.hidden = !open;
    saveAsPipeline.setAttribute('aria-expanded', String(open));
    if (open) {
      savePanel.replaceChildren(savePipelineForm(shownJob, signal));
      savePanel.querySelector('input').focus();
    }
  });

  /** Shows the buttons that apply to a job in this status, in a fixed order. */
  function showActions(job) {
    shownJob = job;
    const finished = !isActive(job.status);
    const documents = Boolean(job.inputs?.context_artifact_id || job.inputs?.schema_artifact_id);
    const wanted = role === 'viewer' ? [] : [
      [cancel, !finished],
      [retry, job.status === 'FAILED' || job.status === 'CANCELLED'],
      [clone, finished],
      [saveAsPipeline, finished && documents],
    ].filter(([, shown]) => shown).map(([button]) => button);
    if (wanted.length !== actions.children.length || wanted.some((b, i) => actions.children[i] !== b)) {
      // The focus stays on a button that stays.
      const focused = document.activeElement;
      actions.replaceChildren(...wanted);
      if (wanted.includes(focused)) focused.focus();
    }
  }

  let shownStatus = null;
  let streaming = false;
  let timer = null;
  let delay = 1000;
  signal.addEventListener('abort', () => clearTimeout(timer));

  /** Shows the job as read (from GET /jobs/{id} or an event), with its progress while it runs. */
  async function show(job, progress) {
    message.replaceChildren();
    const label = job.name || `Job ${job.id.slice(0, 8)}`;
    heading.textContent = label;
    setTitle(label);
    badge.replaceChildren(jobBadge(job));
    if (role === null) {
      role = await teamRole(job.team_id, signal);
      if (role === 'viewer') {
        actions.after(h('p', { class: 'muted small', id: 'viewer-note' }, 'You are a viewer in this job\'s team: you can read its jobs, not cancel, retry, clone or delete them.'));
      }
    }
    showActions(job);
    summary.replaceChildren(...jobSummary(job, signal));
    if (job.status !== shownStatus) {
      shownStatus = job.status;
      results.replaceChildren(...jobResults(job, signal));
    }
    refreshNote.textContent = isActive(job.status)
      ? `${activity(job)}${progressText(progress)}: the page updates by itself.`
      : '';
  }

  function notFound() {
    heading.textContent = 'Job not found';
    message.replaceChildren(notice('error', 'There is no job with this id among your jobs. ', h('a', { href: '#/jobs' }, 'Back to your jobs.')));
  }

  /** Polls GET /jobs/{id}, more slowly as it waits: where the live events are not served. */
  async function load() {
    try {
      const job = await api('GET', `/jobs/${encodeURIComponent(id)}`, { signal });
      await show(job, null);
      if (isActive(job.status)) {
        timer = setTimeout(load, delay);
        delay = Math.min(15000, delay * 1.5);
      }
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      if (error instanceof ApiError && error.status === 404) {
        notFound();
        return;
      }
      message.replaceChildren(notice('error', `Could not load the job: ${error.message}`));
      if (error.status === 0 || error.status >= 500) {
        timer = setTimeout(load, delay);
        delay = Math.min(15000, delay * 2);
      }
    }
  }

  /**
   * Follows the job's live events (GET /jobs/{id}/events, Server-Sent Events read with fetch, which
   * unlike EventSource sends the bearer token): each status change and progress report is shown as
   * it comes. A stream that ends while the job is still active (the server closes old streams) is
   * opened again; where no stream can be had, the page polls instead.
   */
  async function follow() {
    const token = session.token;
    if (!token) return load();
    let response;
    try {
      response = await fetch(eventsUrl(`/jobs/${encodeURIComponent(id)}/events`), {
        headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' }, signal, cache: 'no-store',
      });
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      return load();
    }
    // Any refusal (a 404 too: the route may not be served here, as behind the cloud's HTTP API)
    // falls back to polling, which says whether the job exists.
    if (!response.ok || !response.body) return load();
    streaming = true;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    let last = null;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const data = block.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trimStart()).join('\n');
          if (!data) continue; // a keep-alive comment
          const event = JSON.parse(data);
          if (!event.job) continue;
          last = event.job;
          await show(event.job, event.progress);
        }
      }
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      return load();
    } finally {
      streaming = false;
    }
    if (!last) return load();
    if (isActive(last.status)) follow();
  }
  follow();
}

/** ", 4.2 MB of 10.1 MB read (41 %), 85,279 lines" while a job reports its progress. */
function progressText(progress) {
  if (!progress || !progress.bytes_total) return '';
  const percent = Math.floor((100 * progress.bytes_read) / progress.bytes_total);
  return `, ${formatBytes(progress.bytes_read)} of ${formatBytes(progress.bytes_total)} read (${percent} %), ${formatCount(progress.lines_read)} lines`;
}

/** The caller's role in the team ('viewer', 'member', …), or '' when the team cannot say. */
async function teamRole(teamId, signal) {
  try {
    const team = await api('GET', `/teams/${encodeURIComponent(teamId)}`, { signal });
    return team.role ?? '';
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    return '';
  }
}

function jobSummary(job) {
  const took = formatDuration(job.started_at, job.finished_at);
  const timeline = h('section', { class: 'card', 'aria-labelledby': 'timeline-title' },
    h('h2', { id: 'timeline-title' }, 'Timeline'),
    h('ol', { class: 'timeline' },
      step('Created', job.created_at, true),
      step('Started', job.started_at, Boolean(job.started_at)),
      step('Finished', job.finished_at, Boolean(job.finished_at), took ? `took ${took}` : null)),
    h('p', { class: 'muted' }, `Attempts: ${job.attempts}`));
  const counts = h('section', { class: 'card', 'aria-labelledby': 'counts-title' },
    h('h2', { id: 'counts-title' }, 'Records'),
    h('dl', { class: 'counts' },
      count('In', job.records_in, 'records-in'),
      count('Out', job.records_out, 'records-out'),
      count('Rejected', job.records_rejected, 'records-rejected')));
  const parts = [h('div', { class: 'grid-2' }, timeline, counts)];
  if (job.attempt_history?.length) parts.push(attemptsCard(job));
  if (job.cost) parts.push(costCard(job.cost));
  return parts;
}

// The price table's lines, in words.
const COST_LINES = {
  lambda_compute: 'Lambda compute', lambda_requests: 'Lambda requests', gpu: 'GPU worker', s3_storage: 'S3 storage',
  s3_requests: 'S3 requests', s3_transfer_out: 'S3 transfer out', sqs: 'SQS requests', dynamodb: 'DynamoDB',
};
const usd = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 6 });

/** What the job's metered usage cost so far, line by line, and the price table it was priced by. */
function costCard(cost) {
  const lines = Object.entries(cost.breakdown).filter(([, value]) => value > 0);
  return h('section', { class: 'card', id: 'job-cost', 'aria-labelledby': 'cost-title' },
    h('h2', { id: 'cost-title' }, 'Cost'),
    h('p', {}, h('strong', { id: 'cost-total' }, usd.format(cost.total_usd)), h('span', { class: 'muted' }, ` estimated, price table ${cost.price_table}`)),
    lines.length === 0 ? null : h('table', { class: 'data-table', id: 'cost-breakdown' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Line'), h('th', { scope: 'col', class: 'num' }, 'USD'))),
      h('tbody', {}, lines.map(([line, value]) => h('tr', {},
        h('th', { scope: 'row' }, COST_LINES[line] ?? line), h('td', { class: 'num' }, usd.format(value)))))));
}

// How each attempt ended, in words, and the badge colour that goes with it.
const ATTEMPT_OUTCOMES = {
  RUNNING: ['Running', 'running'],
  COMPLETED: ['Completed', 'completed'],
  FAILED: ['Failed', 'failed'],
  RELEASED: ['Handed back, tried again', 'pending'],
  ABANDONED: ['Worker lost', 'failed'],
  CANCELLED: ['Cancelled', 'cancelled'],
};

/** What each attempt did: when it ran, how it ended, what it read and wrote, and why it stopped. */
function attemptsCard(job) {
  const history = job.attempt_history;
  const outcome = (value) => {
    const [text, colour] = ATTEMPT_OUTCOMES[value] ?? [value, 'unknown'];
    return h('span', { class: `badge badge-${colour}` }, text);
  };
  const count = (n) => h('td', { class: 'num' }, formatCount(n));
  const rows = history.map((a) => h('tr', { 'data-attempt': a.number },
    h('td', { class: 'num' }, a.number),
    h('td', {}, a.retry ? `Retry ${a.retry}` : 'First run'),
    h('td', {}, timeElement(a.started_at)),
    h('td', {}, a.finished_at ? formatDuration(a.started_at, a.finished_at) : h('span', { class: 'muted' }, 'so far')),
    h('td', {}, outcome(a.outcome)),
    count(a.records_in), count(a.records_out), count(a.records_rejected),
    h('td', { class: 'attempt-error' }, a.error ? a.error : h('span', { class: 'muted' }, '—'))));
  const older = job.attempts - history.length;
  return h('section', { class: 'card', id: 'attempts', 'aria-labelledby': 'attempts-title' },
    h('h2', { id: 'attempts-title' }, 'Attempts'),
    older > 0 ? h('p', { class: 'muted small' }, `The latest ${history.length} of ${job.attempts} attempts.`) : null,
    scrollBox('Attempts',
      h('table', { class: 'data-table', id: 'attempts-table' },
        h('thead', {}, h('tr', {}, ['#', 'Run', 'Started', 'Took', 'Outcome', 'In', 'Out', 'Rejected', 'Why it stopped']
          .map((c, i) => h('th', { scope: 'col', class: i === 0 || (i >= 5 && i <= 7) ? 'num' : null }, c)))),
        h('tbody', {}, rows))).element);
}

function step(label, time, done, note) {
  return h('li', { class: done ? 'done' : 'waiting' },
    h('span', { class: 'step-label' }, label),
    done ? timeElement(time) : h('span', { class: 'muted' }, 'not yet'),
    note ? h('span', { class: 'muted' }, ` (${note})`) : null);
}

function count(label, value, id) {
  // Red only for rejects that happened: "Rejected 0" is good news.
  const rejected = id === 'records-rejected' && Number(value) > 0;
  return h('div', { class: rejected ? 'count has-rejects' : 'count', id },
    h('dt', {}, label),
    h('dd', {}, formatCount(value)));
}

function jobResults(job, signal) {
  const parts = [];
  if (producedNothing(job)) {
    parts.push(h('section', { class: 'card card-warning', 'aria-labelledby': 'nothing-out-title', id: 'nothing-out' },
      h('h2', { id: 'nothing-out-title' }, 'No record came out'),
      h('p', {}, `The job read ${formatCount(job.records_in)} record${job.records_in === 1 ? '' : 's'} and wrote none: `,
        job.records_rejected > 0 ? 'every record was rejected (see why below).' : 'check the context\'s filters and mappings.'),
      h('p', { class: 'muted' }, 'Often the context names columns the file does not have, or the schema requires a field the context does not fill.')));
  }
  if (job.status === 'FAILED') {
    parts.push(h('section', { class: 'card card-error', 'aria-labelledby': 'failure-title', id: 'job-error' },
      h('h2', { id: 'failure-title' }, 'Why the job failed'),
      h('p', { class: 'error-text' }, job.error || 'The job failed without a recorded reason.'),
      h('p', { class: 'muted' }, 'Fix the input or the context named above, then ', h('a', { href: '#/jobs/new' }, 'submit a new job'), '.')));
  }
  if (job.warnings?.length) {
    parts.push(h('section', { class: 'card card-warning', 'aria-labelledby': 'warnings-title', id: 'job-warnings' },
      h('h2', { id: 'warnings-title' }, 'Check these decisions'),
      h('ul', {}, job.warnings.map((w) => h('li', {}, w))),
      h('p', { class: 'muted' }, 'The job completed, but decided these on its own. Declare them in the context to be sure.')));
  }
  const downloads = [];
  if (job.result_artifact_id) downloads.push(downloadButton('Download result', job.result_artifact_id, 'download-result', signal));
  if (job.error_report_artifact_id && job.records_rejected > 0) downloads.push(downloadButton('Download reject report', job.error_report_artifact_id, 'download-rejects', signal));
  if (downloads.length) {
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'downloads-title' },
      h('h2', { id: 'downloads-title' }, 'Downloads'),
      h('div', { class: 'actions' }, downloads)));
  }
  if (job.kind === 'suggest-mapping' && job.status === 'COMPLETED') {
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'review-title', id: 'review-draft' },
      h('h2', { id: 'review-title' }, 'Review the draft'),
      h('p', {}, 'Accept, change or reject each proposed column and correct the value maps, then confirm: the context is saved and your team remembers the columns for the next files from this source.'),
      h('div', { class: 'actions' }, h('a', { class: 'button', href: `#/jobs/${encodeURIComponent(job.id)}/review` }, 'Review the draft'))));
  }
  if (job.auto_mapped_fields?.length) parts.push(autoMapCard(job, signal));
  if (job.result_artifact_id) parts.push(resultPreview(job, signal));
  if (job.error_report_artifact_id) parts.push(rejectTable(job, signal));
  if (job.inputs_read?.length) parts.push(readingCard(job));
  parts.push(inputsCard(job, signal));
  return parts;
}

/** How each content file was read, and what decided each setting (declared settings say nothing). */
function readingCard(job) {
  const setting = (reading, key, value) => {
    if (value === null || value === undefined) return h('td', { class: 'muted' }, '—');
    const by = reading.decided_by?.[key];
    return h('td', {}, h('code', {}, String(value)), by && by !== 'declared' ? h('span', { class: 'muted small' }, ` ${by}`) : null);
  };
  const delimiter = (d) => (d === '\t' ? 'tab' : d);
  return h('section', { class: 'card', id: 'inputs-read', 'aria-labelledby': 'inputs-read-title' },
    h('h2', { id: 'inputs-read-title' }, 'How the files were read'),
    scrollBox('How the files were read',
      h('table', { class: 'data-table', id: 'inputs-read-table' },
        h('thead', {}, h('tr', {}, ['File', 'Format', 'Encoding', 'Line ends', 'Delimiter', 'Header row', 'Lines skipped'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, job.inputs_read.map((r) => h('tr', {},
          h('td', {}, r.input),
          setting(r, 'format', r.format),
          setting(r, 'encoding', r.encoding),
          setting(r, 'line_ending', r.line_ending),
          setting(r, 'delimiter', r.delimiter === undefined ? null : delimiter(r.delimiter)),
          setting(r, 'header', r.header_row ?? (r.delimiter === undefined ? null : 'none')),
          setting(r, 'skip_lines', r.skipped_lines)))))).element,
    h('p', { class: 'muted small' }, 'Settings marked "detected" were read from the file; declare them under input: in the context to be sure.'));
}

/** What auto_map added to the context: to review before the context is reused. */
function autoMapCard(job, signal) {
  return h('section', { class: 'card', id: 'auto-mapped', 'aria-labelledby': 'auto-mapped-title' },
    h('h2', { id: 'auto-mapped-title' }, 'Fields proposed by auto_map'),
    h('p', { class: 'muted' }, 'The context left these required fields unmapped; the job filled them from the source columns below. Review them before you reuse the context.'),
    scrollBox('Fields proposed by auto_map',
      h('table', { class: 'data-table', id: 'auto-mapped-table' },
        h('thead', {}, h('tr', {}, ['Target field', 'Source column', 'Confidence'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, job.auto_mapped_fields.map((f) => h('tr', {},
          h('td', {}, h('code', {}, f.field)),
          h('td', {}, h('code', {}, f.source)),
          h('td', { class: 'num' }, `${Math.round(f.score * 100)} %`)))))).element,
    job.auto_map_context_artifact_id
      ? h('div', { class: 'actions' }, downloadButton('Download the completed context', job.auto_map_context_artifact_id, 'download-auto-map-context', signal))
      : null);
}

function downloadButton(label, artifactId, id, signal) {
  const status = h('span', { class: 'muted small', role: 'status' });
  const button = h('button', { type: 'button', id, class: 'button-secondary' }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = '';
    try {
      const link = await downloadLink(artifactId, signal);
      const anchor = h('a', { href: link.url, download: '', hidden: true });
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
    } catch (error) {
      if (error?.name !== 'AbortError') status.textContent = `Download failed: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return h('span', { class: 'download' }, button, status);
}

/** Fetches the start of an artifact through a fresh presigned URL. */
async function artifactPrefix(artifactId, maxBytes, signal) {
  const link = await downloadLink(artifactId, signal);
  let response;
  try {
    response = await fetch(link.url, { signal, cache: 'no-store' });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new Error('storage could not be reached from this page (network or CORS error)');
  }
  if (!response.ok) throw new Error(`storage answered HTTP ${response.status}`);
  return readPrefix(response, maxBytes);
}

/** A result that is a table (output.format csv or parquet): named by its file's extension. */
const TABLE_RESULTS = { csv: 'a CSV table', parquet: 'a Parquet file (read it with pyarrow, DuckDB or Spark)' };

function resultPreview(job, signal) {
  const table = TABLE_RESULTS[(job.result_path || '').split('.').pop()];
  if (table) {
    return h('section', { class: 'card', id: 'result-preview', 'aria-labelledby': 'preview-title' },
      h('h2', { id: 'preview-title' }, 'Result preview'),
      h('p', { class: 'muted' }, `The result is ${table}, as the context asks (output.format): download it to read it.`));
  }
  const { element, box: body } = scrollBox('Result preview', h('p', { class: 'muted' }, 'Loading…'));
  const note = h('p', { class: 'muted small' });
  const section = h('section', { class: 'card', id: 'result-preview', 'aria-labelledby': 'preview-title' },
    h('h2', { id: 'preview-title' }, 'Result preview'), note, element);
  artifactPrefix(job.result_artifact_id, PREVIEW_BYTES, signal).then(({ text, complete }) => {
    const records = firstValues(text, PREVIEW_RECORDS);
    if (records.length === 0) {
      body.replaceChildren(h('p', { class: 'muted' }, 'The result holds no records.'));
      return;
    }
    const total = job.records_out;
    note.textContent = total && total > records.length
      ? `The first ${records.length} of ${formatCount(total)} records.`
      : `${records.length} record${records.length === 1 ? '' : 's'}${complete ? '' : ' (start of the file)'}.`;
    body.replaceChildren(recordTable(records));
  }).catch((error) => {
    if (error?.name === 'AbortError') return;
    body.replaceChildren(notice('error', `The preview could not be loaded: ${error.message}. The download button still works.`));
  });
  return section;
}

const isPlainObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A value as text for a cell: lists one item a line, objects as "key: value" lines. */
function cell(value) {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, '—');
  if (Array.isArray(value)) {
    if (value.length === 0) return h('span', { class: 'muted' }, '(none)');
    return h('ul', { class: 'cell-list' }, value.map((item) => h('li', {}, cell(item))));
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return h('span', { class: 'muted' }, '(empty)');
    return h('dl', { class: 'cell-object' }, keys.map((key) => [h('dt', {}, key), h('dd', {}, cell(value[key]))]));
  }
  return String(value);
}

/** Nested objects become dotted columns (customer.id, customer.name), as the context names them. */
function flatten(record, prefix = '', into = {}) {
  for (const [key, value] of Object.entries(record)) {
    if (isPlainObject(value) && Object.keys(value).length > 0) flatten(value, `${prefix}${key}.`, into);
    else into[`${prefix}${key}`] = value;
  }
  return into;
}

function recordTable(records) {
  if (!records.every(isPlainObject)) {
    return h('ol', { class: 'record-list' }, records.map((r) => h('li', {}, cell(r))));
  }
  const rows = records.map((record) => flatten(record));
  const columns = [];
  for (const row of rows) {
    for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  }
  return h('table', { class: 'data-table', id: 'preview-table' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'num' }, '#'), columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((row, i) =>
      h('tr', {}, h('td', { class: 'num muted' }, i + 1), columns.map((c) => h('td', {}, cell(row[c])))))));
}

function rejectTable(job, signal) {
  const { element, box: body } = scrollBox('Rejected records', h('p', { class: 'muted' }, 'Loading…'));
  const note = h('p', { class: 'muted small' });
  const section = h('section', { class: 'card', id: 'rejects', 'aria-labelledby': 'rejects-title' },
    h('h2', { id: 'rejects-title' }, 'Rejected records'), note, element);
  artifactPrefix(job.error_report_artifact_id, REJECT_BYTES, signal).then(({ text }) => {
    const rejects = firstValuesOf(text, 'rejects', REJECT_ROWS);
    if (rejects.length === 0) {
      body.replaceChildren(h('p', { class: 'muted' }, 'No record was rejected.'));
      return;
    }
    const total = job.records_rejected;
    note.textContent = total && total > rejects.length
      ? `The first ${rejects.length} of ${formatCount(total)} problems; download the reject report for all of them.`
      : `${rejects.length} problem${rejects.length === 1 ? '' : 's'}.`;
    body.replaceChildren(h('table', { class: 'data-table', id: 'reject-table' },
      h('thead', {}, h('tr', {},
        ['Input', 'Line', 'Record', 'Field', 'Rule', 'Message'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rejects.map((r) => h('tr', {},
        h('td', {}, cell(r.input)),
        h('td', { class: 'num' }, cell(r.line)),
        h('td', { class: 'num' }, cell(r.record)),
        h('td', {}, r.pointer ? h('code', {}, r.pointer) : h('span', { class: 'muted' }, '(record)')),
        h('td', {}, cell(r.keyword)),
        h('td', {}, cell(r.message)))))));
  }).catch((error) => {
    if (error?.name === 'AbortError') return;
    body.replaceChildren(notice('error', `The reject report could not be loaded: ${error.message}. The download button still works.`));
  });
  return section;
}

function inputsCard(job, signal) {
  const inputs = job.inputs ?? {};
  const ids = [
    ...(inputs.content_artifact_ids ?? []).map((id) => ['Content', id]),
    ...(inputs.context_artifact_id ? [['Context', inputs.context_artifact_id]] : []),
    ...(inputs.schema_artifact_id ? [['Schema', inputs.schema_artifact_id]] : []),
    ...(inputs.lookup_artifact_ids ?? []).map((id) => ['Lookup', id]),
  ];
  const list = h('ul', { class: 'input-list' });
  for (const [kind, id] of ids) {
    const nameSlot = h('span', { class: 'file-name' }, id);
    const item = h('li', {}, h('span', { class: 'input-kind' }, kind), nameSlot);
    list.append(item);
    api('GET', `/artifacts/${encodeURIComponent(id)}`, { signal }).then((artifact) => {
      nameSlot.textContent = artifact.filename;
      item.append(h('span', { class: 'muted small' }, formatBytes(artifact.size_bytes)),
        downloadButton(`Download ${artifact.filename}`, id, null, signal));
    }).catch(() => {
      // The id stays on screen; an input that is gone cannot be downloaded anyway.
    });
  }
  return h('section', { class: 'card', 'aria-labelledby': 'inputs-title' },
    h('h2', { id: 'inputs-title' }, 'Inputs'),
    ids.length ? list : h('p', { class: 'muted' }, 'No inputs recorded.'));
}
