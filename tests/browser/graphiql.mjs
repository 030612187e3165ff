// Opens Bydel's GraphiQL like a person: waits for the editor, reads the header editor's
// template, types the token after "Bearer ", runs the first query and reads the result pane.
// Usage: node graphiql.mjs <http://127.0.0.1:PORT/graphql> <token>
import { open, report } from "./chromium.mjs";

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error("usage: node graphiql.mjs <graphql url> <token>");
  process.exit(2);
}

const TIMEOUT = 30_000;
const HEADERS = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror";
const QUERY = ".graphiql-query-editor .CodeMirror";
const RESULT = ".result-window .CodeMirror";

/** The text of the CodeMirror editor under `selector`. */
const editorText = (page, selector) =>
  page.$eval(selector, (element) => element.CodeMirror.getValue());

const { browser, page, requests, problems } = await open();
const result = { requests, problems };
try {
  const response = await page.goto(url, { waitUntil: "load", timeout: TIMEOUT });
  result.status = response.status();
  await page.waitForSelector(QUERY, { timeout: TIMEOUT });
  await page.waitForSelector(HEADERS, { timeout: TIMEOUT });
  result.query = await editorText(page, QUERY);
  result.headerTemplate = await editorText(page, HEADERS);

  // Put the cursor right after `Bearer ` and type the token, as a person pasting it would.
  await page.click(HEADERS);
  await page.$eval(HEADERS, (element) => {
    const editor = element.CodeMirror;
    const offset = editor.getValue().indexOf("Bearer ") + "Bearer ".length;
    editor.focus();
    editor.setCursor(editor.posFromIndex(offset));
  });
  await page.keyboard.type(token);
  result.headers = await editorText(page, HEADERS);

  await page.click(".graphiql-execute-button");
  await page.waitForFunction(
    (selector) => {
      const element = document.querySelector(selector);
      return element && element.CodeMirror.getValue().includes('"data"');
    },
    RESULT,
    { timeout: TIMEOUT },
  );
  result.response = JSON.parse(await editorText(page, RESULT));

  // GraphiQL's subscriptions open a websocket to the same host: the policy must let it.
  result.websocket = await page.evaluate(
    (href) =>
      new Promise((resolve) => {
        const url = new URL(href);
        url.protocol = "ws:";
        let socket;
        try {
          socket = new WebSocket(url.href, "graphql-transport-ws");
        } catch (error) {
          resolve(`refused: ${error}`);
          return;
        }
        socket.onopen = () => {
          socket.close();
          resolve("open");
        };
        socket.onerror = () => resolve("error");
      }),
    url,
  );

  // A dialog (Radix UI) inserts a <style> element: the policy must not break it.
  await page.click('[aria-label="Open settings dialog"]');
  await page.waitForSelector(".graphiql-dialog", { timeout: TIMEOUT });
  result.dialog = true;
  result.cspViolations = await page.evaluate(() => window.__cspViolations);
} catch (error) {
  result.error = String(error);
  result.cspViolations = await page.evaluate(() => window.__cspViolations).catch(() => null);
} finally {
  await browser.close();
}
report(result);
