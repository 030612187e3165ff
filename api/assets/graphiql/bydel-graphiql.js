// Starts GraphiQL on Bydel's page. Kept in a file, not inline, so the page's
// Content-Security-Policy can forbid inline scripts. The settings come from the page's
// `<script type="application/json" id="bydel-graphiql-settings">` (data, never run).
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("bydel-graphiql-settings").textContent);
  // The <style> elements GraphiQL's dialogs insert carry this response's CSP nonce
  // (react-style-singleton reads the global that webpack would define).
  window.__webpack_nonce__ = settings.styleNonce || undefined;
  var endpoint = new URL(settings.endpoint, window.location.href);
  var subscriptions = new URL(endpoint.href);
  subscriptions.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
  var fetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: subscriptions.href,
    // Bydel authenticates with the bearer token of the header editor, never with cookies.
    fetch: function (url, options) {
      return window.fetch(url, Object.assign({}, options, { credentials: "omit" }));
    },
  });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: settings.query,
      defaultHeaders: settings.headers,
      defaultEditorToolsVisibility: "headers",
      // The token stays in this tab; it is never written to the browser's storage.
      shouldPersistHeaders: false,
    })
  );
})();
