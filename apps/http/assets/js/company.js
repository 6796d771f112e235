// The company page: /company/{orgnr}. The server has checked that the company exists.

import { el, show, byId } from './dom.js';
import { getJson, selectedYear, companyHref, count, percent } from './api.js';
import {
  pagedTable, listOf, ownerLink, ownerKind, ownerColumns, holdingColumns, facts, place, openParty,
} from './party.js';
import { drawGraph } from './graph.js';

const orgnr = decodeURIComponent(window.location.pathname.split('/')[2] || '');
const year = selectedYear();
const PAGE_SIZE = 25;
const GRAPH = { first: { depth: 3, limit: 60 }, more: { depth: 6, limit: 400 } };

const REASONS = {
  foreign_owners: 'Foreign owners',
  multiple_share_classes: 'Several share classes',
};

function badge(text, kind = '') {
  return el('li', { class: `badge ${kind}`.trim() }, text);
}

async function summary() {
  const body = await getJson(`/api/${orgnr}/summary`, { year });
  show(byId('badges'), body.interesting_because.map((reason) => badge(REASONS[reason] || reason, 'interesting')));
  byId('badges').hidden = body.interesting_because.length === 0;
  const largest = body.largest_owner;
  facts(byId('summary'), [
    ['Owners', count(body.number_of_owners)],
    ['Foreign owners', count(body.number_of_foreign_owners)],
    ['Holdings', count(body.number_of_holdings)],
    ['Registered shares', `${count(body.registered_shares)} of ${count(body.total_shares)}`],
    ['Share classes', body.share_classes.map((c) => `${c.share_class}: ${count(c.shares)}`).join('; ') || '—'],
    ['Largest owner', largest ? [ownerLink(largest.owner), ` ${percent(largest.percentage)}`] : 'none registered'],
  ]);
}

/** "A ─97.5 %→ B ─2.5 %→ C": a chain from the ultimate owner down to this company. */
function chain(entry, name) {
  const parts = [];
  entry.links.forEach((link, index) => {
    if (index === 0) parts.push(ownerLink(link.owner));
    const next = entry.links[index + 1];
    parts.push(el('span', { class: 'arrow' }, ` ─${percent(link.percentage)}→ `));
    parts.push(next ? ownerLink(next.owner) : name);
  });
  return el('li', {}, el('span', { class: 'chain-share' }, `${percent(entry.percentage)}: `), parts);
}

function because(entry) {
  if (!entry.beneficial_owner) return 'No';
  return ['Yes, by ', entry.because.join(' and ')];
}

function ultimateOwners(name) {
  let unattributed = null;
  const section = byId('ultimate');
  pagedTable(section, {
    heading: 'Ultimate owners',
    caption: 'Who owns the company through every chain of holding companies',
    empty: 'No ultimate owner is registered.',
    columns: [
      { label: 'Owner', cell: (row) => ownerLink(row.owner) },
      { label: 'Kind', cell: (row) => ownerKind(row.owner) },
      { label: 'Effective', numeric: true, cell: (row) => percent(row.effective_percentage) },
      { label: 'Controlled', numeric: true, cell: (row) => percent(row.controlled_percentage) },
      { label: 'Beneficial owner', cell: because },
      { label: 'Largest chains', cell: (row) => el('ol', { class: 'chains' }, row.chains.map((c) => chain(c, name))) },
    ],
    load: async (page) => {
      const body = await getJson(`/api/${orgnr}/ultimate-owners`, { page, size: PAGE_SIZE, year });
      if (!unattributed) {
        unattributed = el('p', { class: 'hint' });
        section.append(unattributed);
      }
      unattributed.textContent = body.unattributed_percentage > 0
        ? `${percent(body.unattributed_percentage)} is owned by no one the register names (unregistered shares along the chains).`
        : '';
      return { rows: body.ultimate_owners, page: body.page };
    },
  });
}

async function beneficialOwners() {
  const list = byId('beneficial-list');
  try {
    const body = await getJson(`/api/${orgnr}/beneficial-owners`, { year });
    if (body.beneficial_owners.length === 0) {
      show(list, el('p', {}, 'No person owns or controls more than 25 %.'));
      return;
    }
    show(list, el('ul', { class: 'cards' }, body.beneficial_owners.map((entry) => el('li', {},
      ownerLink(entry.owner),
      el('span', {}, ` owns ${percent(entry.effective_percentage)}, controls ${percent(entry.controlled_percentage)}`),
      el('ul', { class: 'badges', 'aria-label': 'Beneficial owner because of' },
        entry.because.map((reason) => badge(reason === 'control' ? 'Control' : 'Ownership')))))));
  } catch (error) {
    show(list, el('p', { class: 'status' }, `Could not load the beneficial owners: ${error.message}`));
  }
}

async function graph(name, size) {
  const container = byId('graph');
  const notice = byId('graph-truncated');
  const params = { direction: 'both', depth: size.depth, limit: size.limit, year };
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined));
  const source = `/api/${orgnr}/graph?${query}`;
  container.dataset.source = source;
  container.setAttribute('aria-busy', 'true');
  try {
    const body = await getJson(source);
    drawGraph(container, body, `organization:${orgnr}`, `Ownership graph of ${name}`);
    notice.hidden = !body.truncated;
    if (body.truncated) {
      const more = el('button', { type: 'button' }, 'Draw more of it');
      more.addEventListener('click', () => graph(name, GRAPH.more));
      show(notice, `Truncated: the graph shows the ${count(body.nodes.length)} parties nearest to this company `
        + `(at most ${count(size.limit)}, ${size.depth} levels each way); the tables list every owner and holding. `,
      size === GRAPH.first ? more : '');
    }
  } catch (error) {
    show(container, el('p', { class: 'status' }, `Could not draw the graph: ${error.message}`));
  } finally {
    container.removeAttribute('aria-busy');
  }
}

function changeColumns() {
  const span = (pair, format) => `${format(pair.from)} → ${format(pair.to)}`;
  return [
    { label: 'Owner', cell: (row) => ownerLink(row.owner) },
    { label: 'Change', cell: (row) => row.change },
    { label: 'Shares', numeric: true, cell: (row) => span(row.shares, count) },
    { label: 'Percentage', numeric: true, cell: (row) => span(row.percentage, percent) },
  ];
}

/** The year selector, and the changes since the previous imported year. */
async function years() {
  const body = await getJson('/api/years');
  const imported = body.years.map((entry) => entry.year).sort((a, b) => b - a);
  if (imported.length === 0) return;
  const select = byId('year');
  show(select, el('option', { value: '' }, 'the live register'),
    imported.map((y) => el('option', { value: y, selected: String(y) === year }, String(y))));
  // The year changes when asked (Show), not on each arrow key in the list.
  byId('year-form').addEventListener('submit', (event) => {
    event.preventDefault();
    window.location.assign(companyHref(orgnr, select.value || undefined));
  });
  byId('years').hidden = false;
  const to = year ? Number(year) : imported[0];
  const from = imported.find((y) => y < to);
  if (from === undefined) return;
  pagedTable(byId('changes'), {
    heading: `Changes from ${from} to ${to}`,
    caption: `Owners who entered, left, bought or sold between the registers of ${from} and ${to}`,
    empty: 'No owner changed.',
    level: 'h3',
    columns: changeColumns(),
    load: listOf('changes', (page) => getJson(`/api/${orgnr}/changes`, { from, to, page, size: PAGE_SIZE })),
  });
}

function failed(what) {
  return (error) => { console.warn(`${what}: ${error.message}`); };
}

async function main() {
  const organisation = await openParty(`/api/organization/${orgnr}`, (found) => [
    ['Orgnr', found.orgnr],
    ['Place', place(found)],
    ['Total shares', count(found.total_shares)],
  ]);
  if (!organisation) return;
  const name = organisation.name;
  // Each part loads on its own, so a slow one holds back none of the others.
  summary().catch((error) => show(byId('summary'), el('p', {}, `Could not load the summary: ${error.message}`)));
  pagedTable(byId('owners'), {
    heading: 'Owners',
    caption: 'Direct owners, largest first',
    empty: 'No owner is registered.',
    columns: ownerColumns,
    load: listOf('owners', (page) => getJson(`/api/${orgnr}/owners`, { page, size: PAGE_SIZE, year })),
  });
  pagedTable(byId('holdings'), {
    heading: 'Holdings',
    caption: 'Companies this company owns shares in',
    empty: 'This company holds no shares in other companies.',
    columns: holdingColumns,
    load: listOf('holdings', (page) => getJson(`/api/${orgnr}/holdings`, { page, size: PAGE_SIZE, year })),
  });
  ultimateOwners(name);
  beneficialOwners();
  graph(name, GRAPH.first);
  years().catch(failed('years'));
}

main();
