// Opens a page of another origin (the test's own throw-away server) whose script calls
// Bydel's /graphql with Authorization and Idempotency-Key, and reports what the page saw.
// Usage: node cors.mjs <page url>
import { open, report } from "./chromium.mjs";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node cors.mjs <page url>");
  process.exit(2);
}

const { browser, page, requests, problems } = await open();
const result = { requests, problems };
try {
  await page.goto(url, { waitUntil: "load", timeout: 30_000 });
  await page.waitForFunction(() => window.__outcome !== undefined, null, { timeout: 30_000 });
  result.outcome = await page.evaluate(() => window.__outcome);
} catch (error) {
  result.error = String(error);
} finally {
  await browser.close();
}
report(result);
