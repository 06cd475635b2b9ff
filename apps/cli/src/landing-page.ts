import type http from 'node:http';

/**
 * What `/` shows when the dashboard's static export (apps/web/out) is missing: how to build it
 * and where the API is. Static text only.
 */
export function landingPage(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.url !== '/' && req.url !== '/index.html') {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Cairn</title>
<style>body{font:16px system-ui;margin:3rem auto;max-width:40rem;padding:0 1rem}code{background:#eee;padding:.1rem .3rem}</style></head>
<body><h1>Cairn</h1><p>The server is running, but the dashboard has not been built in this checkout:
run <code>npm run build -w @cairn/web</code> and reload this page.</p>
<ul><li>GraphQL API and explorer: <a href="/graphql">/graphql</a></li>
<li>Liveness: <a href="/healthz">/healthz</a>, readiness and projector lag: <a href="/readyz">/readyz</a></li></ul>
</body></html>`);
}
