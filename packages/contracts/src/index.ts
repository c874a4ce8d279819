export * from './errors.js';
export * from './ea-http.js';
export * from './bus.js';
export * from './management-http.js';
export * from './management-responses.js';
export * from './time.js';
export * from './external-signals.js';
export * from './position-tag.js';
