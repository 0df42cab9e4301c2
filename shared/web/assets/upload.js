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
 * once AVAILABLE. `onProgress(fraction)` follows the PUT; `onPhase(text)` names each step. Big
 * files go up in parts (the server says so), each checked by the storage against its SHA-256.
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
  uploadsRunning += 1;
  try {
    onPhase('Uploading…');
    if (ticket.upload_id) {
      await putParts(ticket, file, onProgress, signal);
    } else {
      await put(ticket.upload_url, ticket, file.slice(0, file.size, contentType), onProgress, signal);
    }
  } finally {
    uploadsRunning -= 1;
  }
  onProgress(1);
  onPhase('Checking…');
  await waitUntilAvailable(ticket.artifact_id, signal);
  return ticket.artifact_id;
}

// Leaving the page drops what is still going up: the browser asks first.
let uploadsRunning = 0;
window.addEventListener('beforeunload', (event) => {
  if (uploadsRunning > 0) event.preventDefault();
});

const PARALLEL_PARTS = 4;
const PART_TRIES = 3;

async function sha256Base64(blob) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  return btoa(String.fromCharCode(...digest));
}

/**
 * A multipart upload: parts go up `PARALLEL_PARTS` at a time, each URL bound to the part's
 * SHA-256, each part retried alone; cancelling aborts the upload on the server.
 */
async function putParts(ticket, file, onProgress, signal) {
  const id = encodeURIComponent(ticket.artifact_id);
  const sent = new Array(ticket.part_count).fill(0);
  const report = () => onProgress(sent.reduce((a, b) => a + b, 0) / file.size);
  const etags = new Array(ticket.part_count);
  let next = 0;
  const worker = async () => {
    while (next < ticket.part_count) {
      const number = ++next;
      const start = (number - 1) * ticket.part_size;
      const part = file.slice(start, Math.min(start + ticket.part_size, file.size));
      const checksum = await sha256Base64(part);
      for (let attempt = 1; ; attempt += 1) {
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
          const refused = error instanceof ApiError && error.status < 500;
          if (error?.name === 'AbortError' || refused || attempt >= PART_TRIES) throw error;
          await sleep(500 * 2 ** attempt, signal);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, ticket.part_count) }, worker));
  } catch (error) {
    // Nothing half-uploaded is left behind: the parts stored so far are dropped.
    api('DELETE', `/artifacts/${id}/upload`).catch(() => {});
    throw error;
  }
  await api('POST', `/artifacts/${id}/complete`, {
    body: { parts: etags.map((etag, i) => ({ part_number: i + 1, etag })) },
    signal,
  });
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
  if (error instanceof ApiError || error instanceof UploadError) return error.message;
  return `Unexpected error: ${error?.message ?? error}`;
}
