// Container health check: whichever plane this process serves answers its health route
// (a gateway has no /api, a management process no /trade-agent/v1). Exit 0 only on 200.
const port = process.env.PORT ?? '8080';
const routes = ['/api/health', '/trade-agent/v1/health'];

for (const route of routes) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${route}`, { signal: AbortSignal.timeout(4000) });
    if (res.status === 404) continue;
    process.exit(res.ok ? 0 : 1);
  } catch {
    process.exit(1);
  }
}
process.exit(1);
