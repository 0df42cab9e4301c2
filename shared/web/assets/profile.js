import { api } from './api.js';
import { errorSummary, h, notice, reveal, timeElement } from './dom.js';

// maxlength is the server's limit where it has one in characters (a phone number's separators
// are free, so its cap is only generous).
const EDITABLE = [
  { name: 'fullname', label: 'Full name', type: 'text', autocomplete: 'name', maxlength: 200, hint: 'Up to 200 characters.' },
  { name: 'phone_number', label: 'Phone number', type: 'tel', autocomplete: 'tel', maxlength: 40, hint: 'International form, e.g. +41 44 668 18 00.' },
  { name: 'web_url', label: 'Website', type: 'url', autocomplete: 'url', maxlength: 2048, hint: 'An http:// or https:// address, up to 2048 characters.' },
];

export function renderProfile({ main, signal, setTitle, onProfile }) {
  setTitle('Profile');
  const message = h('div', { class: 'messages', id: 'profile-message' });
  const email = h('input', { id: 'email', type: 'email', readOnly: true, 'aria-describedby': 'email-hint' });
  const fields = {};
  for (const spec of EDITABLE) {
    const input = h('input', {
      id: spec.name, name: spec.name, type: spec.type, autocomplete: spec.autocomplete, maxlength: spec.maxlength,
      'aria-describedby': `${spec.name}-hint ${spec.name}-error`,
    });
    const error = h('p', { id: `${spec.name}-error`, class: 'field-error', hidden: true });
    fields[spec.name] = { input, error, element: h('div', { class: 'field' },
      h('label', { for: spec.name }, spec.label), input,
      h('p', { id: `${spec.name}-hint`, class: 'hint' }, spec.hint), error) };
  }
  const since = h('p', { class: 'muted small' });
  const save = h('button', { type: 'submit', id: 'save-profile' }, 'Save');
  const controls = h('fieldset', { class: 'bare', disabled: true },
    h('div', { class: 'field' }, h('label', { for: 'email' }, 'Email'), email,
      h('p', { id: 'email-hint', class: 'hint' }, 'Your login; it cannot be changed here.')),
    EDITABLE.map((spec) => fields[spec.name].element),
    message, h('div', { class: 'actions' }, save));
  const form = h('form', { class: 'card narrow', id: 'profile-form', novalidate: true }, controls);
  main.append(h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, 'Profile')), since, form);

  const setError = (name, text) => {
    const { input, error } = fields[name];
    error.textContent = text ?? '';
    error.hidden = !text;
    if (text) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  };

  const show = (profile) => {
    email.value = profile.email;
    for (const spec of EDITABLE) fields[spec.name].input.value = profile[spec.name] ?? '';
    since.replaceChildren('Member since ', timeElement(profile.created_at), profile.is_admin ? ' · administrator' : '');
    onProfile(profile);
  };

  api('GET', '/users/me', { signal }).then((profile) => {
    show(profile);
    controls.disabled = false;
  }).catch((error) => {
    if (error?.name === 'AbortError' || signal.aborted) return;
    message.replaceChildren(notice('error', `Could not load your profile: ${error.message}`));
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    for (const spec of EDITABLE) setError(spec.name, null);
    const body = {};
    for (const spec of EDITABLE) body[spec.name] = fields[spec.name].input.value.trim();
    save.disabled = true;
    try {
      show(await api('PUT', '/users/me', { body, signal }));
      message.replaceChildren(notice('success', 'Profile saved.'));
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      // Every refused field at once (errors), or the one the answer names (field).
      const refused = (error.errors?.length ? error.errors : [{ field: error.field, message: error.message }])
        .filter((e) => fields[e.field]);
      if (refused.length) {
        const problems = refused.map((e) => {
          const text = withoutFieldName(e.message, e.field);
          setError(e.field, text);
          const spec = EDITABLE.find((f) => f.name === e.field);
          return { label: spec.label, text, control: fields[e.field].input };
        });
        message.replaceChildren(errorSummary(problems.length === 1
          ? 'Not saved. Correct this field:' : `Not saved. Correct these ${problems.length} fields:`, problems));
        reveal(problems[0].control);
      } else {
        message.replaceChildren(notice('error', `Not saved: ${error.message}`));
      }
    } finally {
      save.disabled = false;
    }
  });
}

/** "phone_number must be …" → "Must be …": the message sits under the field already. */
function withoutFieldName(message, field) {
  const rest = message.startsWith(`${field} `) ? message.slice(field.length + 1) : message;
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}
