// A team's API keys: the list (prefix, scopes, last use), a new key shown once with a copy button,
// and revocation.

import { api } from './api.js';
import { errorSummary, formatCount, h, notice, relativeTimeElement, reveal, timeElement } from './dom.js';
import { copyField, currentTeam, onTeamChange, refusal, teamPage, whenTeamsLoaded } from './teams.js';

// pipelines:run keys are drop credentials bound to one pipeline: made from the pipeline's page.
const SCOPES = [
  { value: 'jobs:read', label: 'jobs:read', hint: 'Read the team’s jobs and download their results.' },
  { value: 'jobs:write', label: 'jobs:write', hint: 'Submit, cancel and retry jobs.' },
  { value: 'artifacts:write', label: 'artifacts:write', hint: 'Upload files.' },
];

export function renderKeys({ main, signal, setTitle }) {
  const page = teamPage(main, 'keys', 'API keys', setTitle);
  const message = h('div', { class: 'messages', id: 'keys-message' });
  const created = h('div', { id: 'new-key' });
  const name = h('input', { id: 'key-name', type: 'text', maxlength: 100, required: true, 'aria-describedby': 'key-name-hint key-name-error' });
  const nameError = h('p', { id: 'key-name-error', class: 'field-error', hidden: true });
  const scopeBoxes = SCOPES.map((scope) => ({
    scope,
    input: h('input', { type: 'checkbox', id: `scope-${scope.value.replace(':', '-')}`, value: scope.value, checked: scope.value === 'jobs:read' }),
  }));
  const scopesError = h('p', { id: 'key-scopes-error', class: 'field-error', hidden: true });
  const expires = h('input', { id: 'key-expires', type: 'date', 'aria-describedby': 'key-expires-hint key-expires-error' });
  const expiresError = h('p', { id: 'key-expires-error', class: 'field-error', hidden: true });
  const createButton = h('button', { type: 'submit', id: 'create-key' }, 'Create key');
  const form = h('form', { class: 'card', id: 'key-form', novalidate: true },
    h('h2', {}, 'New key'),
    h('div', { class: 'field' }, h('label', { for: 'key-name' }, 'Name'), name,
      h('p', { id: 'key-name-hint', class: 'hint' }, 'What the key is for, e.g. “ERP nightly export”. Up to 100 characters.'), nameError),
    h('fieldset', { class: 'field', 'aria-describedby': 'key-scopes-error' }, h('legend', {}, 'Scopes'),
      scopeBoxes.map(({ scope, input }) => h('div', { class: 'checkbox' }, input,
        h('label', { for: input.id }, h('code', {}, scope.label), ' — ', scope.hint))), scopesError),
    h('div', { class: 'field' }, h('label', { for: 'key-expires' }, 'Expires (optional)'), expires,
      h('p', { id: 'key-expires-hint', class: 'hint' }, 'The key stops working at the start of this day (UTC). Empty: never.'), expiresError),
    h('div', { class: 'actions' }, createButton), created);
  const rows = h('tbody');
  const table = h('table', { class: 'data-table', id: 'keys-table' },
    h('caption', { class: 'visually-hidden' }, 'API keys of the team'),
    h('thead', {}, h('tr', {}, ['Name', 'Prefix', 'Scopes', 'Created', 'Last used', 'Uses', 'Status', 'Actions']
      .map((c) => h('th', { scope: 'col' }, c)))),
    rows);
  const empty = h('p', { class: 'muted', id: 'keys-empty', hidden: true }, 'This team has no API keys yet.');
  page.body.append(message, h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'API keys table' }, table), empty, form);

  const base = () => `/teams/${encodeURIComponent(currentTeam().id)}/api-keys`;
  const fail = (error, what) => {
    if (error?.name === 'AbortError' || signal.aborted) return;
    message.replaceChildren(notice('error', `${what}: ${refusal(error, 'managing API keys')}`));
  };

  async function load() {
    if (!page.show()) return;
    try {
      const { items } = await api('GET', base(), { signal });
      rows.replaceChildren(...items.map(keyRow));
      empty.hidden = items.length > 0;
    } catch (error) {
      rows.replaceChildren();
      fail(error, 'Could not list the keys');
    }
  }

  function keyRow(key) {
    const revoked = Boolean(key.revoked_at);
    const expired = !revoked && key.expires_at && new Date(key.expires_at) <= new Date();
    const status = revoked ? h('span', {}, 'Revoked ', timeElement(key.revoked_at)) : expired ? 'Expired' : 'Active';
    const revoke = revoked ? null : h('button', { type: 'button', class: 'button-danger', 'data-revoke': key.id, 'aria-label': `Revoke ${key.name}`, onclick: async () => {
      if (!window.confirm(`Revoke the key “${key.name}”? Programs using it are refused within a second.`)) return;
      message.replaceChildren();
      try {
        await api('DELETE', `${base()}/${encodeURIComponent(key.id)}`, { signal });
        message.replaceChildren(notice('success', `The key “${key.name}” was revoked.`));
      } catch (error) {
        fail(error, 'The key was not revoked');
        return;
      }
      load();
    } }, 'Revoke');
    return h('tr', { 'data-key': key.id, class: revoked ? 'muted' : undefined },
      h('td', {}, key.name), h('td', {}, h('code', {}, `${key.prefix}…`)),
      h('td', {}, key.scopes.map((s) => h('code', { class: 'scope' }, s))),
      h('td', {}, timeElement(key.created_at)),
      h('td', {}, key.last_used_at ? relativeTimeElement(key.last_used_at) : h('span', { class: 'muted' }, 'never')),
      h('td', { class: 'num' }, formatCount(key.use_count)), h('td', {}, status), h('td', {}, revoke));
  }

  const setError = (input, error, text) => {
    error.textContent = text ?? '';
    error.hidden = !text;
    if (text) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    created.replaceChildren();
    const fields = { name: [name, nameError, 'Name'], scopes: [scopeBoxes[0].input, scopesError, 'Scopes'], expires_at: [expires, expiresError, 'Expires'] };
    for (const [input, error] of Object.values(fields)) setError(input, error, null);
    const body = { name: name.value.trim(), scopes: scopeBoxes.filter((b) => b.input.checked).map((b) => b.scope.value) };
    const problems = [];
    if (!body.name) problems.push(['name', 'Enter a name.']);
    if (!body.scopes.length) problems.push(['scopes', 'Choose at least one scope.']);
    if (expires.value) body.expires_at = `${expires.value}T00:00:00Z`;
    if (problems.length) {
      show(problems);
      return;
    }
    createButton.disabled = true;
    try {
      const key = await api('POST', base(), { body, signal });
      created.replaceChildren(notice('success', `The key “${key.name}” was created.`),
        copyField('new-key-value', 'Your new key', key.key, 'Copy it now and keep it secret: it is not shown again. Send it as “Authorization: Bearer <key>”.'));
      name.value = '';
      load();
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      const field = error.field?.startsWith('scopes') ? 'scopes' : error.field;
      if (fields[field]) show([[field, error.message]]);
      else fail(error, 'No key was created');
    } finally {
      createButton.disabled = false;
    }

    function show(list) {
      const summary = list.map(([field, text]) => {
        const [input, error, label] = fields[field];
        setError(input, error, text);
        return { label, text, control: input };
      });
      message.replaceChildren(errorSummary('The key was not created:', summary));
      reveal(summary[0].control);
    }
  });

  const unsubscribe = onTeamChange(() => { created.replaceChildren(); message.replaceChildren(); load(); });
  signal.addEventListener('abort', unsubscribe, { once: true });
  whenTeamsLoaded().then(() => signal.aborted || load());
}
