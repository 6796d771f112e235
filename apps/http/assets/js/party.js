// What the page of a party (a company or a person) shows: its heading and facts, and tables of
// the register's lists, filled a page at a time from the API.

import { el, show, byId } from './dom.js';
import {
  getJson, selectedYear, companyHref, count, partyHref, percent, kindName,
} from './api.js';

/**
 * Fills `section` with a heading, a table and a pager. `load(page)` answers `{ rows, page }`,
 * `page` being the API's page object; `columns` are `{ label, numeric, cell(row) }`, the first
 * column heading each row. Returns `{ open(page) }`.
 */
export function pagedTable(section, { heading, caption, columns, load, empty, level = 'h2' }) {
  const headingId = `${section.id}-heading`;
  const status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const wrapper = el('div', { class: 'table-scroll' });
  const pager = el('nav', { class: 'pager', 'aria-label': `${heading}: pages`, hidden: true });
  show(section, el(level, { id: headingId }, heading), status, wrapper, pager);
  section.removeAttribute('aria-label');
  section.setAttribute('aria-labelledby', headingId);

  async function open(number) {
    status.textContent = 'Loading…';
    let answer;
    try {
      answer = await load(number);
    } catch (error) {
      status.textContent = `Could not load this list: ${error.message}`;
      show(wrapper);
      pager.hidden = true;
      return;
    }
    const { rows, page } = answer;
    status.textContent = page.total_items === 0 ? empty : '';
    if (rows.length === 0) {
      show(wrapper);
    } else {
      const pages = page.total_pages > 1 ? `, page ${page.page} of ${page.total_pages}` : '';
      show(wrapper, el('table', {},
        el('caption', {}, `${caption} (${count(page.total_items)}${pages})`),
        el('thead', {}, el('tr', {}, columns.map((column) =>
          el('th', { scope: 'col', class: column.numeric ? 'numeric' : undefined }, column.label)))),
        el('tbody', {}, rows.map((row) => el('tr', {}, columns.map((column, index) =>
          el(index === 0 ? 'th' : 'td', {
            scope: index === 0 ? 'row' : undefined,
            class: column.numeric ? 'numeric' : undefined,
          }, column.cell(row))))))));
    }
    pager.hidden = page.total_pages <= 1;
    if (!pager.hidden) {
      const previous = el('button', { type: 'button', disabled: page.page <= 1 }, '← Previous');
      const next = el('button', { type: 'button', disabled: page.page >= page.total_pages }, 'Next →');
      previous.addEventListener('click', () => open(page.page - 1));
      next.addEventListener('click', () => open(page.page + 1));
      show(pager, previous, el('span', {}, `Page ${page.page} of ${page.total_pages}`), next);
    }
  }
  open(1);
  return { open };
}

/** A page of a list the API answers as `{ <field>: [...], page }`. */
export function listOf(field, fetchPage) {
  return async (page) => {
    const body = await fetchPage(page);
    return { rows: body[field], page: body.page };
  };
}

/** A link to an owner's page, from the API's owner profile. */
export function ownerLink(owner) {
  return el('a', { href: partyHref(owner.kind, owner.id) }, owner.name);
}

export function ownerKind(owner) {
  return owner.birth_year ? `${kindName(owner.kind)}, born ${owner.birth_year}` : kindName(owner.kind);
}

function classes(row) {
  return row.classes.map((c) => `${c.share_class}: ${count(c.shares)}`).join('; ');
}

/** The columns of an owners list (`GET /api/{orgnr}/owners`). */
export const ownerColumns = [
  { label: 'Owner', cell: (row) => [ownerLink(row.owner), row.treasury ? ' (own shares)' : ''] },
  { label: 'Kind', cell: (row) => ownerKind(row.owner) },
  { label: 'Country', cell: (row) => row.owner.country },
  { label: 'Shares', numeric: true, cell: (row) => count(row.shares) },
  { label: 'Percentage', numeric: true, cell: (row) => percent(row.percentage) },
  { label: 'Share classes', cell: classes },
];

/** The columns that name a company (`{ company: { orgnr, name } }`). */
const companyColumns = [
  { label: 'Company', cell: (row) => el('a', { href: companyHref(row.company.orgnr) }, row.company.name) },
  { label: 'Orgnr', cell: (row) => row.company.orgnr },
];

/** The columns of a holdings list (an organisation's or a person's). */
export const holdingColumns = [
  ...companyColumns,
  { label: 'Shares', numeric: true, cell: (row) => count(row.shares) },
  { label: 'Percentage', numeric: true, cell: (row) => percent(row.percentage) },
  { label: 'Share classes', cell: classes },
];

/** The columns of ultimate holdings (`GET /api/…/ultimate-holdings`). */
export const ultimateHoldingColumns = [
  ...companyColumns,
  { label: 'Effective', numeric: true, cell: (row) => percent(row.effective_percentage) },
  { label: 'Controlled', numeric: true, cell: (row) => percent(row.controlled_percentage) },
];

/** A description list of `[term, value]` pairs, skipping absent values. */
export function facts(list, pairs) {
  show(list, pairs.filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([term, value]) => el('div', {}, el('dt', {}, term), el('dd', {}, value))));
}

/** "0790 OSLO, NO": what the register gives of an address. */
export function place(party) {
  const town = [party.postal_code, party.place].filter(Boolean).join(' ');
  return [town, party.country].filter(Boolean).join(', ');
}

/**
 * Loads the party the page is about from `path` and shows its name and facts (`factsOf(party)`
 * gives them as `[term, value]` pairs). Answers the API's record, or null when it could not be
 * loaded, the page then saying why.
 */
export async function openParty(path, factsOf) {
  const status = byId('status');
  const year = selectedYear();
  let party;
  try {
    party = await getJson(path, { year });
  } catch (error) {
    status.textContent = `Could not load this page: ${error.message}`;
    return null;
  }
  document.title = `${party.name} · Shareholder register`;
  show(byId('name'), party.name);
  facts(byId('facts'), [...factsOf(party), ['Register', year ? `of ${year}` : 'live']]);
  status.hidden = true;
  byId('party').hidden = false;
  return party;
}
