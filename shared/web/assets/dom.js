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

// Times carry their zone (CET, GMT+2, UTC…): a list read in one place and discussed in another
// must not be an hour off without saying so.
const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
});
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function formatTime(text) {
  if (!text) return '—';
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : dateTime.format(date);
}

export function timeElement(text) {
  return text ? h('time', { datetime: text }, formatTime(text)) : h('span', { class: 'muted' }, '—');
}

/** "3 minutes ago", "yesterday": how long ago `text` was, seen from `now`. */
export function formatRelative(text, now = Date.now()) {
  const date = new Date(text);
  if (!text || Number.isNaN(date.getTime())) return '—';
  const seconds = Math.round((date.getTime() - now) / 1000);
  const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [7, 'day'], [4.35, 'week'], [12, 'month'], [Infinity, 'year']];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return dateTime.format(date);
}

/** A time shown as "5 minutes ago", with the exact time and its zone beside it on wide screens. */
export function relativeTimeElement(text, now) {
  if (!text) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: text, title: formatTime(text) },
    formatRelative(text, now), h('span', { class: 'exact-time muted small' }, formatTime(text)));
}

/** The zone the page shows times in, e.g. "Europe/Zurich (CET)". */
export function timeZoneLabel() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const short = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(new Date())
    .find((p) => p.type === 'timeZoneName')?.value;
  return short && short !== zone ? `${zone} (${short})` : zone;
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

export const STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];

export function statusBadge(status) {
  const known = STATUSES.includes(status) ? status.toLowerCase() : 'unknown';
  return h('span', { class: `badge badge-${known}` }, status);
}

/** A completed job that read records and wrote none did not do its work: say so, not green. */
export function producedNothing(job) {
  return job.status === 'COMPLETED' && job.records_out === 0 && job.records_in > 0;
}

/** How far a pending or running job has got, as far as the job tells: "Running for 12 s, attempt 2". */
export function activity(job, now = Date.now()) {
  const since = job.status === 'RUNNING' ? job.started_at ?? job.created_at : job.created_at;
  const elapsed = formatDuration(since, new Date(now).toISOString());
  const attempt = job.attempts > 1 ? `, attempt ${job.attempts}` : '';
  const verb = job.status === 'RUNNING' ? 'Running' : 'Waiting to start';
  return `${verb}${elapsed ? ` for ${elapsed}` : ''}${attempt}`;
}

export function jobBadge(job) {
  if (producedNothing(job)) {
    return h('span', { class: 'badge badge-nothing-out', title: `0 of ${job.records_in} records came out` }, 'COMPLETED — nothing out');
  }
  return statusBadge(job.status);
}

/**
 * Wraps a wide table in a scrolling box that says when columns are hidden to the right (or left),
 * and keeps saying so as the box is resized or scrolled.
 */
export function scrollBox(label, content) {
  const hint = h('p', { class: 'scroll-hint muted small', hidden: true, 'aria-hidden': 'true' });
  // Focusable so that the keyboard can scroll it; named apart from the section around it, which
  // has the label's name already (two landmarks of one name are ambiguous).
  const box = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': `${label} table` }, content);
  const update = () => {
    const hidden = box.scrollWidth - box.clientWidth;
    const right = hidden - box.scrollLeft > 1;
    const left = box.scrollLeft > 1;
    box.classList.toggle('more-right', right);
    box.classList.toggle('more-left', left);
    hint.hidden = hidden <= 1;
    if (right) hint.textContent = 'More columns to the right: scroll sideways →';
    else if (left) hint.textContent = '← More columns to the left';
  };
  box.addEventListener('scroll', update, { passive: true });
  new ResizeObserver(update).observe(box);
  const observer = new MutationObserver(update);
  observer.observe(box, { childList: true, subtree: true });
  return { element: h('div', { class: 'scroll-box' }, hint, box), box, update };
}

/** Brings a form control into view and gives it the focus (an error summary's links use it). */
export function reveal(control) {
  control.scrollIntoView({ block: 'center' });
  control.focus({ preventScroll: true });
}

/**
 * The summary above a form's errors: what went wrong and, per field, a button that moves to it.
 * `problems`: [{ label, text, control }].
 */
export function errorSummary(intro, problems) {
  return notice('error', h('p', { class: 'summary-intro' }, intro),
    problems.length ? h('ul', { class: 'error-summary' }, problems.map((p) => h('li', {},
      h('button', { type: 'button', class: 'button-link', onclick: () => reveal(p.control) }, p.label),
      p.text ? `: ${p.text}` : null))) : null);
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
