// The first-run guide on an empty jobs page: what a job needs, the orders example to download,
// and a button that runs that example from start to end.

import { api } from './api.js';
import { h, notice } from './dom.js';
import { errorText, uploadArtifact } from './upload.js';

// examples/orders, served beside the dashboard's assets (see shared/web/src/lib.rs).
const EXAMPLE = [
  { asset: 'example-orders.csv', name: 'orders.csv', type: 'text/csv', kind: 'content', what: 'the content: 15 order lines exported from an ERP (";"-separated, German numbers and dates)' },
  { asset: 'example-orders.yaml', name: 'orders.yaml', type: 'application/yaml', kind: 'context', what: 'the context: which column goes to which field, and how each value is cleaned' },
  { asset: 'example-order_line.schema.json', name: 'order_line.schema.json', type: 'application/schema+json', kind: 'schema', what: 'the schema: what every output record must look like' },
];

const exampleUrl = (asset) => new URL(`./${asset}`, import.meta.url).href;

export function firstRunGuide(signal) {
  const status = h('p', { class: 'muted small', role: 'status', id: 'example-status' });
  const message = h('div', { class: 'messages' });
  const tryButton = h('button', { type: 'button', id: 'try-example' }, 'Try the example');
  tryButton.addEventListener('click', async () => {
    tryButton.disabled = true;
    message.replaceChildren();
    try {
      const ids = Object.fromEntries(await Promise.all(EXAMPLE.map(async (file) => {
        status.textContent = 'Uploading the example files…';
        const response = await fetch(exampleUrl(file.asset), { signal });
        if (!response.ok) throw new Error(`The example file ${file.name} could not be loaded (HTTP ${response.status}).`);
        const upload = new File([await response.blob()], file.name, { type: file.type });
        return [file.kind, await uploadArtifact(upload, file.kind, { signal })];
      })));
      status.textContent = 'Starting the job…';
      const body = { name: 'Orders example', content_artifact_ids: [ids.content], context_artifact_id: ids.context, schema_artifact_id: ids.schema };
      const job = await api('POST', '/jobs', { body, signal, idempotencyKey: crypto.randomUUID() });
      location.hash = `#/jobs/${encodeURIComponent(job.id)}`;
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      status.textContent = '';
      message.replaceChildren(notice('error', `The example could not be started: ${errorText(error)}`));
      tryButton.disabled = false;
    }
  });

  return h('section', { class: 'card guide', id: 'first-run-guide', 'aria-labelledby': 'guide-title' },
    h('h2', { id: 'guide-title' }, 'Start here: your first job'),
    h('p', {}, 'A job turns business files into clean JSON records. You give it:'),
    h('dl', { class: 'guide-terms' },
      h('dt', {}, 'Content files'),
      h('dd', {}, 'The data to transform: CSV, JSON, NDJSON, XML, fixed-width or SAP IDoc files.'),
      h('dt', {}, 'A context (optional)'),
      h('dd', {}, 'Mapping rules in YAML: which input column fills which output field, and how it is cleaned, e.g. ',
        h('code', {}, 'order_id: "{{ ORDER_NO | trim }}"'), '. Without one, records are converted as they are.'),
      h('dt', {}, 'A schema (optional)'),
      h('dd', {}, 'A JSON Schema every output record must satisfy. Records that do not are set aside in a reject report that says why, with the line.')),
    h('h3', {}, 'The orders example'),
    h('ul', { class: 'example-files' }, EXAMPLE.map((file) => h('li', {},
      h('a', { href: exampleUrl(file.asset), download: file.name, 'data-example': file.kind }, `Download ${file.name}`),
      h('span', { class: 'muted small' }, ` — ${file.what}`)))),
    h('div', { class: 'actions' }, tryButton,
      h('a', { class: 'button button-secondary', href: '#/jobs/new' }, 'Create a job with your own files')),
    status, message);
}
