// The public JSON API, and how the pages show what it answers.

/** An answer other than 2xx, with its problem document when there is one. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : `the API answered ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** GETs `path` with the query `params` (entries with no value are left out). */
export async function getJson(path, params = {}, signal = undefined) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const response = await fetch(url, { headers: { accept: 'application/json' }, signal });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** The register year the page shows (`?year=`), or undefined for the live register. */
export function selectedYear() {
  const year = new URLSearchParams(window.location.search).get('year');
  return year && /^[0-9]{4}$/.test(year) ? year : undefined;
}

function withYear(path, year) {
  return year ? `${path}?year=${encodeURIComponent(year)}` : path;
}

export function companyHref(orgnr, year = selectedYear()) {
  return withYear(`/company/${encodeURIComponent(orgnr)}`, year);
}

export function personHref(id, year = selectedYear()) {
  return withYear(`/person/${encodeURIComponent(id)}`, year);
}

/** The page of a party: `kind` is "organization" or "person", `id` its orgnr or person id. */
export function partyHref(kind, id, year = selectedYear()) {
  return kind === 'organization' ? companyHref(id, year) : personHref(id, year);
}

const numbers = new Intl.NumberFormat('en-GB');
const percentages = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 4 });

export function count(value) {
  return value === null || value === undefined ? '—' : numbers.format(value);
}

export function percent(value) {
  return value === null || value === undefined ? '—' : `${percentages.format(value)} %`;
}

export function kindName(kind) {
  return kind === 'organization' ? 'Organisation' : 'Person';
}
