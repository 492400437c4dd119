#!/usr/bin/env node
// serve_page.js - the dashboard of 'petri serve' in a real browser:
// Debian's Chromium, headless, driven by playwright-core.
//
//   node tests/serve_page.js PETRI SCREENSHOT.png
//
// Runs a tiny search, serves it, opens the page while a second search on
// the same directory trains more models, and checks: no console errors;
// the plot holds as many points as the store has trained models, including
// those trained after the page loaded (no reload); moving a budget slider
// highlights the model 'petri pick' gives for the same limits; the ONNX
// download runs in ONNX Runtime with the logits of 'petri predict'.
// Saves a screenshot. Exit 77 (skipped) when Chromium or playwright-core
// (npm, into build/pw: tools/setup.sh) is missing.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawn } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const CHROMIUM = process.env.PETRI_CHROMIUM || '/usr/bin/chromium';
const PW = path.join(process.env.PETRI_PW_DIR ? path.resolve(process.env.PETRI_PW_DIR) : path.join(ROOT, 'build', 'pw'),
  'node_modules', 'playwright-core');

let fails = 0;
const ok = (m) => console.log('ok   ' + m);
const bad = (m) => { console.log('FAIL ' + m); fails++; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const [petri, shot] = process.argv.slice(2);
if (!petri || !shot) {
  console.error('usage: node tests/serve_page.js PETRI SCREENSHOT.png');
  process.exit(2);
}
if (!fs.existsSync(CHROMIUM)) { console.log('skip: no ' + CHROMIUM + ' (apt-get install chromium)'); process.exit(77); }
let pw;
try { pw = require(PW); } catch (e) { console.log('skip: no playwright-core in ' + PW + ' (sh tools/setup.sh)'); process.exit(77); }

const T = fs.mkdtempSync(path.join(os.tmpdir(), 'serve_page.'));
const E = path.join(T, 'exp');
const env = Object.assign({}, process.env, { OMP_NUM_THREADS: '1' });
const children = [];
function cleanup() {
  for (const c of children) try { c.kill('SIGTERM'); } catch (e) { /* gone */ }
  fs.rmSync(T, { recursive: true, force: true });
}

// the tiny data set of tests/test_search.sh: 3 classes of 8x8 patterns
function data() {
  let seed = 7;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const lines = [];
  for (let i = 0; i < 300; i++) {
    const c = i % 3, v = [c];
    for (let r = 0; r < 8; r++) for (let q = 0; q < 8; q++) {
      let x = rnd() * 0.3;
      if ((c === 0 && r < 3) || (c === 1 && q < 3) || (c === 2 && r > 4 && q > 4)) x += 0.5;
      v.push(x.toFixed(3));
    }
    lines.push(v.join(','));
  }
  fs.writeFileSync(path.join(T, 'd.csv'), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(T, 'd.test.csv'), lines.slice(0, 60).join('\n') + '\n');
}

const run = (args) => execFileSync(petri, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const trained = () => JSON.parse(run(['frontier', '--dir', E, '--all', '--json'])).points;
function pickCli(limits) {
  const args = ['pick', '--dir', E, '--json'];
  const flag = { max_macs: '--max-macs', max_params: '--max-params', max_mem: '--max-memory', max_latency_ms: '--max-latency-ms' };
  for (const k in limits) args.push(flag[k], String(limits[k]));
  try { return JSON.parse(run(args)); } catch (e) { return JSON.parse(e.stdout); } /* exit 3: no model fits */
}

async function main() {
  data();
  const S = ['--shape', '1x8x8', '--workers', '1', '--filters', '4', '--stages', '2', '--seed-epochs', '1',
    '--cand-epochs', '0.3', '--child-epochs', '0.5', '--batch', '32', '--quiet'];
  run(['search', path.join(T, 'd.csv'), '--dir', E, '--jobs', '3', ...S]);
  ok('a tiny search ran: ' + trained() + ' trained models');

  const srv = spawn(petri, ['serve', '--dir', E, '--port', '0', '--quiet'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(srv);
  const url = await new Promise((resolve, reject) => {
    let out = '';
    srv.stdout.on('data', (d) => { out += d; const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out); if (m) resolve(m[0]); });
    srv.on('exit', (c) => reject(new Error('petri serve exited ' + c)));
    setTimeout(() => reject(new Error('petri serve did not start')), 10000);
  });
  ok('serving ' + url);

  const profile = fs.mkdtempSync(path.join(T, 'profile.'));
  const ctx = await pw.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1400, height: 1100 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url);
    await page.waitForSelector('#points circle.pt', { timeout: 20000 });
    const n0 = await page.locator('#points circle.pt').count();
    ok('the page shows ' + n0 + ' points');

    // a second search on the same directory trains more while the page is open
    const s2 = spawn(petri, ['search', '--dir', E, '--jobs', '12', '--quiet'], { env, stdio: 'ignore' });
    children.push(s2);
    const s2done = new Promise((r) => s2.on('exit', r));
    const code = await s2done;
    code === 0 ? ok('the second search ran while the page was open') : bad('second search exit ' + code);
    const want = trained();
    let n1 = 0;
    for (let i = 0; i < 40 && n1 !== want; i++) { await sleep(250); n1 = await page.locator('#points circle.pt').count(); }
    n1 === want && n1 > n0 ? ok('models trained after the page loaded appear without a reload: ' + n0 + ' -> ' + n1 + ' points, ' + want + ' in the store')
      : bad('points ' + n0 + ' -> ' + n1 + ', the store has ' + want);
    const live = await page.locator('#jobs table').count();
    live ? ok('the jobs panel shows a table') : bad('no jobs table');

    // budget sliders: the highlighted model is petri pick's for the same limits
    for (const [key, param, pos] of [['params', 'max_params', 450], ['macs', 'max_macs', 300], ['params', 'max_params', 0]]) {
      await page.evaluate(([k, p]) => { const e = document.getElementById('lim-' + k); e.value = p; e.dispatchEvent(new Event('input')); }, [key, pos]);
      let st = null;
      for (let i = 0; i < 40; i++) {
        await sleep(150);
        st = await page.evaluate(() => ({ id: document.getElementById('picked').dataset.id, query: document.getElementById('picked').dataset.query || '', ring: !!document.getElementById('pick-ring') }));
        if (st.query.includes(param + '=')) break;
      }
      const limits = {};
      for (const kv of st.query.split('&')) { const [k, v] = kv.split('='); if (k.startsWith('max_')) limits[k] = decodeURIComponent(v); }
      const cli = pickCli(limits);
      const cliId = cli.fit ? cli.id : '';
      if (st.id === cliId && (!cliId || st.ring)) ok('slider ' + key + ' at ' + pos + ' (' + JSON.stringify(limits) + '): ' + (cliId || 'no model fits') + ', as petri pick');
      else bad('slider ' + key + ': page picked "' + st.id + '" for ' + st.query + ', petri pick "' + cliId + '"');
    }
    // back to no limit on params; then the download of the model picked under the macs limit
    await page.evaluate(() => { const e = document.getElementById('lim-params'); e.value = 1000; e.dispatchEvent(new Event('input')); });
    await sleep(600);
    const pid = await page.evaluate(() => document.getElementById('picked').dataset.id);
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), page.click('#dl-onnx')]);
    const onnx = path.join(T, 'picked.onnx');
    await dl.saveAs(onnx);
    ok('downloaded ' + dl.suggestedFilename());
    const pfile = path.join(T, 'picked.petri');
    run(['export', pid, '--dir', E, '-o', pfile]);
    run(['predict', pfile, path.join(T, 'd.csv'), '--shape', '1x8x8', '--rows', '20', '-o', path.join(T, 'petri.csv')]);
    try {
      execFileSync('node', [path.join(ROOT, 'tests', 'onnx_ort.js'), onnx, path.join(T, 'd.test.csv'), '20', path.join(T, 'ort.csv'), '1x8x8'], { env, stdio: 'pipe' });
      const cmp = execFileSync('python3', [path.join(ROOT, 'tests', 'onnx_compare.py'), path.join(T, 'petri.csv'), path.join(T, 'ort.csv'), '1e-4'], { encoding: 'utf8' });
      ok('the ONNX download of ' + pid + ' runs in ONNX Runtime: ' + cmp.trim());
    } catch (e) {
      bad('the ONNX download: ' + (e.stdout || '') + (e.stderr || '') + e.message);
    }
    // a model card with its lineage
    await page.hover('#points circle.pt >> nth=-1');
    await page.waitForSelector('#lineage-list li', { timeout: 10000 });
    const card = await page.evaluate(() => document.getElementById('card').textContent);
    // the card of a grown child: its omega ranking (a row per stored pair,
    // the chosen ones marked) and its training curve (a point per stored
    // point), as /api/model has them
    const shown = await page.evaluate(async () => {
      const m = /^(m\d+)/.exec(document.querySelector('#card h3') ? document.querySelector('#card h3').textContent : '');
      const rows = document.querySelectorAll('#omega tr');
      const poly = document.querySelector('#curve polyline');
      return {
        id: m ? m[1] : null, rows: rows.length ? rows.length - 1 : 0,
        chosen: Array.from(rows).filter((r) => /chosen/.test(r.textContent)).length,
        points: poly ? poly.getAttribute('points').trim().split(/\s+/).length : 0,
        text: document.getElementById('card').textContent.slice(0, 200),
      };
    });
    if (!shown.id) bad('model card: no model id in ' + shown.text);
    else {
      const c = JSON.parse(execFileSync('curl', ['-s', url + 'api/model?exp=exp&id=' + shown.id], { encoding: 'utf8' }));
      if (!c.parent) bad('the hovered model ' + shown.id + ' is the first one, not a grown child');
      else if (!c.omega_ranking || !c.curve) bad('card of ' + shown.id + ' has no omega ranking or curve: ' + JSON.stringify(c.not_stored));
      else {
        const want = c.omega_ranking.ranking.filter((r) => r.chosen).length;
        shown.rows === c.omega_ranking.ranking.length && shown.chosen === want
          ? ok('model card of ' + shown.id + ': omega ranking, ' + shown.rows + ' pairs, ' + want + ' chosen')
          : bad('omega ranking shown ' + shown.rows + ' rows / ' + shown.chosen + ' chosen, stored ' + c.omega_ranking.ranking.length + ' / ' + want);
        shown.points === c.curve.points.length
          ? ok('model card of ' + shown.id + ': training curve of ' + shown.points + ' points')
          : bad('curve shown with ' + shown.points + ' points, stored ' + c.curve.points.length);
      }
    }
    await page.evaluate(() => { const e = document.getElementById('lim-macs'); e.value = 600; e.dispatchEvent(new Event('input')); });
    await sleep(800);
    await page.screenshot({ path: shot, fullPage: true });
    ok('screenshot ' + shot);
    errors.length ? bad('console errors: ' + errors.join(' | ')) : ok('no console errors');
  } finally {
    await ctx.close();
  }
}

main().then(() => {
  cleanup();
  console.log(fails ? fails + ' serve_page test(s) failed' : 'all serve_page tests passed');
  process.exit(fails ? 1 : 0);
}, (e) => {
  cleanup();
  console.log('FAIL ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
