// Launches Debian's Chromium through playwright-core and records what a page does on the
// network. Shared by the scripts of tests/api/browser.rs.
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.BYDEL_TEST_CHROMIUM || "/usr/bin/chromium";

/** A headless browser with one fresh context and page, recording every request it sends. */
export async function open() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI containers: Chromium's sandbox needs user namespaces it may not have.
    args: ["--no-sandbox"],
  });
  const context = await browser.newContext();
  const requests = [];
  const problems = [];
  context.on("request", (request) => requests.push(request.url()));
  const page = await context.newPage();
  page.on("websocket", (socket) => requests.push(socket.url()));
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  // Content-Security-Policy violations, reported by the page itself.
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI}`);
    });
  });
  return { browser, page, requests, problems };
}

/** Prints the outcome as one `RESULT <json>` line for the Rust test, then exits. */
export function report(result) {
  console.log(`RESULT ${JSON.stringify(result)}`);
}
