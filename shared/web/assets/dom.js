// Small DOM helpers. Every text reaches the page through textContent or attributes, never as HTML,
// so nothing an API returns (file names, error messages, records) can inject markup.

/** h('a', {href: '#/jobs', class: 'link', onclick: fn}, 'text', childNode, [more children]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      el.className = value;
    } else if (name === 'for') {
      el.htmlFor = value;
    } else if (['value', 'checked', 'disabled', 'readOnly', 'multiple', 'required', 'hidden'].includes(name)) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function formatTime(text) {
  if (!text) return '—';
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : dateTime.format(date);
}

export function timeElement(text) {
  return text ? h('time', { datetime: text }, formatTime(text)) : h('span', { class: 'muted' }, '—');
}

export function formatDuration(from, to) {
  if (!from || !to) return null;
  const ms = new Date(to) - new Date(from);
  if (!(ms >= 0)) return null;
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatCount(n) {
  return n === null || n === undefined ? '—' : n.toLocaleString();
}

export const STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED'];

export function statusBadge(status) {
  const known = STATUSES.includes(status) ? status.toLowerCase() : 'unknown';
  return h('span', { class: `badge badge-${known}` }, status);
}

export function isActive(status) {
  return status === 'PENDING' || status === 'RUNNING';
}

/** A message box; role=alert for errors so screen readers announce them. */
export function notice(kind, ...content) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...content);
}

/**
 * Calls `step` again and again while it returns true, waiting longer after each call
 * (initial × factor, capped at max) and stopping for good when `signal` aborts.
 */
export function pollWithBackoff(signal, step, { initial = 1000, factor = 1.6, max = 15000 } = {}) {
  let delay = initial;
  let timer = null;
  const tick = async () => {
    timer = null;
    if (signal.aborted) return;
    let again = true;
    try {
      again = await step();
    } catch (error) {
      if (signal.aborted || error?.name === 'AbortError') return;
      again = true;
      delay = Math.min(max, delay * 2);
    }
    if (again && !signal.aborted) {
      timer = setTimeout(tick, delay);
      delay = Math.min(max, delay * factor);
    }
  };
  signal.addEventListener('abort', () => timer && clearTimeout(timer), { once: true });
  timer = setTimeout(tick, delay);
  delay = Math.min(max, delay * factor);
}

export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException('aborted', 'AbortError'));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new DOMException('aborted', 'AbortError'));
    }, { once: true });
  });
}
