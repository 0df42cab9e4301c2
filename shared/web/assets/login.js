import { ApiError, login } from './api.js';
import { h, notice } from './dom.js';

export function renderLogin({ main, setTitle, flash, returnTo }) {
  setTitle('Log in');
  const message = h('div', { id: 'login-message' }, flash ? notice(flash.kind, flash.text) : null);
  const username = h('input', {
    id: 'username', name: 'username', type: 'email', autocomplete: 'username', required: true,
    'data-autofocus': true, 'aria-describedby': 'login-message',
  });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit' }, 'Log in');

  const form = h('form', { class: 'card login-card', novalidate: true },
    h('h1', { tabindex: -1 }, 'Log in to HelixNet'),
    message,
    h('div', { class: 'field' }, h('label', { for: 'username' }, 'Email'), username),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
    h('div', { class: 'actions' }, submit),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!username.value.trim() || !password.value) {
      message.replaceChildren(notice('error', 'Enter your email and password.'));
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    try {
      await login(username.value.trim(), password.value);
      location.hash = returnTo || '#/jobs';
    } catch (error) {
      const text = error instanceof ApiError && error.status === 401
        ? 'Incorrect email or password.'
        : error.message;
      message.replaceChildren(notice('error', text));
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Log in';
    }
  });

  main.append(h('section', { class: 'login' }, form));
}
