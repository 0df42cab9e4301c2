// The HelixNet API client: bearer token from sessionStorage, every error as an ApiError carrying
// the API's {"error": {"code", "message", "field"}} body. The session itself lives in an HttpOnly
// cookie that only the auth routes see: a new tab, a reload or an expired access token gets a
// fresh token from it (POST /auth/refresh), so every tab shares one session, and logout ends it on
// the server.

const TOKEN_KEY = 'helix.token';
const EXPIRES_KEY = 'helix.token_expires_at';

export class ApiError extends Error {
  constructor(status, code, message, field, errors) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field ?? null;
    // Every refused field ([{field, message}]) when the API checked several at once.
    this.errors = errors ?? [];
  }
}

export const session = {
  get token() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const expiresAt = Number(sessionStorage.getItem(EXPIRES_KEY) || 0);
    return token && (!expiresAt || Date.now() < expiresAt) ? token : null;
  },
  get expired() {
    return sessionStorage.getItem(TOKEN_KEY) !== null && this.token === null;
  },
  save(token, expiresInSeconds) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (expiresInSeconds > 0) sessionStorage.setItem(EXPIRES_KEY, String(Date.now() + expiresInSeconds * 1000));
    else sessionStorage.removeItem(EXPIRES_KEY);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(EXPIRES_KEY);
  },
  /** A token from the session cookie, or null when there is no session to refresh. */
  async restore() {
    if (!hasSessionCookie()) return null;
    // One refresh at a time across this browser's tabs: each spends the cookie's token.
    return navigator.locks ? navigator.locks.request('helix-refresh', refreshFromCookie) : refreshFromCookie();
  },
};

/** The readable hint the server sets beside its HttpOnly refresh cookie. */
function hasSessionCookie() {
  return document.cookie.split(';').some((c) => c.trim() === 'helix_session=1');
}

async function refreshFromCookie() {
  if (session.token) return session.token;
  try {
    const response = await fetch('/api/v1/auth/refresh', { method: 'POST', headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (!response.ok) return null;
    const data = await response.json();
    session.save(data.access_token, data.expires_in);
    return data.access_token;
  } catch {
    return null;
  }
}

let unauthorizedHandler = () => {};

/** Called (once per failing request) when a request made with a token is answered 401. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * api('GET', '/jobs?limit=20') → parsed JSON. Options: body (sent as JSON), form (sent as
 * application/x-www-form-urlencoded), signal (AbortSignal), idempotencyKey (sent as the
 * Idempotency-Key header: the server answers a repeated request with its first answer).
 */
export async function api(method, path, options = {}) {
  try {
    return await request(method, path, options);
  } catch (error) {
    // An access token refused mid-session (it ran out, the session was refreshed elsewhere): one
    // more try with a token from the session cookie, if there is a session left.
    if (error instanceof ApiError && error.status === 401 && options.retried !== true && (await session.restore())) {
      return api(method, path, { ...options, retried: true });
    }
    if (error instanceof ApiError && error.status === 401 && error.hadToken) unauthorizedHandler(error);
    throw error;
  }
}

async function request(method, path, { body, form, signal, idempotencyKey } = {}) {
  const headers = { Accept: 'application/json' };
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  const token = session.token ?? (path.startsWith('/auth/') ? null : await session.restore());
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (form) {
    payload = new URLSearchParams(form);
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers, body: payload, signal, cache: 'no-store' });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'The HelixNet API could not be reached. Check your connection and try again.');
  }
  const data = await readBody(response);
  if (response.ok) return data;
  const detail = data?.error ?? {};
  const error = new ApiError(
    response.status,
    detail.code ?? `http_${response.status}`,
    detail.message ?? `The API answered ${response.status} ${response.statusText}.`,
    detail.field,
    detail.errors,
  );
  if (response.status === 401 && token) {
    session.clear();
    error.hadToken = true;
  }
  throw error;
}

export async function login(username, password) {
  const data = await api('POST', '/auth/token', { form: { grant_type: 'password', username, password } });
  session.save(data.access_token, data.expires_in);
  return data;
}

/** Ends the session on the server (every tab's tokens stop working), then forgets it here. */
export async function logout() {
  session.clear();
  try {
    await fetch('/api/v1/auth/logout', { method: 'POST', cache: 'no-store' });
  } catch {
    // Offline: the session cookie is gone from this page's view; the server ends it when it expires.
  }
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** A fresh presigned GET for an artifact (they expire within minutes, so fetch one per use). */
export function downloadLink(artifactId, signal) {
  return api('GET', `/artifacts/${encodeURIComponent(artifactId)}/download`, { signal });
}

/**
 * The URL of a live event stream (`/jobs/{id}/events`, `/pipelines/{id}/events`): on the page's own
 * origin, or where the page says the events are served (in the cloud, the events function's URL).
 */
export function eventsUrl(path) {
  const origin = document.querySelector('meta[name="helix-events-origin"]')?.content ?? '';
  return `${origin}/api/v1${path}`;
}
