// Pipelines: the list of a team's pipelines (name, version, last run, inbox), a new pipeline made
// from a context and a schema (uploaded or pasted, as for a new job), and "Save as pipeline" on a
// finished job's page.

import { api, ApiError, query } from './api.js';
import { errorSummary, h, jobBadge, notice, relativeTimeElement, reveal, scrollBox } from './dom.js';
import { fileSection } from './new-job.js';
import { currentTeam, currentTeamId, onTeamChange, teamLabel, whenTeamsLoaded } from './teams.js';
import { errorText, uploadArtifact } from './upload.js';

// The last run of each listed pipeline is one request per pipeline: the first ones only.
const LAST_RUN_LOOKUPS = 50;

export function renderPipelines({ main, signal, setTitle }) {
  setTitle('Pipelines');
  const teamName = h('span', { class: 'team-name' });
  const message = h('div', { class: 'messages', id: 'pipelines-message' });
  const archived = h('input', { type: 'checkbox', id: 'show-archived' });
  const rows = h('tbody');
  const table = h('table', { class: 'data-table responsive-table', id: 'pipelines-table' },
    h('caption', { class: 'visually-hidden' }, 'Pipelines of the team'),
    h('thead', {}, h('tr', {}, ['Pipeline', 'Version', 'Last run', 'Inbox', 'Created']
      .map((c, i) => h('th', { scope: 'col', class: i === 1 ? 'num' : null }, c)))),
    rows);
  const list = scrollBox('Pipelines', table);
  main.append(
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, 'Pipelines ', h('span', { class: 'muted' }, '· ', teamName))),
    h('p', { class: 'lead' }, 'A pipeline is a saved, versioned mapping: it runs on files dropped into its inbox, on a schedule, or when you start it.'),
    h('div', { class: 'toolbar' }, h('div', { class: 'field inline' }, archived, h('label', { for: 'show-archived' }, 'Show archived pipelines'))),
    message, list.element, newPipelineForm(signal));

  async function load() {
    const team = currentTeam();
    teamName.textContent = team ? teamLabel(team) : '';
    message.replaceChildren();
    try {
      const { items } = await api('GET', `/pipelines${query({ team_id: currentTeamId(), include_archived: archived.checked ? 'true' : '' })}`, { signal });
      rows.replaceChildren(...items.map(pipelineRow));
      if (items.length === 0) {
        rows.append(h('tr', { class: 'empty' }, h('td', { colspan: 5 }, 'This team has no pipelines yet: make one below, or save a finished job as a pipeline from its page.')));
      }
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      rows.replaceChildren();
      message.replaceChildren(notice('error', `Could not list the pipelines: ${error.message}`));
    }
  }

  let lookups = 0;
  function pipelineRow(pipeline) {
    const lastRun = h('span', { class: 'muted' }, '—');
    if (lookups < LAST_RUN_LOOKUPS) {
      lookups += 1;
      api('GET', `/jobs${query({ pipeline_id: pipeline.id, limit: 1 })}`, { signal }).then(({ items }) => {
        if (items[0]) lastRun.replaceChildren(h('span', { class: 'status-cell' }, jobBadge(items[0]), relativeTimeElement(items[0].created_at)));
        else lastRun.textContent = 'never run';
      }).catch(() => {
        // The list stands without it; the pipeline's page says why, if it is a real problem.
      });
    }
    return h('tr', { 'data-pipeline-id': pipeline.id, class: pipeline.archived_at ? 'muted' : null },
      h('td', { 'data-label': 'Pipeline' }, h('a', { href: `#/pipelines/${encodeURIComponent(pipeline.id)}` }, pipeline.name),
        pipeline.archived_at ? h('span', { class: 'muted small' }, ' (archived)') : null),
      h('td', { 'data-label': 'Version', class: 'num' }, `v${pipeline.current_version}`),
      h('td', { 'data-label': 'Last run' }, lastRun),
      h('td', { 'data-label': 'Inbox' }, h('code', {}, pipeline.inbox)),
      h('td', { 'data-label': 'Created' }, relativeTimeElement(pipeline.created_at)));
  }

  archived.addEventListener('change', () => { lookups = 0; load(); });
  const unsubscribe = onTeamChange(() => { lookups = 0; load(); });
  signal.addEventListener('abort', unsubscribe, { once: true });
  whenTeamsLoaded().then(() => signal.aborted || load());
}

/** The Idempotency-Key of a pipeline request: kept while the same request is sent again. */
let pendingCreation = null;
function creationKey(body) {
  const text = JSON.stringify(body);
  if (pendingCreation?.text !== text) pendingCreation = { text, key: crypto.randomUUID() };
  return pendingCreation.key;
}

/**
 * The documents of a pipeline version from a form's context and schema sections (a file, uploaded
 * now for `teamId`, or pasted text) and its auto_map box: `{ok, body}` or `{ok: false, problems}`.
 */
export async function versionDocuments(sections, autoMap, signal, teamId = currentTeamId()) {
  const body = {};
  const problems = [];
  for (const [key, section] of Object.entries(sections)) {
    const pasted = section.pasted.value;
    if (pasted.trim() && section.entries.length) {
      section.setError(`Give the ${key} as a file or pasted, not both.`, 'both');
      problems.push({ label: section.title, text: 'a file or pasted, not both', control: section.pasted });
    } else if (pasted.trim() && key === 'schema') {
      try {
        body.schema = JSON.parse(pasted);
      } catch (error) {
        section.setError(`The pasted schema is not valid JSON: ${error.message}`, 'paste');
        problems.push({ label: section.title, text: 'not valid JSON', control: section.pasted });
      }
    } else if (pasted.trim()) {
      body[key] = pasted;
    }
  }
  if (problems.length) return { ok: false, problems };
  for (const [key, section] of Object.entries(sections)) {
    const entry = section.entries[0];
    if (!entry) continue;
    if (!entry.artifactId) {
      try {
        entry.setState('busy', 'Uploading…');
        entry.artifactId = await uploadArtifact(entry.file, key, { signal, teamId, onProgress: entry.setProgress, onPhase: (text) => entry.setState('busy', text) });
        entry.setState('done', 'Uploaded and checked');
      } catch (error) {
        if (error?.name === 'AbortError' || signal.aborted) throw error;
        entry.setState('failed', errorText(error));
        section.setError(errorText(error), 'input');
        problems.push({ label: `${section.title} (${entry.file.name})`, text: errorText(error), control: section.input });
        continue;
      }
    }
    body[`${key}_artifact_id`] = entry.artifactId;
  }
  if (autoMap?.checked) body.options = { auto_map: true };
  return problems.length ? { ok: false, problems } : { ok: true, body };
}

/** The context and schema sections of a pipeline form: one such form per page (their ids are fixed). */
export function documentSections(onFilesChanged) {
  return {
    context: fileSection({
      kind: 'context', multiple: false, legend: 'Context (optional)', title: 'Context',
      hint: 'Mapping rules as YAML.', accept: '.yaml,.yml,.txt', pasteLabel: 'Or paste the context (YAML)', onFilesChanged,
    }),
    schema: fileSection({
      kind: 'schema', multiple: false, legend: 'Target JSON Schema (optional)', title: 'Target JSON Schema',
      hint: 'Every output record is validated against it.', accept: '.json,application/json,application/schema+json',
      pasteLabel: 'Or paste the JSON Schema', onFilesChanged,
    }),
  };
}

function newPipelineForm(signal) {
  const message = h('div', { class: 'messages', id: 'new-pipeline-message' });
  const sections = documentSections(() => message.replaceChildren());
  const name = h('input', { id: 'pipeline-name', type: 'text', maxlength: 100, required: true, autocomplete: 'off', 'aria-describedby': 'pipeline-name-error' });
  const nameError = h('p', { id: 'pipeline-name-error', class: 'field-error', hidden: true });
  const patterns = h('input', { id: 'pipeline-patterns', type: 'text', autocomplete: 'off', placeholder: 'ORDERS_*.csv', 'aria-describedby': 'pipeline-patterns-hint pipeline-patterns-error' });
  const patternsError = h('p', { id: 'pipeline-patterns-error', class: 'field-error', hidden: true });
  const autoMap = h('input', { id: 'pipeline-auto-map', type: 'checkbox' });
  const submit = h('button', { type: 'submit', id: 'create-pipeline' }, 'Create pipeline');
  const form = h('form', { class: 'card', id: 'new-pipeline-form', novalidate: true, 'aria-labelledby': 'new-pipeline-title' },
    h('h2', { id: 'new-pipeline-title' }, 'New pipeline'),
    h('div', { class: 'field' }, h('label', { for: 'pipeline-name' }, 'Name'), name, nameError),
    sections.context.element, sections.schema.element,
    h('div', { class: 'field' }, h('label', { for: 'pipeline-patterns' }, 'Inbox file names (optional)'), patterns,
      h('p', { id: 'pipeline-patterns-hint', class: 'hint' }, 'Globs separated by commas, e.g. ORDERS_*.csv: a file dropped into the inbox under another name is recorded and ignored. Empty: every name.'),
      patternsError),
    h('div', { class: 'field inline' }, autoMap, h('label', { for: 'pipeline-auto-map' }, 'Fill in the required fields the context leaves unmapped (auto_map)')),
    message, h('div', { class: 'actions' }, submit));

  const show = (control, slot, text) => {
    slot.textContent = text ?? '';
    slot.hidden = !text;
    if (text) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    show(name, nameError, null);
    show(patterns, patternsError, null);
    for (const section of Object.values(sections)) section.setError(null);
    if (!name.value.trim()) {
      show(name, nameError, 'Enter a name.');
      message.replaceChildren(errorSummary('The pipeline was not created:', [{ label: 'Name', text: 'Enter a name.', control: name }]));
      reveal(name);
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Creating…';
    try {
      const documents = await versionDocuments(sections, autoMap, signal);
      if (!documents.ok) {
        message.replaceChildren(errorSummary('The pipeline was not created:', documents.problems));
        reveal(documents.problems[0].control);
        return;
      }
      const body = { name: name.value.trim(), team_id: currentTeamId(), ...documents.body };
      const globs = patterns.value.split(',').map((p) => p.trim()).filter(Boolean);
      if (globs.length) body.patterns = globs;
      const pipeline = await api('POST', '/pipelines', { body, signal, idempotencyKey: creationKey(body) });
      pendingCreation = null;
      location.hash = `#/pipelines/${encodeURIComponent(pipeline.id)}`;
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      const field = error.field ?? '';
      const at = field === 'name' ? [name, nameError, 'Name'] : field.startsWith('patterns') ? [patterns, patternsError, 'Inbox file names'] : null;
      if (at) {
        show(at[0], at[1], error.message);
        message.replaceChildren(errorSummary('The pipeline was not created:', [{ label: at[2], text: error.message, control: at[0] }]));
      } else {
        const section = sections[field.split('_')[0]];
        section?.setError(error.message);
        message.replaceChildren(notice('error', `The pipeline was not created: ${error.message}`));
      }
    } finally {
      submit.disabled = false;
      submit.textContent = 'Create pipeline';
    }
  });
  return form;
}

/**
 * "Save as pipeline" for a finished job: a name, then a pipeline at version 1 with the job's
 * context, schema, lookups and auto_map, in the job's team.
 */
export function savePipelineForm(job, signal) {
  const inputs = job.inputs ?? {};
  const name = h('input', { id: 'save-pipeline-name', type: 'text', maxlength: 100, value: (job.name || 'Pipeline').slice(0, 100), autocomplete: 'off' });
  const message = h('div', { class: 'messages', id: 'save-pipeline-message' });
  const save = h('button', { type: 'submit', id: 'save-pipeline' }, 'Save pipeline');
  const form = h('form', { class: 'card', id: 'save-pipeline-form', novalidate: true, 'aria-labelledby': 'save-pipeline-title' },
    h('h2', { id: 'save-pipeline-title' }, 'Save as pipeline'),
    h('p', { class: 'muted' }, 'Keeps this job’s context and schema as a versioned pipeline, to run again on new files: from its inbox, on a schedule, or by hand.'),
    h('div', { class: 'copy-row' }, h('label', { for: 'save-pipeline-name', class: 'visually-hidden' }, 'Pipeline name'), name, save),
    message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    if (!name.value.trim()) {
      message.replaceChildren(notice('error', 'Enter a name for the pipeline.'));
      name.focus();
      return;
    }
    const body = { name: name.value.trim(), team_id: job.team_id };
    if (inputs.context_artifact_id) body.context_artifact_id = inputs.context_artifact_id;
    if (inputs.schema_artifact_id) body.schema_artifact_id = inputs.schema_artifact_id;
    if (inputs.lookup_artifact_ids?.length) body.lookup_artifact_ids = inputs.lookup_artifact_ids;
    if (job.auto_map) body.options = { auto_map: true };
    save.disabled = true;
    try {
      const pipeline = await api('POST', '/pipelines', { body, signal, idempotencyKey: creationKey(body) });
      pendingCreation = null;
      location.hash = `#/pipelines/${encodeURIComponent(pipeline.id)}`;
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      const text = error instanceof ApiError && error.status === 403
        ? 'Your role in this job’s team does not allow making pipelines: ask an admin.'
        : error.message;
      message.replaceChildren(notice('error', `The pipeline was not saved: ${text}`));
    } finally {
      save.disabled = false;
    }
  });
  return form;
}
