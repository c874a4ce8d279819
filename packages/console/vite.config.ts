import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console calls the API same-origin (`/api/...`); `npm run dev -w packages/console` proxies
// it to a local `kopitra up` (default port 8080, or KOPITRA_API_URL).
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: { proxy: { '/api': process.env['KOPITRA_API_URL'] ?? 'http://localhost:8080' } },
});
