// The review page of a suggest-mapping job's draft: for each target field the proposal, its
// alternatives with their confidence, evidence and sample values, accept / change / reject, and
// the value map (editable). Confirm saves the confirmed context (a context artifact, or a new
// version of a pipeline) and puts the confirmed pairs in the team's mapping memory, which the
// team's next suggestions consult first.

import { api, ApiError, downloadLink } from './api.js';
import { h, notice } from './dom.js';

/** Sample values shown per column. */
const SAMPLES = 5;

export function renderReview({ main, params, signal, setTitle }) {
  const id = params[0];
  setTitle('Review the draft');
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading the draft…'));
  main.append(
    h('p', {}, h('a', { href: `#/jobs/${encodeURIComponent(id)}` }, '← Back to the job')),
    h('h1', { tabindex: '-1' }, 'Review the draft'),
    body,
  );
  load(id, body, signal).catch((error) => {
    if (error?.name === 'AbortError') return;
    body.replaceChildren(notice('error', error.message || String(error)));
  });
}

async function load(id, body, signal) {
  const job = await api('GET', `/jobs/${encodeURIComponent(id)}`, { signal });
  if (job.kind !== 'suggest-mapping') {
    body.replaceChildren(notice('error', 'Only a suggest-mapping job has a draft to review.'));
    return;
  }
  if (job.status !== 'COMPLETED' || !job.error_report_artifact_id) {
    body.replaceChildren(notice('info', `The job is ${job.status}: its draft can be reviewed once it has completed.`));
    return;
  }
  const link = await downloadLink(job.error_report_artifact_id, signal);
  let response;
  try {
    response = await fetch(link.url, { signal, cache: 'no-store' });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new Error('The draft\'s report could not be read from storage (network or CORS error).');
  }
  if (!response.ok) throw new Error(`Storage answered HTTP ${response.status} for the draft's report.`);
  const report = await response.json();
  const pipelines = await api('GET', `/pipelines?team_id=${encodeURIComponent(job.team_id)}`, { signal })
    .then((page) => page.items ?? [])
    .catch(() => []);
  body.replaceChildren(reviewForm(job, report, pipelines, signal));
}

function samplesOf(report, name) {
  const column = report.columns?.find((c) => c.name === name);
  return column ? column.signature.values.slice(0, SAMPLES) : [];
}

function samples(values) {
  return values.length ? values.join(', ') : '—';
}

function percent(confidence) {
  return typeof confidence === 'number' ? `${Math.round(confidence * 100)}%` : '—';
}

/** A target value as typed: a number or a boolean where the field's other targets are. */
function targetValue(text, numeric) {
  const trimmed = text.trim();
  if (numeric && trimmed !== '' && !Number.isNaN(Number(trimmed))) return Number(trimmed);
  if (trimmed === 'true' || trimmed === 'false') return trimmed === 'true';
  return text;
}

function reviewForm(job, report, pipelines, signal) {
  const fields = report.fields.map((field, index) => fieldReview(report, field, index));
  const mapped = report.fields.filter((f) => f.source).length;
  const remembered = report.fields.filter((f) => f.remembered).length;
  const result = h('div', { id: 'confirm-result', 'aria-live': 'polite' });
  const target = h('select', { id: 'confirm-target' },
    h('option', { value: '' }, 'a context artifact'),
    pipelines.map((p) => h('option', { value: p.id }, `a new version of pipeline ${p.name}`)));
  const confirm = h('button', { type: 'submit', id: 'confirm-draft' }, 'Confirm');
  const form = h('form', { id: 'review-form', novalidate: true },
    h('section', { class: 'card', 'aria-labelledby': 'review-summary-title' },
      h('h2', { id: 'review-summary-title' }, report.source),
      h('p', {}, `${mapped} of ${report.fields.length} target fields proposed from ${report.records_sampled} sampled records`,
        remembered ? `, ${remembered} of them from the team's mapping memory.` : '.'),
      h('p', { class: 'muted' }, 'Accept a proposal, change it to another column or reject it, and correct the value maps. Fields you leave as they are keep the draft\'s proposal. Confirming saves the context and remembers the confirmed columns for your team\'s next files from this source.')),
    fields.map((f) => f.element),
    h('section', { class: 'card', 'aria-labelledby': 'confirm-title' },
      h('h2', { id: 'confirm-title' }, 'Confirm'),
      h('label', { for: 'confirm-target' }, 'Save the confirmed context as'),
      target,
      h('div', { class: 'actions' }, confirm),
      result));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    confirm.disabled = true;
    result.replaceChildren(h('p', { class: 'muted' }, 'Saving…'));
    const body = { decisions: fields.map((f) => f.decision()).filter(Boolean) };
    if (target.value) body.pipeline_id = target.value;
    try {
      const saved = await api('POST', `/jobs/${encodeURIComponent(job.id)}/draft/confirm`, { body, signal });
      const where = saved.pipeline_id
        ? h('a', { href: `#/pipelines/${encodeURIComponent(saved.pipeline_id)}` }, `version ${saved.pipeline_version} of the pipeline`)
        : h('span', {}, 'context artifact ', h('code', {}, saved.context_artifact_id));
      result.replaceChildren(notice('success',
        h('p', {}, 'Confirmed: saved as ', where, `. ${saved.remembered.length} field${saved.remembered.length === 1 ? '' : 's'} remembered for your team`,
          saved.unmapped.length ? `; ${saved.unmapped.length} left unmapped.` : '.')),
        h('pre', { class: 'confirmed-context', id: 'confirmed-context', tabindex: '0', 'aria-label': 'The confirmed context' }, saved.context));
    } catch (error) {
      if (error?.name === 'AbortError') return;
      const which = error instanceof ApiError && error.field ? ` (${error.field})` : '';
      result.replaceChildren(notice('error', `${error.message}${which}`));
    } finally {
      confirm.disabled = false;
    }
  });
  return form;
}

function fieldReview(report, field, index) {
  const key = `field-${index}`;
  const proposal = field.candidates[0];
  const hasProposal = Boolean(field.source);
  const name = (suffix) => `${key}-${suffix}`;
  const accept = h('input', { type: 'radio', name: name('decision'), id: name('accept'), value: 'accept', checked: hasProposal, disabled: !hasProposal });
  const change = h('input', { type: 'radio', name: name('decision'), id: name('change'), value: 'change' });
  const reject = h('input', { type: 'radio', name: name('decision'), id: name('reject'), value: 'reject', checked: !hasProposal });
  const columns = h('select', { id: name('source') },
    (report.columns ?? []).map((c) => h('option', { value: c.name, selected: c.name === (field.candidates[1]?.source ?? field.source) }, c.name)));
  columns.addEventListener('change', () => { change.checked = true; });

  const entries = field.value_map?.entries ?? [];
  const numeric = entries.length > 0 && entries.every((e) => typeof e.target === 'number');
  const mapRows = h('tbody', {});
  let rowCount = 0;
  const addRow = (source = '', targetText = '') => {
    const n = rowCount++;
    const sourceInput = h('input', { type: 'text', id: name(`map-${n}-source`), value: source, 'aria-label': `Source value ${n + 1} of ${field.target}` });
    const targetInput = h('input', { type: 'text', id: name(`map-${n}-target`), value: targetText, 'aria-label': `Target value ${n + 1} of ${field.target}` });
    const row = h('tr', { class: 'map-row' },
      h('td', {}, sourceInput),
      h('td', {}, targetInput),
      h('td', {}, h('button', { type: 'button', class: 'button-link', onclick: () => { row.remove(); edited = true; } }, `Remove ${source || 'value'}`)));
    sourceInput.addEventListener('input', () => { edited = true; });
    targetInput.addEventListener('input', () => { edited = true; });
    mapRows.append(row);
  };
  let edited = false;
  for (const e of entries) addRow(e.source, typeof e.target === 'string' ? e.target : JSON.stringify(e.target));
  const unmapped = field.value_map?.unmapped ?? [];

  const alternatives = field.candidates.filter((c) => c.source !== field.source);
  const element = h('section', { class: 'card review-field', id: key, 'aria-labelledby': name('title') },
    h('h2', { id: name('title') }, field.target, field.required ? h('span', { class: 'muted small' }, ' (required)') : null),
    hasProposal
      ? h('p', { class: 'proposal' }, 'Proposed: ', h('strong', {}, field.source), ` (${percent(field.confidence)})`,
        field.remembered ? [' ', h('span', { class: 'badge badge-completed' }, 'remembered')] : null,
        h('br', {}), h('span', { class: 'muted small' }, proposal?.evidence ?? ''),
        h('br', {}), h('span', { class: 'small' }, `Sample values: ${samples(samplesOf(report, field.source))}`))
      : h('p', { class: 'proposal muted' }, 'No column is clearly this field\'s: it stays unmapped unless you pick one.'),
    alternatives.length
      ? h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': `Other candidates for ${field.target}` }, h('table', { class: 'alternatives' },
        h('caption', { class: 'muted small' }, `Other candidates for ${field.target}`),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Column'), h('th', { scope: 'col' }, 'Confidence'),
          h('th', { scope: 'col' }, 'Evidence'), h('th', { scope: 'col' }, 'Sample values'))),
        h('tbody', {}, alternatives.map((c) => h('tr', {},
          h('td', {}, c.source), h('td', {}, percent(c.confidence)), h('td', { class: 'small' }, c.evidence),
          h('td', { class: 'small' }, samples(samplesOf(report, c.source))))))))
      : null,
    h('fieldset', { class: 'decision' },
      h('legend', {}, `Decision for ${field.target}`),
      h('div', { class: 'choice' }, accept, h('label', { for: name('accept') }, hasProposal ? `Accept ${field.source}` : 'Accept (nothing proposed)')),
      h('div', { class: 'choice' }, change, h('label', { for: name('change') }, 'Change to'), ' ',
        h('label', { for: name('source'), class: 'visually-hidden' }, `Column for ${field.target}`), columns),
      h('div', { class: 'choice' }, reject, h('label', { for: name('reject') }, 'Reject: leave it unmapped'))),
    h('details', { class: 'value-map', open: entries.length > 0 || unmapped.length > 0 },
      h('summary', {}, `Value map (${entries.length} ${entries.length === 1 ? 'value' : 'values'}${unmapped.length ? `, ${unmapped.length} without a target` : ''})`),
      unmapped.length ? h('p', { class: 'small' }, `No target value yet for: ${unmapped.join(', ')}. Records with them are rejected until you add one.`) : null,
      h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': `Value map of ${field.target}` }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Source value'), h('th', { scope: 'col' }, 'Target value'), h('th', { scope: 'col' }, 'Remove'))),
        mapRows)),
      h('button', { type: 'button', class: 'button-secondary', onclick: () => { addRow(); edited = true; } }, `Add a value to ${field.target}'s map`)));

  const valueMap = () => {
    const map = {};
    for (const row of mapRows.querySelectorAll('tr')) {
      const [source, target] = row.querySelectorAll('input');
      if (source.value.trim() !== '') map[source.value.trim()] = targetValue(target.value, numeric);
    }
    return map;
  };
  const decision = () => {
    if (reject.checked) return hasProposal ? { field: field.target, decision: 'reject' } : null;
    if (change.checked) {
      const d = { field: field.target, decision: 'change', source: columns.value };
      if (edited) d.value_map = valueMap();
      return d;
    }
    if (accept.checked) return edited ? { field: field.target, decision: 'accept', value_map: valueMap() } : { field: field.target, decision: 'accept' };
    return null;
  };
  return { element, decision };
}
