"""Loads the pages in a real browser and prints what it saw, as one JSON object.

Debian's chromium runs headless, driven over the DevTools protocol by playwright (PyPI, the
version scripts/test installs); no browser is downloaded. This script only observes and
reports: apps/shareholders/tests/page.rs asserts on the report. It exits non-zero, saying why,
when playwright or chromium is missing or a page never becomes ready.

    python3 browser.py sample --base http://127.0.0.1:8080 --injection 910000004 \
        --many-owners 910000012 --artifacts target/test-artifacts
    python3 browser.py years --base http://127.0.0.1:8080

`sample` expects the register sample loaded through the API, a company with a hostile name and
one with 30 owners; `years` expects the sample imported as two years.
"""

import argparse
import json
import os
import sys
import time
import urllib.request

try:
    from playwright.sync_api import sync_playwright
except ImportError as error:  # the test fails, it does not skip
    sys.exit(f"playwright is not installed ({error}); scripts/test installs it")

WAIT_MS = 15_000
COMPANY = "891450052"
FOREIGN_OWNED = "885648312"
TVIST_1 = "988844322"


def api(base, path):
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return json.load(response)


class Watched:
    """A browser page whose dialogs, uncaught errors and console errors are recorded."""

    def __init__(self, browser, **options):
        self.page = browser.new_page(**options)
        self.dialogs = []
        self.errors = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        self.page.on("console", self._console)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console: {message.text}")


def texts(page, selector):
    return page.eval_on_selector_all(selector, "nodes => nodes.map(n => n.textContent.trim())")


def table(page, section):
    """The rows of the table in `section`, each a list of its cells' text."""
    return page.eval_on_selector_all(
        f"#{section} tbody tr",
        "rows => rows.map(r => [...r.children].map(c => c.textContent.trim()))",
    )


def definitions(page, selector):
    return page.eval_on_selector_all(
        f"{selector} > div",
        "items => Object.fromEntries(items.map(i => [i.querySelector('dt').textContent.trim(),"
        " i.querySelector('dd').textContent.trim()]))",
    )


def wait_for_table(page, section):
    page.wait_for_function(
        "s => document.querySelector(`#${s} tbody tr`) || "
        "(document.querySelector(`#${s} .status`) && "
        "!['', 'Loading…'].includes(document.querySelector(`#${s} .status`).textContent))",
        arg=section,
        timeout=WAIT_MS,
    )


def settled_search(page, query):
    """Waits until the search for `query` shows its results or says why it has none."""
    page.wait_for_function(
        "q => { const status = document.getElementById('search-status').textContent;"
        " return status.includes(`“${q}”`) || status.startsWith('The search failed')"
        " || status.startsWith('Not a search'); }",
        arg=query,
        timeout=WAIT_MS,
    )
    return {
        "status": page.text_content("#search-status"),
        "names": texts(page, "#results .result-name"),
        "hrefs": page.eval_on_selector_all("#results a", "links => links.map(a => a.getAttribute('href'))"),
        "url": page.url,
    }


def search(browser, base, screenshot):
    watched = Watched(browser)
    page = watched.page
    page.goto(f"{base}/?q=tvist")
    report = settled_search(page, "tvist")
    report["input"] = page.input_value("#q")
    page.screenshot(path=screenshot, full_page=True)
    report["errors"] = watched.errors
    page.close()
    return report


def keyboard(browser, base):
    """Types into the box, then Tab to the first result and Enter, as a keyboard user does."""
    watched = Watched(browser)
    page = watched.page
    page.goto(f"{base}/")
    focused_at_start = page.evaluate("document.activeElement.id")
    page.keyboard.type("tvist 1", delay=40)
    typed = settled_search(page, "tvist 1")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "({href: document.activeElement.getAttribute('href'),"
        " name: document.activeElement.querySelector('.result-name')?.textContent})"
    )
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/company/" in url or "/person/" in url, timeout=WAIT_MS)
    page.wait_for_function("() => document.querySelector('h1').textContent !== ''", timeout=WAIT_MS)
    report = {
        "focused_at_start": focused_at_start,
        "typed": typed,
        "focused": focused,
        "opened": page.url[len(base):],
        "heading": page.text_content("h1"),
        "errors": watched.errors,
    }
    page.close()
    return report


def company(browser, base, orgnr, screenshot=None, viewport=None):
    watched = Watched(browser, viewport=viewport or {"width": 1280, "height": 900})
    page = watched.page
    response = page.goto(f"{base}/company/{orgnr}")
    page.wait_for_function("() => document.getElementById('name').textContent !== ''", timeout=WAIT_MS)
    for section in ("owners", "holdings", "ultimate"):
        wait_for_table(page, section)
    page.wait_for_function(
        "() => document.querySelector('#graph svg') || document.querySelector('#graph .status')",
        timeout=WAIT_MS,
    )
    page.wait_for_function("() => document.querySelector('#summary div')", timeout=WAIT_MS)
    page.wait_for_function(
        "() => document.querySelector('#beneficial-list').children.length > 0", timeout=WAIT_MS
    )
    report = {
        "status": response.status,
        "content_security_policy": response.headers.get("content-security-policy"),
        "title": page.title(),
        "heading": page.text_content("h1"),
        "facts": definitions(page, "#facts"),
        "badges": texts(page, "#badges li"),
        "summary": definitions(page, "#summary"),
        "owners": table(page, "owners"),
        "owner_links": page.eval_on_selector_all(
            "#owners tbody a", "links => links.map(a => a.getAttribute('href'))"
        ),
        "holdings": table(page, "holdings"),
        "ultimate_owners": table(page, "ultimate"),
        "beneficial": page.text_content("#beneficial-list"),
        "graph": graph_report(page, base),
        "scripts_in_document": page.evaluate("document.scripts.length"),
        "images_in_main": page.evaluate("document.querySelectorAll('main img').length"),
        "horizontal_overflow": page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        ),
    }
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    if report["graph"]["truncated_notice_shown"]:
        report["graph_drawn_further"] = draw_more(page, base)
    report["dialogs"] = watched.dialogs
    report["errors"] = watched.errors
    page.close()
    return report


def graph_report(page, base):
    """The graph drawn (its nodes, and its edges with their labels) and the API's graph at the
    address the page drew it from."""
    source = page.get_attribute("#graph", "data-source")
    drawn = api(base, source)
    return {
        "source": source,
        "svg_nodes": page.eval_on_selector_all("#graph svg g.node", "nodes => nodes.map(n => n.dataset.id)"),
        "svg_node_names": page.eval_on_selector_all(
            "#graph svg g.node title", "titles => titles.map(t => t.textContent)"
        ),
        "svg_edges": page.eval_on_selector_all(
            "#graph svg g.edge",
            "edges => edges.map(e => [e.dataset.from, e.dataset.to, e.querySelector('text').textContent])",
        ),
        "links": page.eval_on_selector_all("#graph svg g.node a", "links => links.map(a => a.getAttribute('href'))"),
        "truncated_notice_shown": page.is_visible("#graph-truncated"),
        "api_nodes": [node["id"] for node in drawn["nodes"]],
        "api_edges": [[edge["from"], edge["to"], edge["percentage"]] for edge in drawn["edges"]],
        "api_truncated": drawn["truncated"],
    }


def draw_more(page, base):
    """Asks a truncated graph for more, and reports the graph drawn then with the API's."""
    first = page.get_attribute("#graph", "data-source")
    page.click("#graph-truncated button")
    page.wait_for_function(
        "first => document.getElementById('graph').dataset.source !== first"
        " && !document.getElementById('graph').hasAttribute('aria-busy')",
        arg=first,
        timeout=WAIT_MS,
    )
    return graph_report(page, base)


def paging(browser, base, orgnr):
    """The owners table of a company with more owners than a page holds, and its next page."""
    watched = Watched(browser)
    page = watched.page
    page.goto(f"{base}/company/{orgnr}")
    wait_for_table(page, "owners")
    first = {"rows": table(page, "owners"), "pager": page.text_content("#owners nav")}
    page.click("#owners nav button:has-text('Next')")
    page.wait_for_function("() => document.querySelector('#owners caption').textContent.includes('page 2')", timeout=WAIT_MS)
    report = {
        "first": first,
        "second": {"rows": table(page, "owners"), "pager": page.text_content("#owners nav")},
        "caption": page.text_content("#owners caption"),
        "errors": watched.errors,
    }
    page.close()
    return report


def person_from(browser, base, name):
    """Follows the owners table's link to the person called `name`."""
    watched = Watched(browser)
    page = watched.page
    page.goto(f"{base}/company/{TVIST_1}")
    wait_for_table(page, "owners")
    page.get_by_role("link", name=name, exact=True).first.click()
    page.wait_for_url("**/person/**", timeout=WAIT_MS)
    page.wait_for_function("() => document.getElementById('name').textContent !== ''", timeout=WAIT_MS)
    wait_for_table(page, "holdings")
    wait_for_table(page, "ultimate")
    report = {
        "path": page.url[len(base):],
        "heading": page.text_content("h1"),
        "facts": definitions(page, "#facts"),
        "holdings": table(page, "holdings"),
        "ultimate_holdings": table(page, "ultimate"),
        "errors": watched.errors,
    }
    page.close()
    return report


def error_page(browser, base, path, screenshot=None):
    watched = Watched(browser)
    page = watched.page
    response = page.goto(base + path)
    if screenshot:
        page.screenshot(path=screenshot)
    report = {
        "status": response.status,
        "content_type": response.headers.get("content-type"),
        "heading": page.text_content("h1"),
        "text": page.text_content("main"),
    }
    page.close()
    return report


def years(browser, base):
    """The year selector of TVIST 1 AS, the changes since the previous year, and a year chosen."""
    watched = Watched(browser)
    page = watched.page
    page.goto(f"{base}/company/{TVIST_1}")
    page.wait_for_selector("#years:not([hidden])", timeout=WAIT_MS)
    wait_for_table(page, "changes")
    report = {
        "options": page.eval_on_selector_all(
            "#year option", "options => options.map(o => [o.value, o.textContent])"
        ),
        "changes_heading": page.text_content("#changes h3"),
        "changes": table(page, "changes"),
    }
    page.select_option("#year", "2023")
    page.click("#year-form button")
    page.wait_for_url("**/company/988844322?year=2023", timeout=WAIT_MS)
    page.wait_for_function("() => document.getElementById('name').textContent !== ''", timeout=WAIT_MS)
    wait_for_table(page, "owners")
    # The year list loads on its own, after or before the owners; it is
    # shown once its options, and the chosen one, are in place.
    page.wait_for_selector("#years:not([hidden])", timeout=WAIT_MS)
    report["chosen"] = {
        "selected": page.input_value("#year"),
        "facts": definitions(page, "#facts"),
        "owners": table(page, "owners"),
        "owner_links": page.eval_on_selector_all(
            "#owners tbody a", "links => links.map(a => a.getAttribute('href'))"
        ),
        "changes_heading": page.evaluate("document.querySelector('#changes h3')?.textContent ?? null"),
    }
    report["errors"] = watched.errors
    report["dialogs"] = watched.dialogs
    page.close()
    return report


def sample(browser, args):
    report = {}
    artifacts = args.artifacts
    os.makedirs(artifacts, exist_ok=True)
    report["search"] = search(browser, args.base, os.path.join(artifacts, "search-page.png"))
    report["keyboard"] = keyboard(browser, args.base)
    report["company"] = company(
        browser, args.base, COMPANY, screenshot=os.path.join(artifacts, "company-page.png")
    )
    report["phone"] = company(
        browser,
        args.base,
        COMPANY,
        screenshot=os.path.join(artifacts, "company-page-phone.png"),
        viewport={"width": 390, "height": 844},
    )
    report["foreign_owned"] = company(browser, args.base, FOREIGN_OWNED)
    report["tvist_1"] = company(browser, args.base, TVIST_1)
    report["injection"] = company(browser, args.base, args.injection)
    report["person"] = person_from(browser, args.base, "HAGEN STEIN ERIK")
    report["paging"] = paging(browser, args.base, args.many_owners)
    report["unknown"] = error_page(browser, args.base, "/company/123456785")
    report["check_digit"] = error_page(
        browser, args.base, "/company/891450051", os.path.join(artifacts, "error-page.png")
    )
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", choices=["sample", "years"])
    parser.add_argument("--base", required=True)
    parser.add_argument("--injection", help="sample: the orgnr of the company with a hostile name")
    parser.add_argument("--artifacts", help="sample: the folder for the screenshots")
    parser.add_argument("--many-owners", help="sample: the orgnr of a company with 30 owners")
    parser.add_argument("--chromium", default=os.environ.get("SHAREHOLDERS_TEST_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    if args.scenario == "sample" and not (args.injection and args.artifacts and args.many_owners):
        parser.error("sample needs --injection, --many-owners and --artifacts")
    if not os.access(args.chromium, os.X_OK):
        sys.exit(f"chromium is not installed at {args.chromium}; scripts/test installs it")
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True)
        version = browser.version
        report = sample(browser, args) if args.scenario == "sample" else years(browser, args.base)
        browser.close()
    report["chromium"] = version
    report["seconds"] = round(time.monotonic() - started, 1)
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
