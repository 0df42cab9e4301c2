// Browser → S3 uploads: register the file with the API, PUT it to the presigned URL with exactly
// the signed headers, then wait until the platform has checked the object (AVAILABLE).

import { api, ApiError } from './api.js';
import { sleep } from './dom.js';

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

/**
 * Uploads one file as an artifact of `kind` (content, context or schema) and resolves to its id
 * once AVAILABLE. `onProgress(fraction)` follows the PUT; `onPhase(text)` names each step.
 */
export async function uploadArtifact(file, kind, { signal, onProgress = () => {}, onPhase = () => {} } = {}) {
  if (file.size === 0) throw new UploadError(`${file.name} is empty.`);
  const contentType = contentTypeOf(file);
  onPhase('Requesting an upload URL…');
  const ticket = await api('POST', '/artifacts/upload', {
    body: { filename: file.name, content_type: contentType, size_bytes: file.size, kind },
    signal,
    idempotencyKey: crypto.randomUUID(),
  });
  onPhase('Uploading…');
  await put(ticket, file.slice(0, file.size, contentType), onProgress, signal);
  onProgress(1);
  onPhase('Checking…');
  await waitUntilAvailable(ticket.artifact_id, signal);
  return ticket.artifact_id;
}

function put(ticket, blob, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(ticket.method || 'PUT', ticket.upload_url);
    for (const [name, value] of Object.entries(ticket.headers ?? {})) {
      if (!BROWSER_HEADERS.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
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
  if (error instanceof ApiError || error instanceof UploadError) return error.message;
  return `Unexpected error: ${error?.message ?? error}`;
}
