export * from './glossary.js';
export * from './session/rules.js';
export * from './session/failure-limiter.js';
