// The search page: /, and /?q=… opened with its results. Searches as you type.

import { el, show, byId } from './dom.js';
import { getJson, companyHref, personHref, count, ApiError } from './api.js';

const SIZE = 20;
const DELAY_MS = 150;
const input = byId('q');
const form = byId('search-form');
const status = byId('search-status');
const results = byId('results');
const pager = byId('results-pager');
let running = null;
let timer = null;

function item(result) {
  const organisation = result.kind === 'organization';
  const details = organisation
    ? ['Organisation', result.id, result.country]
    : ['Person', result.birth_year ? `born ${result.birth_year}` : null, result.country];
  return el('li', {},
    el('a', { class: 'result', href: organisation ? companyHref(result.id) : personHref(result.id) },
      el('span', { class: 'result-name' }, result.name),
      el('span', { class: 'result-meta' }, details.filter(Boolean).join(' · '))));
}

/** Keeps the address in step with the search, so it can be shared and reloaded. */
function remember(query, page) {
  const url = new URL(window.location.href);
  url.search = '';
  if (query) url.searchParams.set('q', query);
  if (query && page > 1) url.searchParams.set('page', page);
  window.history.replaceState(null, '', url);
}

function pages(query, page) {
  pager.hidden = page.total_pages <= 1;
  if (pager.hidden) return;
  const previous = el('button', { type: 'button', disabled: page.page <= 1 }, '← Previous');
  const next = el('button', { type: 'button', disabled: page.page >= page.total_pages }, 'Next →');
  previous.addEventListener('click', () => search(query, page.page - 1));
  next.addEventListener('click', () => search(query, page.page + 1));
  show(pager, previous, el('span', {}, `Page ${page.page} of ${page.total_pages}`), next);
}

async function search(query, page = 1) {
  if (running) running.abort();
  running = new AbortController();
  remember(query, page);
  if (!query) {
    show(results);
    status.textContent = '';
    pager.hidden = true;
    return;
  }
  status.textContent = 'Searching…';
  try {
    const body = await getJson('/api/search', { q: query, page, size: SIZE }, running.signal);
    show(results, body.results.map(item));
    const total = body.page.total_items;
    status.textContent = total === 0
      ? `Nothing in the register matches “${query}”.`
      : `${count(total)} ${total === 1 ? 'match' : 'matches'} for “${query}”.`;
    pages(query, body.page);
  } catch (error) {
    if (error.name === 'AbortError') return;
    show(results);
    pager.hidden = true;
    status.textContent = error instanceof ApiError && error.status === 400
      ? `Not a search the register can answer: ${error.message}`
      : `The search failed: ${error.message}`;
  }
}

function links() {
  return [...results.querySelectorAll('a')];
}

input.addEventListener('input', () => {
  clearTimeout(timer);
  timer = setTimeout(() => search(input.value.trim()), DELAY_MS);
});
form.addEventListener('submit', (event) => {
  event.preventDefault();
  clearTimeout(timer);
  search(input.value.trim());
});
// Arrow keys move between the box and the results; Tab and Enter work as everywhere.
input.addEventListener('keydown', (event) => {
  if (event.key === 'ArrowDown' && links().length > 0) {
    event.preventDefault();
    links()[0].focus();
  }
});
results.addEventListener('keydown', (event) => {
  const all = links();
  const at = all.indexOf(document.activeElement);
  if (at < 0) return;
  if (event.key === 'ArrowDown' && at + 1 < all.length) {
    event.preventDefault();
    all[at + 1].focus();
  } else if (event.key === 'ArrowUp') {
    event.preventDefault();
    (at === 0 ? input : all[at - 1]).focus();
  }
});

const opened = new URLSearchParams(window.location.search);
const initial = (opened.get('q') || '').trim();
if (initial) {
  input.value = initial;
  search(initial, Math.max(1, Number(opened.get('page')) || 1));
}
