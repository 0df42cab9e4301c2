// The dashboard shell: hash routes, the login guard, the navigation bar.

import { api, onUnauthorized, logout, session } from './api.js';
import { renderJob } from './job.js';
import { renderJobs } from './jobs.js';
import { renderLogin } from './login.js';
import { renderNewJob } from './new-job.js';
import { renderPipeline } from './pipeline.js';
import { renderPipelines } from './pipelines.js';
import { renderProfile } from './profile.js';
import { renderReview } from './review.js';
import { renderAudit } from './audit.js';
import { renderKeys } from './keys.js';
import { renderTeamUsage } from './team-usage.js';
import { initTeamSwitcher, loadTeamSwitcher, renderInvitation, renderMembers, resetTeams } from './teams.js';
import { offerUnfinishedUploads, viewUploadsRunning } from './upload.js';
import { renderUsage } from './usage.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const whoami = document.getElementById('whoami');
const teamSwitcher = document.getElementById('team-switcher');

const ROUTES = [
  { pattern: /^#\/login$/, view: renderLogin, public: true },
  { pattern: /^#\/jobs\/new$/, view: renderNewJob, section: 'new' },
  { pattern: /^#\/jobs\/([^/?]+)\/review$/, view: renderReview, section: 'jobs' },
  { pattern: /^#\/jobs\/([^/?]+)$/, view: renderJob, section: 'jobs' },
  { pattern: /^#\/jobs(?:\?(.*))?$/, view: renderJobs, section: 'jobs' },
  { pattern: /^#\/pipelines$/, view: renderPipelines, section: 'pipelines' },
  { pattern: /^#\/pipelines\/([^/?]+)$/, view: renderPipeline, section: 'pipelines' },
  { pattern: /^#\/profile$/, view: renderProfile, section: 'profile' },
  { pattern: /^#\/team\/members$/, view: renderMembers, section: 'team' },
  { pattern: /^#\/team\/keys$/, view: renderKeys, section: 'team' },
  { pattern: /^#\/team\/audit$/, view: renderAudit, section: 'team' },
  { pattern: /^#\/team\/limits$/, view: renderTeamUsage, section: 'team' },
  { pattern: /^#\/invitations\/([^/?]+)$/, view: renderInvitation, section: 'team' },
  { pattern: /^#\/usage(?:\?(.*))?$/, view: renderUsage, section: 'usage' },
];

let viewController = null;
// What the login page says next time it opens ({kind, text}), and where to go after logging in.
let flash = null;
let returnTo = '#/jobs';

function goToLogin(message) {
  flash = message;
  if (location.hash !== '#/login') {
    returnTo = location.hash && location.hash !== '#/login' ? location.hash : '#/jobs';
    location.hash = '#/login';
  }
}

onUnauthorized(() => goToLogin({ kind: 'error', text: 'Your session has expired or is no longer valid. Please log in again.' }));

function setTitle(text) {
  document.title = text ? `${text} · HelixNet` : 'HelixNet';
}

// The header's team list, loaded once per login (and again after joining a team).
let teamsLoaded = false;

async function refreshTeams() {
  teamsLoaded = true;
  try {
    await loadTeamSwitcher(teamSwitcher);
  } catch {
    teamsLoaded = false;
  }
}

// Another team chosen: the jobs list shows that team's jobs, and a job's own page goes back to
// it (the job belongs to the team left), as a pipeline's page goes back to the pipelines. The team
// pages and the pipelines list follow by themselves; a new job's form is kept, and is submitted
// for the team chosen.
initTeamSwitcher(teamSwitcher, () => {
  if (/^#\/jobs\/(?!new$)[^/?]+$/.test(location.hash)) location.hash = '#/jobs';
  else if (/^#\/pipelines\/[^/?]+$/.test(location.hash)) location.hash = '#/pipelines';
  else if (/^#\/jobs(\?|$)/.test(location.hash || '#/jobs')) route();
});

async function showWhoami(signal) {
  if (whoami.textContent) return;
  try {
    const me = await api('GET', '/users/me', { signal });
    whoami.textContent = me.email;
  } catch {
    // The header line is a courtesy; the view itself reports any real problem.
  }
}

// The route on screen: where "stay" returns to when leaving would cancel uploads.
let shownHash = null;

async function route() {
  shownHash = location.hash;
  const hash = location.hash || '#/jobs';
  const match = ROUTES.map((r) => ({ r, m: r.pattern.exec(hash) })).find((x) => x.m);
  if (!match) {
    location.replace('#/jobs');
    return;
  }
  const { r: routeDef, m } = match;
  // A new tab or a reload: the session cookie, if any, gives this tab its token.
  const token = session.token ?? (await session.restore());
  if (!routeDef.public && !token) {
    const expired = session.expired;
    session.clear();
    goToLogin(expired ? { kind: 'error', text: 'Your session has expired. Please log in again.' } : flash);
    return;
  }
  if (routeDef.public && token) {
    location.replace(returnTo);
    return;
  }

  viewController?.abort();
  viewController = new AbortController();
  const { signal } = viewController;

  nav.hidden = routeDef.public === true;
  for (const link of nav.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === routeDef.section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (!routeDef.public) {
    showWhoami(signal);
    if (!teamsLoaded) refreshTeams();
    offerUnfinishedUploads();
  }

  main.replaceChildren();
  const context = {
    main,
    params: m.slice(1).map((p) => (p === undefined ? undefined : decodeURIComponent(p))),
    signal,
    setTitle,
    flash,
    returnTo,
    onProfile: (profile) => { whoami.textContent = profile.email; },
    refreshTeams,
  };
  flash = null;
  routeDef.view(context);
  (main.querySelector('[data-autofocus]') ?? main.querySelector('h1') ?? main).focus();
}

document.getElementById('logout').addEventListener('click', async () => {
  await logout();
  whoami.textContent = '';
  resetTeams(teamSwitcher);
  teamsLoaded = false;
  returnTo = '#/jobs';
  goToLogin({ kind: 'info', text: 'You have logged out.' });
});

// The hash is the route, so the skip link moves the focus itself instead of following "#main".
document.querySelector('.skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

// Leaving the new job page while its files go up would cancel them: ask first, as the browser does
// for leaving the site. "Stay" puts the address back and the uploads go on.
window.addEventListener('hashchange', () => {
  if (location.hash === shownHash) return;
  const running = viewUploadsRunning();
  if (running > 0 && !window.confirm(`${running === 1 ? 'A file is' : `${running} files are`} still uploading for the new job. Leave this page and cancel the upload${running === 1 ? '' : 's'}?`)) {
    location.replace(shownHash || '#/jobs/new');
    return;
  }
  route();
});
route();
