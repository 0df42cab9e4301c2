// Browser → S3 uploads: register the file with the API, PUT it to the presigned URL with exactly
// the signed headers, then wait until the platform has checked the object (AVAILABLE).

import { api, ApiError } from './api.js';
import { formatBytes, h, sleep } from './dom.js';
import { currentTeamId } from './teams.js';

const CONTENT_TYPES = {
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  jsonl: 'application/x-ndjson',
  xml: 'application/xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  txt: 'text/plain',
  dat: 'text/plain',
  idoc: 'text/plain',
};

// The browser sets these itself (and refuses to let scripts set them); it sends the file's real
// length, which is the length that was declared and signed.
const BROWSER_HEADERS = new Set(['content-length', 'host', 'connection', 'accept-encoding']);

const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+$/;

/** The media type declared for a file: what the browser knows, else guessed from its extension. */
export function contentTypeOf(file) {
  if (file.type && MEDIA_TYPE.test(file.type)) return file.type;
  const extension = file.name.includes('.') ? file.name.split('.').pop().toLowerCase() : '';
  return CONTENT_TYPES[extension] ?? 'application/octet-stream';
}

export class UploadError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UploadError';
  }
}

/** The user cancelled the upload (the panel's Cancel): nothing of it is left on the server. */
export class UploadCancelled extends Error {
  constructor(name) {
    super(`The upload of ${name} was cancelled.`);
    this.name = 'UploadCancelled';
  }
}

/**
 * Uploads one file as an artifact of `kind` (content, context or schema) and resolves to its id
 * once AVAILABLE. `onProgress(fraction)` follows the PUT; `onPhase(text)` names each step. Big
 * files go up in parts (the server says so), each checked by the storage against its SHA-256.
 * The upload panel at the top of the page shows it while it runs, with pause, resume and cancel.
 * `teamId`: the team it is uploaded for (a pipeline's); default the team chosen in the header.
 */
export async function uploadArtifact(file, kind, { signal, onProgress = () => {}, onPhase = () => {}, teamId = currentTeamId() } = {}) {
  if (file.size === 0) throw new UploadError(`${file.name} is empty.`);
  const contentType = contentTypeOf(file);
  const transfer = new Transfer(file, { signal, onProgress });
  try {
    onPhase('Requesting an upload URL…');
    const ticket = await api('POST', '/artifacts/upload', {
      body: { filename: file.name, content_type: contentType, size_bytes: file.size, kind, team_id: teamId },
      signal: transfer.signal(),
      idempotencyKey: crypto.randomUUID(),
    });
    onPhase('Uploading…');
    if (ticket.upload_id) {
      // Kept until the upload ends: a reload, a crash or a closed tab can resume it from the parts stored.
      await remember({
        artifact_id: ticket.artifact_id, upload_id: ticket.upload_id, kind,
        name: file.name, size: file.size, last_modified: file.lastModified, started_at: new Date().toISOString(),
      });
      transfer.pausable = true;
      await putParts(transfer, ticket, file, new Map());
    } else {
      transfer.setState('uploading');
      await put(ticket.upload_url, ticket, file.slice(0, file.size, contentType), (f) => transfer.progress(f * file.size), transfer.signal());
    }
    onProgress(1);
    onPhase('Checking…');
    transfer.setState('checking');
    await waitUntilAvailable(ticket.artifact_id, signal);
    transfer.setState('done');
    return ticket.artifact_id;
  } catch (error) {
    throw transfer.failed(error);
  }
}

// The transfers of this tab, newest last; the panel shows them.
const transfers = [];

/** Uploads still sending bytes (or paused): leaving the page would drop them. */
function uploadsRunning() {
  return transfers.filter((t) => t.sending).length;
}

/** Uploads a view started (a job's files) that leaving the view cancels. */
export function viewUploadsRunning() {
  return transfers.filter((t) => t.sending && t.ownedByView).length;
}

// Leaving the page drops what is still going up: the browser asks first.
window.addEventListener('beforeunload', (event) => {
  if (uploadsRunning() > 0) event.preventDefault();
});

const SPEED_WINDOW_MS = 5000;

/**
 * One file going up, as the panel shows it: bytes sent, speed over the last seconds, time left,
 * and its controls. Pausing stops the parts in flight (they are sent again on resume); cancelling
 * aborts the upload on the server.
 */
class Transfer {
  constructor(file, { signal, onProgress = () => {}, ownedByView = Boolean(signal) }) {
    this.file = file;
    this.viewSignal = signal;
    this.onProgress = onProgress;
    this.ownedByView = ownedByView;
    this.state = 'starting';
    this.sent = 0;
    this.samples = [];
    this.pausable = false;
    this.cancelController = new AbortController();
    this.pauseController = new AbortController();
    this.resumed = null;
    transfers.push(this);
    panel.add(this);
  }

  get sending() {
    return ['starting', 'uploading', 'paused', 'completing'].includes(this.state);
  }

  get cancelled() {
    return this.cancelController.signal.aborted;
  }

  /** What a request of this transfer listens to: the view leaving, cancel, and (for parts) pause. */
  signal({ pausable = false } = {}) {
    const signals = [this.cancelController.signal];
    if (this.viewSignal) signals.push(this.viewSignal);
    if (pausable) signals.push(this.pauseController.signal);
    return AbortSignal.any(signals);
  }

  progress(sent) {
    if (this.state === 'starting') this.setState('uploading');
    this.sent = sent;
    const now = performance.now();
    this.samples.push([now, sent]);
    while (this.samples.length > 2 && now - this.samples[0][0] > SPEED_WINDOW_MS) this.samples.shift();
    this.onProgress(this.file.size ? sent / this.file.size : 1);
    panel.update(this);
  }

  /** Bytes a second over the last few seconds, or null before there is anything to measure. */
  speed() {
    if (this.state !== 'uploading' || this.samples.length < 2) return null;
    const [[t0, b0], [t1, b1]] = [this.samples[0], this.samples.at(-1)];
    return t1 - t0 >= 250 && b1 > b0 ? ((b1 - b0) * 1000) / (t1 - t0) : null;
  }

  setState(state, detail = null) {
    this.state = state;
    this.detail = detail;
    if (state !== 'uploading') this.samples = [];
    panel.update(this);
  }

  pause() {
    if (!this.pausable || this.state !== 'uploading') return;
    this.setState('paused');
    this.resumed = new Promise((resolve) => { this.resume = () => { this.resume = null; resolve(); }; });
    this.pauseController.abort();
    this.pauseController = new AbortController();
  }

  resumeUpload() {
    if (this.state !== 'paused') return;
    this.setState('uploading');
    this.resume?.();
  }

  cancel() {
    if (!this.sending) return;
    this.cancelController.abort();
    this.resume?.();
  }

  /** Waits while paused; throws once cancelled or the view is gone. */
  async untilRunning() {
    while (this.state === 'paused') await this.resumed;
    this.signal().throwIfAborted();
  }

  /** The error to report for `error`, with the transfer marked as ended. */
  failed(error) {
    if (this.cancelled) {
      this.setState('cancelled');
      return new UploadCancelled(this.file.name);
    }
    if (error?.name === 'AbortError') this.setState('cancelled');
    else this.setState('failed', errorText(error));
    return error;
  }
}

const PARALLEL_PARTS = 4;
const PART_TRIES = 3;

async function sha256Base64(blob) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  return btoa(String.fromCharCode(...digest));
}

/**
 * A multipart upload: the parts not in `stored` (part number → {etag, size}) go up
 * `PARALLEL_PARTS` at a time, each URL bound to the part's SHA-256, each part retried alone.
 * Cancelling (or leaving the view) aborts the upload on the server.
 */
async function putParts(transfer, ticket, file, stored) {
  const id = encodeURIComponent(ticket.artifact_id);
  const partCount = ticket.part_count ?? Math.ceil(file.size / ticket.part_size);
  const sent = new Array(partCount).fill(0);
  const etags = new Array(partCount);
  for (const [number, part] of stored) {
    etags[number - 1] = part.etag;
    sent[number - 1] = part.size;
  }
  const report = () => transfer.progress(sent.reduce((a, b) => a + b, 0));
  report();
  const queue = Array.from({ length: partCount }, (_, i) => i + 1).filter((n) => !stored.has(n));
  const worker = async () => {
    for (let number = queue.shift(); number; number = queue.shift()) {
      const start = (number - 1) * ticket.part_size;
      const part = file.slice(start, Math.min(start + ticket.part_size, file.size));
      const checksum = await sha256Base64(part);
      for (let attempt = 1; ;) {
        await transfer.untilRunning();
        const signal = transfer.signal({ pausable: true });
        try {
          const { parts } = await api('POST', `/artifacts/${id}/parts`, {
            body: { part_numbers: [number], checksums_sha256: [checksum] },
            signal,
          });
          etags[number - 1] = await put(parts[0].url, parts[0], part, (f) => {
            sent[number - 1] = f * part.size;
            report();
          }, signal);
          break;
        } catch (error) {
          sent[number - 1] = 0;
          report();
          // A pause stopped this part: it goes up again, from its start, on resume.
          if (transfer.state === 'paused' && !transfer.signal().aborted) continue;
          const refused = error instanceof ApiError && error.status < 500;
          if (error?.name === 'AbortError' || refused || attempt >= PART_TRIES) throw error;
          attempt += 1;
          await sleep(500 * 2 ** attempt, transfer.signal());
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, partCount) }, worker));
  } catch (error) {
    // Nothing half-uploaded is left behind: the parts stored so far are dropped.
    api('DELETE', `/artifacts/${id}/upload`).catch(() => {});
    forget(ticket.artifact_id);
    throw error;
  }
  transfer.setState('completing');
  await api('POST', `/artifacts/${id}/complete`, {
    body: { parts: etags.map((etag, i) => ({ part_number: i + 1, etag })) },
    signal: transfer.signal(),
  });
  forget(ticket.artifact_id);
}

/** PUTs `blob` to a presigned URL with the signed headers; resolves to the storage's ETag. */
function put(url, signed, blob, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(signed.method || 'PUT', url);
    for (const [name, value] of Object.entries(signed.headers ?? {})) {
      if (!BROWSER_HEADERS.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader('ETag') ?? '');
      else reject(new UploadError(storageRefusal(xhr)));
    });
    xhr.addEventListener('error', () =>
      reject(new UploadError('The file could not be sent to storage: the connection failed, or the upload was blocked (the dashboard\'s DASHBOARD_CONNECT_SRC or the bucket\'s CORS rules do not allow it).')));
    xhr.addEventListener('timeout', () => reject(new UploadError('The upload timed out. Try again.')));
    xhr.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(blob);
  });
}

/** S3 answers errors as XML: <Error><Code>…</Code><Message>…</Message></Error>. */
function storageRefusal(xhr) {
  let detail = '';
  try {
    const doc = new DOMParser().parseFromString(xhr.responseText, 'application/xml');
    const code = doc.querySelector('Error > Code')?.textContent;
    const message = doc.querySelector('Error > Message')?.textContent;
    detail = [code, message].filter(Boolean).join(': ');
  } catch {
    detail = '';
  }
  const hint = xhr.status === 403 ? ' The upload URL may have expired; try again.' : '';
  return `Storage refused the upload (HTTP ${xhr.status}${detail ? `, ${detail}` : ''}).${hint}`;
}

const CHECK_TIMEOUT_MS = 120_000;

async function waitUntilAvailable(id, signal) {
  const deadline = Date.now() + CHECK_TIMEOUT_MS;
  let delay = 250;
  for (;;) {
    const artifact = await api('GET', `/artifacts/${encodeURIComponent(id)}`, { signal });
    if (artifact.status === 'AVAILABLE') return artifact;
    if (artifact.status === 'REJECTED') {
      throw new UploadError(`The platform rejected the file: ${artifact.rejected_reason || 'no reason given'}.`);
    }
    if (Date.now() > deadline) {
      throw new UploadError('The file was sent but the platform has not confirmed it after two minutes. Try again later.');
    }
    await sleep(delay, signal);
    delay = Math.min(2000, delay * 1.5);
  }
}

export function errorText(error) {
  if (error instanceof ApiError || error instanceof UploadError || error instanceof UploadCancelled) return error.message;
  return `Unexpected error: ${error?.message ?? error}`;
}

// Unfinished multipart uploads, kept in IndexedDB so that a reload (or a crash) can resume them:
// the artifact and upload ids, and the file's name, size and modification time to recognise it
// when the user picks it again. Never the file itself.
const DB_NAME = 'helix-uploads';
const STORE = 'uploads';

function openDatabase() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'artifact_id' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function inStore(mode, action) {
  const db = await openDatabase();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = action(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(request.result); };
    tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
  });
}

// Resuming is a convenience: a browser without IndexedDB (or a private window that refuses it)
// uploads as before.
const remember = (record) => inStore('readwrite', (store) => store.put(record)).catch(() => {});
const forget = (artifactId) => inStore('readwrite', (store) => store.delete(artifactId)).catch(() => {});
const remembered = () => inStore('readonly', (store) => store.getAll()).catch(() => []);

let offered = false;

/**
 * Offers, once per page load, to resume the multipart uploads a reload interrupted: those whose
 * artifact is still waiting for its parts. The others (finished, cancelled, expired, another
 * user's) are forgotten.
 */
export async function offerUnfinishedUploads() {
  if (offered) return;
  offered = true;
  for (const record of await remembered()) {
    try {
      const artifact = await api('GET', `/artifacts/${encodeURIComponent(record.artifact_id)}`);
      if (artifact.status !== 'PENDING_UPLOAD' || artifact.multipart?.upload_id !== record.upload_id) {
        forget(record.artifact_id);
        continue;
      }
      const { parts } = await api('GET', `/artifacts/${encodeURIComponent(record.artifact_id)}/parts`);
      panel.offer({ ...record, part_size: artifact.multipart.part_size, parts });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) forget(record.artifact_id);
    }
  }
}

/** Resumes `record`'s upload with `file` (picked again by the user); resolves to the artifact id. */
async function resumeUpload(record, file, transfer) {
  const id = encodeURIComponent(record.artifact_id);
  const { parts } = await api('GET', `/artifacts/${id}/parts`, { signal: transfer.signal() });
  const stored = new Map(parts.map((p) => [p.part_number, { etag: p.etag, size: p.size }]));
  transfer.pausable = true;
  await putParts(transfer, record, file, stored);
  transfer.setState('checking');
  await waitUntilAvailable(record.artifact_id);
  transfer.setState('done');
  return record.artifact_id;
}

// Files a resumed upload finished, for the next job: the new job page takes them.
const finished = [];

/** The files resumed uploads finished since the last call ([{artifactId, kind, name, size}]). */
export function takeFinishedUploads() {
  return finished.splice(0);
}

/**
 * The upload panel: one row per file, at the top of the page and in view while the page
 * scrolls, with the percentage, bytes, speed, time left, and pause, resume and cancel. A finished
 * row goes after a few seconds; the panel hides when it is empty.
 */
const panel = (() => {
  const FINISHED_ROW_MS = 6000;
  const list = h('ul', { class: 'upload-list' });
  const element = h('section', { id: 'upload-panel', class: 'upload-panel', 'aria-labelledby': 'upload-panel-title', hidden: true },
    h('h2', { id: 'upload-panel-title', class: 'upload-panel-title' }, 'Uploads'), list);
  const rows = new Map();
  let attached = false;

  const attach = () => {
    if (attached) return;
    attached = true;
    (document.querySelector('.topbar') ?? document.body.firstElementChild).after(element);
  };
  const show = () => {
    attach();
    element.hidden = list.childElementCount === 0;
  };
  const removeLater = (row) => setTimeout(() => {
    row.element.remove();
    show();
  }, FINISHED_ROW_MS);

  function add(transfer) {
    const name = transfer.file.name;
    const progress = h('progress', { max: 1, value: 0, 'aria-label': `Upload of ${name}` });
    const figures = h('span', { class: 'upload-figures' });
    const status = h('span', { class: 'visually-hidden', role: 'status' });
    const pause = h('button', { type: 'button', class: 'button-secondary upload-pause', onclick: () => (transfer.state === 'paused' ? transfer.resumeUpload() : transfer.pause()) });
    const cancel = h('button', { type: 'button', class: 'button-secondary upload-cancel', 'aria-label': `Cancel the upload of ${name}`, onclick: () => transfer.cancel() }, 'Cancel');
    const row = {
      element: h('li', { class: 'upload-row', 'data-state': transfer.state },
        h('span', { class: 'upload-name' }, name), progress, figures,
        h('span', { class: 'upload-actions' }, pause, cancel), status),
      progress, figures, status, pause, cancel, shownState: null,
    };
    rows.set(transfer, row);
    list.append(row.element);
    show();
    update(transfer);
  }

  function update(transfer) {
    const row = rows.get(transfer);
    if (!row) return;
    const { state, file, sent } = transfer;
    const fraction = file.size ? Math.min(1, sent / file.size) : 1;
    row.element.dataset.state = state;
    row.progress.value = fraction;
    row.figures.textContent = figuresText(transfer, fraction);
    const pausable = transfer.pausable && (state === 'uploading' || state === 'paused');
    row.pause.hidden = !pausable;
    row.pause.textContent = state === 'paused' ? 'Resume' : 'Pause';
    row.pause.setAttribute('aria-label', `${state === 'paused' ? 'Resume' : 'Pause'} the upload of ${file.name}`);
    row.cancel.hidden = !['starting', 'uploading', 'paused'].includes(state);
    if (row.shownState !== state) {
      // Said once per change, not at every percent.
      row.shownState = state;
      row.status.textContent = `${file.name}: ${STATE_WORDS[state] ?? state}`;
      if (['done', 'failed', 'cancelled'].includes(state) && !transfer.keepRow) removeLater(row);
    }
  }

  /** A row for an upload a reload interrupted: pick the file again to resume, or discard it. */
  function offer(record) {
    const storedBytes = record.parts.reduce((sum, p) => sum + p.size, 0);
    const inputId = `resume-${record.artifact_id}`;
    const input = h('input', { type: 'file', id: inputId, class: 'upload-resume-input' });
    const message = h('span', { class: 'upload-figures' },
      `Not finished: ${formatBytes(storedBytes)} of ${formatBytes(record.size)} stored (${record.parts.length} part${record.parts.length === 1 ? '' : 's'}). Choose the same file again to resume.`);
    const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
    const discard = h('button', { type: 'button', class: 'button-secondary', 'aria-label': `Discard the upload of ${record.name}` }, 'Discard');
    const element = h('li', { class: 'upload-row', 'data-state': 'interrupted' },
      h('span', { class: 'upload-name' }, record.name),
      h('progress', { max: 1, value: record.size ? storedBytes / record.size : 0, 'aria-label': `Upload of ${record.name}` }),
      message,
      h('span', { class: 'upload-actions' },
        input, h('label', { for: inputId, class: 'button button-secondary upload-resume' }, `Resume ${record.name}…`), discard),
      error);
    list.append(element);
    show();
    discard.addEventListener('click', () => {
      api('DELETE', `/artifacts/${encodeURIComponent(record.artifact_id)}/upload`).catch(() => {});
      forget(record.artifact_id);
      element.remove();
      show();
    });
    input.addEventListener('change', async () => {
      const file = input.files[0];
      input.value = '';
      if (!file) return;
      if (file.name !== record.name || file.size !== record.size || file.lastModified !== record.last_modified) {
        error.hidden = false;
        error.textContent = `That is not the file this upload started with: choose ${record.name} (${formatBytes(record.size)}, modified ${new Date(record.last_modified).toLocaleString()}).`;
        return;
      }
      element.remove();
      const transfer = new Transfer(file, { ownedByView: false });
      transfer.keepRow = true;
      try {
        const artifactId = await resumeUpload(record, file, transfer);
        finishedRow(transfer, { artifactId, kind: record.kind, name: file.name, size: file.size });
      } catch (failure) {
        transfer.failed(failure);
        removeLater(rows.get(transfer));
      }
    });
  }

  /** A resumed file is stored: offer to start a job with it. */
  function finishedRow(transfer, upload) {
    const row = rows.get(transfer);
    finished.push(upload);
    const use = h('a', { href: '#/jobs/new', class: 'button upload-use' }, `Start a job with ${upload.name}`);
    row.element.querySelector('.upload-actions').replaceChildren(use);
    use.addEventListener('click', () => {
      row.element.remove();
      show();
      window.dispatchEvent(new Event('helix:uploads-finished'));
    });
  }

  return { add, update, offer };
})();

const STATE_WORDS = {
  starting: 'starting',
  uploading: 'uploading',
  paused: 'paused',
  completing: 'assembling the parts',
  checking: 'checking',
  done: 'uploaded',
  failed: 'failed',
  cancelled: 'cancelled',
};

function figuresText(transfer, fraction) {
  const { state, file, sent } = transfer;
  const percent = `${Math.floor(fraction * 100)} %`;
  const bytes = `${formatBytes(Math.round(sent))} of ${formatBytes(file.size)}`;
  switch (state) {
    case 'starting': return 'Starting…';
    case 'paused': return `Paused at ${percent} · ${bytes}`;
    case 'completing': return `${percent} · assembling the parts…`;
    case 'checking': return '100 % · checking the file…';
    case 'done': return `Uploaded · ${formatBytes(file.size)}`;
    case 'cancelled': return 'Cancelled: nothing was kept.';
    case 'failed': return `Failed: ${transfer.detail}`;
    default: {
      const speed = transfer.speed();
      if (!speed) return `${percent} · ${bytes}`;
      const left = Math.max(0, (file.size - sent) / speed);
      return `${percent} · ${bytes} · ${formatBytes(Math.round(speed))}/s · ${formatSeconds(left)} left`;
    }
  }
}

function formatSeconds(seconds) {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}
