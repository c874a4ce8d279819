import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// No source maps in the production build (the server refuses to serve any).
// The console calls the API same-origin (`/api/...`); `npm run dev -w packages/console` proxies
// it to a local `kopitra up` (default port 8080, or KOPITRA_API_URL).
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: { proxy: { '/api': process.env['KOPITRA_API_URL'] ?? 'http://localhost:8080' } },
});
