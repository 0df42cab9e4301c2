// Teams: the switcher in the header (the chosen team is remembered in this browser and is the team
// that jobs are listed, uploaded and submitted for), the members page, the page an invitation link
// opens, and the tabs that the team pages share.

import { api } from './api.js';
import { h, notice, timeElement } from './dom.js';

const TEAM_KEY = 'helix.team';
export const ROLES = ['viewer', 'member', 'admin', 'owner'];

let teams = [];
const listeners = new Set();
// Settled when the header's list is first loaded: the team pages wait for it.
let markLoaded;
let loaded = new Promise((resolve) => { markLoaded = resolve; });

/** The id of the chosen team, or undefined (the API then takes the caller's personal team). */
export function currentTeamId() {
  return localStorage.getItem(TEAM_KEY) ?? undefined;
}

/** The chosen team as GET /teams lists it (name, role, personal), once the list is loaded. */
export function currentTeam() {
  return teams.find((t) => t.id === currentTeamId()) ?? teams.find((t) => t.personal) ?? teams[0] ?? null;
}

export function teamLabel(team) {
  return team.personal ? `${team.name} (personal)` : team.name;
}

/** Calls `listener(team)` whenever another team is chosen. Returns the unsubscribe function. */
export function onTeamChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function choose(id) {
  localStorage.setItem(TEAM_KEY, id);
  for (const listener of listeners) listener(currentTeam());
}

/**
 * Fills the header's team select from GET /teams and keeps the choice. A remembered team the user
 * has left (removed, or another account on this browser) falls back to the personal team.
 */
export async function loadTeamSwitcher(select, { signal } = {}) {
  const data = await api('GET', '/teams', { signal });
  teams = data.items ?? [];
  if (!teams.some((t) => t.id === currentTeamId())) {
    const fallback = teams.find((t) => t.personal) ?? teams[0];
    if (fallback) localStorage.setItem(TEAM_KEY, fallback.id);
    else localStorage.removeItem(TEAM_KEY);
  }
  select.replaceChildren(...teams.map((t) => h('option', { value: t.id }, teamLabel(t))));
  select.value = currentTeamId() ?? '';
  select.disabled = teams.length < 2;
  markLoaded();
  return teams;
}

export function initTeamSwitcher(select, onChange) {
  select.addEventListener('change', () => {
    choose(select.value);
    onChange(currentTeam());
  });
}

/** Forgets the loaded list (logout); the remembered choice stays for the next login. */
export function resetTeams(select) {
  teams = [];
  select.replaceChildren();
  loaded = new Promise((resolve) => { markLoaded = resolve; });
}

/** Resolves once the header's team list is loaded (it loads alongside the first page). */
export function whenTeamsLoaded() {
  return loaded;
}

const TABS = [
  { id: 'members', href: '#/team/members', label: 'Members' },
  { id: 'keys', href: '#/team/keys', label: 'API keys' },
  { id: 'audit', href: '#/team/audit', label: 'Audit' },
  { id: 'limits', href: '#/team/limits', label: 'Plan limits' },
];

/** The heading and tabs of a team page; `body` receives the page. Waits for the team list. */
export function teamPage(main, tab, title, setTitle) {
  setTitle(title);
  const name = h('span', { class: 'team-name' });
  const heading = h('h1', { tabindex: -1 }, title, ' ', h('span', { class: 'muted' }, '· ', name));
  const tabs = h('nav', { class: 'tabs', 'aria-label': 'Team pages' }, h('ul', {}, TABS.map((t) =>
    h('li', {}, h('a', { href: t.href, 'aria-current': t.id === tab ? 'page' : undefined }, t.label)))));
  const body = h('div', { class: 'team-body' });
  main.append(h('div', { class: 'page-head' }, heading), tabs, body);
  const show = () => {
    const team = currentTeam();
    name.textContent = team ? teamLabel(team) : '';
    return team;
  };
  return { body, show };
}

/** What a refusal means on a team page. */
export function refusal(error, what) {
  if (error.status === 403) {
    const role = currentTeam()?.role;
    return `Your role${role ? ` (${role})` : ''} in this team does not allow ${what}: ask an admin or the owner.`;
  }
  return error.message;
}

/** A read-only field with the text and a copy button: for secrets shown once. */
export function copyField(id, label, value, hint) {
  const input = h('input', { id, type: 'text', readOnly: true, value, class: 'secret', 'aria-describedby': `${id}-hint` });
  const status = h('span', { class: 'copy-status small', role: 'status' });
  const copy = h('button', { type: 'button', class: 'button-secondary', 'data-copy': id, onclick: async () => {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      // No clipboard permission: select the text for a manual copy instead.
      input.select();
      status.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
      return;
    }
    status.textContent = 'Copied.';
  } }, 'Copy');
  return h('div', { class: 'field copy-field' }, h('label', { for: id }, label),
    h('div', { class: 'copy-row' }, input, copy, status), h('p', { id: `${id}-hint`, class: 'hint' }, hint));
}

function roleSelect(id, value, { includeOwner = true, label } = {}) {
  const options = ROLES.filter((r) => includeOwner || r !== 'owner');
  return h('select', { id, 'aria-label': label }, options.map((r) => h('option', { value: r, selected: r === value }, r)));
}

export function renderMembers({ main, signal, setTitle }) {
  const page = teamPage(main, 'members', 'Members', setTitle);
  const message = h('div', { class: 'messages', id: 'members-message' });
  const invited = h('div', { id: 'invitation' });
  const role = roleSelect('invite-role', 'member', { includeOwner: false });
  const inviteButton = h('button', { type: 'submit', id: 'invite' }, 'Create invitation link');
  const inviteForm = h('form', { class: 'card', id: 'invite-form' },
    h('h2', {}, 'Invite someone'),
    h('p', { class: 'hint' }, 'The link works once, for 7 days, for whoever opens it while logged in. It is shown only now.'),
    h('div', { class: 'field' }, h('label', { for: 'invite-role' }, 'Role'), role),
    h('div', { class: 'actions' }, inviteButton), invited);
  const rows = h('tbody');
  const table = h('table', { class: 'data-table', id: 'members-table' },
    h('caption', { class: 'visually-hidden' }, 'Members of the team'),
    h('thead', {}, h('tr', {}, ['Member', 'Role', 'Joined', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
    rows);
  page.body.append(message, h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Members table' }, table), inviteForm);

  const fail = (error, what) => {
    if (error?.name === 'AbortError' || signal.aborted) return;
    message.replaceChildren(notice('error', `${what}: ${refusal(error, what.toLowerCase())}`));
  };

  async function load() {
    const team = page.show();
    if (!team) return;
    inviteForm.hidden = team.personal;
    try {
      const { items } = await api('GET', `/teams/${encodeURIComponent(team.id)}/members`, { signal });
      rows.replaceChildren(...items.map((member) => memberRow(team, member)));
    } catch (error) {
      fail(error, 'Could not list the members');
    }
  }

  function memberRow(team, member) {
    const id = `role-${member.user_id}`;
    const select = roleSelect(id, member.role, { label: `Role of ${member.user_id}` });
    select.addEventListener('change', async () => {
      message.replaceChildren();
      try {
        await api('POST', `/teams/${encodeURIComponent(team.id)}/members`, { body: { user_id: member.user_id, role: select.value }, signal });
        message.replaceChildren(notice('success', `${member.user_id} is now ${select.value}.`));
      } catch (error) {
        select.value = member.role;
        fail(error, 'The role was not changed');
        return;
      }
      load();
    });
    const remove = h('button', { type: 'button', class: 'button-danger', 'data-remove': member.user_id, onclick: async () => {
      if (!window.confirm(`Remove ${member.user_id} from ${team.name}? They lose access on their next request.`)) return;
      message.replaceChildren();
      try {
        await api('DELETE', `/teams/${encodeURIComponent(team.id)}/members`, { body: { user_id: member.user_id }, signal });
        message.replaceChildren(notice('success', `${member.user_id} was removed.`));
      } catch (error) {
        fail(error, 'The member was not removed');
        return;
      }
      load();
    } }, 'Remove');
    return h('tr', {}, h('td', {}, h('code', {}, member.user_id)), h('td', {}, select),
      h('td', {}, timeElement(member.joined_at)), h('td', {}, remove));
  }

  inviteForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const team = currentTeam();
    message.replaceChildren();
    invited.replaceChildren();
    inviteButton.disabled = true;
    try {
      const invitation = await api('POST', `/teams/${encodeURIComponent(team.id)}/invitations`, { body: { role: role.value }, signal });
      const link = `${location.origin}${location.pathname}#/invitations/${encodeURIComponent(invitation.token)}`;
      invited.replaceChildren(notice('success', `Invitation for a ${invitation.role} created. It expires `, timeElement(invitation.expires_at), '.'),
        copyField('invitation-link', 'Invitation link', link, 'Send it to the person you invite. It is not shown again.'));
    } catch (error) {
      fail(error, 'No invitation was created');
    } finally {
      inviteButton.disabled = false;
    }
  });

  const unsubscribe = onTeamChange(() => { invited.replaceChildren(); message.replaceChildren(); load(); });
  signal.addEventListener('abort', unsubscribe, { once: true });
  whenTeamsLoaded().then(() => signal.aborted || load());
}

/** The page an invitation link opens: join the team, logged in as whoever opened it. */
export function renderInvitation({ main, params: [token], signal, setTitle, refreshTeams }) {
  setTitle('Join a team');
  const message = h('div', { class: 'messages', id: 'invitation-message' });
  const join = h('button', { type: 'button', id: 'accept-invitation' }, 'Join the team');
  main.append(h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, 'Join a team')),
    h('div', { class: 'card narrow' }, h('p', {}, 'You were invited to a HelixNet team. Joining adds it to your team switcher.'),
      message, h('div', { class: 'actions' }, join)));
  join.addEventListener('click', async () => {
    join.disabled = true;
    message.replaceChildren();
    try {
      const joined = await api('POST', `/invitations/${encodeURIComponent(token)}/accept`, { signal });
      localStorage.setItem(TEAM_KEY, joined.id);
      await refreshTeams();
      message.replaceChildren(notice('success', `You joined ${joined.name} as ${joined.role}.`));
      join.hidden = true;
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      message.replaceChildren(notice('error', error.status === 404
        ? 'This invitation does not exist, was used already or has expired. Ask for a new link.'
        : `Could not join: ${error.message}`));
      join.disabled = false;
    }
  });
}
