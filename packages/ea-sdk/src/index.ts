/**
 * `@kopitra/ea-sdk`: a typed client of the Kopitra EA protocol, simulated MetaTrader
 * terminals (master and follower) built on it, and the `kopitra ea` command.
 */
export * from './clock.js';
export * from './errors.js';
export * from './transport.js';
export * from './client.js';
export * from './outbox.js';
export { CLOSE_SESSION_ENDED } from './stream.js';
export * from './sim/index.js';
export { runEaCommand, EA_USAGE, type EaCommandIo } from './cli.js';
