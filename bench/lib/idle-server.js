/**
 * The gateway of the idle-terminals bench, alone in its own process so its memory and CPU
 * can be read from /proc. Started by bench/idle.js with `{ env, target }` as JSON in argv;
 * prints one line `READY {"url", "pid"}` once listening, and stops on SIGTERM.
 */
import { loadConfig, startPlatform } from '../../packages/server/dist/index.js';

const { env, target } = JSON.parse(process.argv[2]);
const platform = await startPlatform(loadConfig(env), {
  databaseTarget: target,
  listen: true,
  serve: { gateway: true, management: false },
  consoleDir: null,
});
process.stdout.write(`READY ${JSON.stringify({ url: platform.url, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  platform.stop().finally(() => process.exit(0));
});
