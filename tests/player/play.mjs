#!/usr/bin/env node
/*
 * play.mjs - play a published HLS job the way a viewer would: serve DIR over
 * HTTP on 127.0.0.1, open hls.js in headless Chromium on DIR/master.m3u8,
 * and print one JSON result (levels, playback, decoded size, duration,
 * hls.js errors, what the server was asked for). Exit 0 only when everything
 * a viewer needs held. It never downloads a browser and never fakes a
 * playback: no Chromium means exit 3 with the reason.
 *
 *   node tests/player/play.mjs DIR [--master NAME] [--min-time S] [--to-end]
 *        [--rate R] [--expect-levels N] [--expect-duration S] [--tolerance S]
 *        [--timeout S] [--headed] [--serve [--port N]]
 *
 * Exit: 0 played, 1 a check failed (JSON says why), 2 usage, 3 environment
 * (no Chromium, no node_modules, the browser would not start).
 * Works on Node 18 (Debian 12's nodejs) and later.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const USAGE =
  'usage: play.mjs DIR [--master NAME] [--min-time S] [--to-end] [--rate R]\n' +
  '       [--expect-levels N] [--expect-duration S] [--tolerance S] [--timeout S]\n' +
  '       [--headed] [--serve [--port N]]\n';

function usage(msg) {
  process.stderr.write(`play.mjs: ${msg}\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    dir: null,
    master: 'master.m3u8',
    minTime: 3,
    toEnd: false,
    rate: 4,
    expectLevels: null,
    expectDuration: null,
    tolerance: 0.5,
    timeout: 25,
    headed: false,
    serve: false,
    port: 0,
    chromium: process.env.HLSD_CHROMIUM || '/usr/bin/chromium',
  };
  const num = (a, v) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) usage(`${a} needs a non-negative number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--master': o.master = argv[++i] || usage('--master needs a name'); break;
      case '--min-time': o.minTime = num(a, argv[++i]); break;
      case '--to-end': o.toEnd = true; break;
      case '--rate': o.rate = num(a, argv[++i]); break;
      case '--expect-levels': o.expectLevels = num(a, argv[++i]); break;
      case '--expect-duration': o.expectDuration = num(a, argv[++i]); break;
      case '--tolerance': o.tolerance = num(a, argv[++i]); break;
      case '--timeout': o.timeout = num(a, argv[++i]); break;
      case '--headed': o.headed = true; break;
      case '--serve': o.serve = true; break;
      case '--port': o.port = num(a, argv[++i]); break;
      case '-h': case '--help': process.stdout.write(USAGE); process.exit(0); break;
      default:
        if (a.startsWith('-') || o.dir !== null) usage(`unexpected argument ${a}`);
        o.dir = a;
    }
  }
  if (o.dir === null) usage('no DIR');
  if (o.rate <= 0 || o.rate > 16) usage('--rate must be in (0, 16]');
  return o;
}

const TYPES = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.m4s': 'video/mp4', /* as hlsd publishes CMAF segments */
  '.mp4': 'video/mp4',
  '.aac': 'audio/aac',
  '.vtt': 'text/vtt',
  '.js': 'text/javascript; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

const PAGE = `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>hlsd player test</title>
<style>body{font:13px monospace;margin:1em}video{background:#000;max-width:100%}</style>
<video id="v" controls playsinline width="640"></video>
<pre id="out">running...</pre>
<script src="/hls.js"></script>
<script src="/page.js"></script>
`;

/*
 * serve - a static server for the page, hls.js, page.js and DIR under
 * /media/. It records every request so that a 404 the player shrugged off
 * is still reported. Only GET and HEAD; nothing outside DIR is reachable.
 */
function serve(root, hlsjs, port) {
  const log = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    let file = null;
    let type = null;
    let pathname;
    try {
      pathname = decodeURIComponent(u.pathname);
    } catch {
      pathname = null;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      log.push({ path: u.pathname, status: 405 });
      return;
    }
    if (pathname === '/' || pathname === '/index.html') {
      res.writeHead(200, { 'Content-Type': TYPES['.html'], 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : PAGE);
      return;
    } else if (pathname === '/hls.js') {
      file = hlsjs;
    } else if (pathname === '/page.js') {
      file = path.join(HERE, 'page.js');
    } else if (pathname && pathname.startsWith('/media/') && !pathname.includes('\0')) {
      const p = path.resolve(root, '.' + pathname.slice('/media'.length));
      if (p.startsWith(root + path.sep)) file = p;
    }
    if (file) type = TYPES[path.extname(file)] || 'application/octet-stream';
    fs.stat(file || '/nonexistent', (err, st) => {
      const media = pathname && pathname.startsWith('/media/');
      if (err || !st.isFile()) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        if (media || !file) log.push({ path: u.pathname, status: 404 });
        return;
      }
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': st.size, 'Cache-Control': 'no-store' });
      if (media) log.push({ path: u.pathname, status: 200, type, bytes: st.size });
      if (req.method === 'HEAD') return res.end();
      fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, log, port: server.address().port }));
  });
}

function envFail(msg) {
  process.stdout.write(JSON.stringify({ ok: false, reasons: [msg] }, null, 2) + '\n');
  process.stderr.write(`play.mjs: ${msg}\n`);
  process.exit(3);
}

/* withTimeout - p, or a rejection after ms (the timer never holds the loop) */
function withTimeout(p, ms, what) {
  let t;
  const timer = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const root = path.resolve(o.dir);
  if (!fs.existsSync(path.join(root, o.master))) usage(`${path.join(root, o.master)} does not exist`);
  const hlsjs = path.join(HERE, 'node_modules', 'hls.js', 'dist', 'hls.min.js');
  if (!fs.existsSync(hlsjs))
    envFail(`${hlsjs} is missing: run "npm ci --prefix tests/player" (make deps does it)`);

  const srv = await serve(root, hlsjs, o.port);
  const query = new URLSearchParams({
    src: `/media/${o.master}`,
    min: String(o.minTime),
    end: o.toEnd ? '1' : '0',
    rate: String(o.rate),
  });
  const url = `http://127.0.0.1:${srv.port}/?${query}`;

  if (o.serve) {
    process.stderr.write(`play.mjs: serving ${root}\nopen ${url}\n(Ctrl-C to stop)\n`);
    process.on('SIGINT', () => process.exit(0));
    return;
  }

  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    srv.server.close();
    envFail(`playwright-core is not installed (${e.code || e.message}): run "npm ci --prefix tests/player" (make deps does it)`);
  }
  if (!fs.existsSync(o.chromium)) {
    srv.server.close();
    envFail(`no Chromium at ${o.chromium}: install Debian's chromium (make deps) or set HLSD_CHROMIUM`);
  }

  const t0 = Date.now();
  const totalMs = o.timeout * 1000;
  /* the last line of defence: whatever hangs, the process ends */
  const watchdog = setTimeout(() => {
    process.stdout.write(JSON.stringify({ ok: false, reasons: [`play.mjs: overall timeout ${o.timeout} s`] }) + '\n');
    process.exit(1);
  }, totalMs + 10000);
  watchdog.unref();

  let browser = null;
  const result = { ok: false, reasons: [] };
  const consoleErrors = [];
  const pageErrors = [];
  try {
    try {
      browser = await chromium.launch({
        executablePath: o.chromium,
        headless: !o.headed,
        timeout: 15000,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--disable-breakpad',
          '--disable-crash-reporter',
          '--autoplay-policy=no-user-gesture-required',
        ],
      });
    } catch (e) {
      srv.server.close();
      envFail(`${o.chromium} did not start: ${e.message.split('\n')[0]}`);
    }
    result.chromium = browser.version();
    const page = await browser.newPage();
    page.setDefaultTimeout(totalMs);
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(String(e && e.message ? e.message : e)));
    await page.goto(url, { timeout: 10000 });
    const left = Math.max(1000, totalMs - (Date.now() - t0));
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: left, polling: 100 });
    Object.assign(result, await page.evaluate(() => window.__result));
  } catch (e) {
    result.reasons.push(`play.mjs: ${e.message.split('\n')[0]}`);
  } finally {
    if (browser) await withTimeout(browser.close(), 10000, 'browser.close').catch(() => {});
    await withTimeout(new Promise((r) => srv.server.close(r)), 5000, 'server.close').catch(() => {});
    if (srv.server.closeAllConnections) srv.server.closeAllConnections();
  }

  /* judgements that need more than the page saw */
  const reasons = result.reasons;
  result.console_errors = consoleErrors;
  result.page_errors = pageErrors;
  for (const e of pageErrors) reasons.push(`uncaught page error: ${e}`);
  const bad = srv.log.filter((r) => r.status !== 200);
  for (const r of bad) reasons.push(`server answered ${r.status} for ${r.path}`);
  result.requests = {
    total: srv.log.length,
    playlists: srv.log.filter((r) => r.type === TYPES['.m3u8']).length,
    segments: srv.log.filter((r) => /\.(ts|m4s)$/.test(r.path)).length,
    failed: bad,
  };
  if (result.levels) {
    if (o.expectLevels !== null && result.levels.length !== o.expectLevels)
      reasons.push(`expected ${o.expectLevels} levels, hls.js parsed ${result.levels.length}`);
    const sized = result.levels.filter((l) => l.width > 0);
    if (sized.length && result.video &&
        !sized.some((l) => l.width === result.video.width && l.height === result.video.height))
      reasons.push(`decoded ${result.video.width}x${result.video.height} matches no level`);
    if (sized.length === 0 && result.video && result.video.width !== 0)
      reasons.push('audio-only levels, but a picture was decoded');
  }
  if (o.expectDuration !== null) {
    if (typeof result.duration !== 'number')
      reasons.push('the player reported no duration');
    else if (Math.abs(result.duration - o.expectDuration) > o.tolerance)
      reasons.push(`duration ${result.duration} differs from ${o.expectDuration} by more than ${o.tolerance} s`);
  }
  result.elapsed_total_ms = Date.now() - t0;
  result.ok = reasons.length === 0;
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  if (!result.ok) process.stderr.write(`play.mjs: FAILED: ${reasons.join('; ')}\n`);
  process.exit(result.ok ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(`play.mjs: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});

