/** Simulated MetaTrader terminals: broker account, prices, fills, and master/follower EAs. */
export * from './prng.js';
export * from './symbols.js';
export * from './price-feed.js';
export * from './account.js';
export * from './broker.js';
export * from './executor.js';
export * from './spread.js';
export * from './master-script.js';
export * from './terminal.js';
export * from './master.js';
export * from './follower.js';
