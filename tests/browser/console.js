#!/usr/bin/env node
// The review console (cybil-review serve) end to end in headless Chromium,
// driven by playwright-core (tests/browser/package-lock.json, installed into
// build/browser by .ci/deps) with Debian's chromium: never a downloaded
// browser. tests/e2e/console.t sets up the store and the server, runs this,
// then checks the store and the next release itself.
//
// Usage: node console.js URL STORE CONF OUTDIR
//   URL     the console, e.g. http://127.0.0.1:PORT/
//   STORE   its SQLite store (read only here: ids by external id, and each
//           decision as the store holds it right after the browser made it)
//   CONF    its configuration (cybil-review -c CONF verify-log)
//   OUTDIR  where the screenshots go
// Environment: CONSOLE_USER, CONSOLE_PASSWORD (the account), CONSOLE_EVIDENCE
// (the file to grant with), CONSOLE_CORRECTION (the corrected title),
// CYBIL_BIN (the programs; default: bin/ of this tree), CHROMIUM
// (default /usr/bin/chromium), PLAYWRIGHT_CORE (the module's folder).
//
// The store holds records of source "news" with the external ids g1 (to be
// granted), w1 (public, to be withdrawn, with a note holding markup), c1
// (public, its title to be corrected), x1 and x2 (hostile titles; x2's
// summary is corrected to markup), and a page of source "page" (an HTML
// capture with scripts). Prints TAP: one line per check, then the plan.
'use strict';

const path = require('path');
const fs = require('fs');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const TOP = path.resolve(__dirname, '..', '..');
const [URL_ARG, STORE, CONF, OUTDIR] = process.argv.slice(2);
if (!URL_ARG || !STORE || !CONF || !OUTDIR) {
	console.error('usage: node console.js URL STORE CONF OUTDIR');
	process.exit(2);
}
const BASE = URL_ARG.replace(/\/+$/, '');
const USER = process.env.CONSOLE_USER || 'manager';
const PASSWORD = process.env.CONSOLE_PASSWORD || 'secret-pass-1';
const EVIDENCE = process.env.CONSOLE_EVIDENCE;
const CORRECTION = process.env.CONSOLE_CORRECTION || 'Correct me, corrected';
const BIN = process.env.CYBIL_BIN || path.join(TOP, 'bin');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PW = process.env.PLAYWRIGHT_CORE ||
	path.join(TOP, 'build', 'browser', 'node_modules', 'playwright-core');

const SCRIPT_TITLE = '<script>alert(1)</script>';
const IMG_TITLE = '<img src=x onerror=alert(2)>';
const NOTE = 'owner asked by mail <script>alert(6)</script>';
const HOSTILE_VALUE = '<img src=x onerror=alert(7)><script>alert(8)</script>';

// --------------------------------------------------------------- TAP
let n = 0, failed = 0;
function ok(cond, desc, ...why) {
	n++;
	if (cond) {
		console.log(`ok ${n} - ${desc}`);
	} else {
		failed++;
		console.log(`not ok ${n} - ${desc}`);
		for (const w of why) diag(typeof w === 'string' ? w : JSON.stringify(w));
	}
	return !!cond;
}
function is(got, want, desc) {
	return ok(got === want, desc, `     got: ${JSON.stringify(got)}`,
		`expected: ${JSON.stringify(want)}`);
}
function like(got, re, desc) {
	return ok(typeof got === 'string' && re.test(got), desc,
		`     got: ${JSON.stringify(got)}`, `doesn't match ${re}`);
}
function diag(msg) {
	for (const line of String(msg).split('\n')) console.log(`# ${line}`);
}

// --------------------------------------------------------------- store
function sql(query) {
	return execFileSync('/usr/bin/sqlite3', ['-readonly', STORE, query],
		{ encoding: 'utf8' }).replace(/\n$/, '');
}
function idOf(externalId) {
	return sql(`SELECT id FROM record WHERE external_id = '${externalId}'`);
}
function consentOf(id) {
	return sql(`SELECT consent FROM record WHERE id = '${id}'`);
}
function events() {
	return sql('SELECT count(*) FROM consent_event');
}

// --------------------------------------------------------------- page helpers
// What the data could have injected: script elements, images, and any
// element with an inline event handler.
async function injected(page) {
	return page.evaluate(() => {
		let handlers = 0;
		for (const el of document.querySelectorAll('*')) {
			for (const a of el.attributes) {
				if (/^on/i.test(a.name)) handlers++;
			}
		}
		return {
			scripts: document.querySelectorAll('script').length,
			imgs: document.querySelectorAll('img').length,
			handlers,
		};
	});
}
async function text(page, selector) {
	const el = await page.$(selector);
	return el ? (await el.textContent()) : null;
}
async function count(page, selector) {
	return (await page.$$(selector)).length;
}
// submit FORM_SELECTOR: clicks the form's submit button and waits for the
// page it leads to; returns that response.
async function submit(page, form) {
	const [response] = await Promise.all([
		page.waitForNavigation(),
		page.click(`${form} button[type=submit]`),
	]);
	return response;
}

async function main() {
	let chromium;
	try {
		({ chromium } = require(PW));
	} catch (e) {
		console.log(`1..0 # SKIP playwright-core is not installed in ${PW}`);
		return 0;
	}
	fs.mkdirSync(OUTDIR, { recursive: true });

	const ids = {
		grant: idOf('g1'), withdraw: idOf('w1'), correct: idOf('c1'),
		script: idOf('x1'), img: idOf('x2'),
		page: sql("SELECT id FROM record WHERE source = 'page' LIMIT 1"),
	};
	if (!ok(Object.values(ids).every((v) => /^[0-9a-f]{32}$/.test(v)),
		'the store holds the records the test acts on', ids)) {
		console.log(`1..${n}`);
		return 1;
	}

	const browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--no-sandbox'],
	});
	const context = await browser.newContext({ acceptDownloads: true });
	const page = await context.newPage();
	const dialogs = [];
	page.on('dialog', async (d) => {
		dialogs.push(`${d.type()}: ${d.message()}`);
		await d.dismiss().catch(() => {});
	});
	const pageErrors = [];
	page.on('pageerror', (e) => pageErrors.push(String(e)));
	const cspViolations = [];
	page.on('console', (m) => {
		if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
	});
	page.setDefaultTimeout(15000);

	try {
		await run(page, context, ids);
	} catch (e) {
		ok(false, 'the browser session ran to its end', String(e && e.stack || e));
	}

	is(dialogs.length, 0, 'no dialog (alert, confirm, prompt) fired on any page');
	if (dialogs.length) diag(dialogs.join('\n'));
	is(pageErrors.length, 0, 'no script error on any page (the console runs no script)');
	if (pageErrors.length) diag(pageErrors.join('\n'));
	if (cspViolations.length) {
		diag('Content Security Policy reports:\n' + cspViolations.join('\n'));
	}
	await browser.close();
	console.log(`1..${n}`);
	return failed ? 1 : 0;
}

async function run(page, context, ids) {
	// ------------------------------------------------------------ log in
	let resp = await page.goto(`${BASE}/`);
	is(new URL(page.url()).pathname, '/login', 'without a session the queue leads to /login');
	ok(await page.$('form#login input[type=hidden][name=csrf]'),
		'the login form carries a csrf token, as every form does');
	ok(await page.$('form#login input[name=name]') &&
		await page.$('form#login input[name=password]') &&
		await page.$('form#login button[type=submit]'),
	'the login page has form#login with name, password and a submit button');

	await page.fill('form#login input[name=name]', USER);
	await page.fill('form#login input[name=password]', 'wrong-password');
	resp = await submit(page, 'form#login');
	// Under Referrer-Policy: no-referrer Chromium would send "Origin: null"
	// and the console refuse it: its pages say same-origin.
	const origin = resp ? (await resp.request().allHeaders()).origin : undefined;
	ok(resp && resp.status() !== 403, "a form POST from Chromium is not refused as another site's",
		`POST /login with Origin: ${origin} was answered ${resp && resp.status()}: ` +
		`${await text(page, 'p#error')}`);
	is(resp && resp.status(), 401, 'a wrong password is answered 401');
	ok(await page.$('p#error'), '... with p#error');
	is((await context.cookies()).filter((c) => c.name === 'cybil_session').length, 0,
		'... and no session cookie');

	await page.goto(`${BASE}/login`);
	await page.fill('form#login input[name=name]', USER);
	await page.fill('form#login input[name=password]', PASSWORD);
	resp = await submit(page, 'form#login');
	is(new URL(page.url()).pathname, '/', 'logging in leads to the queue');
	const cookie = (await context.cookies()).find((c) => c.name === 'cybil_session');
	ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.path === '/',
		'the session cookie is HttpOnly, SameSite=Strict, Path=/', cookie || 'no cookie');
	is(await page.evaluate(() => document.cookie.includes('cybil_session')), false,
		'the page cannot read the session cookie');
	const headers = resp ? resp.headers() : {};
	like(headers['content-security-policy'] || '', /default-src 'none'/,
		"the queue is sent with Content-Security-Policy: default-src 'none'");
	is(headers['x-content-type-options'], 'nosniff', '... and nosniff');
	ok(await page.$('nav a[href="/"]') && await page.$('nav a[href="/sources"]') &&
		await page.$('nav a[href="/log"]') && await page.$('nav form#logout'),
	'the nav links the queue, sources, log and has form#logout');

	// ------------------------------------------------------------ the queue
	ok(await page.$('table#queue'), 'the queue is table#queue');
	const rows = await page.$$eval('table#queue tr[data-id]', (trs) => trs.map((t) => t.dataset.id));
	ok([ids.grant, ids.script, ids.img, ids.page].every((id) => rows.includes(id)),
		'the pending records are in the queue', rows);
	ok(!rows.includes(ids.withdraw) && !rows.includes(ids.correct),
		'the public ones are not (the queue shows pending records by default)');
	is(await text(page, 'ul#counts li[data-consent=pending]').then((t) => (t || '').match(/\d+/)?.[0]),
		sql("SELECT count(*) FROM record WHERE consent = 'pending' AND state = 'active'"),
		'ul#counts shows the number of pending records');
	is(await text(page, `tr[data-id="${ids.script}"] a[href="/record/${ids.script}"]`), SCRIPT_TITLE,
		'a <script> title is shown literally in the queue');
	is(await text(page, `tr[data-id="${ids.img}"] a[href="/record/${ids.img}"]`), IMG_TITLE,
		'an <img onerror> title is shown literally in the queue');
	ok(await page.getByText(SCRIPT_TITLE, { exact: true }).isVisible() &&
		await page.getByText(IMG_TITLE, { exact: true }).isVisible(),
	'both are visible as text');
	let inj = await injected(page);
	is(JSON.stringify(inj), JSON.stringify({ scripts: 0, imgs: 0, handlers: 0 }),
		'the queue has no script, img or on* handler element');
	await page.screenshot({ path: path.join(OUTDIR, 'queue.png'), fullPage: true });
	pass(`screenshot of the queue: ${path.join(OUTDIR, 'queue.png')}`);

	// ------------------------------------------------------------ hostile records
	for (const [key, title] of [['script', SCRIPT_TITLE], ['img', IMG_TITLE]]) {
		await page.goto(`${BASE}/?consent=pending`);
		await Promise.all([page.waitForNavigation(),
			page.click(`table#queue tr[data-id="${ids[key]}"] a`)]);
		is(new URL(page.url()).pathname, `/record/${ids[key]}`, `the queue's link opens the record (${key})`);
		is(await text(page, 'h1'), title, `its h1 is the title as text: ${title}`);
		is(await text(page, 'table#values tr[data-field=title] td.harvested'), title,
			'... and so is its harvested title');
		inj = await injected(page);
		is(JSON.stringify(inj), JSON.stringify({ scripts: 0, imgs: 0, handlers: 0 }),
			'the record page has no script, img or on* handler element');
		if (key === 'script') {
			await page.screenshot({ path: path.join(OUTDIR, 'record-script-title.png'), fullPage: true });
			pass(`screenshot of a record page: ${path.join(OUTDIR, 'record-script-title.png')}`);
		}
	}

	// ------------------------------------------------------------ grant
	await page.goto(`${BASE}/`);
	await Promise.all([page.waitForNavigation(),
		page.click(`table#queue tr[data-id="${ids.grant}"] a`)]);
	is(await text(page, 'span#state'), 'pending', 'the record to grant is pending');
	ok(await count(page, 'form input[type=hidden][name=csrf]') >= 6 &&
		await page.$$eval('form[method=post], form[method=POST]', (fs) =>
			fs.every((f) => f.querySelector('input[type=hidden][name=csrf]') &&
				f.querySelectorAll('button[type=submit]').length === 1)),
	'every form of the record page carries a csrf token and one submit button');

	// a grant without evidence is refused and changes nothing
	let before = events();
	resp = await submit(page, 'form#grant');
	is(resp && resp.status(), 400, 'a grant without evidence is answered 400');
	ok(await page.$('p#error'), '... with p#error');
	ok(events() === before && consentOf(ids.grant) === 'pending', '... and changes nothing');

	await page.goto(`${BASE}/record/${ids.grant}`);
	await page.setInputFiles('form#grant input[name=evidence_file]', EVIDENCE);
	await page.fill('form#grant input[name=note]', 'signed consent form');
	resp = await submit(page, 'form#grant');
	const done = new URL(page.url());
	is(`${done.pathname}${done.search}`, `/record/${ids.grant}?done=grant`,
		'a grant with an evidence file leads back to the record with done=grant');
	ok(await page.$('p#message'), '... which shows p#message');
	is(await text(page, 'span#state'), 'granted', '... and the state granted');
	const sha = crypto.createHash('sha256').update(fs.readFileSync(EVIDENCE)).digest('hex');
	is(sql(`SELECT new || ' ' || evidence || ' ' || by FROM consent_event ORDER BY id DESC LIMIT 1`),
		`granted ${sha} ${USER}`, "the store's last event grants it with the file's sha256, by the account");
	ok(await page.$(`section#consent a[href="/evidence/${sha}"]`) !== null ||
		(await page.content()).includes(sha), 'the consent history names the evidence');
	await page.screenshot({ path: path.join(OUTDIR, 'record-granted.png'), fullPage: true });

	// ------------------------------------------------------------ withdraw
	await page.goto(`${BASE}/?consent=public`);
	await Promise.all([page.waitForNavigation(),
		page.click(`table#queue tr[data-id="${ids.withdraw}"] a`)]);
	is(await text(page, 'span#state'), 'public', 'the record to withdraw is public');
	await page.fill('form#withdraw input[name=note]', NOTE);
	resp = await submit(page, 'form#withdraw');
	like(page.url(), /\?done=withdraw$/, 'withdrawing leads back with done=withdraw');
	ok((await text(page, 'section#consent') || '').includes(NOTE),
		'the consent history shows its note, markup and all, as text');
	inj = await injected(page);
	is(JSON.stringify(inj), JSON.stringify({ scripts: 0, imgs: 0, handlers: 0 }),
		'... and no element came of it');
	is(await text(page, 'span#state'), 'withdrawn', '... and the state withdrawn');
	is(consentOf(ids.withdraw), 'withdrawn', 'the store has it withdrawn');

	// ------------------------------------------------------------ correct
	await page.goto(`${BASE}/record/${ids.correct}`);
	await page.fill('form#correct input[name=field]', 'title');
	await page.fill('form#correct textarea[name=value]', CORRECTION);
	await page.fill('form#correct input[name=note]', 'typo');
	resp = await submit(page, 'form#correct');
	like(page.url(), /\?done=correct$/, 'a correction leads back with done=correct');
	const corrected = await text(page, 'table#values tr[data-field=title] td.corrected') || '';
	ok(corrected.startsWith(CORRECTION) && corrected.includes(USER),
		'the corrected value is shown beside the harvested one, with who made it', corrected);
	is(await text(page, 'table#values tr[data-field=title] td.harvested'), 'Correct me',
		'... which stays');
	ok(await page.$('form.uncorrect input[type=hidden][name=field][value=title]'),
		'the correction can be removed (form.uncorrect)');

	// A corrected value is escaped like a harvested one (on a record that
	// stays pending, so it is never published).
	await page.goto(`${BASE}/record/${ids.img}`);
	await page.fill('form#correct input[name=field]', 'summary');
	await page.fill('form#correct textarea[name=value]', HOSTILE_VALUE);
	await submit(page, 'form#correct');
	const hostileCorrected = await text(page, 'table#values tr[data-field=summary] td.corrected') || '';
	ok(hostileCorrected.startsWith(HOSTILE_VALUE),
		'a corrected value with markup is shown as text', hostileCorrected);
	inj = await injected(page);
	is(JSON.stringify(inj), JSON.stringify({ scripts: 0, imgs: 0, handlers: 0 }),
		'... and no element came of it');

	// ------------------------------------------------------------ CSRF in the page
	before = events();
	await page.goto(`${BASE}/record/${ids.script}`);
	await page.$eval('form#refuse input[name=csrf]', (i) => { i.value = 'forged'; });
	resp = await submit(page, 'form#refuse');
	is(resp && resp.status(), 403, 'a form with a forged csrf token is answered 403');
	ok(await page.$('p#error'), '... with p#error');
	ok(events() === before && consentOf(ids.script) === 'pending', '... and changes nothing');
	await page.goto(`${BASE}/record/${ids.script}`);
	await page.$eval('form#refuse input[name=csrf]', (i) => i.remove());
	resp = await submit(page, 'form#refuse');
	is(resp && resp.status(), 403, 'a form without its csrf token is answered 403');
	ok(events() === before && consentOf(ids.script) === 'pending', '... and changes nothing');

	// ------------------------------------------------------------ the capture
	await page.goto(`${BASE}/record/${ids.page}`);
	const capHref = await page.getAttribute('a#capture', 'href');
	is(capHref, `/record/${ids.page}/capture`, 'the record page links its capture (a#capture)');
	const recordUrl = page.url();
	// Going to the capture's URL must start a download, never render it.
	let download, gotoError = '';
	[download] = await Promise.all([
		page.waitForEvent('download'),
		page.goto(`${BASE}${capHref}`).catch((e) => { gotoError = String(e); }),
	]);
	like(gotoError, /Download is starting/, 'navigating to the HTML capture starts a download');
	is(page.url(), recordUrl, '... and the page stays the record page');
	const body = fs.readFileSync(await download.path(), 'utf8');
	like(body, /<script/i, 'the download is the stored HTML with its script');
	like(download.suggestedFilename(), /^[^/]+$/, `... saved as ${download.suggestedFilename()}`);
	is(await page.title().then((t) => t.includes('pwned')), false, "the capture's script never ran");
	// Clicking the link downloads it too.
	[download] = await Promise.all([page.waitForEvent('download'), page.click('a#capture')]);
	ok(download, 'clicking a#capture downloads it as well');
	// And the evidence file likewise.
	const sha2 = crypto.createHash('sha256').update(fs.readFileSync(EVIDENCE)).digest('hex');
	gotoError = '';
	[download] = await Promise.all([
		page.waitForEvent('download'),
		page.goto(`${BASE}/evidence/${sha2}`).catch((e) => { gotoError = String(e); }),
	]);
	like(gotoError, /Download is starting/, 'navigating to /evidence/SHA256 starts a download');
	is(fs.readFileSync(await download.path(), 'utf8'), fs.readFileSync(EVIDENCE, 'utf8'),
		'... of the evidence file');

	// ------------------------------------------------------------ log, sources
	await page.goto(`${BASE}/log`);
	like(await text(page, 'p#chain') || '', /verified/, 'the audit log page says the chain is verified');
	ok((await text(page, 'table#log') || '').includes(USER), "table#log names the account's decisions");
	await page.goto(`${BASE}/sources`);
	ok(await page.$('table#sources tr[data-source=news]') && await page.$('table#sources tr[data-source=page]'),
		'the sources page lists both sources');
	ok(await page.$('section#release'), '... and the latest release (section#release)');

	// ------------------------------------------------------------ log out
	const oldCookie = (await context.cookies()).find((c) => c.name === 'cybil_session');
	await submit(page, 'form#logout');
	await page.goto(`${BASE}/`);
	is(new URL(page.url()).pathname, '/login', 'after logging out the queue leads to /login again');
	const req = await context.request.get(`${BASE}/`, {
		headers: { cookie: `cybil_session=${oldCookie.value}` }, maxRedirects: 0,
	});
	is(req.status(), 303, 'and the old session cookie is no longer accepted');
}

function pass(desc) { ok(true, desc); }

main().then((rc) => process.exit(rc), (e) => {
	console.log(`not ok ${++n} - the test crashed: ${e && e.stack || e}`);
	console.log(`1..${n}`);
	process.exit(1);
});
