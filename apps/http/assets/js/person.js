// The person page: /person/{id}. The server has checked that the person exists.

import { byId } from './dom.js';
import { getJson, selectedYear, count } from './api.js';
import {
  pagedTable, listOf, holdingColumns, ultimateHoldingColumns, place, openParty,
} from './party.js';

const id = decodeURIComponent(window.location.pathname.split('/')[2] || '');
const year = selectedYear();
const PAGE_SIZE = 25;
const path = `/api/person/${encodeURIComponent(id)}`;

async function main() {
  const person = await openParty(path, (found) => [
    ['Born', found.birth_year],
    ['Place', place(found)],
    ['Holdings', count(found.number_of_holdings)],
  ]);
  if (!person) return;
  pagedTable(byId('holdings'), {
    heading: 'Holdings',
    caption: 'Companies this person owns shares in directly',
    empty: 'This person holds no shares.',
    columns: holdingColumns,
    load: listOf('holdings', (page) => getJson(`${path}/holdings`, { page, size: PAGE_SIZE, year })),
  });
  pagedTable(byId('ultimate'), {
    heading: 'Ultimate holdings',
    caption: 'Every company this person owns a share of, through every chain of holding companies',
    empty: 'This person owns no company, directly or through others.',
    columns: ultimateHoldingColumns,
    load: listOf('holdings', (page) => getJson(`${path}/ultimate-holdings`, { page, size: PAGE_SIZE, year })),
  });
}

main();
