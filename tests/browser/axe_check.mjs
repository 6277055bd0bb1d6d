#!/usr/bin/env node
// Accessibility checks of eia's HTML pages in headless Chromium (Debian's `chromium`).
//
//   node tests/browser/axe_check.mjs --out DIR page.html [page.html ...]
//
// For each page: load it from file://, inject axe-core and run the WCAG 2.0/2.1/2.2
// A and AA rules (plus best practice), save a screenshot of the first screen, run the
// checks that axe cannot make (alt text that is not nbconvert's placeholder, table
// captions, heading order, one h1, lang, a main landmark, nothing fetched from the
// network), then emulate print and check that every figure fits the A4 printable area
// and that the page prints to an A4 PDF.
//
// Writes DIR/<name>.json per page, DIR/results.json for all pages, DIR/<name>.png and
// DIR/<name>.pdf. Prints a summary. Exit code: 0 when nothing serious or critical was
// found, 1 when something was, 2 when the checks could not run.
//
// The browser is the one at $CHROMIUM (default /usr/bin/chromium); playwright-core
// never downloads one. Playwright gives it a fresh temporary profile and removes it afterwards.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

export const CHROME_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa', 'best-practice'];
export const FAILING_IMPACTS = new Set(['serious', 'critical']);
export const NBCONVERT_PLACEHOLDER = 'No description has been provided for this image';

const SCREEN = { width: 1280, height: 800 };
const A4_MM = { width: 210, height: 297 };
// Chromium's own print margin when a page sets none (about 0.4 in).
const DEFAULT_PRINT_MARGIN_MM = 10;
const TIMEOUT_MS = Number(process.env.EIA_BROWSER_TIMEOUT_MS || 120000);

function usage(message) {
  if (message) console.error(`axe_check: ${message}`);
  console.error('usage: node tests/browser/axe_check.mjs --out DIR PAGE.html [PAGE.html ...]');
  process.exit(2);
}

function parseArgs(argv) {
  const files = [];
  let out = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out') out = argv[++i];
    else if (arg.startsWith('--out=')) out = arg.slice(6);
    else if (arg === '-h' || arg === '--help') usage();
    else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
    else files.push(resolve(arg));
  }
  if (!out) usage('--out DIR is required');
  if (files.length === 0) usage('give at least one HTML file');
  for (const f of files) if (!existsSync(f)) usage(`no such file: ${f}`);
  return { out: resolve(out), files };
}

/** A short, unique, file-name-safe name per page: "<folder>-<stem>" (e.g. notts-…-report). */
function pageNames(files) {
  const used = new Set();
  return files.map((file) => {
    const stem = basename(file).replace(/\.html?$/i, '');
    let name = `${basename(dirname(file))}-${stem}`.replace(/[^A-Za-z0-9._-]+/g, '_');
    let candidate = name;
    for (let n = 2; used.has(candidate); n++) candidate = `${name}-${n}`;
    used.add(candidate);
    return candidate;
  });
}

// ---------------------------------------------------------------- checks in the page

/** DOM checks axe does not make. Runs in the page; returns [{id, ok, message, targets}]. */
function domChecks(placeholder) {
  const results = [];
  const add = (id, ok, message, targets = []) => results.push({ id, ok, message, targets });
  const text = (el) => (el ? el.textContent.replace(/\s+/g, ' ').trim() : '');
  const selector = (el) => {
    const parts = [];
    for (let node = el; node && node.nodeType === 1 && parts.length < 4; node = node.parentElement) {
      let part = node.localName;
      if (node.id) {
        parts.unshift(`${part}#${CSS.escape(node.id)}`);
        break;
      }
      const siblings = node.parentElement
        ? [...node.parentElement.children].filter((s) => s.localName === node.localName)
        : [];
      if (siblings.length > 1) part += `:nth-of-type(${siblings.indexOf(node) + 1})`;
      parts.unshift(part);
    }
    return parts.join(' > ');
  };

  const lang = document.documentElement.getAttribute('lang') || '';
  add('html-lang', /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(lang),
    lang ? `html lang="${lang}"` : 'the html element has no lang attribute', ['html']);

  const mains = document.querySelectorAll('main, [role="main"]');
  add('main-landmark', mains.length === 1,
    `${mains.length} main landmark(s); a page needs exactly one`, [...mains].map(selector));

  const title = text(document.querySelector('head > title'));
  add('document-title', title.length > 0, title ? `title "${title}"` : 'the page has no <title>');

  // Images: alt present; inside a figure, meaningful (not empty, not nbconvert's placeholder).
  const badAlt = [];
  for (const img of document.querySelectorAll('img')) {
    const alt = img.getAttribute('alt');
    const inFigure = !!img.closest('figure');
    let problem = null;
    if (alt === null) problem = 'no alt attribute';
    else if (alt.trim().toLowerCase() === placeholder.toLowerCase()) problem = "nbconvert's placeholder alt text";
    else if (inFigure && alt.trim() === '') problem = 'empty alt text on a figure';
    else if (inFigure && alt.trim().length < 10) problem = `alt text too short to describe a figure ("${alt}")`;
    if (problem) badAlt.push(`${selector(img)}: ${problem}`);
  }
  add('figure-alt-text', badAlt.length === 0,
    badAlt.length ? `${badAlt.length} image(s) without a real description` : 'every image has alt text',
    badAlt);

  // Figures cropped inside the picture: matplotlib's tight bounding box leaves a margin of
  // background all round, so drawing (a legend, a label) that touches an edge was cut off.
  const cropped = [];
  for (const img of document.querySelectorAll('figure img')) {
    if (!img.complete || !img.naturalWidth) continue;
    const w = img.naturalWidth;
    const h = img.naturalHeight;
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(img, 0, 0);
    let data;
    try {
      data = ctx.getImageData(0, 0, w, h).data;
    } catch {
      continue; // a cross-origin picture cannot be read; reports embed theirs
    }
    const at = (x, y) => data.subarray((y * w + x) * 4, (y * w + x) * 4 + 4);
    const bg = at(0, 0);
    const differs = (p) => p[3] > 0 && Math.max(Math.abs(p[0] - bg[0]), Math.abs(p[1] - bg[1]), Math.abs(p[2] - bg[2])) > 48;
    const edges = {
      top: Array.from({ length: w }, (_, x) => at(x, 0)),
      bottom: Array.from({ length: w }, (_, x) => at(x, h - 1)),
      left: Array.from({ length: h }, (_, y) => at(0, y)),
      right: Array.from({ length: h }, (_, y) => at(w - 1, y)),
    };
    const touching = Object.entries(edges).filter(([, px]) => px.filter(differs).length >= 2).map(([e]) => e);
    if (touching.length) {
      const name = text(img.closest('figure').querySelector('figcaption')).slice(0, 60) || selector(img);
      cropped.push(`"${name}": drawing touches the ${touching.join(', ')} edge(s) of the ${w}×${h} picture`);
    }
  }
  add('figure-not-cropped', cropped.length === 0,
    cropped.length ? `${cropped.length} figure(s) cut off inside the picture (e.g. a legend outside the saved area)` : 'no figure is cut off',
    cropped);

  // Figures: a caption, so sighted readers get the point too (warning only).
  const noCaption = [...document.querySelectorAll('figure')]
    .filter((f) => !text(f.querySelector('figcaption')))
    .map(selector);
  add('figure-caption', noCaption.length === 0,
    noCaption.length ? `${noCaption.length} figure(s) without a figcaption` : 'every figure has a caption',
    noCaption);
  results[results.length - 1].warning = true;

  // Tables: a non-empty caption and header cells.
  const badTables = [];
  for (const table of document.querySelectorAll('table')) {
    if (table.getAttribute('role') === 'presentation' || table.getAttribute('role') === 'none') continue;
    const caption = table.querySelector(':scope > caption');
    if (!text(caption)) badTables.push(`${selector(table)}: no caption`);
    else if (!table.querySelector('th')) badTables.push(`${selector(table)}: no header cells (th)`);
  }
  add('table-caption', badTables.length === 0,
    badTables.length ? `${badTables.length} table(s) without a caption or header cells` : 'every table has a caption',
    badTables);

  // Headings: exactly one h1, the first heading is the h1, and no level is skipped.
  const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6, [role="heading"]')]
    .filter((h) => !h.closest('[hidden], [aria-hidden="true"]'))
    .map((h) => ({
      el: h,
      level: h.getAttribute('role') === 'heading'
        ? Number(h.getAttribute('aria-level') || 2)
        : Number(h.localName.slice(1)),
    }));
  const h1s = headings.filter((h) => h.level === 1);
  add('one-h1', h1s.length === 1, `${h1s.length} h1 heading(s); a page needs exactly one`,
    h1s.map((h) => `${selector(h.el)}: "${text(h.el).slice(0, 80)}"`));
  const skips = [];
  let previous = 0;
  for (const { el, level } of headings) {
    if (level > previous + 1) {
      skips.push(`${selector(el)}: h${level} "${text(el).slice(0, 80)}" follows ${previous ? `h${previous}` : 'no heading'}`);
    }
    if (!text(el)) skips.push(`${selector(el)}: empty h${level}`);
    previous = level;
  }
  add('heading-order', skips.length === 0,
    skips.length ? `${skips.length} heading(s) skip a level or are empty` : `${headings.length} headings in order`,
    skips);

  // Nothing of the notebook machinery reaches the reader.
  const machinery = [...document.querySelectorAll(
    '.jp-InputPrompt, .jp-OutputPrompt, .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"], ' +
    '.jp-CodeMirrorEditor, script[src], link[rel="stylesheet"][href^="http"]')].map(selector);
  add('no-notebook-machinery', machinery.length === 0,
    machinery.length ? `${machinery.length} code, prompt, script or remote stylesheet element(s)` : 'no code or prompts',
    machinery);

  return results;
}

/** Under print media with the viewport at the A4 printable width: does every figure fit? */
function printChecks({ a4, defaultMarginMm }) {
  const mmToPx = (mm) => (mm * 96) / 25.4;
  const lengthToPx = (value) => {
    const probe = document.createElement('div');
    probe.style.cssText = `position:absolute;visibility:hidden;width:${value}`;
    document.body.appendChild(probe);
    const px = probe.getBoundingClientRect().width;
    probe.remove();
    return px;
  };
  // The page's own @page margins (inside @media print or not), else Chromium's default.
  const margins = {};
  const visit = (rules) => {
    for (const rule of rules) {
      if (rule.constructor.name === 'CSSPageRule' && !rule.selectorText) {
        for (const side of ['top', 'right', 'bottom', 'left']) {
          const v = rule.style.getPropertyValue(`margin-${side}`);
          if (v) margins[side] = lengthToPx(v);
        }
      } else if (rule.cssRules && (!rule.media || [...rule.media].some((m) => m === 'print' || m === 'all'))) {
        visit(rule.cssRules);
      }
    }
  };
  for (const sheet of document.styleSheets) {
    try {
      visit(sheet.cssRules);
    } catch {
      /* cross-origin sheets cannot be read; a self-contained report has none */
    }
  }
  const dflt = mmToPx(defaultMarginMm);
  const m = { top: dflt, right: dflt, bottom: dflt, left: dflt, ...margins };
  const printable = {
    width: mmToPx(a4.width) - m.left - m.right,
    height: mmToPx(a4.height) - m.top - m.bottom,
  };
  const results = [];
  const tolerance = 1;
  const docWidth = document.documentElement.clientWidth;
  const problems = [];
  const figures = [...document.querySelectorAll('figure img, img')];
  const seen = new Set();
  for (const img of figures) {
    if (seen.has(img)) continue;
    seen.add(img);
    const box = img.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const name = img.closest('figure')?.querySelector('figcaption')?.textContent.trim().slice(0, 60)
      || img.getAttribute('alt')?.slice(0, 60) || img.src.slice(0, 40);
    if (!img.complete || img.naturalWidth === 0) problems.push(`"${name}": image did not load`);
    if (box.left < -tolerance || box.right > docWidth + tolerance || box.width > printable.width + tolerance) {
      problems.push(`"${name}": ${Math.round(box.width)} px wide at x=${Math.round(box.left)}, printable width ${Math.round(printable.width)} px`);
    }
    if (box.height > printable.height + tolerance) {
      problems.push(`"${name}": ${Math.round(box.height)} px tall, taller than a printed page (${Math.round(printable.height)} px)`);
    }
    // An ancestor that hides overflow would clip it.
    for (let el = img.parentElement; el && el !== document.body; el = el.parentElement) {
      const style = getComputedStyle(el);
      if (style.overflowX === 'hidden' || style.overflowX === 'clip') {
        const outer = el.getBoundingClientRect();
        if (box.right > outer.right + tolerance || box.left < outer.left - tolerance) {
          problems.push(`"${name}": clipped by an ancestor with overflow hidden`);
          break;
        }
      }
    }
  }
  results.push({
    id: 'print-figures-fit-a4',
    ok: problems.length === 0,
    message: problems.length
      ? `${problems.length} figure(s) do not fit the A4 printable area`
      : `${seen.size} image(s) fit ${Math.round(printable.width)}×${Math.round(printable.height)} px (A4 less margins)`,
    targets: problems,
  });
  const overflow = document.documentElement.scrollWidth - docWidth;
  const over = [...document.body.querySelectorAll('*')]
    .filter((el) => el.getBoundingClientRect().right > docWidth + tolerance);
  const wide = over
    .filter((el) => !over.includes(el.parentElement)) // the outermost offenders only
    .slice(0, 10)
    .map((el) => `${el.localName}${el.className && typeof el.className === 'string'
      ? '.' + el.className.trim().split(/\s+/).slice(0, 2).join('.') : ''}: "${el.textContent.replace(/\s+/g, ' ').trim().slice(0, 50)}"`);
  results.push({
    id: 'print-no-horizontal-overflow',
    ok: overflow <= tolerance && wide.length === 0,
    message: overflow <= tolerance && wide.length === 0
      ? 'nothing is wider than the printed page'
      : `content is ${Math.round(overflow)} px wider than the printed page and would be cut off`,
    targets: wide,
  });
  return { results, printable, margins: m };
}

/** WCAG 1.4.10 Reflow: at 320 CSS px wide nothing but a data table may need sideways scrolling. */
function reflowChecks() {
  const width = document.documentElement.clientWidth;
  const tolerance = 1;
  const describe = (el) => `${el.localName}${el.className && typeof el.className === 'string'
    ? '.' + el.className.trim().split(/\s+/).slice(0, 2).join('.') : ''}: "${el.textContent.replace(/\s+/g, ' ').trim().slice(0, 50)}"`;
  const over = [...document.body.querySelectorAll('*')].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > width + tolerance && getComputedStyle(el).position !== 'absolute';
  });
  // Report the outermost offenders only.
  const outermost = over.filter((el) => !over.includes(el.parentElement));
  const tables = outermost.filter((el) => el.closest('table'));
  const others = outermost.filter((el) => !el.closest('table'));
  return [
    {
      id: 'reflow-320px',
      ok: others.length === 0,
      message: others.length
        ? `${others.length} element(s) wider than a 320 px screen (WCAG 1.4.10)`
        : 'text and figures reflow to 320 px',
      targets: others.slice(0, 10).map(describe),
    },
    {
      id: 'reflow-320px-tables',
      ok: tables.length === 0,
      warning: true,
      message: tables.length
        ? `${tables.length} table(s) scroll sideways at 320 px (allowed for data tables)`
        : 'tables fit 320 px',
      targets: tables.slice(0, 10).map(describe),
    },
  ];
}

// ---------------------------------------------------------------- the run

async function checkPage(browser, file, name, out, axePath) {
  const context = await browser.newContext({
    viewport: SCREEN,
    deviceScaleFactor: 1,
    reducedMotion: 'reduce',
    locale: 'en-GB',
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  const page = await context.newPage();
  const external = [];
  const consoleErrors = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    external.push(url);
    return route.abort();
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));

  const result = { name, file, screenshot: null, pdf: null, axe: null, checks: [], print: null };
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  await page.evaluate(() => document.fonts && document.fonts.ready);

  result.screenshot = join(out, `${name}.png`);
  await page.screenshot({ path: result.screenshot, fullPage: false });

  // Console errors after this point come from the checks, not the page.
  const pageErrors = consoleErrors.splice(0);
  try {
    await page.addScriptTag({ path: axePath });
  } catch (err) {
    // A page whose Content-Security-Policy allows only its own inline script refuses the
    // tag; evaluating through the DevTools protocol is not subject to the page's CSP.
    if (!/Content Security Policy/i.test(String(err))) throw err;
    await page.evaluate(readFileSync(axePath, 'utf8'));
  }
  const axe = await page.evaluate(async (tags) => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations', 'incomplete'],
    });
    const slim = (items) => items.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      tags: v.tags,
      nodes: v.nodes.map((n) => ({
        target: n.target.map(String).join(' '),
        impact: n.impact,
        html: n.html.slice(0, 300),
        summary: n.failureSummary,
      })),
    }));
    return {
      version: window.axe.version,
      violations: slim(r.violations),
      incomplete: slim(r.incomplete),
      passes: r.passes.map((p) => p.id),
    };
  }, AXE_TAGS);
  result.axe = axe;

  result.checks = await page.evaluate(domChecks, NBCONVERT_PLACEHOLDER);

  await page.setViewportSize({ width: 320, height: 256 });
  result.checks.push(...(await page.evaluate(reflowChecks)));

  // Print: A4 printable width, print media.
  await page.emulateMedia({ media: 'print' });
  const mmToPx = (mm) => Math.round((mm * 96) / 25.4);
  await page.setViewportSize({ width: mmToPx(A4_MM.width), height: mmToPx(A4_MM.height) });
  // First pass learns the margins; then lay out at the printable width and measure.
  const first = await page.evaluate(printChecks, { a4: A4_MM, defaultMarginMm: DEFAULT_PRINT_MARGIN_MM });
  await page.setViewportSize({
    width: Math.floor(first.printable.width),
    height: Math.floor(first.printable.height),
  });
  const printed = await page.evaluate(printChecks, { a4: A4_MM, defaultMarginMm: DEFAULT_PRINT_MARGIN_MM });
  result.print = { printable: printed.printable, margins: printed.margins };
  result.checks.push(...printed.results);

  result.pdf = join(out, `${name}.pdf`);
  let pdfError = null;
  try {
    const pdf = await page.pdf({ path: result.pdf, format: 'A4', printBackground: true, preferCSSPageSize: true });
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
    result.print.pages = pages;
  } catch (err) {
    pdfError = String(err).split('\n')[0];
    result.pdf = null;
  }
  result.checks.push({
    id: 'print-a4-pdf',
    ok: pdfError === null,
    message: pdfError ? `printing to A4 failed: ${pdfError}` : `prints to ${result.print.pages} A4 page(s)`,
    targets: [],
  });

  result.checks.push({
    id: 'self-contained',
    ok: external.length === 0,
    message: external.length ? `${external.length} request(s) outside the file` : 'loads nothing from the network',
    targets: [...new Set(external)].slice(0, 10),
  });
  if (pageErrors.length) {
    result.checks.push({
      id: 'console-errors', ok: false, warning: true,
      message: `${pageErrors.length} console error(s) while the page loaded`, targets: pageErrors.slice(0, 5),
    });
  }
  await context.close();
  return result;
}

/** What fails a page: serious or critical axe violations and failed (non-warning) checks. */
export function failures(result) {
  const found = [];
  for (const v of result.axe?.violations || []) {
    if (!FAILING_IMPACTS.has(v.impact)) continue;
    for (const node of v.nodes) {
      found.push({ kind: 'axe', rule: v.id, impact: v.impact, target: node.target, help: v.help, helpUrl: v.helpUrl });
    }
  }
  for (const c of result.checks || []) {
    if (!c.ok && !c.warning) found.push({ kind: 'check', rule: c.id, impact: 'serious', target: c.targets.join('; '), help: c.message });
  }
  return found;
}

async function main() {
  const { out, files } = parseArgs(process.argv.slice(2));
  mkdirSync(out, { recursive: true });
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    console.error(`axe_check: no Chromium at ${executablePath}; run \`make browser-deps\` or set CHROMIUM`);
    process.exit(2);
  }
  let chromium;
  let axePath;
  try {
    ({ chromium } = require('playwright-core'));
    axePath = require.resolve('axe-core/axe.min.js');
  } catch (err) {
    console.error(`axe_check: ${String(err).split('\n')[0]}; run \`make browser-deps\` (npm ci)`);
    process.exit(2);
  }
  // Playwright starts Chromium with a new temporary profile (--user-data-dir) and removes it.
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: CHROME_FLAGS,
    timeout: TIMEOUT_MS,
  }).catch((err) => {
    console.error(`axe_check: could not start ${executablePath}: ${String(err).split('\n')[0]}`);
    process.exit(2);
  });
  const results = [];
  const names = pageNames(files);
  try {
    for (let i = 0; i < files.length; i++) {
      const result = await checkPage(browser, files[i], names[i], out, axePath);
      result.failures = failures(result);
      writeFileSync(join(out, `${names[i]}.json`), JSON.stringify(result, null, 2));
      results.push(result);
      report(result);
    }
  } finally {
    await browser.close().catch(() => {});
  }
  writeFileSync(join(out, 'results.json'), JSON.stringify({ chromium: executablePath, results }, null, 2));
  const failed = results.filter((r) => r.failures.length);
  console.log(`axe_check: ${results.length - failed.length} passed, ${failed.length} failed (results in ${out})`);
  process.exit(failed.length ? 1 : 0);
}

function report(result) {
  const fails = result.failures;
  console.log(`${fails.length ? 'FAIL' : 'ok  '} ${result.name} (${result.file})`);
  for (const f of fails) console.log(`  - [${f.impact}] ${f.rule}: ${f.help} -> ${f.target}`);
  for (const v of result.axe.violations.filter((x) => !FAILING_IMPACTS.has(x.impact))) {
    console.log(`  ~ [${v.impact}] ${v.id}: ${v.help} (${v.nodes.length} element(s))`);
  }
  for (const c of result.checks.filter((x) => !x.ok && x.warning)) console.log(`  ~ [warning] ${c.id}: ${c.message}`);
  const review = result.axe.incomplete.filter((x) => FAILING_IMPACTS.has(x.impact));
  for (const v of review) console.log(`  ? [needs review] ${v.id}: ${v.help} (${v.nodes.length} element(s))`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`axe_check: ${err && err.stack ? err.stack : err}`);
    process.exit(2);
  });
}
