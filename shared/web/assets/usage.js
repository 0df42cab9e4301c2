// The usage page: a team's jobs, run times and records per day, what they cost per day and per
// pipeline, the budget, and (for platform admins) the estimate against the bill. Each chart is drawn
// by uPlot (vendored, MIT) on a canvas hidden from assistive technology, beside a table of the same
// figures that a button shows instead of the chart.

import { api, ApiError, query } from './api.js';
import { formatCount, h, notice, scrollBox } from './dom.js';
import uPlot from './uplot.esm.js';

const DAYS = 30;
const STATUS_COLORS = {
  COMPLETED: '#067647', FAILED: '#b42318', CANCELLED: '#667085', RUNNING: '#175cd3', PENDING: '#6941c6',
};
// Distinct for the colour-blind (Okabe–Ito), for teams and pipelines.
const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#000000'];
const usd = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', maximumFractionDigits: 4 });
// Axis ticks: two significant digits, so that fractions of a cent still read apart.
const tick = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 2 });

let stylesheet = null;
function loadStylesheet() {
  if (stylesheet) return;
  stylesheet = h('link', { rel: 'stylesheet', href: new URL('./uplot.min.css', import.meta.url).href });
  document.head.append(stylesheet);
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

/** Every day from `from` to `to` (YYYY-MM-DD), both included. */
function daysBetween(from, to) {
  const days = [];
  for (let d = new Date(`${from}T00:00:00Z`); isoDay(d) <= to; d = new Date(d.getTime() + 86_400_000)) days.push(isoDay(d));
  return days;
}

const seconds = (day) => new Date(`${day}T00:00:00Z`).getTime() / 1000;

/**
 * A figure: its heading, a button that swaps chart and table, the chart (aria-hidden), the table.
 * `series`: [{label, color, values (one per day)}]; `stacked` draws bars on top of each other.
 */
function chartFigure({ id, title, days, series, stacked = false, format = formatCount, unit = '' }) {
  const axisFormat = (v) => `${tick.format(v)}${unit}`;
  const table = h('table', { class: 'data-table' },
    h('caption', { class: 'visually-hidden' }, title),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), series.map((s) => h('th', { scope: 'col', class: 'num' }, s.label)))),
    h('tbody', {}, days.map((day, i) => h('tr', {},
      h('th', { scope: 'row' }, day),
      series.map((s) => h('td', { class: 'num' }, s.values[i] === null ? '—' : format(s.values[i])))))));
  // The table is the figure for screen readers: in the page, hidden only from sight until shown.
  const tableBox = h('div', { class: 'chart-table visually-hidden', id: `${id}-table` }, scrollBox(title, table).element);
  const plot = h('div', { class: 'chart', 'aria-hidden': 'true' });
  const toggle = h('button', { type: 'button', class: 'button-secondary', 'aria-controls': `${id}-table`, 'aria-expanded': 'false' }, 'Show as table');
  toggle.addEventListener('click', () => {
    const showTable = tableBox.classList.contains('visually-hidden');
    tableBox.classList.toggle('visually-hidden', !showTable);
    plot.hidden = showTable;
    toggle.textContent = showTable ? 'Show as chart' : 'Show as table';
    toggle.setAttribute('aria-expanded', String(showTable));
  });
  const figure = h('section', { class: 'chart-card', 'aria-labelledby': `${id}-title` },
    h('div', { class: 'chart-head' }, h('h2', { id: `${id}-title` }, title), toggle),
    plot,
    tableBox);
  const draw = () => drawChart(plot, days, series, { stacked, unit, format, axisFormat });
  return { figure, draw };
}

function drawChart(plot, days, series, { stacked, unit, format, axisFormat }) {
  const xs = days.map(seconds);
  // Stacked bars: each series drawn from 0 to the sum of itself and those below it, the tallest
  // first, so each shows as its own band.
  let data = series.map((s) => s.values.map((v) => v ?? 0));
  if (stacked) data = data.map((_, k) => days.map((__, i) => data.slice(0, k + 1).reduce((sum, row) => sum + row[i], 0)));
  const order = stacked ? [...series.keys()].reverse() : [...series.keys()];
  const width = Math.max(280, plot.parentElement?.clientWidth ?? 600) - 2;
  const options = {
    width,
    height: 220,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    // Half a day either side, so that the first and last days' bars are whole.
    scales: { x: { time: true, range: (_, min, max) => [min - 43_200, max + 43_200] } },
    axes: [
      { stroke: 'currentColor', grid: { stroke: 'rgba(127,127,127,0.2)' } },
      { stroke: 'currentColor', grid: { stroke: 'rgba(127,127,127,0.2)' }, size: 70, values: (_, ticks) => ticks.map(axisFormat) },
    ],
    series: [{}, ...order.map((k) => ({
      label: series[k].label,
      stroke: series[k].color,
      fill: stacked ? series[k].color : undefined,
      width: stacked ? 0 : 2,
      paths: stacked ? uPlot.paths.bars({ size: [0.7, 40] }) : undefined,
      points: { show: !stacked },
      value: (_, v) => (v === null || v === undefined ? '—' : `${format(v)}${unit}`),
    }))],
  };
  plot.replaceChildren();
  const chart = new uPlot(options, [xs, ...order.map((k) => data[k])], plot);
  const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(280, plot.parentElement.clientWidth - 2), height: 220 }));
  resize.observe(plot.parentElement);
}

function budgetBanner(budget) {
  if (!budget || budget.state === 'none' || budget.state === 'ok') return null;
  const spent = `${usd.format(budget.spent_usd)} of ${usd.format(budget.monthly_usd)} (${Math.round(budget.percent)} %)`;
  const stop = budget.hard_stop ? ' New jobs are refused until next month or a larger budget.' : '';
  return budget.state === 'exceeded'
    ? notice('error', `This team's budget for ${budget.month} is spent: ${spent}.${stop}`)
    : notice('warning', `This team has used ${spent} of its budget for ${budget.month}.`);
}

/** `#/usage?from=YYYY-MM-DD&to=YYYY-MM-DD` picks the days; the last 30 days by default. */
export function renderUsage({ main, params, signal, setTitle }) {
  setTitle('Usage');
  loadStylesheet();
  const asked = new URLSearchParams(params[0] ?? '');
  const isDay = (text) => /^\d{4}-\d{2}-\d{2}$/.test(text ?? '') && !Number.isNaN(new Date(`${text}T00:00:00Z`).getTime());
  const to = isDay(asked.get('to')) ? asked.get('to') : isoDay(new Date());
  const from = isDay(asked.get('from')) && asked.get('from') <= to ? asked.get('from') : isoDay(new Date(new Date(`${to}T00:00:00Z`).getTime() - (DAYS - 1) * 86_400_000));
  const days = daysBetween(from, to);
  const teamSelect = h('select', { id: 'usage-team' });
  const groupSelect = h('select', { id: 'usage-group' }, h('option', { value: 'pipeline' }, 'Pipeline'), h('option', { value: 'team' }, 'Team'));
  const banner = h('div', {});
  const charts = h('div', { class: 'charts' });
  const costs = h('div', { class: 'charts' });
  const bill = h('div', { class: 'charts' });
  main.append(
    h('h1', { tabindex: '-1' }, 'Usage'),
    h('p', { class: 'muted' }, `${days.length} days, ${from} to ${to} (UTC).`),
    h('div', { class: 'usage-controls' },
      h('label', { for: 'usage-team' }, 'Team '), teamSelect,
      h('label', { for: 'usage-group' }, ' Cost per day by '), groupSelect),
    banner, charts, costs, bill);

  const show = (container, figures) => {
    container.replaceChildren(...figures.map((f) => f.figure));
    figures.forEach((f) => f.draw());
  };
  const failed = (container, error) => {
    if (error?.name === 'AbortError') return;
    const text = error instanceof ApiError && error.status === 403
      ? 'Only the team’s admins and owners see its costs.'
      : `Could not load this: ${error.message}`;
    container.replaceChildren(notice('info', text));
  };

  async function loadJobs(team) {
    const stats = await api('GET', `/usage/jobs${query({ team_id: team, from, to })}`, { signal });
    const byDay = new Map(stats.days.map((d) => [d.day, d]));
    const statuses = Object.keys(STATUS_COLORS).filter((s) => stats.days.some((d) => d.statuses[s]));
    show(charts, [
      chartFigure({
        id: 'jobs-per-day', title: 'Jobs per day, by status', days, stacked: true,
        series: (statuses.length ? statuses : ['COMPLETED']).map((s) => ({ label: s, color: STATUS_COLORS[s], values: days.map((d) => byDay.get(d)?.statuses[s] ?? 0) })),
      }),
      chartFigure({
        id: 'job-duration', title: 'Job run time per day (p50, p95)', days, unit: ' s', format: (v) => (Math.round(v * 10) / 10).toString(),
        series: [
          { label: 'p50', color: '#0072b2', values: days.map((d) => byDay.get(d)?.p50_seconds ?? null) },
          { label: 'p95', color: '#d55e00', values: days.map((d) => byDay.get(d)?.p95_seconds ?? null) },
        ],
      }),
      chartFigure({
        id: 'records-per-day', title: 'Records read per day', days,
        series: [{ label: 'Records', color: '#009e73', values: days.map((d) => byDay.get(d)?.records_in ?? 0) }],
      }),
    ]);
  }

  async function loadCosts(team) {
    const group = groupSelect.value;
    const [daily, pipelines, budget] = await Promise.all([
      api('GET', `/costs/daily${query({ group_by: group, team_id: team, from, to })}`, { signal }),
      api('GET', `/costs${query({ group_by: 'pipeline', team_id: team, from, to })}`, { signal }),
      api('GET', `/teams/${encodeURIComponent(team)}/budget`, { signal }).catch(() => null),
    ]);
    banner.replaceChildren(budgetBanner(budget) ?? '');
    const keys = [...new Set(daily.days.map((d) => d.key))];
    const cost = new Map(daily.days.map((d) => [`${d.day} ${d.key}`, d.total_usd]));
    const top = pipelines.groups.slice(0, 10);
    const topTable = h('section', { class: 'chart-card', 'aria-labelledby': 'top-pipelines-title' },
      h('h2', { id: 'top-pipelines-title' }, 'Top 10 pipelines by cost'),
      top.length === 0 ? h('p', { class: 'muted' }, 'No costs in this range.') : scrollBox('Top 10 pipelines', h('table', { class: 'data-table' },
        h('thead', {}, h('tr', {}, ['Pipeline', 'Cost', 'Records', 'Per 1M records'].map((t, i) => h('th', { scope: 'col', class: i ? 'num' : null }, t)))),
        h('tbody', {}, top.map((g) => h('tr', {},
          h('th', { scope: 'row' }, g.key === 'none' ? 'Jobs of no pipeline' : g.key),
          h('td', { class: 'num' }, usd.format(g.total_usd)),
          h('td', { class: 'num' }, formatCount(g.records)),
          h('td', { class: 'num' }, g.usd_per_million_records === null ? '—' : usd.format(g.usd_per_million_records))))))).element);
    const figure = chartFigure({
      id: 'cost-per-day', title: `Cost per day, by ${group} (USD)`, days, stacked: true, format: (v) => usd.format(v),
      series: (keys.length ? keys : ['none']).map((key, i) => ({
        label: key === 'none' ? 'no pipeline' : key.slice(0, 24), color: PALETTE[i % PALETTE.length], values: days.map((d) => cost.get(`${d} ${key}`) ?? 0),
      })),
    });
    costs.replaceChildren(figure.figure, topTable);
    figure.draw();
  }

  async function loadBill() {
    const reconciled = await api('GET', `/costs/reconciliation${query({ from, to })}`, { signal });
    const per = (field) => days.map((d) => reconciled.days.filter((r) => r.day === d).reduce((sum, r) => sum + r[field], 0));
    show(bill, [chartFigure({
      id: 'estimated-billed', title: 'Estimated against billed, per day (USD, all teams)', days, format: (v) => usd.format(v),
      series: [
        { label: 'Estimated', color: '#0072b2', values: per('estimated_usd') },
        { label: 'Billed', color: '#e69f00', values: per('billed_usd') },
      ],
    })]);
  }

  function load() {
    const team = teamSelect.value;
    charts.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    loadJobs(team).catch((e) => failed(charts, e));
    loadCosts(team).catch((e) => failed(costs, e));
  }

  (async () => {
    try {
      const [me, teams] = await Promise.all([api('GET', '/users/me', { signal }), api('GET', '/teams', { signal }).catch(() => ({ items: [] }))]);
      const personal = `personal-${me.id}`;
      const options = [{ id: personal, name: 'Personal' }, ...(teams.items ?? []).filter((t) => t.id !== personal).map((t) => ({ id: t.id, name: t.name }))];
      teamSelect.replaceChildren(...options.map((t) => h('option', { value: t.id }, t.name)));
      teamSelect.addEventListener('change', load);
      groupSelect.addEventListener('change', () => loadCosts(teamSelect.value).catch((e) => failed(costs, e)));
      load();
      if (me.is_admin) loadBill().catch((e) => failed(bill, e));
    } catch (error) {
      failed(charts, error);
    }
  })();
}
