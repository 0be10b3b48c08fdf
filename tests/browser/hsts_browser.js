// Drives Debian's chromium (never a downloaded browser) through scenarios
// given as JSON on stdin: each scenario runs in a fresh browser context
// (its own HSTS state) and is a list of URLs to navigate to in order.
// Prints, as JSON, for every navigation: the final status and URL and
// whether Chromium switched http:// to https:// itself (its internal 307).
'use strict';

const { chromium } = require('playwright-core');

async function navigate(page, url) {
  try {
    const res = await page.goto(url, { waitUntil: 'load', timeout: 15000 });
    let upgraded = false;
    for (let req = res.request(); req; req = req.redirectedFrom()) {
      const prev = req.redirectedFrom();
      if (prev && prev.url().startsWith('http://')
          && req.url().startsWith('https://')) {
        const prevRes = await prev.response();
        upgraded = upgraded || (prevRes && prevRes.status() === 307);
      }
    }
    return { url, status: res.status(), finalUrl: res.url(), upgraded };
  } catch (e) {
    return { url, error: String(e.message).split('\n')[0] };
  }
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const job = JSON.parse(input);
  const browser = await chromium.launch({
    executablePath: job.executable,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
           '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync',
           '--host-resolver-rules=' + job.hostRules],
  });
  const out = {};
  try {
    for (const [name, urls] of Object.entries(job.scenarios)) {
      // Wrong credentials: headless Chromium has no prompt, so a Basic
      // challenge ends the navigation unless there is something to try;
      // with these it gets the server's 401 back.
      const context = await browser.newContext({
        httpCredentials: { username: 'nobody', password: 'wrong' },
      });
      const page = await context.newPage();
      out[name] = [];
      for (const url of urls) out[name].push(await navigate(page, url));
      await context.close();
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
