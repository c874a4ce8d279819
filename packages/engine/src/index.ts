export * from './glossary.js';
export * from './session/rules.js';
export * from './session/failure-limiter.js';
export * from './copy/index.js';
export * from './backoff.js';
