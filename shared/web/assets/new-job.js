import { api } from './api.js';
import { errorSummary, formatBytes, h, notice, reveal } from './dom.js';
import { currentTeamId } from './teams.js';
import { errorText, takeFinishedUploads, uploadArtifact } from './upload.js';

/**
 * The Idempotency-Key of a job request: the same while the same request is submitted again after
 * a failure (a lost answer must not start a second job), new for any other request.
 */
let pendingSubmission = null;
function submissionKey(body) {
  const text = JSON.stringify(body);
  if (pendingSubmission?.text !== text) pendingSubmission = { text, key: crypto.randomUUID() };
  return pendingSubmission.key;
}

const PARALLEL_UPLOADS = 3;

export function renderNewJob({ main, signal, setTitle }) {
  setTitle('New job');
  // A summary of errors speaks of the files as they were: once they change, it is out of date.
  const onFilesChanged = () => formMessage.replaceChildren();
  const sections = {
    content: fileSection({
      kind: 'content', multiple: true, legend: 'Content files', title: 'Content files',
      hint: 'The files to transform: CSV, JSON, NDJSON, XML, fixed-width or IDoc. At least one.',
      accept: '.csv,.tsv,.json,.ndjson,.jsonl,.xml,.txt,.dat,.idoc,text/*,application/json,application/xml',
      onFilesChanged,
    }),
    context: fileSection({
      kind: 'context', multiple: false, legend: 'Context (optional)', title: 'Context',
      hint: 'Mapping rules as YAML. Without a context, records are converted as they are.',
      accept: '.yaml,.yml,.txt', pasteLabel: 'Or paste the context (YAML)', onFilesChanged,
    }),
    schema: fileSection({
      kind: 'schema', multiple: false, legend: 'Target JSON Schema (optional)', title: 'Target JSON Schema',
      hint: 'Every output record is validated against it; records that fail go to the reject report.',
      accept: '.json,application/json,application/schema+json', pasteLabel: 'Or paste the JSON Schema', onFilesChanged,
    }),
  };
  const name = h('input', { id: 'job-name', name: 'name', type: 'text', maxlength: 200, autocomplete: 'off', 'aria-describedby': 'job-name-error' });
  const nameError = h('p', { id: 'job-name-error', class: 'field-error', hidden: true });
  const autoMap = h('input', { id: 'auto-map', name: 'auto_map', type: 'checkbox', 'aria-describedby': 'auto-map-hint auto-map-error' });
  const autoMapError = h('p', { id: 'auto-map-error', class: 'field-error', hidden: true });
  const autoMapField = h('div', { class: 'field' },
    h('div', { class: 'field inline' }, autoMap, h('label', { for: 'auto-map' }, 'Fill in the required fields the context leaves unmapped (auto_map)')),
    h('p', { id: 'auto-map-hint', class: 'muted small' }, 'Needs a context and a schema. The fields it proposes are listed on the job page, with the completed context.'),
    autoMapError);
  const formMessage = h('div', { class: 'messages', id: 'form-message' });
  const submit = h('button', { type: 'submit', id: 'submit-job' }, 'Upload and start job');
  const controls = h('fieldset', { class: 'bare' },
    h('div', { class: 'field' }, h('label', { for: 'job-name' }, 'Job name (optional)'), name, nameError),
    sections.content.element, sections.context.element, sections.schema.element, autoMapField);
  const form = h('form', { id: 'new-job-form', novalidate: true }, controls, formMessage, h('div', { class: 'actions' }, submit));

  main.append(h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, 'New job')),
    h('p', { class: 'lead' }, 'Files go straight from your browser to storage; the job starts once every file is checked.'),
    form);

  // Files a resumed upload finished (the upload panel's "Start a job with …") join the form.
  const addFinishedUploads = () => {
    for (const upload of takeFinishedUploads()) sections[upload.kind]?.addUploaded(upload);
  };
  addFinishedUploads();
  window.addEventListener('helix:uploads-finished', addFinishedUploads, { signal });

  // A file dropped beside a drop zone must not make the browser leave the page to show it.
  for (const type of ['dragover', 'drop']) {
    window.addEventListener(type, (event) => {
      if (!event.target.closest?.('.dropzone')) event.preventDefault();
    }, { signal });
  }

  // Each field: how its error is shown, under which name the summary lists it, where it moves to.
  const fields = {
    name: { label: 'Job name', control: name, show: (text) => showFieldError(name, nameError, text) },
    autoMap: { label: 'auto_map', control: autoMap, show: (text) => showFieldError(autoMap, autoMapError, text) },
  };
  for (const [key, section] of Object.entries(sections)) {
    fields[key] = { label: section.title, control: section.input, show: section.setError };
  }

  function clearErrors() {
    formMessage.replaceChildren();
    for (const field of Object.values(fields)) field.show(null);
  }

  /** The summary of `problems`; the first one's control is returned, to be revealed once enabled. */
  function showSummary(intro, problems) {
    formMessage.replaceChildren(errorSummary(intro, problems));
    return problems[0]?.control ?? null;
  }

  /** The API refused the job because of one field: show it there (on the file's row for a file). */
  function showServerError(error) {
    const key = fieldFor(error.field);
    if (!key) return null;
    const section = sections[key];
    const entry = section && /artifact_id/.test(error.field) ? section.entryFor(error.field) : null;
    if (entry) {
      entry.setState('invalid', `${error.message} Remove this file, or choose a corrected one.`);
      section.setError(null);
      section.input.setAttribute('aria-invalid', 'true');
      return { label: `${fields[key].label} (${entry.file.name})`, text: error.message, control: section.input };
    }
    const where = section ? (section.pasted?.value.trim() ? 'paste' : 'input') : undefined;
    fields[key].show(error.message, where);
    return { label: fields[key].label, text: error.message, control: where === 'paste' ? section.pasted : fields[key].control };
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    const request = checkForm();
    if (!request) return;
    // Moved to once the form is enabled again: a disabled control cannot take the focus.
    let revealAfter = null;
    controls.disabled = true;
    submit.disabled = true;
    submit.textContent = 'Uploading…';
    try {
      const entries = [...sections.content.entries, ...sections.context.entries, ...sections.schema.entries];
      const failed = await uploadAll(entries);
      if (failed.length > 0) {
        revealAfter = showSummary(failed.length === 1
          ? 'One file could not be uploaded. Remove or replace it and submit again:'
          : `${failed.length} files could not be uploaded. Remove or replace them and submit again:`,
        failed.map((entry) => ({ label: entry.file.name, text: entry.error, control: sections[entry.kind].input })));
        return;
      }
      submit.textContent = 'Starting the job…';
      const body = {
        team_id: currentTeamId(),
        content_artifact_ids: sections.content.entries.map((e) => e.artifactId),
        ...request,
      };
      if (sections.context.entries[0]) body.context_artifact_id = sections.context.entries[0].artifactId;
      if (sections.schema.entries[0]) body.schema_artifact_id = sections.schema.entries[0].artifactId;
      const job = await api('POST', '/jobs', { body, signal, idempotencyKey: submissionKey(body) });
      pendingSubmission = null;
      location.hash = `#/jobs/${encodeURIComponent(job.id)}`;
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      const problem = showServerError(error);
      if (problem) {
        revealAfter = showSummary('The job was not started. Fix this field and submit again:', [problem]);
      } else {
        formMessage.replaceChildren(notice('error', `The job was not started: ${errorText(error)}`));
      }
    } finally {
      if (!signal.aborted) {
        controls.disabled = false;
        submit.disabled = false;
        submit.textContent = 'Upload and start job';
        if (revealAfter) reveal(revealAfter);
      }
    }
  });

  /** The job request's inline parts, or null (with the errors shown) if the form is incomplete. */
  function checkForm() {
    const request = {};
    const problems = [];
    const fail = (field, text, control, where) => {
      fields[field].show(text, where);
      problems.push({ label: fields[field].label, text, control });
    };
    if (name.value.trim()) request.name = name.value.trim();
    if (sections.content.entries.length === 0) {
      fail('content', 'Add at least one content file.', sections.content.input, 'input');
    }
    const contextText = sections.context.pasted.value;
    if (contextText.trim()) {
      if (sections.context.entries.length) fail('context', 'Give the context as a file or pasted, not both.', sections.context.pasted, 'both');
      else request.context = contextText;
    }
    const schemaText = sections.schema.pasted.value;
    if (schemaText.trim()) {
      if (sections.schema.entries.length) {
        fail('schema', 'Give the schema as a file or pasted, not both.', sections.schema.pasted, 'both');
      } else {
        try {
          request.schema = JSON.parse(schemaText);
        } catch (error) {
          fail('schema', `The pasted schema is not valid JSON: ${error.message}`, sections.schema.pasted, 'paste');
        }
      }
    }
    if (autoMap.checked) {
      const hasContext = sections.context.entries.length > 0 || contextText.trim();
      const hasSchema = sections.schema.entries.length > 0 || schemaText.trim();
      if (!hasContext || !hasSchema) fail('autoMap', 'auto_map needs a context and a schema: it adds the fields the schema requires and the context leaves unmapped.', autoMap);
      else request.auto_map = true;
    }
    if (problems.length) {
      reveal(showSummary(problems.length === 1 ? 'The job was not started. Fix this field:' : `The job was not started. Fix these ${problems.length} fields:`, problems));
      return null;
    }
    return request;
  }

  /** Uploads every file not uploaded yet, a few at a time; resolves to the entries that failed. */
  async function uploadAll(entries) {
    const queue = entries.filter((e) => !e.artifactId);
    const failed = [];
    const worker = async () => {
      for (let entry = queue.shift(); entry; entry = queue.shift()) {
        try {
          entry.setState('busy', 'Waiting…');
          entry.artifactId = await uploadArtifact(entry.file, entry.kind, {
            signal,
            onProgress: entry.setProgress,
            onPhase: (text) => entry.setState('busy', text),
          });
          entry.setState('done', 'Uploaded and checked');
        } catch (error) {
          if (error?.name === 'AbortError' || signal.aborted) throw error;
          entry.error = errorText(error);
          failed.push(entry);
          entry.setState('failed', entry.error);
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_UPLOADS }, worker));
    return failed;
  }
}

function fieldFor(apiField) {
  if (!apiField) return null;
  if (apiField === 'name') return 'name';
  if (apiField === 'auto_map') return 'autoMap';
  if (apiField.startsWith('content')) return 'content';
  if (apiField.startsWith('context')) return 'context';
  if (apiField.startsWith('schema')) return 'schema';
  return null;
}

function showFieldError(control, slot, text) {
  slot.textContent = text ?? '';
  slot.hidden = !text;
  if (text) control.setAttribute('aria-invalid', 'true');
  else control.removeAttribute('aria-invalid');
}

/**
 * A drop zone with a file picker, the chosen files with their progress, and maybe a paste box. Its
 * ids derive from `kind`: one section of a kind per page (the pipeline forms use it too).
 */
export function fileSection({ kind, multiple, legend, title, hint, accept, pasteLabel, onFilesChanged }) {
  const ids = { input: `${kind}-files`, hint: `${kind}-hint`, error: `${kind}-error`, paste: `${kind}-text` };
  const entries = [];
  const list = h('ul', { class: 'file-list', 'aria-label': `Chosen ${kind} files` });
  const error = h('p', { id: ids.error, class: 'field-error', hidden: true });
  const input = h('input', {
    id: ids.input, type: 'file', multiple, accept,
    'aria-describedby': `${ids.hint} ${ids.error}`,
  });
  const zone = h('div', { class: 'dropzone', 'data-kind': kind },
    h('p', {}, multiple ? 'Drag and drop files here, or choose them:' : 'Drag and drop a file here, or choose it:'),
    h('label', { for: ids.input, class: 'visually-hidden' }, `${legend}: choose ${multiple ? 'files' : 'a file'}`),
    input);
  const pasted = pasteLabel
    ? h('textarea', { id: ids.paste, rows: 6, spellcheck: 'false', class: 'code', 'aria-describedby': ids.error })
    : null;

  const addFiles = (files) => {
    // An empty file can only be refused: say so now, before anything is uploaded.
    const empty = files.filter((file) => file.size === 0);
    const chosen = (multiple ? files : files.slice(0, 1)).filter((file) => file.size > 0);
    if (empty.length) {
      const names = empty.map((file) => file.name).join(', ');
      setError(`${names} ${empty.length === 1 ? 'is' : 'are'} empty (0 bytes) and ${empty.length === 1 ? 'was' : 'were'} not added: choose a file with content.`, 'input');
    }
    if (chosen.length === 0) return;
    if (!multiple) {
      entries.splice(0);
      list.replaceChildren();
    }
    for (const file of chosen) {
      if (entries.some((e) => e.file.name === file.name && e.file.size === file.size && e.file.lastModified === file.lastModified)) continue;
      const entry = fileEntry(file, kind, () => {
        entries.splice(entries.indexOf(entry), 1);
        entry.element.remove();
        if (!entries.some((e) => e.element.dataset.state === 'invalid')) input.removeAttribute('aria-invalid');
        onFilesChanged();
        input.focus();
      });
      entries.push(entry);
      list.append(entry.element);
      onFilesChanged();
    }
    if (entries.length && !empty.length) setError(null);
  };

  input.addEventListener('change', () => {
    addFiles([...input.files]);
    input.value = '';
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    addFiles([...(event.dataTransfer?.files ?? [])]);
  });

  /** Shows `text` (null clears) at the file picker ('input'), the paste box ('paste') or both. */
  const setError = (text, where = 'both') => {
    error.textContent = text ?? '';
    error.hidden = !text;
    const marked = { input: [input], paste: [pasted], both: [input, pasted] }[where];
    for (const control of [input, pasted]) {
      if (!control) continue;
      if (text && marked.includes(control)) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    }
  };

  /** A file already uploaded (a resumed upload): listed as done, not sent again. */
  const addUploaded = ({ artifactId, name, size }) => {
    if (!multiple) {
      entries.splice(0);
      list.replaceChildren();
    }
    const entry = fileEntry({ name, size, lastModified: 0 }, kind, () => {
      entries.splice(entries.indexOf(entry), 1);
      entry.element.remove();
      onFilesChanged();
      input.focus();
    });
    entry.artifactId = artifactId;
    entry.setProgress(1);
    entry.setState('done', 'Uploaded and checked (resumed)');
    entries.push(entry);
    list.append(entry.element);
    onFilesChanged();
    setError(null);
  };

  /** The chosen file an API field names: `content_artifact_ids[1]` is the second. */
  const entryFor = (field) => {
    const index = Number(/\d+/.exec(field)?.[0] ?? 0);
    return entries[index] ?? entries[0] ?? null;
  };

  const element = h('fieldset', { class: 'file-section', id: `${kind}-section` },
    h('legend', {}, legend),
    h('p', { id: ids.hint, class: 'hint' }, hint),
    zone, list,
    pasted ? h('div', { class: 'field' }, h('label', { for: ids.paste }, pasteLabel), pasted) : null,
    error);
  return { element, entries, input, pasted, setError, entryFor, addUploaded, title };
}

function fileEntry(file, kind, onRemove) {
  const progress = h('progress', { max: 1, value: 0, 'aria-label': `Upload of ${file.name}` });
  const status = h('span', { class: 'file-status', role: 'status' }, 'Ready');
  const remove = h('button', { type: 'button', class: 'button-link', 'aria-label': `Remove ${file.name}`, onclick: onRemove }, 'Remove');
  const element = h('li', { class: 'file', 'data-state': 'ready' },
    h('span', { class: 'file-name' }, file.name),
    h('span', { class: 'file-size muted' }, formatBytes(file.size)),
    progress, status, remove);
  return {
    file,
    kind,
    element,
    artifactId: null,
    setProgress: (fraction) => { progress.value = fraction; },
    setState: (state, text) => {
      element.dataset.state = state;
      status.textContent = text;
      if (state === 'failed') progress.value = 0;
    },
    error: null,
  };
}
