// A team's plan: what it uses of each limit, as bars (GET /teams/{id}/usage).

import { api } from './api.js';
import { formatBytes, formatCount, h, notice } from './dom.js';
import { currentTeam, onTeamChange, refusal, teamPage, whenTeamsLoaded } from './teams.js';

// Each bar: its label, its usage and limit in the API's answer, how to show a number, and what to
// do when it is full.
const BARS = [
  { id: 'concurrent-jobs', label: 'Jobs running at once', used: (u) => u.usage.concurrent_jobs, limit: (u) => u.limits.concurrent_jobs,
    format: formatCount, full: 'New jobs wait to be refused until one of these finishes.' },
  { id: 'storage', label: 'Storage of uploaded files', used: (u) => u.usage.storage_bytes, limit: (u) => u.limits.storage_bytes,
    format: formatBytes, full: 'Uploads are refused: delete old jobs and their files, or move to a larger plan.' },
  { id: 'records', label: 'Records this month (UTC)', used: (u) => u.usage.records_this_month, limit: (u) => u.limits.records_per_month,
    format: formatCount, full: 'New jobs are refused until the month ends, or move to a larger plan.' },
];

export function renderTeamUsage({ main, signal, setTitle }) {
  const page = teamPage(main, 'limits', 'Plan limits', setTitle);
  const message = h('div', { class: 'messages', id: 'usage-message' });
  const plan = h('p', { id: 'usage-plan' });
  const bars = h('div', { class: 'card usage-bars', id: 'usage-bars' });
  page.body.append(message, plan, bars);

  async function load() {
    const team = page.show();
    if (!team) return;
    message.replaceChildren();
    try {
      const usage = await api('GET', `/teams/${encodeURIComponent(team.id)}/usage`, { signal });
      plan.replaceChildren('Plan: ', h('strong', {}, usage.plan), ` · at most ${formatBytes(usage.limits.file_bytes)} per file.`);
      bars.replaceChildren(...BARS.map((bar) => usageBar(bar, usage)));
    } catch (error) {
      if (error?.name === 'AbortError' || signal.aborted) return;
      plan.replaceChildren();
      bars.replaceChildren();
      message.replaceChildren(notice('error', `Could not read the usage: ${refusal(error, 'seeing its usage')}`));
    }
  }

  const unsubscribe = onTeamChange(load);
  signal.addEventListener('abort', unsubscribe, { once: true });
  whenTeamsLoaded().then(() => signal.aborted || load());
}

function usageBar(bar, usage) {
  const used = bar.used(usage);
  const limit = bar.limit(usage);
  const share = limit > 0 ? Math.min(1, used / limit) : 1;
  const level = share >= 1 ? 'full' : share >= 0.8 ? 'high' : 'ok';
  const text = `${bar.format(used)} of ${bar.format(limit)} (${Math.round(share * 100)}%)`;
  return h('div', { class: `usage-bar usage-${level}`, 'data-bar': bar.id },
    h('div', { class: 'usage-label' }, h('label', { for: `meter-${bar.id}` }, bar.label), h('span', { class: 'usage-figures' }, text)),
    h('meter', { id: `meter-${bar.id}`, min: 0, max: limit || 1, low: (limit || 1) * 0.8, high: (limit || 1) * 0.95,
      optimum: 0, value: Math.min(used, limit || 1) }, text),
    level === 'full' ? h('p', { class: 'field-error' }, bar.full) : null);
}
